"""Replenishment runs and the orders people make of them.

`plan` turns the latest forecast run and the current balances into suggestions (store order
lines with their explanation, allocations of short DC stock, purchase proposals to brands,
same-city transfers), once per forecast run and week: a re-run returns the stored run.
An order exists only when a person submits suggestions; each transition is a verb here,
audited, and shipping goes through retail.services.ledger.ship (the ledger's one path).

The plan follows the range in force on its week (`services/ranging.approved_in_force`): sellable lines only
for `stock` cells; a `show` cell gets one demo unit (a suggested line marked `demo_unit`, or a `display`
range line when a unit is already on hand) and no sellable stock; a `none` cell gets nothing. The sellable
stock of `show` and `none` cells goes first where it sells in the same city (the transfer proposals, as for
an end-of-life SKU), the rest back to the DC (`return` range lines); demo units at end of life (or of a
`none` cell) are proposed for a markdown. The DC buys for the stores' replenishment plus the pooled demand of
the `show` cells, at the conversion rate of customers who wait. Without any approved range the plan is
exactly what it was before ranging.

The policy's parameter (`hold_per_kcny`) is the latest calibration to a planner's target
(`PolicyCalibration`: brand, then tier, then network), else `HOLD_PER_KCNY`; the run's `config` says which.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from forecasting import replenishment as policy
from forecasting.replenishment.cover import cover_demand
from retail import errors
from retail.models import (
    Allocation,
    Location,
    OrderStatus,
    PolicyCalibration,
    Product,
    PurchaseProposal,
    RangeLine,
    ReplenishmentOrder,
    ReplenishmentOrderLine,
    ReplenishmentRun,
    SerialState,
    SerialUnit,
    StockBalance,
    SuggestedLine,
    TransferProposal,
    User,
    utcnow,
)
from retail.services import access, audit, forecasts, ledger, purchasing, ranging, settlement
from retail.services.verbs import NETWORK, STORE, job, query, verb

BATCH = 5000
OPEN = (OrderStatus.submitted, OrderStatus.approved)  # ordered, not yet in the ledger's in_transit
NEXT = {
    "approve": ({OrderStatus.submitted}, OrderStatus.approved),
    "ship": ({OrderStatus.approved}, OrderStatus.shipped),
    "receive": ({OrderStatus.shipped}, OrderStatus.received),
    "close": ({OrderStatus.received}, OrderStatus.closed),
    "cancel": ({OrderStatus.submitted, OrderStatus.approved}, OrderStatus.cancelled),
}

# The cost-aware rule at the simulation's reported point (docs/replenishment.md: about 98 % unit fill
# rate): hold a unit where its chance to sell within 13 weeks is at least 0.0045 per 1,000 CNY of its
# cost. A planner may pass another config.
HOLD_PER_KCNY = 0.0045


class OrderStateConflict(errors.DomainError):
    code = "order_state_conflict"
    message = "Order {reference} is {status}: it cannot be {verb}."


def _positions(session: Session, stores: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    b = StockBalance.__table__.c
    bal = pd.DataFrame(session.execute(select(b.location_id, b.product_id, b.on_hand, b.in_transit, b.reserved,
                                              b.demo)).all(),
                       columns=["location_id", "product_id", "on_hand", "in_transit", "reserved", "demo"])
    o, ln = ReplenishmentOrder.__table__, ReplenishmentOrderLine.__table__
    open_rows = session.execute(select(o.c.location_id, ln.c.product_id, ln.c.quantity)
                                .join(ln, ln.c.order_id == o.c.id)
                                .where(o.c.status.in_([s.value for s in OPEN]))).all()
    opened = pd.DataFrame(open_rows, columns=["location_id", "product_id", "open_orders"])
    opened = opened.groupby(["location_id", "product_id"], as_index=False)["open_orders"].sum()
    pos = bal.merge(opened, on=["location_id", "product_id"], how="outer").fillna(0)
    pos["store"] = pos["location_id"].map(stores.set_index("location_id")["store"])
    pos["sku"] = pos["product_id"].map(products.set_index("product_id")["sku"])
    return pos


@query
def calibrations_in_use(session: Session) -> list[PolicyCalibration]:
    """The latest calibration of hold_per_kcny for each scope and key (network; each tier; each brand)."""
    return ranging.latest_calibrations(session, parameter="hold_per_kcny")


def _hold_by_cell(pairs: pd.DataFrame, calibrations: list[PolicyCalibration], stores: pd.DataFrame,
                  products: pd.DataFrame) -> np.ndarray:
    """hold_per_kcny of each (store, sku): the brand's calibration, else the tier's, else the network's, else
    HOLD_PER_KCNY."""
    network = next((c.value for c in calibrations if c.scope == "network"), HOLD_PER_KCNY)
    value = np.full(len(pairs), float(network))
    tier = {c.scope_key: c.value for c in calibrations if c.scope == "tier"}
    if tier:
        found = pairs["store"].map(stores.set_index("store")["tier"]).astype(str).map(tier).to_numpy(dtype=float)
        value = np.where(np.isnan(found), value, found)
    brand = {c.scope_key: c.value for c in calibrations if c.scope == "brand"}
    if brand:
        found = pairs["sku"].map(products.set_index("sku")["brand"]).map(brand).to_numpy(dtype=float)
        value = np.where(np.isnan(found), value, found)
    return value


def _plan_lines(frame, store_pos, *, as_of, products, stores, config, calibrations) -> pd.DataFrame:
    """policy.plan_orders, once per calibrated value of hold_per_kcny (one call without calibrations by scope)."""
    if config.hold_per_kcny is None or not any(c.scope != "network" for c in calibrations):
        return policy.plan_orders(frame, store_pos, as_of=as_of, products=products, stores=stores, config=config)
    pairs = pd.concat([frame[["store", "sku"]], store_pos[["store", "sku"]]]).drop_duplicates()
    pairs["hold"] = _hold_by_cell(pairs, calibrations, stores, products)
    parts = []
    for hold, group in pairs.groupby("hold"):
        keys = pd.MultiIndex.from_frame(group[["store", "sku"]])
        part_fc = frame[pd.MultiIndex.from_frame(frame[["store", "sku"]]).isin(keys)]
        part_fc.attrs = frame.attrs
        part_pos = store_pos[pd.MultiIndex.from_frame(store_pos[["store", "sku"]]).isin(keys)]
        parts.append(policy.plan_orders(part_fc, part_pos, as_of=as_of, products=products, stores=stores,
                                        config=replace(config, hold_per_kcny=float(hold))))
    return pd.concat(parts, ignore_index=True)


def _range_frame(session: Session, as_of: date, stores: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """store, sku, decision of the cells with an approved decision in force on `as_of`."""
    ranges = ranging.approved_in_force(session, day=as_of)
    ranges["store"] = ranges["location_id"].map(stores.set_index("location_id")["store"])
    ranges["sku"] = ranges["product_id"].map(products.set_index("product_id")["sku"])
    return ranges.dropna(subset=["store", "sku"])[["store", "sku", "decision"]]


def follow_range(lines: pd.DataFrame, ranges: pd.DataFrame) -> pd.DataFrame:
    """No sellable stock for `show` and `none` cells: nothing ordered, nothing kept (their units may go where
    they sell, like an end-of-life SKU's), reason `range_show` / `range_none`. A `show` cell without a demo unit
    keeps one unit of its stock (`display_min` 1, it goes on display)."""
    if not len(ranges):
        return lines
    decision = lines.merge(ranges, on=["store", "sku"], how="left")["decision"].fillna("stock").to_numpy()
    off = decision != "stock"
    out = lines.copy()
    keep_one = (decision == "show") & (out["demo"].to_numpy() == 0) & (out["on_hand"].to_numpy() > 0) \
        if "demo" in out.columns else np.zeros(len(out), bool)
    out.loc[off, ["order_units", "order_up_to", "need", "rounding", "capacity_cut", "presence"]] = 0
    out.loc[off, "display_min"] = 0
    out.loc[keep_one, "display_min"] = 1
    out.loc[off, "reason"] = np.where(decision[off] == "show", "range_show", "range_none")
    return out


def range_proposals(lines: pd.DataFrame, ranges: pd.DataFrame, transfers: pd.DataFrame, *, as_of: date,
                    products: pd.DataFrame, stores: pd.DataFrame, markdown: dict, no_new_demo_weeks: int,
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(demo unit lines to ship: store, sku, units; range lines: store, sku, kind, units, reason, detail).

    `lines` carries the positions (on_hand, in_transit, open_orders, reserved) and `demo` of every store x SKU
    with a forecast or stock. A `show` cell with nothing on display, on hand or on the way gets one demo unit
    from the DC (not when the SKU ends within `no_new_demo_weeks`); with a unit on hand, that unit goes on
    display. The sellable units of `show` and `none` cells not proposed for a transfer go back to the DC. A
    demo unit whose SKU ends within `markdown["weeks"]`, or of a `none` cell, is marked down."""
    cells = lines.merge(ranges, on=["store", "sku"], how="outer")
    for col in ("on_hand", "in_transit", "open_orders", "reserved", "demo"):
        cells[col] = cells[col].fillna(0).astype(np.int64) if col in cells.columns else 0
    cells["decision"] = cells["decision"].fillna("stock")
    out_units = transfers.groupby(["from_store", "sku"])["units"].sum() if len(transfers) else pd.Series(dtype=float)
    cells["moved_out"] = pd.MultiIndex.from_frame(cells[["store", "sku"]]).map(out_units).fillna(0).to_numpy(
        dtype=np.int64) if len(out_units) else 0
    prods = products.set_index("sku")
    eol = pd.to_datetime(cells["sku"].map(prods["eol_date"]))
    monday = pd.Timestamp(as_of)
    ending_soon = (eol.notna() & (eol <= monday + pd.Timedelta(weeks=no_new_demo_weeks))).to_numpy()
    show, none = (cells["decision"] == "show").to_numpy(), (cells["decision"] == "none").to_numpy()
    on_hand, demo = cells["on_hand"].to_numpy(), cells["demo"].to_numpy()
    coming = cells["in_transit"].to_numpy() + cells["open_orders"].to_numpy()
    ship = show & (demo == 0) & (on_hand == 0) & (coming == 0) & ~ending_soon
    display = show & (demo == 0) & (on_hand > 0)
    sellable = np.maximum(on_hand - cells["reserved"].to_numpy() - display.astype(np.int64)
                          - cells["moved_out"].to_numpy(), 0)
    give_back = (show | none) & (sellable > 0)
    mark_weeks = int(markdown.get("weeks", 4))
    marked = (demo > 0) & ((eol.notna() & (eol <= monday + pd.Timedelta(weeks=mark_weeks))).to_numpy() | none)
    demo_lines = cells.loc[ship, ["store", "sku"]].assign(units=1)
    currency = cells["store"].map(stores.set_index("store")["currency"]) if "currency" in stores.columns \
        else pd.Series("CNY", index=cells.index)
    share = float(markdown.get("share", 0.3))
    rows = []
    for kind, mask, units, reason in (
            ("display", display, np.ones(len(cells), np.int64), np.full(len(cells), "range_show", dtype=object)),
            ("return", give_back, sellable, np.where(show, "range_show", "range_none").astype(object)),
            ("markdown", marked, demo, np.where(none & ~ending_soon, "range_none", "demo_end_of_life").astype(object))):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        part = cells.iloc[idx][["store", "sku"]].copy()
        part["kind"], part["units"], part["reason"] = kind, units[idx], reason[idx]
        if kind == "markdown":
            hk = (currency.iloc[idx] == "HKD").to_numpy()
            price = np.where(hk, part["sku"].map(prods["list_price_hkd"]).to_numpy(dtype=float)
                             if "list_price_hkd" in prods else np.nan,
                             part["sku"].map(prods["list_price"]).to_numpy(dtype=float))
            part["detail"] = [{"share": share, "list_price": round(float(p), 2),
                               "price": round(float(p) * (1 - share), 2), "currency": c,
                               "eol_date": str(e.date()) if pd.notna(e) else None}
                              for p, c, e in zip(price, currency.iloc[idx], eol.iloc[idx], strict=True)]
        else:
            part["detail"] = [{"on_hand": int(h), "demo": int(d), "transfers_out": int(m)} for h, d, m in zip(
                on_hand[idx], demo[idx], cells["moved_out"].to_numpy()[idx], strict=True)]
        rows.append(part)
    columns = ["store", "sku", "kind", "units", "reason", "detail"]
    found = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    return demo_lines.reset_index(drop=True), found[columns]


def pooled_forecast(frame: pd.DataFrame, ranges: pd.DataFrame, conversion: pd.Series) -> pd.DataFrame:
    """The demand the DC serves: the forecast of `stock` cells (the stores' replenishment), `show` cells' forecast
    times the share of customers who wait (`conversion`, by store), nothing for `none` cells."""
    if not len(ranges):
        return frame
    decision = frame[["store", "sku"]].merge(ranges, on=["store", "sku"], how="left")["decision"].fillna("stock")
    decision = decision.to_numpy()
    scale = np.where(decision == "show", frame["store"].map(conversion).fillna(0.6).to_numpy(dtype=float), 1.0)
    out = frame[decision != "none"].copy()
    out["mean"] = (frame["mean"].to_numpy(dtype=float) * scale)[decision != "none"]
    out.attrs = frame.attrs
    return out


@job
def plan(session: Session, *, as_of: date | None = None, forecast_run_id: int | None = None,
         config: policy.PolicyConfig | None = None, actor_id: int | None = None,
         progress=None) -> ReplenishmentRun:
    """Plan one week from a forecast run (default: the latest), the current balances and the range in force."""
    step = progress or (lambda label: None)
    run_fc = forecasts.latest_run(session) if forecast_run_id is None else session.get(
        forecasts.ForecastRun, forecast_run_id)
    if run_fc is None:
        raise errors.NotFound(what="Forecast run", key=forecast_run_id or "latest")
    as_of = as_of or run_fc.start_week
    existing = session.execute(select(ReplenishmentRun).where(
        ReplenishmentRun.forecast_run_id == run_fc.id, ReplenishmentRun.as_of == as_of)).scalars().first()
    if existing is not None:
        if purchasing.orders_from_plan(session, run_id=existing.id):  # a run planned before purchase orders
            session.commit()
        return existing
    began = time.perf_counter()
    calibrations = calibrations_in_use(session) if config is None else []
    network_cal = next((c for c in calibrations if c.scope == "network"), None)
    config = config or policy.PolicyConfig(hold_per_kcny=network_cal.value if network_cal else HOLD_PER_KCNY)
    products, stores = forecasts.master_frames(session)
    step("read forecast")
    frame = forecasts.forecast_frame(session, run_id=run_fc.id)
    step("positions")
    pos = _positions(session, stores, products)
    store_pos = pos[pos["store"].notna()]
    dc_pos = pos[pos["store"].isna()]
    ranges = _range_frame(session, as_of, stores, products)
    step("order lines")
    lines = _plan_lines(frame, store_pos.drop(columns=["location_id", "product_id", "demo"]),
                        as_of=pd.Timestamp(as_of), products=products, stores=stores, config=config,
                        calibrations=calibrations)
    if len(ranges):
        lines = lines.merge(store_pos[["store", "sku", "demo"]], on=["store", "sku"], how="left")
        lines["demo"] = lines["demo"].fillna(0).astype(np.int64)
        lines = follow_range(lines, ranges)
    step("transfers")
    left = run_fc.horizon - (as_of - run_fc.start_week).days // 7
    horizon = cover_demand(frame, as_of=pd.Timestamp(as_of), cover_weeks=max(1, min(config.shelf_weeks, left)))
    transfers = policy.propose_transfers(lines, horizon, stores=stores, products=products)
    lines = policy.apply_transfers(lines, transfers)
    demo_lines = pd.DataFrame(columns=["store", "sku", "units"])
    range_lines = pd.DataFrame(columns=["store", "sku", "kind", "units", "reason", "detail"])
    conf = ranging.settings(session) if len(ranges) else None
    if len(ranges):
        prices = products.assign(list_price_hkd=products["product_id"].map(_hkd_prices(session)))
        currency = stores.assign(currency=stores["market"].map({"HK": "HKD"}).fillna("CNY"))
        demo_lines, range_lines = range_proposals(
            lines, ranges, transfers, as_of=as_of, products=prices, stores=currency,
            markdown=conf.values["markdown"], no_new_demo_weeks=conf.maths().eol_weeks)
    step("allocation")
    st = stores.set_index("store")
    lines["dc"] = lines["store"].map(st["dc"])
    loc_code = {loc.id: loc.code for loc in session.execute(select(Location)).scalars()}
    dc_stock = pd.DataFrame({"dc": dc_pos["location_id"].map(loc_code), "sku": dc_pos["sku"].fillna(
        dc_pos["product_id"].map(products.set_index("product_id")["sku"])),
        "units": (dc_pos["on_hand"] - dc_pos["reserved"]).clip(lower=0)})
    wanted = lines[lines["order_units"] > 0].rename(columns={"order_units": "units"})
    if len(demo_lines):
        # A demo unit ranks like a unit that sells for sure: the display comes first.
        wanted = pd.concat([wanted, demo_lines.assign(dc=demo_lines["store"].map(st["dc"]), forecast_cover=1.0,
                                                      cover_phi=0.0, position=0, service_level=0.95)],
                           ignore_index=True)
    alloc = policy.allocate(wanted, dc_stock)
    step("purchases")
    dc_position = dc_stock.rename(columns={"units": "on_hand"}).assign(on_order=0, committed=0)
    dc_position = dc_position.merge(alloc.groupby(["dc", "sku"], as_index=False)["allocated"].sum()
                                    .rename(columns={"allocated": "committed_now"}), on=["dc", "sku"], how="left")
    dc_position["committed"] = dc_position["committed_now"].fillna(0)
    demand = frame
    if len(ranges):
        conversion = pd.Series(conf.maths().conversion_of(stores["market"], stores["tier"]), index=stores["store"])
        demand = pooled_forecast(frame, ranges, conversion)
    purchases = policy.purchase_proposals(demand, dc_position.drop(columns="committed_now"),
                                          as_of=pd.Timestamp(as_of), products=products, store_dc=st["dc"])
    step("store")
    cal_used = {"hold_per_kcny": config.hold_per_kcny, "target": network_cal.target if network_cal else None,
                "calibration_id": network_cal.id if network_cal else None,
                "calibrations": [{"id": c.id, "scope": c.scope, "key": c.scope_key, "target": c.target,
                                  "value": c.value} for c in calibrations]}
    run = ReplenishmentRun(forecast_run_id=run_fc.id, as_of=as_of, created_by=actor_id,
                           config={"service_level": config.service.default, "review_weeks": config.review_weeks,
                                   "lead_weeks": config.lead_weeks, "shelf_weeks": config.shelf_weeks, **cal_used,
                                   "ranged_cells": int(len(ranges))})
    session.add(run)
    session.flush()
    sid, pid = st["location_id"], products.set_index("sku")["product_id"]
    dc_id = {code: i for i, code in loc_code.items()}
    ordered = lines[lines["order_units"] > 0]
    texts = policy.explain(ordered).to_numpy()
    keep = [c for c in policy.policy.LINE_COLUMNS if c not in ("store", "sku")]
    rows = [{"run_id": run.id, "location_id": int(sid[r["store"]]), "product_id": int(pid[r["sku"]]),
             "quantity": int(r["order_units"]), "text": texts[i][:600],
             "explanation": {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items() if k in keep}}
            for i, r in enumerate(ordered.to_dict("records"))]
    rows += [{"run_id": run.id, "location_id": int(sid[r["store"]]), "product_id": int(pid[r["sku"]]),
              "quantity": int(r["units"]), "text": DEMO_TEXT,
              "explanation": {"reason": "demo_unit", "range": "show", "order_units": int(r["units"])}}
             for r in demo_lines.to_dict("records")]
    for lo in range(0, len(rows), BATCH):
        session.execute(insert(SuggestedLine), rows[lo:lo + BATCH])
    if len(range_lines):
        extra = [{"run_id": run.id, "location_id": int(sid[r["store"]]), "product_id": int(pid[r["sku"]]),
                  "kind": r["kind"], "quantity": int(r["units"]), "reason": r["reason"], "detail": r["detail"]}
                 for r in range_lines.to_dict("records")]
        for lo in range(0, len(extra), BATCH):
            session.execute(insert(RangeLine), extra[lo:lo + BATCH])
    short = alloc[alloc["short"] > 0]
    if len(short):
        session.execute(insert(Allocation), [
            {"run_id": run.id, "dc_id": dc_id[r["dc"]], "location_id": int(sid[r["store"]]),
             "product_id": int(pid[r["sku"]]), "requested": int(r["units"]), "allocated": int(r["allocated"])}
            for r in short.to_dict("records")])
    buy = purchases[(purchases["units"] > 0) & purchases["dc"].isin(dc_id)]
    if len(buy):
        brand_id = products.set_index("sku")["brand_id"]
        session.execute(insert(PurchaseProposal), [
            {"run_id": run.id, "dc_id": dc_id[r["dc"]], "product_id": int(pid[r["sku"]]),
             "brand_id": int(brand_id[r["sku"]]), "quantity": int(r["units"]),
             "arrival_week": pd.Timestamp(r["arrival_week"]).date(),
             "explanation": {k: float(r[k]) for k in ("forecast_cover", "service_level", "cover_quantile", "on_hand",
                                                      "committed", "position", "need", "moq", "pack_size")}}
            for r in buy.to_dict("records")])
    if len(transfers):
        session.execute(insert(TransferProposal), [
            {"run_id": run.id, "from_location_id": int(sid[r["from_store"]]), "to_location_id": int(sid[r["to_store"]]),
             "product_id": int(pid[r["sku"]]), "quantity": int(r["units"]), "expected_gain": float(r["expected_gain"]),
             "explanation": {"p_from": float(r["p_from"]), "p_to": float(r["p_to"]), "aged": bool(r["aged"])}}
            for r in transfers.to_dict("records")])
    purchasing.orders_from_plan(session, run_id=run.id)  # the proposals, addressed to each brand
    run.lines = len(rows)
    run.units = int(ordered["order_units"].sum()) + int(demo_lines["units"].sum() if len(demo_lines) else 0)
    run.seconds = round(time.perf_counter() - began, 2)
    audit.record(session, actor_id=actor_id, action="replenishment.plan", entity="replenishment_run",
                 entity_id=run.id, detail={"as_of": str(as_of), "lines": run.lines, "units": run.units,
                                           "transfers": len(transfers), "purchases": len(buy),
                                           "demo_units": len(demo_lines), "range_lines": len(range_lines),
                                           "hold_per_kcny": config.hold_per_kcny})
    session.commit()
    return run


DEMO_TEXT = "Demo unit: the store shows this model and sells it to order (range: show)."


def _hkd_prices(session: Session) -> pd.Series:
    return pd.Series(dict(session.execute(select(Product.id, Product.list_price_hkd)).all()), dtype=float)


@query
def range_lines(session: Session, *, run_id: int, store_id: int | None = None) -> list[RangeLine]:
    """The range lines of a run (display, return, markdown), of one store when given."""
    q = select(RangeLine).where(RangeLine.run_id == run_id)
    if store_id is not None:
        q = q.where(RangeLine.location_id == store_id)
    return list(session.execute(q.order_by(RangeLine.location_id, RangeLine.product_id, RangeLine.kind)).scalars())


@verb(STORE)
def submit(session: Session, actor: User, *, store_id: int, run_id: int,
           quantities: Mapping[int, int] | None = None) -> ReplenishmentOrder:
    """A store manager or planner turns a run's suggestions for a store into an order.
    `quantities` (product id -> units) may change the suggested units; 0 drops a line.
    Submitting the same run and store again returns the order already made."""
    if not access.may_submit_orders(actor, store_id):
        raise errors.Forbidden(what=f"orders of store {store_id}")
    actor_id = actor.id
    lines = session.execute(select(SuggestedLine).where(SuggestedLine.run_id == run_id,
                                                        SuggestedLine.location_id == store_id)).scalars().all()
    made = next((ln.order_id for ln in lines if ln.order_id is not None), None)
    if made is not None:
        return session.get(ReplenishmentOrder, made)
    if not lines:
        raise errors.NotFound(what="Suggestion for store", key=f"{store_id} in run {run_id}")
    store = session.get(Location, store_id)
    if store is None or store.dc_id is None:
        raise errors.UnknownLocation(location=store_id)
    order = ReplenishmentOrder(reference=f"RO-{run_id}-{store.code}"[:32], run_id=run_id, location_id=store_id,
                               from_location_id=store.dc_id, status=OrderStatus.submitted, submitted_by=actor_id)
    session.add(order)
    session.flush()
    for ln in lines:
        qty = ln.quantity if quantities is None else quantities.get(ln.product_id, ln.quantity)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise errors.InvalidQuantity(quantity=qty)
        ln.order_id = order.id
        if qty:
            session.add(ReplenishmentOrderLine(order_id=order.id, product_id=ln.product_id, quantity=qty,
                                               suggested_line_id=ln.id))
    session.flush()
    settlement.price_order(session, actor, store_id=store_id, order_id=order.id)  # franchise: priced, maybe held
    audit.record(session, actor_id=actor_id, action="order.submitted", entity="replenishment_order",
                 entity_id=order.reference, detail={"lines": len(lines)})
    session.flush()
    return order


def _transition(session: Session, order_id: int, verb: str, actor_id: int | None, **values) -> ReplenishmentOrder:
    allowed, target = NEXT[verb]
    order = session.get(ReplenishmentOrder, order_id)
    if order is None:
        raise errors.NotFound(what="Order", key=order_id)
    if order.status == target:
        return order  # a retried request does not act twice
    claimed = session.execute(
        update(ReplenishmentOrder).where(ReplenishmentOrder.id == order_id,
                                         ReplenishmentOrder.status.in_([s.value for s in allowed]))
        .values(status=target, updated_at=utcnow(), **values).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        status = session.execute(select(ReplenishmentOrder.status).where(ReplenishmentOrder.id == order_id)).scalar_one()
        raise OrderStateConflict(reference=order.reference, status=status, verb=verb + ("d" if verb.endswith("e") else "ped" if verb == "ship" else "led" if verb == "cancel" else "ed"))
    audit.record(session, actor_id=actor_id, action=f"order.{target.value}", entity="replenishment_order",
                 entity_id=order.reference, detail=None)
    return order


@verb(NETWORK)
def approve(session: Session, actor: User, *, order_id: int, acknowledge_credit_hold: bool = False
            ) -> ReplenishmentOrder:
    settlement.acknowledge_hold(session, actor, order_id=order_id, acknowledged=acknowledge_credit_hold)
    order = _transition(session, order_id, "approve", actor.id, approved_by=actor.id)
    session.flush()
    session.refresh(order)
    return order


@verb(NETWORK)
def ship(session: Session, actor: User, *, order_id: int) -> ReplenishmentOrder:
    """Ship an approved order from its DC: serials are picked first in, the ledger moves via shipments.ship."""
    order = session.get(ReplenishmentOrder, order_id)
    if order is None:
        raise errors.NotFound(what="Order", key=order_id)
    if order.status == OrderStatus.shipped:
        return order
    lines = session.execute(select(ReplenishmentOrderLine).where(ReplenishmentOrderLine.order_id == order_id)
                            ).scalars().all()
    out = []
    for ln in lines:
        product = session.get(Product, ln.product_id)
        serials = []
        if product.serialised:
            serials = list(session.execute(
                select(SerialUnit.serial).where(SerialUnit.product_id == product.id,
                                                SerialUnit.location_id == order.from_location_id,
                                                SerialUnit.state == SerialState.in_stock)
                .order_by(SerialUnit.updated_at, SerialUnit.serial).limit(ln.quantity)).scalars())
        out.append(ledger.Line(sku=product.sku, quantity=ln.quantity, serials=serials))
    order = _transition(session, order_id, "ship", actor.id)
    shipment = ledger.ship(session, from_location_id=order.from_location_id, to_location_id=order.location_id,
                           lines=out, reference=order.reference, actor_id=actor.id)
    order.shipment_id = shipment.id
    settlement.invoice_order(session, actor, order_id=order_id)  # franchise: invoiced once
    session.flush()
    session.refresh(order)
    return order


@verb(STORE)
def receive(session: Session, actor: User, *, store_id: int, order_id: int,
            received: Mapping[str, int] | None = None) -> ReplenishmentOrder:
    """The ordering store receives the order's delivery (another store's order is NotFound)."""
    order = session.get(ReplenishmentOrder, order_id)
    if order is None or order.location_id != store_id:
        raise errors.NotFound(what="Order", key=order_id)
    if order.status == OrderStatus.received:
        return order
    order = _transition(session, order_id, "receive", actor.id)
    ledger.receive(session, shipment_id=order.shipment_id, received=dict(received or {}), actor_id=actor.id)
    session.flush()
    session.refresh(order)
    return order


def _moved(session: Session, order_id: int, verb_name: str, actor: User) -> ReplenishmentOrder:
    order = _transition(session, order_id, verb_name, actor.id)
    session.flush()
    session.refresh(order)
    return order


@verb(NETWORK)
def close(session: Session, actor: User, *, order_id: int) -> ReplenishmentOrder:
    """A received order is closed by a planner."""
    return _moved(session, order_id, "close", actor)


@verb(NETWORK)
def cancel(session: Session, actor: User, *, order_id: int) -> ReplenishmentOrder:
    """An order not yet shipped is cancelled by a planner."""
    return _moved(session, order_id, "cancel", actor)


@query
def suggestion_count(session: Session, *, run_id: int) -> int:
    return int(np.asarray(session.execute(select(SuggestedLine.id).where(SuggestedLine.run_id == run_id)).all()).shape[0])


def line_reasons(line: SuggestedLine) -> list[tuple[str, dict]]:
    """Why the plan suggests this line, as the policy's codes and numbers (`policy.reasons`); the pages
    word them in the reader's language (`retail/web/explanations.py`)."""
    if line.explanation and line.explanation.get("reason") == "demo_unit":
        return [("demo_unit", {})]
    return policy.reasons(line.explanation) if line.explanation else []


@dataclass(frozen=True)
class SuggestedOrder:
    run: ReplenishmentRun
    lines: list[tuple]  # (SuggestedLine, Product, ordered quantity or None)
    order: ReplenishmentOrder | None


@query
def suggested_order(session: Session, *, store_id: int) -> SuggestedOrder | None:
    """The store's lines of the latest replenishment run, with the order made of them if any."""
    run = session.execute(select(ReplenishmentRun).join(SuggestedLine, SuggestedLine.run_id == ReplenishmentRun.id)
                          .where(SuggestedLine.location_id == store_id)
                          .order_by(ReplenishmentRun.as_of.desc(), ReplenishmentRun.id.desc()).limit(1)
                          ).scalars().first()
    if run is None:
        return None
    rows = session.execute(
        select(SuggestedLine, Product).join(Product, Product.id == SuggestedLine.product_id)
        .where(SuggestedLine.run_id == run.id, SuggestedLine.location_id == store_id).order_by(Product.sku)
    ).all()
    order_id = next((line.order_id for line, _ in rows if line.order_id is not None), None)
    order = session.get(ReplenishmentOrder, order_id) if order_id else None
    ordered = {}
    if order is not None:
        ordered = dict(session.execute(select(ReplenishmentOrderLine.product_id, ReplenishmentOrderLine.quantity)
                                       .where(ReplenishmentOrderLine.order_id == order.id)).all())
    return SuggestedOrder(run, [(line, product, ordered.get(product.id, 0) if order else None)
                                for line, product in rows], order)


# --- targets, not constants: the policy's parameter calibrated to a planner's target ----------------------

CALIBRATION_SCOPES = {None: "network", "network": "network", "tier": "tier", "brand": "brand"}


class CalibrationUnavailable(errors.DomainError):
    code = "calibration_unavailable"
    message = "Calibration cannot run: {reason}."


@job
def record_calibration(session: Session, *, target: float, value: float, achieved: float, scope: str = "network",
                       scope_key: str = "", policy_name: str = "ours", parameter: str = "hold_per_kcny",
                       detail: dict | None = None, actor_id: int | None = None) -> PolicyCalibration:
    """Store one calibration (the parameter found for a target), audited; the next plan uses it."""
    if scope not in ("network", "tier", "brand"):
        raise errors.InvalidValue(field="scope", value=str(scope)[:20])
    if parameter not in ("hold_per_kcny", "serve_value"):
        raise errors.InvalidValue(field="parameter", value=str(parameter)[:20])
    top = 1.0 if parameter == "hold_per_kcny" else 1e7
    for name, number, low, high in (("target", target, 0.5, 0.999), ("value", value, 1e-6, top),
                                    ("achieved", achieved, 0.0, 1.0)):
        if isinstance(number, bool) or not isinstance(number, int | float) or not low <= float(number) <= high:
            raise errors.InvalidValue(field=name, value=str(number)[:20])
    row = PolicyCalibration(target=float(target), scope=scope, scope_key=str(scope_key)[:40], value=float(value),
                            parameter=parameter,
                            achieved=float(achieved), policy=policy_name[:16], detail=detail, created_by=actor_id)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor_id, action="policy.calibrated", entity="policy_calibration",
                 entity_id=row.id, detail={"target": row.target, "scope": scope, "key": row.scope_key,
                                           row.parameter: row.value, "achieved": row.achieved})
    session.commit()
    return row


def _calibration_rows(result) -> list[dict]:
    """forecasting.calibration.calibrate's answer (a `Calibration`: `value` one number, or one per tier or brand;
    `demand_served` the network's, `served_by_group` each group's) as rows to store."""
    value = getattr(result, "value", None)
    if value is None:
        raise CalibrationUnavailable(reason="the calibration returned no parameter")
    detail = {k: getattr(result, k, None) for k in ("policy", "parameter", "reached", "weeks", "first_week",
                                                    "last_week", "runs", "turnover", "gross_margin", "conversion")}
    detail = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in detail.items()}
    served = float(result.demand_served)
    if isinstance(value, Mapping):
        by_group = getattr(result, "served_by_group", {}) or {}
        return [{"scope_key": str(key), "value": float(v), "achieved": float(by_group.get(key, served)),
                 "parameter": detail["parameter"] or "hold_per_kcny", "detail": {**detail, "network_served": served}}
                for key, v in value.items()]
    return [{"scope_key": "", "value": float(value), "achieved": served,
             "parameter": detail["parameter"] or "hold_per_kcny", "detail": detail}]


