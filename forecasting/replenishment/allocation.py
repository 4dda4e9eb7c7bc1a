"""Sharing a distribution centre's stock when stores need more than it holds, and what to buy.

Fair share by need and service level, not first come first served: each requested unit is
worth the chance that it sells within the store's cover period (P(D >= position + k) for
the k-th unit) divided by the stock-out risk the store's service level tolerates (1 - q).
The DC's units go to the most valuable requested units first, so a store about to run out
is served before a store topping up its safety stock, and a 99 % store before a 90 % one.
The allocation never exceeds a request and adds up to min(available, requested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.replenishment import cover

PROPOSAL_COLUMNS = [
    "dc", "sku", "brand", "cover_weeks", "forecast_cover", "service_level", "cover_quantile", "on_hand",
    "on_order", "committed", "position", "need", "moq", "pack_size", "units", "arrival_week", "reason",
]


def allocate(requests: pd.DataFrame, available: pd.DataFrame) -> pd.DataFrame:
    """Split each DC x SKU's available units over the store requests.

    requests: dc, store, sku, units (requested) and, to rank them, forecast_cover, cover_phi,
        position, service_level (as in policy.plan_orders lines; missing ones rank by size).
    available: dc, sku, units.
    Returns the requests with `allocated` and `short` (= units - allocated).
    """
    req = requests.reset_index(drop=True).copy()
    req["units"] = req["units"].fillna(0).astype(np.int64)
    if (req["units"] < 0).any():
        raise ValueError("requested units must be >= 0")
    stock = available.groupby(["dc", "sku"], sort=False)["units"].sum()
    have = pd.MultiIndex.from_frame(req[["dc", "sku"]]).map(stock)
    req["_have"] = pd.Series(np.asarray(have, dtype=float)).fillna(0).astype(np.int64).clip(lower=0).to_numpy()
    asked = req.groupby(["dc", "sku"], sort=False)["units"].transform("sum")
    enough = (asked <= req["_have"]).to_numpy()
    req["allocated"] = np.where(enough, req["units"], 0)

    short = np.flatnonzero(~enough & (req["units"] > 0).to_numpy())
    if len(short):
        n = req["units"].to_numpy()[short]
        row = np.repeat(short, n)
        k = np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n) + 1  # 1-based unit of the request
        value = _unit_value(req, row, k)
        units = pd.DataFrame({"dc": req["dc"].to_numpy()[row], "sku": req["sku"].to_numpy()[row], "row": row,
                              "k": k, "value": value, "store": req["store"].to_numpy()[row]})
        # Highest value first; ties go to the store with fewer units so far, then by store code.
        units = units.sort_values(["dc", "sku", "value", "k", "store"], ascending=[True, True, False, True, True],
                                  kind="stable")
        rank = units.groupby(["dc", "sku"], sort=False).cumcount().to_numpy()
        granted = units[rank < req["_have"].to_numpy()[units["row"].to_numpy()]]
        alloc = req["allocated"].to_numpy().copy()
        np.add.at(alloc, granted["row"].to_numpy(), 1)
        req["allocated"] = alloc
    req["short"] = req["units"] - req["allocated"]
    return req.drop(columns="_have")


def _unit_value(req: pd.DataFrame, row: np.ndarray, k: np.ndarray) -> np.ndarray:
    if not {"forecast_cover", "position"}.issubset(req.columns):
        return -k.astype(float)  # without forecasts: round robin, one unit per store at a time
    mean = req["forecast_cover"].to_numpy(dtype=float)[row]
    phi = req["cover_phi"].to_numpy(dtype=float)[row] if "cover_phi" in req.columns else 0.0
    level = req["service_level"].to_numpy(dtype=float)[row] if "service_level" in req.columns else 0.95
    pos = np.maximum(req["position"].to_numpy(dtype=float)[row], 0)
    return cover.prob_at_least(pos + k, mean, phi) / (1.0 - level)


def purchase_proposals(
    forecast: pd.DataFrame,
    dc_position: pd.DataFrame,
    *,
    as_of,
    products: pd.DataFrame,
    store_dc: pd.Series,
    service_level: float = 0.95,
    review_weeks: int = 1,
) -> pd.DataFrame:
    """Purchase proposals to brands, one line per DC x SKU that needs stock.

    The DC must cover its stores' demand over the brand's lead time plus the purchase review
    period: the `service_level` quantile of that demand (the stores' SKU-level forecast error
    is shared, so it does not average out) minus the DC position (on hand + on order -
    committed to stores). A positive need is raised to the minimum order quantity and
    rounded up to whole packs. End-of-life SKUs arriving after their end are not bought.

    dc_position: dc, sku and any of on_hand, on_order, committed. products: by sku: brand,
    lead_time_weeks, moq, pack_size, eol_date. store_dc: DC of each store (indexed by store).
    """
    as_of = pd.Timestamp(as_of)
    prods = products.set_index("sku") if "sku" in products.columns else products
    lead = prods["lead_time_weeks"].fillna(0).astype(np.int64) if "lead_time_weeks" in prods else None
    if lead is None:
        raise ValueError("products needs lead_time_weeks (brand lead time in weeks) for purchase proposals")
    weeks = lead + int(review_weeks)
    horizon = int((forecast["week"].max() - as_of) / pd.Timedelta(weeks=1)) + 1 if len(forecast) else 0
    weeks = weeks.clip(upper=max(horizon, 1))  # a lead time past the horizon uses what is forecast
    demand = cover.cover_demand(forecast, as_of=as_of, cover_weeks=weeks, cover_key="sku", group=store_dc)
    demand = demand.rename(columns={"store": "dc"})
    out = demand.merge(dc_position, on=["dc", "sku"], how="outer")
    for col in ("on_hand", "on_order", "committed", "cover_mean", "cover_phi"):
        out[col] = out[col].fillna(0) if col in out.columns else 0
    sku = out["sku"]
    out["brand"] = sku.map(prods["brand"]) if "brand" in prods else ""
    out["cover_weeks"] = sku.map(weeks).fillna(review_weeks).astype(np.int64)
    out["forecast_cover"] = out["cover_mean"]
    out["service_level"] = float(service_level)
    out["cover_quantile"] = cover.quantile(out["cover_mean"], out["cover_phi"], service_level)
    out["position"] = (out["on_hand"] + out["on_order"] - out["committed"]).astype(np.int64)
    out["need"] = np.maximum(out["cover_quantile"] - out["position"], 0)
    out["moq"] = sku.map(prods["moq"]).fillna(1).astype(np.int64) if "moq" in prods else 1
    out["pack_size"] = sku.map(prods["pack_size"]).fillna(1).astype(np.int64) if "pack_size" in prods else 1
    raised = np.where(out["need"] > 0, np.maximum(out["need"], out["moq"]), 0)
    out["units"] = (-(-raised // out["pack_size"]) * out["pack_size"]).astype(np.int64)
    lead_of = sku.map(lead).fillna(0).astype(np.int64)
    out["arrival_week"] = as_of + pd.to_timedelta(lead_of * 7, unit="D")
    eol = pd.to_datetime(sku.map(prods["eol_date"])) if "eol_date" in prods else pd.Series(pd.NaT, index=out.index)
    ended = (eol.notna() & (eol < out["arrival_week"])).to_numpy()
    out.loc[ended, "units"] = 0
    out["reason"] = np.select([ended, out["units"] > 0], ["end_of_life", "order"], default="covered")
    return out[PROPOSAL_COLUMNS].sort_values(["dc", "sku"]).reset_index(drop=True)
