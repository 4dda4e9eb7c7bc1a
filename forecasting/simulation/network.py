"""The replay as a network: store shelves, demo units, the DCs and goods in transit, all at cost.

One weekly loop runs the three policies (`run_network(world, covers, net, policy=...)`):

- `minmax`: today's ranges (every cell the store carried), the min/max store rule of minmax.py, and a DC
  policy of its own: reorder from the brand when the DC position (on hand + on order) falls to
  `DC_MINMAX[0]` weeks of the trailing 26-week average of its stores' orders beyond the brand's lead time
  + one review week, up to `DC_MINMAX[1]` weeks beyond it, at least the brand's MOQ;
- `ours`: today's ranges, the cost-aware rule (hold per 1,000 CNY) with same-city transfers, and a DC
  sized on the forecast: the `dc_service` quantile of its stores' demand over the brand's lead time + the
  review week + the store's lead time, at least the MOQ when it orders;
- `ranging`: the range of forecasting.ranging.decide, re-decided every `range_every` weeks from the rolling
  forecast (aisle.py), and a cell newly carried between two reviews the week it appears
  (`NEW_CELLS_AT_ONCE`): `stock` cells hold ours' level (the cost-aware rule at `hold`, 0 where a unit
  would not sell; at least one unit with `LIFT`) with ours' same-city transfers, `show` cells a demo unit
  per store x model (none where a SKU of the model is in stock), `none` nothing; the DC is sized as for
  ours on the demand of the stock cells plus the converted demand of the show cells. A stocked cell
  ranged out (`none`) sends its units back to its DC (transfer cost each, one week on the road); one moved
  to `show` sells its units down. With every cell stocked, ranging is ours plus customer orders.

Each week: arrivals (stores from the DC, one week; DCs from the brand, its lead time), write-downs of the
SKUs reaching end of life (markdown share of the cost of every unit in the network), the range decision
(ranging), the stores' orders, shipped by the DC as far as its stock goes (random order when short),
sales from the shelf, then, for the ranging policy only (the customer order is the new feature), the
customers of a stock or show cell who found no unit and accept waiting (binomial, `conversion`) are sold
to order: from the DC, else from a same-city store holding the SKU (a same-city transfer); then the DCs'
purchases. Today's policies lose the demand the shelf does not serve, as today.

Measured (`measure_network`): demand served = (shelf + to order + same-city) / demand; fill rate = shelf /
demand (immediate); lost = 1 - served; turnover = COGS / mean week-end network inventory at cost (stores,
demo units, DCs, on the road), annualised; gross margin = sales x (list price - cost) - delivery
(per unit sold to order) - transfers (store to store or to the DC) - display (per displayed cell and week:
a carried cell for today's policies, a stock or show cell for ranging) - markdowns (units in the network
when their SKU ends; demo units when retired), in CNY over the year. Prices are list prices in CNY for
every store (the demo world's Hong Kong stores are 5 of 3,000).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.ranging import RangeSettings
from forecasting.replenishment import cover
from forecasting.replenishment.policy import cost_aware_orders
from forecasting.simulation.covers import Covers
from forecasting.simulation.dc import ship_from_dc
from forecasting.simulation.world import LEAD, SHELF_WEEKS, TRAILING, World

DC_MINMAX = (2.0, 8.0)  # DC reorder point / order-up-to: weeks of average orders beyond lead time + review
DC_PHI = 0.1  # dispersion of a DC's demand over its cover (the SKU-level forecast error, shared by the stores)
LIFT = False  # True: a stocked cell holds at least one unit (was the default: it made ranging worse than ours)
NEW_CELLS_AT_ONCE = True  # a cell newly carried between two reviews is decided that week (else: none until then)
RANGE_STICKINESS = 2.0  # CNY a week the current range option counts more (forecasting.ranging.RangeSettings)
DEFAULT_LEAD_WEEKS, DEFAULT_MOQ = 2, 1  # brand lead time and MOQ when products.parquet has none


@dataclass
class Costs:
    """The economics of the network replay (CNY)."""

    conversion: float = 0.6
    delivery_cost: float = 40.0  # per unit sold to order (from the DC or a same-city store)
    transfer_cost: float = 40.0  # per unit moved between stores or back to the DC
    display_cost_week: float = 3.0  # per displayed cell and week
    demo_markdown: float = 0.1  # share of a demo unit's cost lost when it is retired
    markdown: float = 0.3  # share of a sellable unit's cost lost when its SKU ends
    dc_service: float = 0.95  # quantile of the DC's cover demand it holds (ours, ranging)

    def range_settings(self, **kw) -> RangeSettings:
        return RangeSettings(conversion=self.conversion, delivery_cost=self.delivery_cost,
                             display_cost_week=self.display_cost_week, demo_markdown=self.demo_markdown,
                             markdown=self.markdown, **kw)


@dataclass
class Net:
    """The world's network, indexed once: DC x SKU pairs, lead times, MOQs, cities, models, prices."""

    pair: np.ndarray  # (cells,) DC x SKU pair of each cell
    pairs: int
    pair_lead: np.ndarray  # (pairs,) brand lead time, weeks
    pair_moq: np.ndarray
    pair_cost: np.ndarray
    pair_eol: np.ndarray  # (pairs,) end of life, weeks from the replay's start (inf: none)
    price: np.ndarray  # (cells,)
    eol: np.ndarray  # (cells,) end of life, weeks from the replay's start
    launch: np.ndarray  # (cells,) launch, weeks from the replay's start
    city: np.ndarray  # (cells,) city x SKU group
    model: np.ndarray  # (cells,) store x model group
    models: int
    model_cost: np.ndarray  # (models,) the dearest SKU of the model in that store (its demo unit)
    brand: np.ndarray
    market: np.ndarray
    tier: np.ndarray
    history_orders: np.ndarray  # (pairs,) mean weekly units its stores sold in the 26 weeks before
    store_code: np.ndarray  # (cells,) integer codes of the store and the brand
    brand_code: np.ndarray
    defaults: list = field(default_factory=list)  # what was not in the data and took a default