@job
def calibrate(session: Session, *, target: float, by: str | None = None, policy_name: str = "ours",
              actor_id: int | None = None, progress=None, if_needed: bool = False) -> list[PolicyCalibration]:
    """Export the network's sales history (`exports.forecasting_frames`, the `demo export` files) into a temporary
    directory, let `forecasting.calibration.calibrate` find the parameter that serves `target` of demand over the
    network's last year (for the network, or each tier or brand with `by`), and store each result
    (`record_calibration`; the plan reads `hold_per_kcny`, the parameter of policy "ours"). With `if_needed`,
    nothing is done (an empty list) when a calibration of this policy and scope to this target is stored
    (`make run` on a world already set up)."""
    import tempfile
    from pathlib import Path

    from retail.services import exports

    scope = CALIBRATION_SCOPES.get(by)
    if scope is None:
        raise errors.InvalidValue(field="by", value=str(by)[:20])
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0.5 <= float(target) <= 0.999:
        raise errors.InvalidValue(field="target", value=str(target)[:20])
    if if_needed and session.execute(select(PolicyCalibration.id).where(
            PolicyCalibration.policy == policy_name, PolicyCalibration.scope == scope,
            func.abs(PolicyCalibration.target - float(target)) < 1e-9).limit(1)).first() is not None:
        return []
    try:
        from forecasting import calibration as calibration_maths
    except ImportError as exc:
        raise CalibrationUnavailable(reason="forecasting.calibration is not installed yet") from exc
    step = progress or (lambda label: None)
    step("export")
    frames = exports.forecasting_frames(session.get_bind())
    if frames["sales"].empty:
        raise CalibrationUnavailable(reason="the ledger has no sales to replay")
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        for name, frame in frames.items():
            frame.to_parquet(Path(tmp) / f"{name}.parquet", index=False)
        step("simulate")
        result = calibration_maths.calibrate(tmp, target=float(target), by=None if scope == "network" else scope,
                                             policy=policy_name)
    step("store")
    return [record_calibration(session, target=float(target), scope=scope, policy_name=policy_name,
                               actor_id=actor_id, **row) for row in _calibration_rows(result)]


