"""Store-to-store transfers within a city: move units from where they will not sell to where
the shelf will run empty, when the expected gain beats the cost of moving them.

A unit at the top of a donor's stock sells within the horizon with probability
P(D_from >= on_hand) (the last unit sells only if demand reaches it); the k-th unit a
receiver is short of sells with P(D_to >= position + k). Moving it gains
margin x (p_to - p_from) - transfer_cost. Donors give only units above their order-up-to
level (never below a display minimum), receivers take only units below theirs. Within a
city and SKU the receivers' units are ranked most likely to sell first and the donors'
units least likely first; pairing them rank by rank is the greedy optimum, and since the
gain falls with the rank, the transfers are the pairs before the gain turns negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.replenishment import cover

TRANSFER_COLUMNS = ["city", "sku", "from_store", "to_store", "units", "p_from", "p_to", "expected_gain", "aged"]


def propose_transfers(
    lines: pd.DataFrame,
    horizon_demand: pd.DataFrame,
    *,
    stores: pd.DataFrame,
    products: pd.DataFrame,
    transfer_cost: float = 40.0,
    aged: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Transfers (one row per from_store, to_store, sku).

    lines: policy.plan_orders output (on_hand, position, order_up_to, cover_quantile, display_min, reason).
    horizon_demand: store, sku, cover_mean, cover_phi over the horizon in which a unit should sell
        (cover.cover_demand with e.g. 8 weeks).
    stores: by store: city. products: by sku: list_price and unit_cost (the margin of a sale).
    transfer_cost: cost of moving one unit between two stores of a city (same currency as prices).
    aged: optional store, sku with aged stock (kpis.aged_stock): marked on the transfers.
    """
    st = stores.set_index("store") if "store" in stores.columns else stores
    pr = products.set_index("sku") if "sku" in products.columns else products
    df = lines.drop(columns=["cover_mean", "cover_phi"], errors="ignore").merge(
        horizon_demand[["store", "sku", "cover_mean", "cover_phi"]], on=["store", "sku"], how="left")
    df[["cover_mean", "cover_phi"]] = df[["cover_mean", "cover_phi"]].fillna(0.0)
    df["city"] = df["store"].map(st["city"])
    margin = (pr["list_price"] - pr["unit_cost"]).clip(lower=0) if "unit_cost" in pr else pr["list_price"]
    df["margin"] = df["sku"].map(margin).fillna(0.0)
    eol = (df["reason"] == "end_of_life").to_numpy()
    # An end-of-life SKU is not reordered, but existing stock may still go where it sells.
    want = np.where(eol, df["cover_quantile"], df["order_up_to"])
    keep = np.where(eol, 0, np.maximum(df["order_up_to"], df["display_min"]))
    give_n = np.maximum(df["on_hand"].to_numpy() - df["transfers_out"].to_numpy() - keep, 0)
    take_n = np.maximum(want - df["position"].to_numpy(), 0)

    donors = _units(df, give_n, top=df["on_hand"].to_numpy() - df["transfers_out"].to_numpy(), sign=-1)
    takers = _units(df, take_n, top=df["position"].to_numpy(), sign=+1)
    if donors.empty or takers.empty:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    donors = donors.sort_values(["city", "sku", "p", "store"], kind="stable")
    takers = takers.sort_values(["city", "sku", "p", "store"], ascending=[True, True, False, True], kind="stable")
    donors["rank"] = donors.groupby(["city", "sku"], sort=False).cumcount()
    takers["rank"] = takers.groupby(["city", "sku"], sort=False).cumcount()
    pairs = donors.merge(takers, on=["city", "sku", "rank"], suffixes=("_from", "_to"))
    pairs["gain"] = pairs["margin_to"] * (pairs["p_to"] - pairs["p_from"]) - transfer_cost
    pairs = pairs[(pairs["gain"] > 0) & (pairs["store_from"] != pairs["store_to"])]
    if pairs.empty:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    out = pairs.groupby(["city", "sku", "store_from", "store_to"], sort=True).agg(
        units=("gain", "size"), p_from=("p_from", "mean"), p_to=("p_to", "mean"), expected_gain=("gain", "sum"),
    ).reset_index().rename(columns={"store_from": "from_store", "store_to": "to_store"})
    out["aged"] = False
    if aged is not None and len(aged):
        key = pd.MultiIndex.from_frame(aged[["store", "sku"]])
        out["aged"] = pd.MultiIndex.from_arrays([out["from_store"], out["sku"]]).isin(key)
    return out[TRANSFER_COLUMNS]


def _units(df: pd.DataFrame, n: np.ndarray, *, top: np.ndarray, sign: int) -> pd.DataFrame:
    """One row per unit a store could give (sign -1: its j-th unit from the top of its stock)
    or take (sign +1: the k-th unit above its position), with the chance it sells there."""
    rows = np.flatnonzero(n > 0)
    if not len(rows):
        return pd.DataFrame(columns=["city", "sku", "store", "p", "margin"])
    count = n[rows]
    row = np.repeat(rows, count)
    j = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)  # 0-based
    level = top[row] - j if sign < 0 else np.maximum(top[row], 0) + j + 1
    p = cover.prob_at_least(level, df["cover_mean"].to_numpy()[row], df["cover_phi"].to_numpy()[row])
    return pd.DataFrame({"city": df["city"].to_numpy()[row], "sku": df["sku"].to_numpy()[row],
                         "store": df["store"].to_numpy()[row], "p": p, "margin": df["margin"].to_numpy()[row]})


def apply_transfers(lines: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    """Net proposed transfers into the order lines: a receiver orders fewer units from the DC,
    a donor's position falls. Adds `transfer_in`/`transfer_out` proposal columns."""
    out = lines.copy()
    key = ["store", "sku"]
    t_in = transfers.groupby(["to_store", "sku"])["units"].sum().rename("proposed_in")
    t_out = transfers.groupby(["from_store", "sku"])["units"].sum().rename("proposed_out")
    t_in.index.names = key
    t_out.index.names = key
    out = out.merge(t_in.reset_index(), on=key, how="left").merge(t_out.reset_index(), on=key, how="left")
    out[["proposed_in", "proposed_out"]] = out[["proposed_in", "proposed_out"]].fillna(0).astype(np.int64)
    out["order_units"] = np.maximum(out["order_units"] - out["proposed_in"], 0)
    return out
