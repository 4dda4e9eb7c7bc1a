"""Turn simulated events into the stock ledger (movements) and the shipments table."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from retail.demo import trading as sim
from retail.demo.demand import Cells

MOVEMENT_COLUMNS = ["ts", "location", "sku", "kind", "quantity", "unit_price", "currency", "reference"]
SHIPMENT_COLUMNS = ["reference", "from_location", "to_location", "shipped_at", "expected_at", "received_at"]
STORE_KINDS = {
    sim.SALE: "sale", sim.RETURN: "return", sim.DEMO_OUT: "demo_out", sim.DEMO_IN: "demo_in",
    sim.COUNT: "count_adjustment", sim.WRITE_OFF: "write_off",
}


def _numbered(prefix: str, groups: np.ndarray, width: int = 6) -> np.ndarray:
    """References PREFIX-000001... numbered in the order of the group keys given (already ranked)."""
    return np.array([f"{prefix}-{g + 1:0{width}d}" for g in groups], dtype=object)


def _rank(*keys: np.ndarray) -> np.ndarray:
    """Dense rank of rows by the given keys (first key most significant)."""
    if len(keys[0]) == 0:
        return np.empty(0, np.int64)
    order = np.lexsort(keys[::-1])
    stacked = np.stack([k[order] for k in keys])
    new = np.ones(len(order), bool)
    new[1:] = (stacked[:, 1:] != stacked[:, :-1]).any(axis=0)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.cumsum(new) - 1
    return rank


def build_ledger(
    out: sim.Outcome, *, cells: Cells, stores: pd.DataFrame, dcs: pd.DataFrame, products: pd.DataFrame,
    store_dc: np.ndarray, start: date, days: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_stores, n_skus = len(stores), len(products)
    locations = np.concatenate([stores["code"].to_numpy(object), dcs["code"].to_numpy(object)])
    skus = products["sku"].to_numpy(object)
    store_hk = (stores["currency"] == "HKD").to_numpy()
    parts = []

    # Store-side events.
    ev = out.store_events
    cell = ev["cell"]
    kind = ev["kind"]
    store = cells.store[cell]
    sku = cells.sku[cell]
    ref = np.full(len(cell), None, dtype=object)
    priced = (kind == sim.SALE) | (kind == sim.RETURN)
    sale_rows = kind == sim.SALE
    # Receipt numbers follow the order of sales in time; a return quotes its sale's receipt.
    sale_rank = np.empty(int(sale_rows.sum()), np.int64)
    receipt_order = _rank(ev["day"][sale_rows], ev["sec"][sale_rows], cell[sale_rows])
    sale_rank[ev["ref"][sale_rows]] = receipt_order
    ref[priced] = _numbered("RC", sale_rank[ev["ref"][priced]], 8)
    demo = (kind == sim.DEMO_OUT) | (kind == sim.DEMO_IN)
    # A display unit's demo_out and its later demo_in share one reference.
    d_idx = np.nonzero(demo)[0]
    d_idx = d_idx[np.lexsort((ev["sec"][d_idx], ev["day"][d_idx], cell[d_idx]))]
    pair = np.cumsum(kind[d_idx] == sim.DEMO_OUT) - 1
    ref[d_idx] = _numbered("DM", pair)
    for code, prefix in ((sim.COUNT, "CA"), (sim.WRITE_OFF, "WO")):
        rows = np.nonzero(kind == code)[0]
        ref[rows] = _numbered(prefix, _rank(ev["day"][rows], ev["sec"][rows], cell[rows]))
    list_local = np.where(store_hk[store], products["list_price_hkd"].to_numpy()[sku],
                          products["list_price_cny"].to_numpy()[sku])
    price = np.where(priced, np.round(list_local * (1.0 - ev["disc"])), np.nan)
    currency = np.where(priced, np.where(store_hk[store], "HKD", "CNY"), None).astype(object)
    parts.append(dict(day=ev["day"], sec=ev["sec"], loc=store, sku=sku,
                      kind=np.array([STORE_KINDS.get(k) for k in range(7)], dtype=object)[kind],
                      qty=ev["qty"], price=price, currency=currency, ref=ref))

    # Shipments: one per (ship day, origin, destination, arrival day).
    ln = out.lines
    store = cells.store[ln["cell"]]
    dc_loc = n_stores + store_dc[store]
    back = ln["back"].astype(bool)
    origin = np.where(back, store, dc_loc)
    dest = np.where(back, dc_loc, store)
    group = _rank(ln["ship_day"], ln["ship_sec"], origin, dest, ln["arrive_day"])
    sh_ref = _numbered("SH", group)
    sku = cells.sku[ln["cell"]]
    nothing = np.full(len(group), None, dtype=object)
    parts.append(dict(day=ln["ship_day"], sec=ln["ship_sec"], loc=origin, sku=sku,
                      kind=np.full(len(group), "transfer_out", dtype=object), qty=-ln["qty"],
                      price=np.full(len(group), np.nan), currency=nothing, ref=sh_ref))
    arrived = ln["arrive_day"] < days
    parts.append(dict(day=ln["arrive_day"][arrived], sec=np.full(arrived.sum(), sim.T_ARRIVAL),
                      loc=dest[arrived], sku=sku[arrived],
                      kind=np.full(arrived.sum(), "transfer_in", dtype=object), qty=ln["qty"][arrived],
                      price=np.full(arrived.sum(), np.nan), currency=nothing[arrived], ref=sh_ref[arrived]))

    # Purchase orders: one per (order day, DC, brand); received at the DC after the brand's lead time.
    po = out.orders
    po_dc, po_sku = po["dcsku"] // n_skus, po["dcsku"] % n_skus
    brand_idx = pd.factorize(products["brand_code"])[0][po_sku]
    po_ref = _numbered("PO", _rank(po["order_day"], po_dc, brand_idx))
    got = po["arrive_day"] < days
    parts.append(dict(day=po["arrive_day"][got], sec=np.full(got.sum(), sim.T_DC_RECEIPT),
                      loc=n_stores + po_dc[got], sku=po_sku[got],
                      kind=np.full(got.sum(), "receipt", dtype=object), qty=po["qty"][got],
                      price=products["wholesale_cost_cny"].to_numpy(float)[po_sku[got]],
                      currency=np.full(got.sum(), "CNY", dtype=object), ref=po_ref[got]))

    # End-of-life leftovers at the DCs go back to the brand (return to vendor), leaving the books.
    rtv = out.dc_events
    parts.append(dict(day=rtv["day"], sec=rtv["sec"], loc=n_stores + rtv["dcsku"] // n_skus, sku=rtv["dcsku"] % n_skus,
                      kind=np.full(len(rtv["day"]), "write_off", dtype=object), qty=rtv["qty"],
                      price=np.full(len(rtv["day"]), np.nan), currency=np.full(len(rtv["day"]), None, dtype=object),
                      ref=_numbered("RTV", _rank(rtv["day"], rtv["dcsku"]))))

    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    seconds = cols["day"].astype(np.int64) * 86_400 + cols["sec"].astype(np.int64)
    # Time first; at the same instant additions before removals, then a stable order.
    order = np.lexsort((cols["ref"].astype(str), cols["sku"], cols["loc"], -cols["qty"], seconds))
    epoch = np.datetime64(pd.Timestamp(start).to_datetime64(), "ns")
    ts = pd.DatetimeIndex(epoch + seconds[order].astype("timedelta64[s]")).tz_localize("UTC")
    movements = pd.DataFrame({
        "ts": ts,
        "location": pd.array(locations[cols["loc"][order]], dtype="str"),
        "sku": pd.array(skus[cols["sku"][order]], dtype="str"),
        "kind": pd.array(cols["kind"][order], dtype="str"),
        "quantity": cols["qty"][order].astype(np.int64),
        "unit_price": cols["price"][order].astype(float),
        "currency": cols["currency"][order],
        "reference": pd.array(cols["ref"][order], dtype="str"),
    })

    first_line = np.unique(group, return_index=True)[1]
    day_ts = lambda d, s: pd.DatetimeIndex(epoch + (d * 86_400 + s).astype("timedelta64[s]")).tz_localize("UTC")  # noqa: E731
    arrive = ln["arrive_day"][first_line]
    received = day_ts(arrive, np.full(len(arrive), sim.T_ARRIVAL))
    shipments = pd.DataFrame({
        "reference": pd.array(sh_ref[first_line], dtype="str"),
        "from_location": pd.array(locations[origin[first_line]], dtype="str"),
        "to_location": pd.array(locations[dest[first_line]], dtype="str"),
        "shipped_at": day_ts(ln["ship_day"][first_line], ln["ship_sec"][first_line]),
        "expected_at": day_ts(ln["expected_day"][first_line], np.full(len(arrive), sim.T_ARRIVAL)),
        "received_at": received.where(arrive < days, pd.NaT),
    })
    return movements[MOVEMENT_COLUMNS], shipments[SHIPMENT_COLUMNS]