@query
def latest_run_config(session: Session) -> dict | None:
    """The latest plan's week and policy (which target and parameter it used), for the pages."""
    run = session.execute(select(ReplenishmentRun).order_by(ReplenishmentRun.as_of.desc(), ReplenishmentRun.id.desc())
                          .limit(1)).scalars().first()
    if run is None:
        return None
    return {"id": run.id, "as_of": run.as_of, **(run.config or {})}


@query
def latest_range_lines(session: Session, *, store: str | None = None, limit: int = 200) -> dict:
    """The latest plan's range lines: lines and units by kind for the network, and one store's lines (by store
    code, at most `limit`) with their SKU, reason and figures."""
    run = session.execute(select(ReplenishmentRun.id).order_by(ReplenishmentRun.as_of.desc(),
                                                               ReplenishmentRun.id.desc()).limit(1)).scalar()
    if run is None:
        return {"run_id": None, "totals": {}, "rows": []}
    totals = {kind: (int(n), int(units or 0)) for kind, n, units in session.execute(
        select(RangeLine.kind, func.count(), func.sum(RangeLine.quantity)).where(RangeLine.run_id == run)
        .group_by(RangeLine.kind)).all()}
    rows = []
    if store:
        rows = [{"kind": line.kind, "sku": sku, "quantity": line.quantity, "reason": line.reason,
                 "detail": line.detail or {}}
                for line, sku in session.execute(
                    select(RangeLine, Product.sku).join(Location, Location.id == RangeLine.location_id)
                    .join(Product, Product.id == RangeLine.product_id)
                    .where(RangeLine.run_id == run, Location.code == store[:16])
                    .order_by(Product.sku, RangeLine.kind).limit(limit)).all()]
    return {"run_id": run, "totals": totals, "rows": rows}
