"""The daily simulation of stock: demand meets stock, stores reorder from DCs, DCs order from brands.

Each change of stock is recorded as an event with a day index and a time of day chosen so
that the ledger built from them (movements.py) never lets a balance go below zero: deliveries
before opening, sales limited by the morning's stock, corrections after closing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from retail.demo.demand import PAIR_SHARE, Cells, Promotions
from retail.demo.network import StoreDynamics

# Seconds after midnight UTC (08:00 in China and Hong Kong) for each kind of event.
T_DC_RECEIPT = 0                   # 08:00 local: brand deliveries at the DC
T_SAME_DAY_SHIP = 30 * 60          # opening fill leaving the DC before the store opens
T_ARRIVAL = 60 * 60                # 09:00 local: deliveries at stores and DCs
T_STORE_OPEN, T_STORE_CLOSE = 2 * 3600, 13 * 3600  # 10:00-21:00 local
T_DC_SHIP = 10 * 3600
T_STORE_OPS = 13 * 3600 + 30 * 60  # counts, damage, display changes after closing
T_DEMO_BACK = 13 * 3600 + 45 * 60
T_SHIP_BACK = 14 * 3600
T_DC_CLEARANCE = 12 * 3600

SALE, RETURN, DEMO_OUT, DEMO_IN, COUNT, WRITE_OFF = 1, 2, 3, 4, 5, 6

SERVICE_Z = 1.0        # safety factor of the store order-up-to level
RETURN_RATE = 0.03
DEMO_SHARE = 0.04
DC_CLEARANCE_DAYS = 150  # end of life to vendor return of the DC's leftovers
COUNT_RATE = 3e-5      # stock count corrections per live cell and day
DAMAGE_RATE = 1.5e-5   # damaged units written off per live cell and day


class Columns:
    """Columnar event lists: one list of arrays per column, concatenated at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, **arrays) -> None:
        n = max(len(a) for a in arrays.values() if np.ndim(a) > 0)
        if n == 0:
            return
        for name, values in arrays.items():
            self.parts[name].append(np.full(n, values) if np.ndim(values) == 0 else np.asarray(values))

    def frame(self, names: list[str]) -> dict[str, np.ndarray]:
        return {n: np.concatenate(self.parts[n]) if self.parts[n] else np.empty(0, np.int64) for n in names}


@dataclass
class Outcome:
    store_events: dict[str, np.ndarray]  # kind, cell, day, sec, qty, disc, ref
    lines: dict[str, np.ndarray]         # shipment lines: cell, ship_day, ship_sec, arrive_day, expected_day, qty, back
    orders: dict[str, np.ndarray]        # purchase order lines: dcsku, order_day, arrive_day, qty
    dc_events: dict[str, np.ndarray]     # vendor returns of end-of-life stock: dcsku, day, sec, qty
    demand_units: int
    sold_units: int
    dc_fill_rate: float  # units shipped / units stores asked their DC for


