"""The range decision: for every store x SKU, `stock` (sellable units), `show` (sold to order from a
demo unit on display: the endless aisle) or `none`.

    decide(cells, RangeSettings(), capacity=slots_by_store, brand_minimum=frame) -> cells + decision

Economics per cell, each a contribution per week in the cell's currency (the settings' CNY amounts are
converted with `fx` when the cells carry a `currency` column). With m = weekly_mean, g = price - unit_cost,
c = conversion (share of customers who accept waiting), d = delivery_cost, v = serve_value (a planner's
value per unit of demand served, 0 by default: the knob calibration turns; an optional `serve_value`
column sets it per cell, e.g. by tier or brand), S = the units the stock option
holds (the policy's order-up-to level `stock_units`, which may be 0: a carried SKU with no unit on the
shelf, its customers ordering; or derived: the `service`-quantile of demand over `cover_weeks`, at least
one unit):

    shelf fill   f = 1 - E[(D_cover - S)+] / E[D_cover]         share of demand the shelf serves at once
    value_stock  = m (f (g + v) + (1 - f) c (g - d + v))         margin from the shelf, the rest ordered
                   - holding_rate / 52 x unit_cost x S           holding on the units needed
                   - markdown x unit_cost x E[(S - D_w)+] / w    units left at end of life, spread over the
                                                                 w = weeks_to_eol (only when w <= horizon)
                   - display_cost_week                           the display slot (a stocked SKU takes one)
    value_show   = m c (g - d + v)                               margin on the customers who wait
                   - display_cost_week                           the display slot
                   - demo / k                                    the demo unit's share (below)
    value_none   = 0

demo = demo_markdown x unit_cost / L: the demo unit's markdown when it is sold off, spread over
L = min(max(weeks_to_eol, horizon_weeks), demo_life_weeks) weeks (its wear and the slot's space are
display_cost_week; a demo sold at 40 % below list price loses about 10 % of its cost at the demo
world's margins, the default). One demo
unit shows a whole model (the optional `model` column; the SKU when absent: every colour of a model is
ordered from the same demo unit), so it is shared by the k SKUs of the model a store shows, and a model
with a SKU in stock needs none (its shelf units are on display). D_cover and D_w are negative binomials
with mean m x weeks and dispersion `phi` (Poisson without it).

The decision (with `stickiness` s > 0, the current option's value counts s more when options are compared,
so that a forecast that wobbles does not flip the range): `stock` where value_stock > 0 and beats showing
the SKU alone (reason `fast_mover`); then,
per store x model without stock, its SKUs with m c (g - d + v) > display_cost_week are shown when
together they pay for the demo unit (`sells_to_order`; reported value_show is then with the demo shared;
in a model with a SKU in stock, without a demo); the rest `none` (`low_demand`). Then, in this order:

- end of life: a cell with weeks_to_eol <= eol_weeks gets no new sellable stock and no new demo unit: a
  cell that is stocked or shown keeps showing what it has (`show`) while m c (g - d + v) > display_cost_week,
  every other such cell is `none` (reason `end_of_life`);
- launch seeding: a SKU launched less than launch_weeks ago is shown at least (`show`, or `stock` when
  value_stock > value_show) where it can sell: m x horizon_weeks >= seed_min_units (`launch_seeding`);
- brand minimum: a store of tier t displays (stock or show) at least `models` of a brand's models, when
  the brand has that many live models (not at end of life) there: the best-valued hidden models are
  shown (`brand_requirement`);
- display capacity: every `stock` and `show` cell takes one slot; over capacity, the cells of least
  value per slot (the value of the decision) drop to `none` (`display_capacity`); cells kept for the
  brand minimum and launch seeding go last.

Reasons (a fixed set, REASONS): fast_mover, sells_to_order, low_demand, end_of_life, launch_seeding,
brand_requirement, display_capacity.

Not counted: the DC stock behind show cells (pooled over many stores: a fraction of a unit per cell),
same-city transfers, and how a display sells (a shown SKU is assumed to draw the same demand as a stocked one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.replenishment import cover

DECISIONS = ("stock", "show", "none")
REASONS = ("fast_mover", "sells_to_order", "low_demand", "end_of_life", "launch_seeding", "brand_requirement",
           "display_capacity")
REQUIRED = ("store", "sku", "brand", "market", "tier", "weekly_mean", "unit_cost", "price", "weeks_since_launch",
            "weeks_to_eol", "current")
DEFAULT_CONVERSION = 0.6


@dataclass(frozen=True)
class RangeSettings:
    horizon_weeks: int = 13  # weeks the decision is judged over
    holding_rate: float = 0.25  # per year, share of unit cost (capital, space, obsolescence)
    display_cost_week: float = 3.0  # a display slot per week (space, fixtures, the demo unit's wear), CNY
    demo_markdown: float = 0.1  # share of a demo unit's cost lost when it is sold off at end of life
    delivery_cost: float = 40.0  # per unit ordered for a customer (DC or same-city), CNY
    conversion: float | Mapping = 0.6  # share of customers who accept waiting; Mapping by (market, tier) or market
    launch_weeks: int = 8  # a SKU launched less than this ago is seeded (shown at least) where it can sell
    eol_weeks: int = 4  # no new sellable stock this close to end of life
    # Optional, beyond the contract:
    markdown: float = 0.3  # share of a sellable unit's cost lost when it is left at end of life
    cover_weeks: int = 2  # lead time + review: the demand the shelf's S units face between two deliveries
    service: float = 0.95  # the quantile of cover demand S covers when stock_units is not given
    seed_min_units: float = 0.25  # a launch is seeded where it can sell: m x horizon_weeks at least this
    demo_life_weeks: int = 52  # a demo unit is sold off after at most this many weeks on display
    serve_value: float = 0.0  # CNY added per unit of demand served (the shadow price of a served target)
    stickiness: float = 0.0  # CNY a week the current option (stock or show) is worth more: damps flip-flopping
    fx: Mapping = field(default_factory=lambda: {"CNY": 1.0, "HKD": 1.08})  # cell currency per CNY

    def __post_init__(self):
        if self.horizon_weeks < 1 or self.cover_weeks < 1:
            raise ValueError("horizon_weeks and cover_weeks are at least 1")
        for name in ("holding_rate", "display_cost_week", "delivery_cost", "seed_min_units", "serve_value",
                     "stickiness"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is >= 0")
        for name in ("demo_markdown", "markdown"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} lies between 0 and 1")
        if not 0 < self.service < 1:
            raise ValueError("service lies strictly between 0 and 1")
        values = self.conversion.values() if isinstance(self.conversion, Mapping) else [self.conversion]
        if any(not 0 <= float(v) <= 1 for v in values):
            raise ValueError("conversion rates lie between 0 and 1")

    def conversion_of(self, market: pd.Series, tier: pd.Series) -> np.ndarray:
        """Conversion per cell: (market, tier), then market, then the key "*", then 0.6."""
        if not isinstance(self.conversion, Mapping):
            return np.full(len(market), float(self.conversion))
        table = self.conversion
        fallback = float(table.get("*", DEFAULT_CONVERSION))
        pairs = pd.DataFrame({"market": np.asarray(market), "tier": np.asarray(tier)})
        unique = pairs.drop_duplicates()
        rate = [table.get((m, int(t)), table.get((m, t), table.get(m, fallback)))
                for m, t in zip(unique["market"], unique["tier"], strict=True)]
        found = pd.Series(rate, index=pd.MultiIndex.from_frame(unique), dtype=float)
        return found.reindex(pd.MultiIndex.from_frame(pairs)).to_numpy(float)


def _expected_short(s: np.ndarray, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """E[(D - s)+] = E[D] - sum_{k=1..s} P(D >= k)."""
    out = mean.astype(float).copy()
    for k in range(1, int(s.max(initial=0)) + 1):
        rows = s >= k
        out[rows] -= cover.prob_at_least(np.full(rows.sum(), k), mean[rows], phi[rows])
    return np.maximum(out, 0.0)


def _expected_left(s: np.ndarray, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """E[(s - D)+] = s - sum_{k=1..s} P(D >= k)."""
    return np.maximum(s - (mean - _expected_short(s, mean, phi)), 0.0)




def values(cells: pd.DataFrame, settings: RangeSettings = RangeSettings()) -> pd.DataFrame:
    """Per-cell economics: stock_units, shelf_fill, conversion, value_stock, ordered (m c (g - d + v)),
    display (the slot's cost), demo (the demo unit's cost per week), value_show (with a demo of its own)."""
    st = settings
    m = cells["weekly_mean"].to_numpy(float).clip(0)
    cost = cells["unit_cost"].to_numpy(float)
    margin = cells["price"].to_numpy(float) - cost
    phi = cells["phi"].to_numpy(float) if "phi" in cells else np.zeros(len(cells))
    phi = np.nan_to_num(phi, nan=0.0)
    fx = (cells["currency"].map(st.fx).fillna(1.0).to_numpy(float) if "currency" in cells
          else np.ones(len(cells)))
    conv = st.conversion_of(cells["market"], cells["tier"])
    cover_mean = m * st.cover_weeks
    derived = np.maximum(cover.quantile(cover_mean, phi, st.service), 1).astype(np.int64)
    if "stock_units" in cells:
        given = pd.to_numeric(cells["stock_units"], errors="coerce").to_numpy(float)
        s = np.where(np.isnan(given), derived, np.maximum(given, 0)).astype(np.int64)  # 0: ordered, not on the shelf
    else:
        s = derived
    short = _expected_short(s, cover_mean, phi)
    fill = np.where(cover_mean > 0, 1 - short / np.maximum(cover_mean, 1e-12), 1.0)
    serve = (np.nan_to_num(cells["serve_value"].to_numpy(float), nan=st.serve_value) if "serve_value" in cells
             else np.full(len(cells), st.serve_value)) * fx
    ordered = m * conv * (margin - st.delivery_cost * fx + serve)
    eol = np.nan_to_num(cells["weeks_to_eol"].to_numpy(float), nan=np.inf)
    near = eol <= st.horizon_weeks
    w = np.where(near, np.maximum(eol, 1.0), 1.0)
    left = np.zeros(len(cells))
    if near.any():
        left[near] = _expected_left(s[near], m[near] * w[near], phi[near])
    display = np.full(len(cells), st.display_cost_week) * fx
    value_stock = (m * (fill * (margin + serve) + (1 - fill) * conv * (margin - st.delivery_cost * fx + serve))
                   - st.holding_rate / 52 * cost * s
                   - np.where(near, st.markdown * cost * left / w, 0.0)
                   - display)  # a stocked SKU takes a display slot too
    life = np.minimum(np.maximum(eol, st.horizon_weeks), st.demo_life_weeks)
    demo = st.demo_markdown * cost / life
    return pd.DataFrame({"stock_units": s, "shelf_fill": fill, "conversion": conv, "value_stock": value_stock,
                         "ordered": ordered, "display": display, "demo": demo,
                         "value_show": ordered - display - demo}, index=cells.index)


def decide(cells: pd.DataFrame, settings: RangeSettings = RangeSettings(), *, capacity: pd.Series | None = None,
           brand_minimum: pd.DataFrame | None = None) -> pd.DataFrame:
    """The range decision per store x SKU (see the module docstring): the input plus decision, reason,
    value_stock, value_show, changed, and stock_units, shelf_fill, conversion, value (of the decision)."""
    missing = [c for c in REQUIRED if c not in cells]
    if missing:
        raise ValueError(f"cells lack columns {missing}")
    bad = set(cells["current"].dropna().unique()) - set(DECISIONS)
    if bad:
        raise ValueError(f"current is one of {DECISIONS}; got {sorted(bad)}")
    st = settings
    out = cells.reset_index(drop=True).copy()
    v = values(out, st)
    for col in ("stock_units", "shelf_fill", "conversion", "value_stock", "value_show"):
        out[col] = v[col].to_numpy()
    n = len(out)
    vs, ordered = v["value_stock"].to_numpy(), v["ordered"].to_numpy()
    display, demo = v["display"].to_numpy(), v["demo"].to_numpy()
    vw = v["value_show"].to_numpy().copy()
    current = out["current"].fillna("none").to_numpy()
    eol = np.nan_to_num(out["weeks_to_eol"].to_numpy(float), nan=np.inf)
    near = eol <= st.eol_weeks
    m = out["weekly_mean"].to_numpy(float).clip(0)
    model = (out["model"] if "model" in out else out["sku"]).astype(str).to_numpy()
    group = pd.DataFrame({"store": out["store"].to_numpy(), "model": model}).groupby(
        ["store", "model"], sort=False).ngroup().to_numpy()

    decision = np.full(n, "none", dtype=object)
    reason = np.full(n, "low_demand", dtype=object)
    # Stickiness: the current option counts `stickiness` more, so forecasts that wobble do not flip the range.
    keep_stock = np.where(current == "stock", st.stickiness, 0.0)
    keep_show = np.where(current == "show", st.stickiness, 0.0)
    stock = (vs + keep_stock > 0) & (vs + keep_stock >= vw + keep_show) & ~near
    decision[stock] = "stock"
    reason[stock] = "fast_mover"
    # Show, per store x model: free of a demo where the model has a SKU in stock, else when the SKUs
    # worth a slot pay for one demo unit together (its cost: the dearest of them).
    worth = ~stock & ~near & (ordered - display + keep_show > 0)
    has_stock = np.bincount(group, weights=stock, minlength=group.max() + 1 if n else 0) > 0
    k = np.bincount(group, weights=worth, minlength=len(has_stock))
    gain = np.bincount(group, weights=np.where(worth, ordered - display + keep_show, 0.0), minlength=len(has_stock))
    demo_model = np.zeros(len(has_stock))
    np.maximum.at(demo_model, group, np.where(worth, demo, 0.0))
    pays = has_stock | (gain > demo_model)
    share = np.where(has_stock, 0.0, demo_model / np.maximum(k, 1))
    show = worth & pays[group]
    vw = np.where(show, ordered - display - share[group], vw)
    decision[show] = "show"
    reason[show] = "sells_to_order"
    # End of life: no new sellable stock and no new demo unit; what is displayed keeps being shown.
    keep = near & np.isin(current, ("stock", "show")) & (eol > 0) & (ordered - display > 0)
    decision[near] = "none"
    decision[keep] = "show"
    vw = np.where(keep, ordered - display, vw)
    reason[near] = "end_of_life"
    # Launch seeding: shown at least where it can sell.
    launch = (out["weeks_since_launch"].to_numpy(float) < st.launch_weeks) & ~near \
        & (m * st.horizon_weeks >= st.seed_min_units)
    seed = launch & (decision == "none")
    decision[seed] = np.where(vs[seed] > vw[seed], "stock", "show")
    reason[seed] = "launch_seeding"
    out["value_show"] = vw
    protected = launch.copy()
    if brand_minimum is not None and len(brand_minimum):
        decision, reason, protected = _brand_minimum(out, model, brand_minimum, decision, reason, protected, vs, vw,
                                                     near)
    value = np.where(decision == "stock", vs, np.where(decision == "show", vw, 0.0))
    if capacity is not None:
        decision, reason = _capacity(out, capacity, decision, reason, value, protected)
    out["decision"] = decision
    out["reason"] = reason
    out["value"] = np.where(decision == "stock", vs, np.where(decision == "show", vw, 0.0))
    out["changed"] = out["decision"].to_numpy() != current
    out.index = cells.index  # the caller's rows keep their index
    return out


def _brand_minimum(out, model, minimum, decision, reason, protected, vs, vw, near):
    """Show the best-valued hidden models of a brand until the store displays `models` of them (or all
    its live ones); the displayed models that make up the minimum are protected from capacity cuts."""
    frame = pd.DataFrame({"store": out["store"].to_numpy(), "brand": out["brand"].to_numpy(),
                          "tier": out["tier"].to_numpy(), "model": model, "best": np.maximum(vs, vw),
                          "shown": decision != "none", "live": ~near, "row": np.arange(len(out))})
    need = minimum.set_index(["brand", "tier"])["models"]
    keys = pd.MultiIndex.from_frame(frame[["brand", "tier"]])
    frame["need"] = need.reindex(keys).fillna(0).to_numpy(int)
    frame = frame[(frame["need"] > 0) & frame["live"]]
    if not len(frame):
        return decision, reason, protected
    # One row per store x brand x model: shown if any of its SKUs is, valued by its best SKU.
    per_model = (frame.sort_values("best", ascending=False, kind="stable")
                 .groupby(["store", "brand", "model"], sort=False)
                 .agg(need=("need", "first"), best=("best", "first"), shown=("shown", "any"), row=("row", "first"))
                 .reset_index()
                 .sort_values(["shown", "best"], ascending=[False, False], kind="stable"))
    per_model["rank"] = per_model.groupby(["store", "brand"]).cumcount()
    chosen = per_model[per_model["rank"] < per_model["need"]]
    raise_rows = chosen.loc[~chosen["shown"], "row"].to_numpy()
    decision, reason, protected = decision.copy(), reason.copy(), protected.copy()
    decision[raise_rows] = np.where(vs[raise_rows] > vw[raise_rows], "stock", "show")
    reason[raise_rows] = "brand_requirement"
    kept = frame[(frame["shown"] | frame["row"].isin(raise_rows))].merge(
        chosen[["store", "brand", "model"]], on=["store", "brand", "model"])
    protected[kept["row"].to_numpy()] = True
    return decision, reason, protected


def _capacity(out, capacity, decision, reason, value, protected):
    """Drop the displayed cells of least value per slot until each store fits its slots;
    protected cells (brand minimum, launch seeding) go last."""
    slots = out["store"].map(capacity).to_numpy(float)
    rows = np.flatnonzero((decision != "none") & ~np.isnan(slots))
    if not len(rows):
        return decision, reason
    frame = pd.DataFrame({"store": out["store"].to_numpy()[rows], "protected": protected[rows],
                          "value": value[rows], "row": rows, "slots": slots[rows]})
    frame = frame.sort_values(["store", "protected", "value"], ascending=[True, False, False], kind="stable")
    frame["rank"] = frame.groupby("store").cumcount()
    drop = frame.loc[frame["rank"] >= frame["slots"], "row"].to_numpy()
    decision, reason = decision.copy(), reason.copy()
    decision[drop] = "none"
    reason[drop] = "display_capacity"
    return decision, reason