def model_of(sku) -> np.ndarray:
    """The model of a SKU code: the code without its last part (the colour), e.g. HW-EW1-BLK -> HW-EW1."""
    s = pd.Series(np.asarray(sku, dtype=str))
    return np.where(s.str.count("-") >= 1, s.str.rsplit("-", n=1).str[0], s).astype(str)


def build_net(world: World) -> Net:
    prods = world.products.set_index("sku")
    stores = world.stores.set_index("store")
    defaults = []
    dc = pd.Series(world.store).map(stores["dc"]) if "dc" in stores else pd.Series("DC", index=range(len(world.store)))
    if "dc" not in stores:
        defaults.append("one DC for every store (stores.parquet has no dc)")
    dc = dc.fillna("DC").astype(str).to_numpy()
    pair, _ = pd.factorize(pd.Series(dc) + "|" + pd.Series(world.sku).astype(str))
    pairs = int(pair.max()) + 1 if len(pair) else 0
    first = np.zeros(pairs, np.int64)
    first[pair[::-1]] = np.arange(len(pair))[::-1]  # a cell of each pair
    sku = pd.Series(world.sku).astype(str)
    lead = sku.map(prods["lead_time_weeks"]) if "lead_time_weeks" in prods else None
    if lead is None:
        defaults.append(f"brand lead time {DEFAULT_LEAD_WEEKS} weeks (products.parquet has no lead_time_weeks)")
        lead = pd.Series(DEFAULT_LEAD_WEEKS, index=sku.index)
    moq = sku.map(prods["moq"]) if "moq" in prods else None
    if moq is None:
        defaults.append(f"MOQ {DEFAULT_MOQ} (products.parquet has no moq)")
        moq = pd.Series(DEFAULT_MOQ, index=sku.index)
    lead = lead.fillna(DEFAULT_LEAD_WEEKS).to_numpy(np.int64).clip(0)
    moq = moq.fillna(DEFAULT_MOQ).to_numpy(np.int64).clip(1)
    start = world.weeks[0]
    weeks_from = lambda col: ((pd.to_datetime(sku.map(prods[col])) - start) / pd.Timedelta(weeks=1)).to_numpy(float)  # noqa: E731
    eol = np.nan_to_num(weeks_from("eol_date"), nan=np.inf) if "eol_date" in prods else np.full(len(sku), np.inf)
    launch = np.nan_to_num(weeks_from("launch_date"), nan=-1e6) if "launch_date" in prods else np.full(len(sku), -1e6)
    price_col = "list_price" if "list_price" in prods else "unit_cost"
    price = sku.map(prods[price_col]).astype(float).to_numpy()
    cities = pd.Series(world.store).map(stores["city"]) if "city" in stores else pd.Series(world.store)
    city, _ = pd.factorize(cities.fillna("").astype(str) + "|" + sku)
    model, _ = pd.factorize(pd.Series(world.store).astype(str) + "|" + pd.Series(model_of(world.sku)))
    models = int(model.max()) + 1 if len(model) else 0
    model_cost = np.zeros(models)
    np.maximum.at(model_cost, model, world.cost)
    market = pd.Series(world.store).map(stores["market"]).fillna("CN").to_numpy() if "market" in stores \
        else np.full(len(sku), "CN")
    tier = pd.Series(world.store).map(stores["tier"]).fillna(0).to_numpy(int) if "tier" in stores \
        else np.zeros(len(sku), int)
    brand = sku.map(prods["brand"]).fillna("").to_numpy() if "brand" in prods else np.full(len(sku), "")
    store_code = pd.factorize(pd.Series(world.store))[0]
    brand_code = pd.factorize(pd.Series(brand))[0]
    hist = np.bincount(pair, weights=world.history.mean(1), minlength=pairs)
    return Net(pair=pair, pairs=pairs, pair_lead=lead[first], pair_moq=moq[first], pair_cost=world.cost[first],
               pair_eol=eol[first], price=price, eol=eol, launch=launch, city=city, model=model, models=models,
               model_cost=model_cost, brand=brand, market=np.asarray(market, dtype=object), tier=tier,
               history_orders=hist, store_code=store_code, brand_code=brand_code, defaults=defaults)


