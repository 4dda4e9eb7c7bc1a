"""Periodic-review order-up-to policy from forecast quantiles, per store x SKU.

Every review (weekly by default) each store x SKU is brought up to

    S = max(q-quantile of demand over lead time + review period,
            one unit if the q-quantile of demand over the shelf horizon (13 weeks) is >= 1,
            display minimum)

where q is the target service level for the store's tier, the SKU's brand or the SKU's
class. The middle term is the presence rule: with about ten units a store a year, most
store x SKU cover periods have a q-quantile of 0, yet a unit on the shelf stays there until
it sells; a store keeps one unit when the chance that it sells within the shelf horizon is
at least 1 - q (the newsvendor's critical ratio), and none where it would only age. The order is S minus the inventory position (on hand + in transit + open orders +
inbound transfers - outbound transfers - reserved; demo units are not sellable and do not
count), rounded to the pack size, cut to the store's shelf capacity, and zero for an
end-of-life SKU. Because open orders and transfers are in the position, a suggestion is
not repeated while the last one is on its way. Each line carries the numbers behind it.

Cost-aware mode (`PolicyConfig(hold_per_kcny=lam)`, what the simulation calls "ours"): a store
holds the k-th unit of a SKU when the chance that it sells within the shelf horizon is at least

    bar = lam x unit_cost / 1000        (lam: chance per 1,000 CNY of stock at cost)

i.e. P(D_shelf >= k) >= bar, so S = the (1 - bar)-quantile of shelf-horizon demand: a newsvendor
critical ratio that falls with the unit's cost (a 600 CNY unit is held at a lower chance of
selling than a 3,000 CNY one). One network-wide lam is the Lagrange multiplier of the fill-rate
constraint when inventory is counted at cost: each unit held is the one with the most expected
units sold per CNY of stock. Packs are whole: another pack is ordered while the mean chance of
its units is at least the bar (so a pack of 5 goes only where five units can sell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.replenishment import cover

POSITION_COLUMNS = ("on_hand", "in_transit", "open_orders", "transfers_in", "transfers_out", "reserved")
LINE_COLUMNS = [
    "store", "sku", "cover_weeks", "forecast_cover", "cover_phi", "service_level", "cover_quantile",
    "shelf_forecast", "presence", "display_min", "order_up_to", *POSITION_COLUMNS, "position", "need", "pack_size", "rounding",
    "capacity_cut", "order_units", "reason", "hold_bar",
]


@dataclass(frozen=True)
class ServiceLevels:
    """Target service level (the quantile of cover demand stocked). The most specific wins:
    SKU class (e.g. "A"), then brand, then store tier, then the default."""

    default: float = 0.95
    by_tier: Mapping = field(default_factory=dict)
    by_brand: Mapping = field(default_factory=dict)
    by_class: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for level in [self.default, *self.by_tier.values(), *self.by_brand.values(), *self.by_class.values()]:
            if not 0.0 < float(level) < 1.0:
                raise ValueError(f"service levels lie strictly between 0 and 1; got {level}")

    def resolve(self, tier: pd.Series, brand: pd.Series, sku_class: pd.Series) -> np.ndarray:
        level = np.full(len(tier), float(self.default))
        for values, table in ((tier, self.by_tier), (brand, self.by_brand), (sku_class, self.by_class)):
            if table:
                found = values.map(table).to_numpy(dtype=float)
                level = np.where(np.isnan(found), level, found)
        return level


@dataclass(frozen=True)
class PolicyConfig:
    service: ServiceLevels = field(default_factory=ServiceLevels)
    review_weeks: int = 1  # weeks between two orders of a store
    lead_weeks: int = 1  # DC to store
    display_min: Mapping = field(default_factory=dict)  # brand -> sellable units a store carrying a SKU shows
    round_up_share: float = 0.5  # round a need up to the next pack when its remainder is at least this share
    shelf_capacity: int | None = None  # units per store when `stores` has no `capacity` column
    shelf_weeks: int = 13  # horizon of the presence rule: keep one unit if it likely sells within it
    presence_level: float | None = None  # level of the presence rule; None: the service level
    # Cost-aware mode: hold a unit when P(it sells within shelf_weeks) >= hold_per_kcny x unit_cost / 1000.
    # None: the service-level mode above.
    hold_per_kcny: float | None = None

    def __post_init__(self):
        if self.review_weeks < 1 or self.lead_weeks < 0:
            raise ValueError("review_weeks must be >= 1 and lead_weeks >= 0")
        if not 0.0 <= self.round_up_share <= 1.0:
            raise ValueError(f"round_up_share is a share of a pack between 0 and 1; got {self.round_up_share}")
        if self.hold_per_kcny is not None and not self.hold_per_kcny > 0:
            raise ValueError(f"hold_per_kcny is a chance per 1,000 of cost, > 0; got {self.hold_per_kcny}")


def _indexed(frame: pd.DataFrame | None, key: str) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(index=pd.Index([], name=key))
    return frame.set_index(key) if key in frame.columns else frame


def _column(frame: pd.DataFrame, name: str, keys: pd.Series, default):
    if name not in frame.columns:
        return pd.Series(default, index=keys.index)
    return keys.map(frame[name])


def pack_round(need: np.ndarray, pack: np.ndarray, *, round_up_share: float, must_round_up: np.ndarray):
    """Whole packs for a need: round down, then up when the remainder is at least
    `round_up_share` of a pack or when rounding down would leave the shelf short (`must_round_up`)."""
    need = np.maximum(np.asarray(need, dtype=np.int64), 0)
    pack = np.maximum(np.asarray(pack, dtype=np.int64), 1)
    down = need // pack * pack
    rem = need - down
    up = (rem > 0) & ((rem >= round_up_share * pack) | np.asarray(must_round_up, dtype=bool))
    return down + np.where(up, pack, 0)


def hold_bar(unit_cost, hold_per_kcny: float) -> np.ndarray:
    """The chance of selling within the shelf horizon a unit must have to be held (capped below 1)."""
    return np.minimum(np.asarray(unit_cost, dtype=float) * float(hold_per_kcny) / 1000.0, 1.0 - 1e-9)


def cost_aware_orders(position, shelf_mean, shelf_phi, bar, pack, *, max_packs: int = 50):
    """Units to order under the cost-aware rule; returns (order_up_to in units, order in units).

    order_up_to = the largest k with P(D >= k) >= bar = the (1 - bar)-quantile of shelf demand.
    Single units: order = max(S - position, 0). Packs of p > 1: whole packs while the mean
    of P(D >= k) over the pack's units k = top + 1 .. top + p is >= bar (top: position plus
    the packs taken so far), so a pack is bought only where its units, on average, clear the bar.
    """
    position = np.asarray(position, dtype=np.int64)
    mean = np.asarray(shelf_mean, dtype=float)
    phi = np.asarray(shelf_phi, dtype=float)
    bar = np.broadcast_to(np.asarray(bar, dtype=float), mean.shape)
    pack = np.maximum(np.broadcast_to(np.asarray(pack, dtype=np.int64), mean.shape), 1)
    target = cover.quantile(mean, phi, 1.0 - bar)
    order = np.where(pack == 1, np.maximum(target - position, 0), 0)
    rows = np.flatnonzero((pack > 1) & (target > 0))
    top = np.maximum(position[rows], 0)
    for _ in range(max_packs):
        if not len(rows):
            break
        p = pack[rows]
        width = int(p.max())
        k = top[:, None] + 1 + np.arange(width)[None, :]
        inside = np.arange(width)[None, :] < p[:, None]
        chance = cover.prob_at_least(np.where(inside, k, 0), mean[rows, None], phi[rows, None])
        value = (chance * inside).sum(1) / p
        ok = value >= bar[rows]
        order[rows[ok]] += p[ok]
        rows, top = rows[ok], top[ok] + p[ok]
    return target, order


def plan_orders(
    forecast: pd.DataFrame,
    position: pd.DataFrame,
    *,
    as_of,
    products: pd.DataFrame,
    stores: pd.DataFrame | None = None,
    config: PolicyConfig | None = None,
) -> pd.DataFrame:
    """Suggested order lines, one per store x SKU in the forecast or in `position`.

    forecast: frame of forecasting.forecast (store, sku, week, mean; attrs["dispersion"]).
    position: store, sku and any of on_hand, in_transit, open_orders, transfers_in,
        transfers_out, reserved (missing columns count as 0).
    products: by sku: brand, pack_size, eol_date; optional sku_class, display_min.
    stores: by store: optional tier, capacity, lead_weeks, review_weeks.
    Returns LINE_COLUMNS; `order_units` is the suggestion, the other columns explain it.
    """
    config = config or PolicyConfig()
    as_of = pd.Timestamp(as_of)
    if as_of.day_of_week != 0:
        raise ValueError(f"as_of must be a Monday (the review week); got {as_of.date()}")
    products = _indexed(products, "sku")
    stores = _indexed(stores, "store")

    pairs = pd.concat([forecast[["store", "sku"]], position[["store", "sku"]]]).drop_duplicates()
    pairs = pairs.reset_index(drop=True)
    lead = _column(stores, "lead_weeks", pairs["store"], config.lead_weeks).fillna(config.lead_weeks)
    review = _column(stores, "review_weeks", pairs["store"], config.review_weeks).fillna(config.review_weeks)
    cover_weeks = (lead + review).astype(np.int64)
    store_cover = pd.Series(cover_weeks.to_numpy(), index=pairs["store"].to_numpy())
    store_cover = store_cover[~store_cover.index.duplicated()]
    demand = cover.cover_demand(forecast, as_of=as_of, cover_weeks=store_cover)
    horizon = int((forecast["week"].max() - as_of) / pd.Timedelta(weeks=1)) + 1 if len(forecast) else 0
    shelf = cover.cover_demand(forecast, as_of=as_of, cover_weeks=max(min(config.shelf_weeks, horizon), 1))
    demand = demand.merge(shelf.rename(columns={"cover_mean": "shelf_mean", "cover_phi": "shelf_phi"}),
                          on=["store", "sku"], how="left")
    lines = pairs.merge(demand, on=["store", "sku"], how="left").fillna(
        {"cover_mean": 0.0, "cover_phi": 0.0, "shelf_mean": 0.0, "shelf_phi": 0.0})
    lines = lines.merge(position, on=["store", "sku"], how="left")
    lines["cover_weeks"] = cover_weeks.to_numpy()
    lines["lead_weeks"] = lead.to_numpy()
    return order_lines(lines, as_of=as_of, products=products, stores=stores, config=config)


def order_lines(
    lines: pd.DataFrame, *, as_of, products: pd.DataFrame, stores: pd.DataFrame | None = None,
    config: PolicyConfig | None = None,
) -> pd.DataFrame:
    """The policy on cover demand already computed: lines with store, sku, cover_mean, cover_phi,
    cover_weeks, lead_weeks and position columns (what plan_orders builds from a forecast; the
    simulation builds it once per week for every service level it tries)."""
    config = config or PolicyConfig()
    as_of = pd.Timestamp(as_of)
    products = _indexed(products, "sku")
    stores = _indexed(stores, "store")
    lines = lines.reset_index(drop=True)
    for col in POSITION_COLUMNS:
        lines[col] = lines[col].fillna(0).astype(np.int64) if col in lines.columns else 0
    lead = lines["lead_weeks"] if "lead_weeks" in lines.columns else pd.Series(config.lead_weeks, index=lines.index)
    brand = _column(products, "brand", lines["sku"], "")
    sku_class = _column(products, "sku_class", lines["sku"], None)
    tier = _column(stores, "tier", lines["store"], None)
    level = config.service.resolve(tier, brand, sku_class)
    mean, phi = lines["cover_mean"].to_numpy(dtype=float), lines["cover_phi"].to_numpy(dtype=float)
    q = cover.quantile(mean, phi, level)
    if "shelf_mean" in lines.columns:
        shelf_mean = lines["shelf_mean"].to_numpy(dtype=float)
        shelf_level = level if config.presence_level is None else config.presence_level
        presence = (cover.quantile(shelf_mean, lines["shelf_phi"].to_numpy(dtype=float), shelf_level) >= 1)
    else:
        shelf_mean, presence = np.zeros(len(lines)), np.zeros(len(lines), bool)
    presence = presence.astype(np.int64)

    display = _column(products, "display_min", lines["sku"], np.nan)
    display = display.fillna(brand.map(config.display_min)).fillna(0).to_numpy(dtype=np.int64)
    display = np.where(mean > 0, display, 0)  # a display minimum applies to SKUs the store is to sell
    eol_date = pd.to_datetime(_column(products, "eol_date", lines["sku"], pd.NaT))
    arrival = as_of + pd.to_timedelta(np.asarray(lead, dtype=np.int64) * 7, unit="D")
    eol = (eol_date.notna() & (eol_date.to_numpy() < arrival)).to_numpy()
    pos = (lines["on_hand"] + lines["in_transit"] + lines["open_orders"] + lines["transfers_in"]
           - lines["transfers_out"] - lines["reserved"]).to_numpy()
    pack = _column(products, "pack_size", lines["sku"], 1).fillna(1).to_numpy(dtype=np.int64)
    bar = np.zeros(len(lines))  # 0: service-level mode (no cost bar)
    if config.hold_per_kcny is None:
        target = np.where(eol, 0, np.maximum(np.maximum(q, presence), display))
        need = np.maximum(target - pos, 0)
        short = pos < np.maximum(display, (mean > 0).astype(np.int64))
        order = pack_round(need, pack, round_up_share=config.round_up_share, must_round_up=short)
    else:
        if "shelf_mean" not in lines.columns:
            raise ValueError("the cost-aware mode needs shelf_mean and shelf_phi (demand over the shelf horizon)")
        unit_cost = _column(products, "unit_cost", lines["sku"], np.nan).to_numpy(dtype=float)
        if np.isnan(unit_cost).any():
            raise ValueError("the cost-aware mode needs products.unit_cost for every SKU")
        bar = hold_bar(unit_cost, config.hold_per_kcny)
        held, packs = cost_aware_orders(pos, shelf_mean, lines["shelf_phi"].to_numpy(dtype=float), bar, pack)
        presence = (held >= 1).astype(np.int64)
        target = np.where(eol, 0, np.maximum(held, display))
        need = np.maximum(target - pos, 0)
        short = pos < display
        order = np.where(eol, 0, np.maximum(np.where(pack > 1, packs, need),
                                             pack_round(np.maximum(display - pos, 0), pack, round_up_share=0.0,
                                                        must_round_up=short)))

    capacity = _column(stores, "capacity", lines["store"], config.shelf_capacity)
    cut = _capacity_cut(lines, order, pos, pack, mean, phi, level, capacity)
    final = order - cut

    lines = lines.assign(
        forecast_cover=mean, service_level=level, cover_quantile=q, shelf_forecast=shelf_mean, presence=presence,
        display_min=display,
        order_up_to=target, position=pos, need=need, pack_size=pack, rounding=order - need,
        capacity_cut=cut, order_units=final, hold_bar=bar,
    )
    reason = np.select(
        [eol, final > 0, (order > 0) & (final == 0), need <= 0],
        ["end_of_life", "order", "capacity", "covered"], default="covered")
    lines["reason"] = np.where((mean <= 0) & ~eol & (final == 0), "no_forecast", reason)
    return lines[LINE_COLUMNS].reset_index(drop=True)


def _capacity_cut(lines, order, pos, pack, mean, phi, level, capacity) -> np.ndarray:
    """Units to take off each line so that a store's stock plus orders fits its shelf.

    Packs are dropped least-useful first: the pack whose first unit has the smallest chance
    of selling in the cover period, relative to the stock-out risk the service level allows."""
    cut = np.zeros(len(order), dtype=np.int64)
    cap = pd.to_numeric(capacity, errors="coerce").to_numpy(dtype=float)
    if np.isnan(cap).all() or not order.any():
        return cut
    stock = (lines["on_hand"] + lines["in_transit"] + lines["open_orders"] + lines["transfers_in"]
             - lines["transfers_out"]).to_numpy()
    frame = pd.DataFrame({"store": lines["store"].to_numpy(), "stock": stock, "order": order, "cap": cap})
    per_store = frame.groupby("store", sort=False).agg(stock=("stock", "sum"), order=("order", "sum"),
                                                        cap=("cap", "first"))
    room = (per_store["cap"] - per_store["stock"]).clip(lower=0)
    over = per_store.index[(per_store["order"] > room) & per_store["cap"].notna()]
    rows = np.flatnonzero(frame["store"].isin(over).to_numpy() & (order > 0))
    if not len(rows):
        return cut
    n_packs = order[rows] // pack[rows]
    line = np.repeat(rows, n_packs)
    k = np.arange(len(line)) - np.repeat(np.cumsum(n_packs) - n_packs, n_packs)  # 0-based pack number
    first_unit = pos[line] + k * pack[line] + 1
    value = cover.prob_at_least(first_unit, mean[line], phi[line]) / (1.0 - level[line])
    packs = pd.DataFrame({"store": frame["store"].to_numpy()[line], "line": line, "units": pack[line],
                          "value": value, "k": k})
    packs = packs.sort_values(["store", "value", "k"], ascending=[True, False, True], kind="stable")
    packs["used"] = packs.groupby("store", sort=False)["units"].cumsum()
    packs["room"] = packs["store"].map(room).to_numpy()
    dropped = packs[packs["used"] > packs["room"]]
    np.add.at(cut, dropped["line"].to_numpy(), dropped["units"].to_numpy())
    return cut


def explain(lines: pd.DataFrame) -> pd.Series:
    """One sentence per line, in numbers a store manager can check."""
    def fmt(r) -> str:
        if r.reason == "end_of_life":
            return "End of life: not reordered."
        if r.hold_bar > 0:  # cost-aware mode
            text = (f"Forecast {r.shelf_forecast:.2f} units within the shelf horizon; a unit is held when it sells "
                    f"there with a chance of at least {100 * r.hold_bar:.1f}% (cost-weighted bar)")
        else:
            text = (f"Forecast {r.forecast_cover:.2f} units over {r.cover_weeks} weeks (lead time + review); "
                    f"{round(100 * r.service_level)}% quantile {r.cover_quantile}")
        if not r.hold_bar > 0 and r.presence and r.cover_quantile < 1:
            text += f"; one unit kept on the shelf: {r.shelf_forecast:.2f} forecast within the shelf horizon"
        if r.display_min:
            text += f", display minimum {r.display_min}"
        text += (f"; order up to {r.order_up_to}. Position {r.position} = on hand {r.on_hand} + in transit "
                 f"{r.in_transit} + on order {r.open_orders} + transfers in {r.transfers_in} - out "
                 f"{r.transfers_out} - reserved {r.reserved}; need {r.need}.")
        if r.pack_size > 1 or r.rounding:
            text += f" Packs of {r.pack_size}: {r.need + r.rounding} ({r.rounding:+d} rounding)."
        if r.capacity_cut:
            text += f" Shelf capacity: {r.capacity_cut} fewer."
        return text + f" Suggest {r.order_units}."
    return pd.Series([fmt(r) for r in lines.itertuples(index=False)], index=lines.index, dtype=object)


def reasons(line) -> list[tuple[str, dict]]:
    """Why a line suggests what it does, as codes with their numbers (no wording: the application words
    them in the reader's language). `line` is a mapping or a row with the LINE_COLUMNS (a stored
    explanation). In order: the expected sales, what is kept on the shelf and why, what the store holds and
    has coming, the need, the packs, the shelf's capacity, the suggestion."""
    get = line.get if hasattr(line, "get") else (lambda key, default=None: getattr(line, key, default))
    number = lambda key: float(get(key, 0) or 0)  # noqa: E731
    whole = lambda key: int(round(number(key)))  # noqa: E731
    if get("reason") == "end_of_life":
        return [("end_of_life", {})]
    out: list[tuple[str, dict]] = []
    if number("hold_bar") > 0:
        out.append(("expected_on_shelf", {"units": round(number("shelf_forecast"), 1)}))
        out.append(("held_when_likely", {"chance": round(100 * number("hold_bar"), 1), "units": whole("order_up_to")}))
    else:
        out.append(("expected_sales", {"units": round(number("forecast_cover"), 1), "weeks": whole("cover_weeks")}))
        out.append(("service_level", {"percent": round(100 * number("service_level")), "units": whole("cover_quantile")}))
        if get("presence") and number("cover_quantile") < 1:
            out.append(("one_on_shelf", {"units": round(number("shelf_forecast"), 1)}))
    if whole("display_min"):
        out.append(("display_minimum", {"units": whole("display_min")}))
    coming = (whole("in_transit") + whole("open_orders") + whole("transfers_in") - whole("transfers_out")
              - whole("reserved"))
    out.append(("position", {"on_hand": whole("on_hand"), "coming": coming, "target": whole("order_up_to"),
                             "need": whole("need")}))
    if whole("pack_size") > 1 or whole("rounding"):
        out.append(("packs", {"pack": whole("pack_size"), "units": whole("need") + whole("rounding")}))
    if whole("capacity_cut"):
        out.append(("shelf_full", {"units": whole("capacity_cut")}))
    out.append(("suggest", {"units": whole("order_units")}))
    return out