def _by_day(day_array: np.ndarray, days: int, mask: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Indices grouped by the day on which something happens to them."""
    idx = np.nonzero(mask)[0] if mask is not None else np.arange(len(day_array))
    idx = idx[(day_array[idx] >= 0) & (day_array[idx] < days)]
    idx = idx[np.argsort(day_array[idx], kind="stable")]
    bounds = np.searchsorted(day_array[idx], np.arange(days + 1))
    return {d: idx[bounds[d]:bounds[d + 1]] for d in range(days) if bounds[d + 1] > bounds[d]}


def simulate(
    *, cells: Cells, promos: Promotions, dyn: StoreDynamics, store_dc: np.ndarray, n_dcs: int,
    curve: np.ndarray, season: np.ndarray, level: np.ndarray, start_weekday: int,
    lead_days: np.ndarray, moq: np.ndarray, pack: np.ndarray, sku_brand: np.ndarray, eol: np.ndarray,
    rng: np.random.Generator, progress: bool, stockout: float = 0.0,
) -> Outcome:
    """The days of the history; `stockout` is the share of store reorders the DC fails to ship."""
    n_skus, days = curve.shape
    n_cells, n_brands = len(cells.store), len(moq)
    cs, ck = cells.store, cells.sku
    transit = dyn.transit_days[cs]
    dcsku = store_dc[cs] * n_skus + ck

    # The planner's view of each cell's rate: right on average, wrong for any one cell.
    planned = cells.base * np.exp(rng.normal(-0.08, 0.4, n_cells))
    protection = 7 * dyn.review_weeks[cs] + transit
    reorder_stop = np.minimum(eol[ck] - 21, dyn.stop_day[cs] - transit - 2)

    onhand = np.zeros(n_cells, np.int64)
    intransit = np.zeros(n_cells, np.int64)
    on_display = np.zeros(n_cells, bool)
    dc_onhand = np.zeros(n_dcs * n_skus, np.int64)
    dc_onorder = np.zeros(n_dcs * n_skus, np.int64)
    dc_lead = np.tile(lead_days, n_dcs)
    dc_pack = np.tile(pack, n_dcs)
    dc_eol = np.tile(eol, n_dcs)
    dc_brand = np.repeat(np.arange(n_dcs), n_skus) * n_brands + np.tile(sku_brand, n_dcs)
    promo_mult = np.ones(n_cells)
    promo_disc = np.zeros(n_cells)

    init_ship_day = np.maximum(cells.list_day - transit, 0)
    init_cal = _by_day(init_ship_day, days)
    promo_starts, promo_ends = _by_day(promos.start, days), _by_day(promos.end, days)
    demo = rng.random(n_cells) < DEMO_SHARE * np.clip(dyn.size[cs], 0.5, 2.0)
    demo_out_day = cells.list_day + rng.integers(1, 8, n_cells)
    demo_in_day = np.minimum(demo_out_day + rng.integers(60, 241, n_cells), eol[ck])
    demo_out_cal = _by_day(demo_out_day, days, demo & (demo_out_day < demo_in_day))
    demo_in_cal = _by_day(demo_in_day, days, demo)
    # After end of life the leftovers are recalled to the DC (most), written off, or left to age.
    clear_day = eol[ck] + rng.integers(28, 85, n_cells)
    clear_action = rng.choice([0, 1, 2], size=n_cells, p=[0.20, 0.75, 0.05])  # keep, recall, write off
    clear_cal = _by_day(clear_day, days, clear_action > 0)
    close_cal: dict[int, list[int]] = defaultdict(list)
    for s in np.nonzero(dyn.closes)[0]:
        close_cal[int(dyn.stop_day[s])].append(int(s))
    store_cells = np.searchsorted(cs, np.arange(len(dyn.size) + 1))  # cells are sorted by store
    # What comes back to a DC after end of life is returned to the brand: it leaves the books.
    dc_clear_cal = _by_day(np.tile(eol, n_dcs) + DC_CLEARANCE_DAYS, days)

    # Review slots: a store reviews on its weekday; fortnightly stores on even weeks only.
    weekday = (start_weekday + np.arange(days)) % 7
    slots = {
        (wd, parity): np.nonzero((dyn.review_weekday[cs] == wd) & ((dyn.review_weeks[cs] == 1) | (parity == 0)))[0]
        for wd in range(7) for parity in range(2)
    }

    arrivals: dict[int, list] = defaultdict(list)     # day -> [(cell, qty, back)]
    returns: dict[int, list] = defaultdict(list)      # day -> [(cell, sale id, discount)]
    po_arrivals: dict[int, list] = defaultdict(list)  # day -> [(dcsku, qty)]
    lines, orders, ev, dc_ev = Columns(), Columns(), Columns(), Columns()
    counters = {"sale": 0, "requested": 0, "sent": 0}
    demand_total = sold_total = 0

    def add_lines(idx, qty, d, ship_sec, arrive, expected, back):
        lines.add(cell=idx, ship_day=d, ship_sec=ship_sec, arrive_day=arrive, expected_day=expected,
                  qty=qty, back=back)
        for day in np.unique(arrive):
            sel = arrive == day
            arrivals[int(day)].append((idx[sel], qty[sel], back))

    def order_up_to(idx: np.ndarray, d: int, floor_curve: float = 0.0) -> np.ndarray:
        mu = planned[idx] * level[d] * np.maximum(curve[ck[idx], d], floor_curve) * protection[idx]
        return np.maximum(1, np.ceil(mu + SERVICE_Z * np.sqrt(mu))).astype(np.int64)

    def ship(idx: np.ndarray, qty: np.ndarray, d: int, first: np.ndarray) -> None:
        """Fill store requests from DC stock; what the DC lacks is cut, not back-ordered."""
        if len(idx) == 0:
            return
        key = dcsku[idx]
        order = np.lexsort((rng.random(len(idx)), ~first, key))
        idx, qty, key, first = idx[order], qty[order], key[order], first[order]
        counters["requested"] += int(qty.sum())
        cum = np.cumsum(qty)
        group_start = np.searchsorted(key, key, side="left")
        before = cum - qty - np.where(group_start > 0, cum[group_start - 1], 0)
        sent = np.clip(dc_onhand[key] - before, 0, qty)
        counters["sent"] += int(sent.sum())
        ok = sent > 0
        idx, sent, key, first = idx[ok], sent[ok], key[ok], first[ok]
        np.subtract.at(dc_onhand, key, sent)
        intransit[idx] += sent
        # One delivery in twelve is a day late; all lines of a delivery travel together.
        late = ((cs[idx] * 7919 + d * 104729) % 12 == 0) & ~first
        expected = np.where(first, cells.list_day[idx], d + transit[idx])
        arrive = expected + late
        add_lines(idx, sent, d, np.where(arrive == d, T_SAME_DAY_SHIP, T_DC_SHIP), arrive, expected, False)

    def send_back(idx: np.ndarray, d: int) -> None:
        idx = idx[onhand[idx] > 0]
        if len(idx):
            qty = onhand[idx].copy()
            onhand[idx] = 0
            arrive = d + transit[idx]
            add_lines(idx, qty, d, T_SHIP_BACK, arrive, arrive, True)

    def demo_back(idx: np.ndarray, d: int, sec: int) -> None:
        onhand[idx] += 1
        on_display[idx] = False
        ev.add(kind=DEMO_IN, cell=idx, day=d, sec=sec, qty=np.ones(len(idx), np.int64), disc=0.0,
               ref=np.full(len(idx), -1))

    def order_from_brands(d: int) -> None:
        """A DC orders from a brand when one of its lines would run dry before the next delivery.

        The order then brings every line of the brand up to lead time plus four weeks of
        outflow (store replenishment and the opening fills of new listings), at least the
        brand's minimum order quantity.
        """
        live = (d >= init_ship_day) & (d < reorder_stop)
        ahead = min(d + 14, days - 1)
        rate = cells.base[live] * level[ahead] * season[d:d + 28].mean() * curve[ck[live], ahead]
        flow = np.bincount(dcsku[live], weights=rate, minlength=len(dc_onhand)) * 1.2
        def fills_within(span: np.ndarray) -> np.ndarray:
            soon = (init_ship_day >= d) & (init_ship_day < d + span[dcsku])
            return np.bincount(dcsku[soon], minlength=len(dc_onhand)) * 1.5
        cover = dc_lead + 7
        reorder_point = flow * cover + fills_within(cover) + 1.5 * np.sqrt(flow * cover)
        target = flow * (cover + 21) + fills_within(cover + 21) + 1.5 * np.sqrt(flow * (cover + 21))
        orderable = dc_eol - dc_lead > d
        position = dc_onhand + dc_onorder
        due = orderable & (position < reorder_point)
        triggered = np.bincount(dc_brand[due], minlength=n_dcs * n_brands) > 0
        qty = np.where(orderable & triggered[dc_brand], np.ceil(target - position), 0).astype(np.int64)
        qty = np.where(qty > 0, -(-qty // dc_pack) * dc_pack, 0)
        # Brands ship nothing below their minimum order: spread the top-up by expected outflow.
        total = np.bincount(dc_brand, weights=qty, minlength=n_dcs * n_brands)
        for b in np.nonzero(triggered & (total < np.tile(moq, n_dcs)))[0]:
            of_b = np.nonzero((dc_brand == b) & orderable)[0]
            weight = flow[of_b] + fills_within(cover + 21)[of_b] / 10 + 1e-9
            extra = np.ceil((moq[b % n_brands] - total[b]) * weight / weight.sum()).astype(np.int64)
            qty[of_b] += -(-extra // dc_pack[of_b]) * dc_pack[of_b]
        pos = np.nonzero(qty > 0)[0]
        if len(pos) == 0:
            return
        arrive = d + (dc_lead[pos] if d > 0 else 0)  # day 0: the opening stock is already there
        dc_onorder[pos] += qty[pos]
        orders.add(dcsku=pos, order_day=d, arrive_day=arrive, qty=qty[pos])
        for day in np.unique(arrive):
            sel = arrive == day
            po_arrivals[int(day)].append((pos[sel], qty[pos][sel]))

    empty = np.empty(0, np.int64)
    for d in tqdm(range(days), desc="simulating days", disable=None if progress else True):
        # 00:00 brand deliveries at the DCs; on day 0 the opening stock.
        if d == 0 or weekday[d] == 0:
            order_from_brands(d)
        for pos, qty in po_arrivals.pop(d, []):
            dc_onhand[pos] += qty
            dc_onorder[pos] -= qty
        gone = dc_clear_cal.get(d, empty)
        gone = gone[dc_onhand[gone] > 0]
        dc_ev.add(dcsku=gone, day=d, sec=T_DC_CLEARANCE, qty=-dc_onhand[gone])
        dc_onhand[gone] = 0
        # 00:30 opening fills due today leave the DC; 01:00 deliveries reach stores and DCs.
        fills = init_cal.get(d, empty)
        now = fills[cells.list_day[fills] == d]
        ship(now, order_up_to(now, d, floor_curve=0.5), d, np.ones(len(now), bool))
        for idx, qty, back in arrivals.pop(d, []):
            if back:
                np.add.at(dc_onhand, dcsku[idx], qty)
            else:
                np.add.at(onhand, idx, qty)
                np.subtract.at(intransit, idx, qty)
        # 10:00 the DCs ship this morning's store orders and the fills of coming listings.
        later = fills[cells.list_day[fills] > d]
        review = slots[(int(weekday[d]), (d // 7) % 2)]
        review = review[(d >= cells.list_day[review]) & (d < reorder_stop[review])]
        gap = order_up_to(review, d) - onhand[review] - intransit[review]
        review, gap = review[gap > 0], gap[gap > 0]
        if stockout > 0:  # supply failures: these reorders are not shipped this time
            kept = rng.random(len(review)) >= stockout
            review, gap = review[kept], gap[kept]
        ship(np.concatenate([later, review]), np.concatenate([order_up_to(later, d, floor_curve=0.5), gap]), d,
             np.concatenate([np.ones(len(later), bool), np.zeros(len(review), bool)]))
        for p in promo_starts.get(d, ()):
            promo_mult[promos.cell[p]], promo_disc[promos.cell[p]] = promos.uplift[p], promos.discount[p]
        for p in promo_ends.get(d, ()):
            promo_mult[promos.cell[p]], promo_disc[promos.cell[p]] = 1.0, 0.0
        # 02:00-13:00 customers; demand beyond the shelf is lost.
        live = np.nonzero((d >= cells.demand_start) & (d < cells.demand_end))[0]
        rate = cells.base[live] * (level[d] * season[d]) * curve[ck[live], d] * promo_mult[live]
        demand = rng.poisson(rate)
        idx = live[demand > 0]
        demand = demand[demand > 0] + (rng.random(len(idx)) < PAIR_SHARE)  # now and then a pair for two
        sold = np.minimum(demand, onhand[idx])
        demand_total += int(demand.sum())
        sold_total += int(sold.sum())
        idx, sold = idx[sold > 0], sold[sold > 0]
        onhand[idx] -= sold
        sale_ids = np.arange(counters["sale"], counters["sale"] + len(idx))
        counters["sale"] += len(idx)
        ev.add(kind=SALE, cell=idx, day=d, sec=rng.integers(T_STORE_OPEN, T_STORE_CLOSE, len(idx)), qty=-sold,
               disc=promo_disc[idx], ref=sale_ids)
        back = np.nonzero(rng.random(len(idx)) < RETURN_RATE)[0]
        for day, b in zip(d + rng.integers(1, 15, len(back)), back, strict=True):
            returns[int(day)].append((idx[b], sale_ids[b], promo_disc[idx[b]]))
        # Returns go back onto the shelf (today's sales were already limited by the morning's stock).
        todays = returns.pop(d, [])
        if todays:
            rc, rid, rdisc = (np.array(col) for col in zip(*todays, strict=True))
            open_ = ~(dyn.closes[cs[rc]] & (d >= dyn.stop_day[cs[rc]]))
            rc, rid, rdisc = rc[open_], rid[open_], rdisc[open_]
            np.add.at(onhand, rc, 1)
            ev.add(kind=RETURN, cell=rc, day=d, sec=rng.integers(T_STORE_OPEN, T_STORE_CLOSE, len(rc)),
                   qty=np.ones(len(rc), np.int64), disc=rdisc, ref=rid)
        # 13:30 after closing: display units, stock counts, damage.
        out = demo_out_cal.get(d, empty)
        out = out[(onhand[out] > 0) & ~on_display[out]]
        onhand[out] -= 1
        on_display[out] = True
        ev.add(kind=DEMO_OUT, cell=out, day=d, sec=T_STORE_OPS, qty=-np.ones(len(out), np.int64), disc=0.0,
               ref=np.full(len(out), -1))
        back_in = demo_in_cal.get(d, empty)
        demo_back(back_in[on_display[back_in]], d, T_STORE_OPS)
        _corrections(live[cells.list_day[live] <= d], onhand, d, rng, ev)
        # 14:00 closing stores send everything back to their DC; end-of-life leftovers are cleared.
        for s in close_cal.get(d, ()):
            own = np.arange(store_cells[s], store_cells[s + 1])
            demo_back(own[on_display[own]], d, T_DEMO_BACK)
            send_back(own, d)
        clear = clear_cal.get(d, empty)
        clear = clear[(onhand[clear] > 0) & (d < dyn.stop_day[cs[clear]])]
        send_back(clear[clear_action[clear] == 1], d)
        scrap = clear[clear_action[clear] == 2]
        ev.add(kind=WRITE_OFF, cell=scrap, day=d, sec=T_SHIP_BACK, qty=-onhand[scrap], disc=0.0,
               ref=np.full(len(scrap), -1))
        onhand[scrap] = 0

    return Outcome(
        store_events=ev.frame(["kind", "cell", "day", "sec", "qty", "disc", "ref"]),
        lines=lines.frame(["cell", "ship_day", "ship_sec", "arrive_day", "expected_day", "qty", "back"]),
        orders=orders.frame(["dcsku", "order_day", "arrive_day", "qty"]),
        dc_events=dc_ev.frame(["dcsku", "day", "sec", "qty"]),
        demand_units=demand_total, sold_units=sold_total,
        dc_fill_rate=counters["sent"] / max(counters["requested"], 1),
    )


def _corrections(live: np.ndarray, onhand: np.ndarray, d: int, rng: np.random.Generator, ev: Columns) -> None:
    """Stock counts that find one unit more or less, and units damaged beyond sale."""
    n = rng.poisson(len(live) * COUNT_RATE)
    counted = np.unique(rng.choice(live, size=min(n, len(live)), replace=False)) if n else live[:0]
    sign = np.where((rng.random(len(counted)) < 0.4) | (onhand[counted] == 0), 1, -1)
    onhand[counted] += sign
    ev.add(kind=COUNT, cell=counted, day=d, sec=T_STORE_OPS, qty=sign.astype(np.int64), disc=0.0,
           ref=np.full(len(counted), -1))
    n = rng.poisson(len(live) * DAMAGE_RATE)
    damaged = np.unique(rng.choice(live, size=min(n, len(live)), replace=False)) if n else live[:0]
    damaged = damaged[onhand[damaged] > 0]
    onhand[damaged] -= 1
    ev.add(kind=WRITE_OFF, cell=damaged, day=d, sec=T_STORE_OPS, qty=-np.ones(len(damaged), np.int64), disc=0.0,
           ref=np.full(len(damaged), -1))