class Books:
    """What one network run counts, as arrays and totals."""

    def __init__(self, n: int, weeks: int):
        self.demand = np.zeros(n, np.int64)
        self.shelf = np.zeros(n, np.int64)
        self.to_order = np.zeros(n, np.int64)  # sold to order from the DC
        self.same_city = np.zeros(n, np.int64)  # sold to order from a same-city store
        self.inventory = np.zeros((weeks, 4))  # week-end value at cost: stores, demo units, DCs, on the road
        self.delivery = self.transfers = self.display = self.markdown = self.demo_markdown = 0.0
        self.units_transferred = self.units_returned = self.demo_units_bought = 0
        self.dc_short = 0  # store order units the DC could not ship
        self.dc_bought = self.dc_purchases = 0  # units and lines the DCs bought from the brands
        self.decisions: list[dict] = []


def _dc_target(net: Net, weekly: np.ndarray, service: float) -> np.ndarray:
    """Base stock of each DC x SKU: the `service` quantile of its stores' weekly demand (`weekly`, by cell)
    summed, over the brand's lead time + a review week + the store's lead time."""
    mean = np.bincount(net.pair, weights=weekly, minlength=net.pairs) * (net.pair_lead + 1 + LEAD)
    return cover.quantile(mean, np.full(net.pairs, DC_PHI), service)


def run_network(world: World, covers: Covers | None, net: Net, *, policy: str, costs: Costs = Costs(),
                hold: float = 0.0045, minmax: tuple | None = None, transfers: bool = True,
                serve_value=0.0, range_every: int = 6, stickiness: float | None = None, seed: int = 11) -> Books:
    """One policy over the replayed year on the network (see the module docstring)."""
    from forecasting.simulation import aisle
    from forecasting.simulation import ours as ours_mod

    n, weeks = world.demand.shape
    stickiness = RANGE_STICKINESS if stickiness is None else stickiness
    rng = np.random.default_rng(seed)
    books = Books(n, weeks)
    ahead = int(net.pair_lead.max(initial=0)) + 2  # DC orders arrive within this many weeks
    horizon = weeks + LEAD + ahead + 1
    on_hand = np.zeros(n, np.int64)
    pipe = np.zeros((n, horizon), np.int64)
    dc_on = np.zeros(net.pairs, np.int64)
    dc_pipe = np.zeros((net.pairs, horizon), np.int64)
    demo = np.zeros(net.models, bool)
    decision = np.full(n, aisle.STOCK, np.int8)  # today's ranges: every carried cell is stocked
    bar = np.minimum(world.cost * np.asarray(hold, dtype=float) / 1000.0, 1.0 - 1e-9)  # hold: a number or per cell
    sold_hist = np.concatenate([world.history, np.zeros((n, weeks), np.int64)], axis=1)
    orders_hist = np.zeros((net.pairs, TRAILING + weeks))
    orders_hist[:, :TRAILING] = net.history_orders[:, None]
    group = ours_mod._city_sku(world) if policy in ("ours", "ranging") and transfers else None
    settings = costs.range_settings(stickiness=stickiness) if policy == "ranging" else None
    conv = np.full(n, costs.conversion)
    shim = type("Shim", (), {"transferred": 0})()
    for t in range(weeks):
        on_hand += pipe[:, t]
        dc_on += dc_pipe[:, t]
        # Write-downs: the SKUs ending this week, wherever their units are.
        ending = (net.eol >= t) & (net.eol < t + 1)
        if ending.any():
            books.markdown += costs.markdown * float((on_hand[ending] * world.cost[ending]).sum())
            pend = (net.pair_eol >= t) & (net.pair_eol < t + 1)
            books.markdown += costs.markdown * float((dc_on[pend] * net.pair_cost[pend]).sum())
        live = np.flatnonzero(world.orderable[:, t])
        if policy == "ranging":
            if t % range_every == 0:
                decision, conv = aisle.decide_week(world, covers, net, t, decision, settings, bar, serve_value,
                                                   on_hand, pipe, dc_on, dc_pipe, costs, books, first=t == 0)
            elif NEW_CELLS_AT_ONCE:
                new = aisle.decide_week(world, covers, net, t, decision, settings, bar, serve_value, on_hand, pipe,
                                        dc_on, dc_pipe, costs, books, first=False, new_only=True)
                if new[1] is not None:
                    decision, conv[new[2]] = new[0], new[1]
            demo = aisle.demos(net, world, t, decision, demo, dc_on, costs, books)
        # Store orders.
        position = on_hand[live] + pipe[live, t + 1:t + 1 + LEAD].sum(1)  # nothing is due later than LEAD
        if policy == "minmax":
            mn, mx, floor = minmax
            avg = sold_hist[live, t:t + TRAILING].mean(1)
            low = np.maximum(floor[0], np.ceil(avg * mn - 1e-9)).astype(np.int64)
            high = np.maximum(np.maximum(floor[1], low), np.ceil(avg * mx - 1e-9)).astype(np.int64)
            due = (position <= low) & (position < high)
            order = np.where(due, high - position, 0)
            order = -(-order // world.pack[live]) * world.pack[live]
            if t == 0:
                order = np.where(world.orderable[live, 0], high, 0)
        else:
            target, order = cost_aware_orders(position, covers.sell_mean[live, t], covers.sell_phi[live, t],
                                              bar[live], world.pack[live])
            if policy == "ranging":
                stocked = decision[live] == aisle.STOCK
                lift = stocked & (position + order < 1) & LIFT
                order = np.where(lift, order + world.pack[live], order)
                order = np.where(stocked, order, 0)
                target = np.where(stocked, np.maximum(target, 1 if LIFT else 0), 0)
            if group is not None and t > 0:
                shim.transferred = 0
                order = ours_mod._transfers(world, covers, shim, on_hand, pipe, t, live, position, target, order,
                                            costs.transfer_cost, group)
                books.units_transferred += shim.transferred
                books.transfers += costs.transfer_cost * shim.transferred
        requests = np.zeros(n, np.int64)
        requests[live] = order
        backlog = np.zeros(net.pairs)
        if t == 0:  # every policy starts at its own target stock, its DC at its own target
            on_hand += requests
        else:
            shipped = ship_from_dc(requests, net.pair, dc_on, rng)
            unshipped = requests - shipped
            books.dc_short += int(unshipped.sum())
            backlog = np.bincount(net.pair, weights=unshipped, minlength=net.pairs)
            pipe[:, t + LEAD] += shipped
        orders_hist[:, TRAILING + t] = np.bincount(net.pair, weights=requests, minlength=net.pairs)
        # Sales from the shelf.
        d = world.demand[:, t]
        sold = np.minimum(on_hand, d)
        on_hand -= sold
        books.demand += d
        books.shelf += sold
        sold_hist[:, TRAILING + t] = sold
        if policy == "ranging":
            aisle.sell_to_order(world, net, t, d - sold, decision, conv, on_hand, dc_on, costs, books, rng)
        # Display: every displayed cell pays its slot.
        shown = (decision != aisle.NONE) & world.active[:, t] if policy == "ranging" else world.active[:, t]
        books.display += costs.display_cost_week * int(shown.sum())
        # DC purchases from the brands.
        dc_pos = dc_on + dc_pipe[:, t + 1:t + ahead].sum(1)
        if policy == "minmax":
            avg = orders_hist[:, t + 1:t + 1 + TRAILING].mean(1)
            cover_weeks = net.pair_lead + 1
            low = np.ceil(avg * (cover_weeks + DC_MINMAX[0]) - 1e-9)
            high = np.ceil(avg * (cover_weeks + DC_MINMAX[1]) - 1e-9)
            need = np.where((dc_pos <= low) & (high > dc_pos), high - dc_pos, 0)
        else:
            weekly = covers.sell_mean[:, t] / SHELF_WEEKS * world.orderable[:, t]
            if policy == "ranging":
                weekly = weekly * np.where(decision == aisle.STOCK, 1.0,
                                           np.where(decision == aisle.SHOW, conv, 0.0))
            # The stores' requests it could not ship this week are owed on top of its cover.
            need = np.maximum(_dc_target(net, weekly, costs.dc_service) + backlog - dc_pos, 0)
        arrive = t + net.pair_lead
        need = np.where(net.pair_eol > arrive + 1, need, 0)  # nothing bought that arrives at its end of life
        buy = np.where(need > 0, np.maximum(need, net.pair_moq), 0).astype(np.int64)
        books.dc_bought += int(buy.sum())
        books.dc_purchases += int((buy > 0).sum())
        if t == 0:
            dc_on += buy
        else:
            np.add.at(dc_pipe, (np.arange(net.pairs), np.minimum(arrive, horizon - 1)), buy)
        # Week-end inventory at cost.
        books.inventory[t] = (float(on_hand @ world.cost), float(demo @ net.model_cost), float(dc_on @ net.pair_cost),
                              float(pipe[:, t + 1:t + 1 + LEAD].sum(1) @ world.cost
                                    + dc_pipe[:, t + 1:t + ahead].sum(1) @ net.pair_cost))
    return books


def measure_network(world: World, net: Net, books: Books) -> dict:
    """The figures of one run (see the module docstring)."""
    weeks = world.demand.shape[1]
    demand = int(books.demand.sum())
    shelf, to_order, same = int(books.shelf.sum()), int(books.to_order.sum()), int(books.same_city.sum())
    sold = books.shelf + books.to_order + books.same_city
    cogs = float(sold @ world.cost)
    avg = books.inventory.mean(0)
    inventory = float(avg.sum())
    margin = float(sold @ (net.price - world.cost))
    gross = margin - books.delivery - books.transfers - books.display - books.markdown - books.demo_markdown
    served = (shelf + to_order + same) / demand if demand else 1.0
    return {
        "demand_served": round(served, 4), "fill_rate": round(shelf / demand if demand else 1.0, 4),
        "lost_demand": round(1 - served, 4),
        "turnover": round(cogs / inventory * 52 / weeks, 3) if inventory else None,
        "gross_margin": round(gross), "avg_inventory_cost": round(inventory),
        "inventory_stores": round(float(avg[0])), "inventory_demo": round(float(avg[1])),
        "inventory_dc": round(float(avg[2])), "inventory_transit": round(float(avg[3])),
        "units_demanded": demand, "units_shelf": shelf, "units_to_order": to_order, "units_same_city": same,
        "sales_margin": round(margin), "delivery_cost": round(books.delivery), "transfer_cost": round(books.transfers),
        "display_cost": round(books.display), "markdown_cost": round(books.markdown),
        "demo_markdown_cost": round(books.demo_markdown), "units_transferred": books.units_transferred,
        "units_returned": books.units_returned, "demo_units_bought": books.demo_units_bought,
        "dc_short_units": books.dc_short, "dc_units_bought": books.dc_bought, "dc_purchase_lines": books.dc_purchases,
    }
