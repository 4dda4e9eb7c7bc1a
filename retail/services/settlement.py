"""Franchise purchases (pricing, credit holds, invoices, payments) and monthly settlement statements
(issue 15; docs/settlement.md).

- A franchise store's submitted order is priced from the wholesale price list of its tier in force that day
  (`price_order`, called by `replenishment.submit`). It is held when the open balance plus the orders not
  yet invoiced plus this order exceed the credit limit, when the agreement is not active, or when it orders a
  brand the store is not authorised for; a held order is approved only with the hold acknowledged
  (`acknowledge_hold`, called by `replenishment.approve`). Shipping invoices it, once (`invoice_order`,
  called by `replenishment.ship`; the invoice is unique on the order). Consignment orders are not priced:
  they stay transfers of the platform's stock.
- `run_month` issues one statement per store and month (the store's local month), computed from the ledger:
  franchise: opening balance, invoices, payments, closing balance; consignment: units sold and returned by SKU
  at the price sold, the store's and the platform's shares (each day under the agreement version in force
  that day), and shrinkage (count adjustments below zero) charged at the agreed rate of the list price.
  An issued statement never changes. A movement, invoice or payment recorded into an issued month after it
  was issued is found by its id (above the statement's `seen_*_id`) on the next run and issued as an
  adjusting statement of that month (sequence 2, 3, ...), reported in the month of that run.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from retail import errors, parsing
from retail.clock import as_utc
from retail.models import (
    Agreement,
    AgreementModel,
    AgreementStatus,
    Brand,
    Invoice,
    Location,
    Movement,
    OrderPricing,
    OrderStatus,
    Payment,
    Product,
    ReplenishmentOrder,
    ReplenishmentOrderLine,
    Statement,
    StockBalance,
    User,
    utcnow,
)
from retail.services import agreements, audit, prices
from retail.services.prices import cents
from retail.services.verbs import NETWORK, STORE, job, query, transaction, verb

ZERO = Decimal("0.00")
LEDGER_KINDS = ("sale", "return", "count_adjustment")
NUMBERS = ("units", "amount", "store_share", "platform_share")  # the additive fields of a statement line
CHUNK = 500


# ---------------------------------------------------------------- months and days

def month_of(value: date) -> date:
    return value.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_month(text: str) -> date:
    """`YYYY-MM` -> its first day (InvalidValue otherwise)."""
    try:
        value = datetime.strptime(str(text or "").strip(), "%Y-%m").date()
    except ValueError:
        raise errors.InvalidValue(field="month", value=str(text)[:20]) from None
    if not 2000 <= value.year <= 2100:
        raise errors.InvalidValue(field="month", value=str(text)[:20])
    return value


def bounds(month: date, tz: str) -> tuple[datetime, datetime]:
    """The month's first and next month's first moment in the time zone, in UTC."""
    zone = ZoneInfo(tz)
    start = datetime.combine(month, clock_time.min, zone).astimezone(UTC)
    return start, datetime.combine(next_month(month), clock_time.min, zone).astimezone(UTC)


def local_day(ts: datetime, tz: str) -> date:
    return as_utc(ts).astimezone(ZoneInfo(tz)).date()


def _s(value: Decimal) -> str:
    """An amount as its decimal string, to the cent ("0.00", never "-0.00")."""
    amount = cents(value)
    return f"{amount if amount else ZERO:.2f}"


def _d(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


# ---------------------------------------------------------------- franchise orders: price, hold, invoice

@query
def open_balance_of(session: Session, store_id: int, before: datetime | None = None) -> Decimal:
    """Invoices less payments (before a moment, if given)."""
    inv = select(func.coalesce(func.sum(Invoice.total), 0)).where(Invoice.location_id == store_id)
    pay = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.location_id == store_id)
    if before is not None:
        inv, pay = inv.where(Invoice.issued_at < before), pay.where(Payment.received_at < before)
    return cents(_d(session.execute(inv).scalar()) - _d(session.execute(pay).scalar()))


def _pending(session: Session, store_id: int, except_order: int | None = None) -> Decimal:
    """Priced orders of the store that are submitted or approved, not yet invoiced."""
    o = ReplenishmentOrder.__table__.c
    statement = (select(func.coalesce(func.sum(OrderPricing.total), 0))
                 .join(ReplenishmentOrder, ReplenishmentOrder.id == OrderPricing.order_id)
                 .where(OrderPricing.location_id == store_id,
                        o.status.in_([OrderStatus.submitted.value, OrderStatus.approved.value])))
    if except_order is not None:
        statement = statement.where(OrderPricing.order_id != except_order)
    return cents(_d(session.execute(statement).scalar()))


@verb(STORE)
def price_order(session: Session, actor: User, *, store_id: int, order_id: int) -> OrderPricing | None:
    """Price a franchise store's submitted order and check it against the credit limit (once: a second call
    gives the first pricing). A store without a franchise agreement in force: nothing (a transfer as before)."""
    order = session.get(ReplenishmentOrder, order_id)
    if order is None or order.location_id != store_id:
        raise errors.NotFound(what="Order", key=order_id)
    done = session.get(OrderPricing, order_id)
    if done is not None:
        return done
    store = session.get(Location, store_id)
    day = local_day(utcnow(), store.timezone)
    agreement = agreements.in_force(session, store_id=store_id, day=day)
    if agreement is None or agreement.model != AgreementModel.franchise:
        return None
    rows = session.execute(select(ReplenishmentOrderLine.product_id, ReplenishmentOrderLine.quantity, Product.sku,
                                  Product.brand_id)
                           .join(Product, Product.id == ReplenishmentOrderLine.product_id)
                           .where(ReplenishmentOrderLine.order_id == order_id).order_by(Product.sku)).all()
    by_tier: dict[str, list[int]] = defaultdict(list)
    for product_id, _qty, _sku, brand_id in rows:
        by_tier[agreements.tier_for(agreement, brand_id)].append(product_id)
    price = {}
    for tier, ids in by_tier.items():
        for product_id, amount in prices.prices_in_force(session, product_ids=ids, price_list=tier,
                                                         currency=agreement.currency, day=day).items():
            price[product_id] = amount
    lines, total = [], ZERO
    for product_id, quantity, sku, brand_id in rows:
        amount = cents(price[product_id] * quantity)
        total += amount
        lines.append({"product_id": product_id, "sku": sku, "brand_id": brand_id, "quantity": quantity,
                      "unit_price": _s(price[product_id]), "amount": _s(amount)})
    balance, pending = open_balance_of(session, store_id), _pending(session, store_id, except_order=order_id)
    reasons = []
    if agreement.status != AgreementStatus.active:
        reasons.append({"code": "hold_agreement_status", "status": agreement.status})
    elif agreement.ends_on is not None and agreement.ends_on < day:
        reasons.append({"code": "hold_agreement_status", "status": AgreementStatus.terminated.value})
    if agreement.authorised_brands is not None:
        outside = [ln["sku"] for ln in lines if ln["brand_id"] not in set(agreement.authorised_brands)]
        if outside:
            reasons.append({"code": "hold_brand_not_authorised", "skus": ", ".join(outside[:20])})
    if agreement.credit_limit is not None and balance + pending + total > agreement.credit_limit:
        reasons.append({"code": "hold_credit_limit", "open_balance": _s(balance), "pending": _s(pending),
                        "order_total": _s(total), "credit_limit": _s(agreement.credit_limit),
                        "currency": agreement.currency})
    pricing = OrderPricing(order_id=order_id, location_id=store_id, agreement_id=agreement.id,
                           currency=agreement.currency, total=cents(total), lines=lines, open_balance=balance,
                           credit_limit=agreement.credit_limit, hold_reasons=reasons, held=bool(reasons))
    session.add(pricing)
    session.flush()
    audit.record(session, actor_id=actor.id, action="order.priced", entity="replenishment_order",
                 entity_id=order.reference, detail={"total": _s(total), "currency": agreement.currency,
                                                    "held": [r["code"] for r in reasons]})
    return pricing


@verb(NETWORK)
def acknowledge_hold(session: Session, actor: User, *, order_id: int, acknowledged: bool = False) -> None:
    """Before a held order is approved: refuse unless the planner acknowledges the hold; record who did."""
    pricing = session.get(OrderPricing, order_id)
    if pricing is None or not pricing.held or pricing.acknowledged_by is not None:
        return
    order = session.get(ReplenishmentOrder, order_id)
    if order is None or order.status != OrderStatus.submitted:
        return
    if acknowledged is not True:
        raise errors.CreditHoldNotAcknowledged(reference=order.reference,
                                               reasons=", ".join(r["code"] for r in pricing.hold_reasons))
    session.execute(update(OrderPricing).where(OrderPricing.order_id == order_id,
                                               OrderPricing.acknowledged_by.is_(None))
                    .values(acknowledged_by=actor.id, acknowledged_at=utcnow())
                    .execution_options(synchronize_session=False))
    audit.record(session, actor_id=actor.id, action="order.hold_acknowledged", entity="replenishment_order",
                 entity_id=order.reference, detail={"reasons": [r["code"] for r in pricing.hold_reasons]})


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@verb(NETWORK)
def invoice_order(session: Session, actor: User, *, order_id: int) -> Invoice | None:
    """Invoice a shipped franchise order, once (unique on the order: a second call, or a concurrent one, gives
    the first invoice). Orders that were not priced (consignment, no agreement) are not invoiced."""
    pricing = session.get(OrderPricing, order_id)
    if pricing is None:
        return None
    order = session.get(ReplenishmentOrder, order_id)
    store = session.get(Location, order.location_id)
    agreement = session.get(Agreement, pricing.agreement_id)
    quantities = dict(session.execute(select(ReplenishmentOrderLine.product_id, ReplenishmentOrderLine.quantity)
                                      .where(ReplenishmentOrderLine.order_id == order_id)).all())
    lines, total = [], ZERO
    for line in pricing.lines:
        quantity = quantities.get(line["product_id"], 0)
        if quantity:
            amount = cents(_d(line["unit_price"]) * quantity)
            total += amount
            lines.append({**line, "quantity": quantity, "amount": _s(amount)})
    now = utcnow()
    table = Invoice.__table__
    made = session.execute(_insert(session)(table).values(
        number=f"INV-{order.reference}"[:40], location_id=store.id, order_id=order_id, agreement_id=agreement.id,
        currency=pricing.currency, total=cents(total), lines=lines, issued_at=now,
        due_on=local_day(now, store.timezone) + timedelta(days=agreement.payment_terms_days),
    ).on_conflict_do_nothing().returning(table.c.id)).scalar_one_or_none()  # the order or its number: invoiced
    invoice = session.execute(select(Invoice).where(Invoice.order_id == order_id)).scalars().one()
    if made is not None:
        audit.record(session, actor_id=actor.id, action="invoice.issued", entity="invoice", entity_id=invoice.number,
                     detail={"order": order.reference, "total": _s(total), "currency": pricing.currency})
    return invoice


@verb(NETWORK)
def record_payment(session: Session, actor: User, *, store_id: int, amount, received_on: date, reference: str,
                   note: str | None = None) -> Payment:
    """A planner records money a franchise store paid. The same reference for the store again: the same
    payment is given back; with another amount or day it is refused (DuplicateReference)."""
    store = session.get(Location, store_id)
    if store is None or store.kind != "store":
        raise errors.NotFound(what="Store", key=store_id)
    amount = parsing.money(amount, field="amount", required=True)
    if amount <= 0:
        raise errors.InvalidMoney(field="amount", value=str(amount))
    if not isinstance(received_on, date):
        raise errors.InvalidDate(field="date", value=str(received_on)[:20])
    reference = parsing.reference(reference, field="reference", max_length=64, required=True)
    agreement = agreements.in_force(session, store_id=store_id, day=received_on)
    if agreement is None or agreement.model != AgreementModel.franchise:
        raise errors.NoAgreement(store=store.code, model="franchise", day=received_on)
    received_at = datetime.combine(received_on, clock_time.min, ZoneInfo(store.timezone)).astimezone(UTC)
    existing = session.execute(select(Payment).where(Payment.location_id == store_id,
                                                     Payment.reference == reference)).scalars().first()
    if existing is not None:
        if cents(existing.amount) == amount and as_utc(existing.received_at) == received_at:
            return existing
        raise errors.DuplicateReference(reference=reference)
    payment = Payment(location_id=store_id, amount=amount, currency=store.currency, received_at=received_at,
                      reference=reference, note=parsing.text(note, field="note"), recorded_by=actor.id)
    session.add(payment)
    session.flush()
    audit.record(session, actor_id=actor.id, action="payment.recorded", entity="payment", entity_id=payment.id,
                 detail={"store": store.code, "amount": _s(amount), "currency": store.currency,
                         "reference": reference, "received_on": str(received_on)})
    return payment


# ---------------------------------------------------------------- a store's month, from the ledger

@dataclass
class Period:
    store_id: int
    code: str
    timezone: str
    currency: str
    month: date
    versions: list[Agreement]  # every version starting on or before the month's last day, in force order
    start: datetime = field(init=False)
    end: datetime = field(init=False)

    def __post_init__(self):
        self.start, self.end = bounds(self.month, self.timezone)

    @property
    def last_day(self) -> date:
        return next_month(self.month) - timedelta(days=1)

    @property
    def model(self) -> str:
        """The model of the version in force on the month's last day."""
        return agreements.version_on(self.versions, self.last_day).model

    def used_versions(self) -> list[int]:
        first = agreements.version_on(self.versions, self.month)
        return [v.version for v in self.versions if v is first or self.month < v.valid_from <= self.last_day]

    def needs_statement(self) -> bool:
        used = [v for v in self.versions if v.version in set(self.used_versions())]
        if not used:
            return False
        first = used[0]
        if len(used) == 1 and first.valid_from < self.month and (
                first.status == AgreementStatus.terminated or (first.ends_on is not None and first.ends_on < self.month)):
            return False  # ended or terminated before the month, and nothing new in it
        return True


@dataclass
class Catalogue:
    """What a statement needs of each product: SKU, brand and list prices (one query)."""

    rows: dict[int, tuple[str, int]]
    _list: dict[tuple[str, date], dict[int, Decimal]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Catalogue:
        return cls({pid: (sku, brand) for pid, sku, brand in
                    session.execute(select(Product.id, Product.sku, Product.brand_id)).all()})

    def list_price(self, session: Session, product_id: int, currency: str, day: date) -> Decimal:
        key = (currency, day)
        if key not in self._list:
            self._list[key] = prices.prices_in_force(session, product_ids=list(self.rows), price_list=prices.LIST,
                                                     currency=currency, day=day)
        return self._list[key][product_id]


def _add(acc: dict, key: tuple, line: dict) -> None:
    found = acc.get(key)
    if found is None:
        acc[key] = dict(line)
        return
    for name in NUMBERS:
        if name in line:
            found[name] = (found[name] + line[name]) if name == "units" else _s(_d(found[name]) + _d(line[name]))


@query
def consignment_lines(session: Session, period: Period, movements: Iterable[tuple], catalogue: Catalogue) -> list[dict]:
    """Lines of a consignment month from its movements (id, ts, product_id, kind, quantity, unit_price), each
    day under the version in force that day. Sales and returns at the price sold; count shortfalls at the
    version's shrinkage rate of the list price in force that day."""
    acc: dict[tuple, dict] = {}
    for _id, ts, product_id, kind, quantity, unit_price in movements:
        day = local_day(ts, period.timezone)
        version = agreements.active_on(period.versions, day)
        if version is None or version.model != AgreementModel.consignment:
            continue
        sku, brand_id = catalogue.rows[product_id]
        if kind in ("sale", "return"):
            price = cents(unit_price) if unit_price is not None else catalogue.list_price(
                session, product_id, period.currency, day)
            share = agreements.share_for(version, brand_id)
            units = -quantity if kind == "sale" else quantity
            sign = 1 if kind == "sale" else -1
            amount = cents(price * units) * sign
            store_share = cents(price * units * share) * sign
            key = (kind, sku, _s(price), str(share))
            _add(acc, key, {"kind": kind, "sku": sku, "brand_id": brand_id, "unit_price": _s(price),
                            "rate": str(share), "units": units, "amount": _s(amount), "store_share": _s(store_share),
                            "platform_share": _s(amount - store_share)})
        elif kind == "count_adjustment" and quantity < 0:
            rate = Decimal(version.shrinkage_rate)
            charge = cents(catalogue.list_price(session, product_id, period.currency, day) * rate)
            amount = cents(charge * -quantity)
            key = ("shrinkage", sku, _s(charge), str(rate))
            _add(acc, key, {"kind": "shrinkage", "sku": sku, "brand_id": brand_id, "unit_price": _s(charge),
                            "rate": str(rate), "units": -quantity, "amount": _s(amount), "store_share": "0.00",
                            "platform_share": _s(amount)})
    order = {"sale": 0, "return": 1, "shrinkage": 2}
    return sorted(acc.values(), key=lambda ln: (order[ln["kind"]], ln["sku"], ln["unit_price"], ln["rate"]))


def franchise_lines(period: Period, invoices: Iterable[tuple], payments: Iterable[tuple]) -> list[dict]:
    """Lines of a franchise month: invoices (number, issued_at, total, due_on) and payments (reference,
    received_at, amount)."""
    lines = [{"kind": "invoice", "ref": number, "day": str(local_day(ts, period.timezone)), "due_on": str(due),
              "units": 0, "amount": _s(total)} for number, ts, total, due in invoices]
    lines += [{"kind": "payment", "ref": ref, "day": str(local_day(ts, period.timezone)), "units": 0,
               "amount": _s(amount)} for ref, ts, amount in payments]
    return sorted(lines, key=lambda ln: (ln["day"], ln["kind"], ln["ref"]))


def totals_of(model: str, lines: list[dict], opening: Decimal = ZERO) -> dict:
    def total(kind: str, name: str = "amount") -> Decimal:
        return sum((_d(ln[name]) for ln in lines if ln["kind"] == kind), ZERO)

    if model == AgreementModel.franchise:
        invoiced, paid = total("invoice"), total("payment")
        return {"opening_balance": _s(opening), "invoiced": _s(invoiced), "paid": _s(paid),
                "closing_balance": _s(opening + invoiced - paid)}
    store_share = total("sale", "store_share") + total("return", "store_share")
    platform_share = total("sale", "platform_share") + total("return", "platform_share")
    return {"units_sold": sum(ln["units"] for ln in lines if ln["kind"] == "sale"),
            "units_returned": sum(ln["units"] for ln in lines if ln["kind"] == "return"),
            "sales": _s(total("sale")), "returns": _s(total("return")),
            "net_sales": _s(total("sale") + total("return")), "store_share": _s(store_share),
            "platform_share": _s(platform_share),
            "shrinkage_units": sum(ln["units"] for ln in lines if ln["kind"] == "shrinkage"),
            "shrinkage": _s(total("shrinkage")), "due_to_platform": _s(platform_share + total("shrinkage"))}


def _line_key(line: dict) -> tuple:
    if line["kind"] in ("invoice", "payment"):
        return (line["kind"], line["ref"])
    return (line["kind"], line["sku"], line["unit_price"], line["rate"])


def difference(now: list[dict], issued: list[list[dict]]) -> list[dict]:
    """The lines of `now` less the sum of the issued statements' lines (those that differ)."""
    before: dict[tuple, dict] = {}
    for lines in issued:
        for line in lines:
            _add(before, _line_key(line), line)
    after: dict[tuple, dict] = {}
    for line in now:
        _add(after, _line_key(line), line)
    out = []
    for key in list(after) + [k for k in before if k not in after]:
        new, old = after.get(key), before.get(key)
        base = dict(new or old)
        changed = False
        for name in NUMBERS:
            if name not in base:
                continue
            if name == "units":
                value = (new or {}).get(name, 0) - (old or {}).get(name, 0)
            else:
                value = _s(_d((new or {}).get(name)) - _d((old or {}).get(name)))
            base[name] = value
            changed = changed or _d(value) != 0
        if changed:
            out.append(base)
    return out


# ---------------------------------------------------------------- the monthly run

@dataclass
class RunReport:
    month: date
    issued: int = 0
    adjustments: int = 0
    already: int = 0
    seconds: float = 0.0


def _watermarks(session: Session) -> dict[str, int]:
    return {"movement": session.execute(select(func.coalesce(func.max(Movement.id), 0))).scalar_one(),
            "invoice": session.execute(select(func.coalesce(func.max(Invoice.id), 0))).scalar_one(),
            "payment": session.execute(select(func.coalesce(func.max(Payment.id), 0))).scalar_one()}


def _stores(session: Session) -> dict[int, tuple[str, str, str]]:
    return {i: (code, tz, currency) for i, code, tz, currency in session.execute(
        select(Location.id, Location.code, Location.timezone, Location.currency).where(Location.kind == "store"))}


def _ledger_rows(session: Session, start: datetime, end: datetime, store_ids: set[int] | None = None,
                 after_id: int = 0):
    m = Movement.__table__.c
    statement = (select(m.location_id, m.id, m.ts, m.product_id, m.kind, m.quantity, m.unit_price)
                 .where(m.kind.in_(LEDGER_KINDS), m.ts >= start, m.ts < end, m.id > after_id))
    if store_ids is not None and len(store_ids) <= 500:
        statement = statement.where(m.location_id.in_(sorted(store_ids)))
    by_store: dict[int, list[tuple]] = defaultdict(list)
    for location_id, *row in session.execute(statement).all():
        if store_ids is None or location_id in store_ids:
            by_store[location_id].append(tuple(row))
    return by_store


def _invoice_rows(session: Session, start: datetime, end: datetime, store_ids: set[int] | None = None):
    rows = defaultdict(list)
    for location_id, *row in session.execute(
            select(Invoice.location_id, Invoice.number, Invoice.issued_at, Invoice.total, Invoice.due_on)
            .where(Invoice.issued_at >= start, Invoice.issued_at < end)).all():
        if store_ids is None or location_id in store_ids:
            rows[location_id].append(tuple(row))
    return rows


def _payment_rows(session: Session, start: datetime, end: datetime, store_ids: set[int] | None = None):
    rows = defaultdict(list)
    for location_id, *row in session.execute(
            select(Payment.location_id, Payment.reference, Payment.received_at, Payment.amount)
            .where(Payment.received_at >= start, Payment.received_at < end)).all():
        if store_ids is None or location_id in store_ids:
            rows[location_id].append(tuple(row))
    return rows


def _openings(session: Session, before: datetime) -> dict[int, Decimal]:
    balance: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for store_id, total in session.execute(select(Invoice.location_id, func.sum(Invoice.total))
                                           .where(Invoice.issued_at < before).group_by(Invoice.location_id)).all():
        balance[store_id] += _d(total)
    for store_id, total in session.execute(select(Payment.location_id, func.sum(Payment.amount))
                                           .where(Payment.received_at < before).group_by(Payment.location_id)).all():
        balance[store_id] -= _d(total)
    return balance


def _row(period: Period, sequence: int, reported_in: date, model: str, lines: list[dict], totals: dict,
         seen: dict[str, int], now: datetime) -> dict:
    return {"number": f"ST-{period.code}-{period.month:%Y%m}-{sequence}", "location_id": period.store_id,
            "month": period.month, "sequence": sequence, "reported_in": reported_in, "model": model,
            "currency": period.currency, "agreement_versions": period.used_versions(), "totals": totals,
            "lines": lines, "seen_movement_id": seen["movement"], "seen_invoice_id": seen["invoice"],
            "seen_payment_id": seen["payment"], "issued_at": now}


def _write(session: Session, rows: list[dict]) -> int:
    if not rows:
        return 0
    table = Statement.__table__
    made = 0
    for row in rows:  # executemany with RETURNING is not portable: one statement per row, in one transaction
        # Any conflict (store, month and sequence, or the number made of them): a twin run issued it first.
        made += session.execute(_insert(session)(table).values(**row).on_conflict_do_nothing()
                                .returning(table.c.id)).scalar_one_or_none() is not None
    return made


def _check_over(month: date, timezones: Iterable[str], now: datetime) -> None:
    for tz in set(timezones):
        start, end = bounds(month, tz)
        if now < end:
            raise errors.MonthNotOver(month=f"{month:%Y-%m}", first_day=next_month(month))


@job
def run_month(session: Session, *, month: date, now: datetime | None = None,
              progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Issue the month's statements of every store with an agreement in force in it, and adjusting statements
    for what was recorded late into months already issued (up to this one). Safe to re-run: an issued
    statement is never changed, and a month with nothing new issues nothing. Stores are written in chunks of
    `CHUNK`, each in its own transaction (a run that dies is finished by the next)."""
    began = time.perf_counter()
    month = month_of(month)
    now = now or utcnow()
    stores = _stores(session)
    _check_over(month, (tz for _c, tz, _cur in stores.values()), now)
    report = RunReport(month=month)
    seen = _watermarks(session)
    catalogue = Catalogue.load(session)
    with transaction(session):  # SQLite: BEGIN IMMEDIATE, so that concurrent runs queue instead of deadlocking
        report.adjustments = _adjust(session, month, stores, seen, catalogue, now)

    last_day = next_month(month) - timedelta(days=1)
    versions = agreements.versions_by_store(session, until=last_day)
    done = set(session.execute(select(Statement.location_id).where(Statement.month == month,
                                                                   Statement.sequence == 1)).scalars())
    periods = []
    for store_id, store_versions in versions.items():
        if store_id not in stores:
            continue
        code, tz, currency = stores[store_id]
        period = Period(store_id, code, tz, currency, month, store_versions)
        if not period.needs_statement():
            continue
        if store_id in done:
            report.already += 1
            continue
        periods.append(period)
    total = len(periods)
    by_tz: dict[str, list[Period]] = defaultdict(list)
    for period in periods:
        by_tz[period.timezone].append(period)
    finished = 0
    for group in by_tz.values():
        start, end = group[0].start, group[0].end
        ids = {p.store_id for p in group}
        consignment = {p.store_id for p in group if p.model == AgreementModel.consignment}
        ledger = _ledger_rows(session, start, end, consignment)
        invoices, payments = _invoice_rows(session, start, end, ids), _payment_rows(session, start, end, ids)
        openings = _openings(session, start)
        for lo in range(0, len(group), CHUNK):
            rows = []
            for period in group[lo:lo + CHUNK]:
                model = period.model
                if model == AgreementModel.consignment:
                    lines = consignment_lines(session, period, ledger.get(period.store_id, ()), catalogue)
                    totals = totals_of(model, lines)
                else:
                    lines = franchise_lines(period, invoices.get(period.store_id, ()),
                                            payments.get(period.store_id, ()))
                    totals = totals_of(model, lines, openings.get(period.store_id, ZERO))
                rows.append(_row(period, 1, month, model, lines, totals, seen, now))
            with transaction(session):  # one chunk, whole or not at all; a twin run's rows are left alone
                report.issued += _write(session, rows)
            finished += len(rows)
            if progress is not None:
                progress(finished, total)
    report.seconds = round(time.perf_counter() - began, 2)
    return report


@job
def settle_recent(session: Session, *, months: int = 2, now: datetime | None = None) -> list[RunReport]:
    """Settle the `months` full months before the month of the ledger's latest movement, oldest first (the
    demo world's statements); a month not over yet is skipped. Safe to re-run, like `run_month`."""
    last = session.execute(select(func.max(Movement.ts))).scalar()
    if last is None:
        return []
    month = month_of(as_utc(last).astimezone(ZoneInfo("Asia/Shanghai")).date())
    wanted = []
    for _ in range(months):
        month = month_of(month - timedelta(days=1))
        wanted.insert(0, month)
    reports = []
    for month in wanted:
        try:
            reports.append(run_month(session, month=month, now=now))
        except errors.MonthNotOver:
            continue
    return reports


def _adjust(session: Session, month: date, stores: dict, seen: dict[str, int], catalogue: Catalogue,
            now: datetime) -> int:
    """Adjusting statements for issued months up to `month` into which something was recorded after issue."""
    s = Statement.__table__.c
    issued = {(store_id, m): (seq, mov, inv, pay, model) for store_id, m, seq, mov, inv, pay, model in session.execute(
        select(s.location_id, s.month, func.max(s.sequence), func.max(s.seen_movement_id),
               func.max(s.seen_invoice_id), func.max(s.seen_payment_id), func.min(s.model))
        .where(s.month <= month).group_by(s.location_id, s.month)).all()}
    if not issued:
        return 0
    lowest = {k: min(v[i] for v in issued.values()) for k, i in (("movement", 1), ("invoice", 2), ("payment", 3))}
    latest_end = max(bounds(m, stores[st][1])[1] for st, m in issued if st in stores)
    flagged: set[tuple[int, date]] = set()

    def flag(store_id: int, ts: datetime, row_id: int, index: int) -> None:
        if store_id not in stores:
            return
        key = (store_id, month_of(local_day(ts, stores[store_id][1])))
        found = issued.get(key)
        if found is not None and row_id > found[index]:
            flagged.add(key)

    m = Movement.__table__.c
    for store_id, row_id, ts in session.execute(select(m.location_id, m.id, m.ts).where(
            m.id > lowest["movement"], m.id <= seen["movement"], m.kind.in_(LEDGER_KINDS), m.ts < latest_end)).all():
        flag(store_id, ts, row_id, 1)
    for store_id, row_id, ts in session.execute(select(Invoice.location_id, Invoice.id, Invoice.issued_at).where(
            Invoice.id > lowest["invoice"], Invoice.id <= seen["invoice"], Invoice.issued_at < latest_end)).all():
        flag(store_id, ts, row_id, 2)
    for store_id, row_id, ts in session.execute(select(Payment.location_id, Payment.id, Payment.received_at).where(
            Payment.id > lowest["payment"], Payment.id <= seen["payment"], Payment.received_at < latest_end)).all():
        flag(store_id, ts, row_id, 3)
    made = 0
    for store_id, issued_month in sorted(flagged):
        code, tz, currency = stores[store_id]
        sequence, *_marks, model = issued[(store_id, issued_month)]
        versions = agreements.versions_by_store(session, until=next_month(issued_month) - timedelta(days=1),
                                                store_ids=[store_id]).get(store_id, [])
        if not versions:
            continue
        period = Period(store_id, code, tz, currency, issued_month, versions)
        if model == AgreementModel.consignment:
            rows = _ledger_rows(session, period.start, period.end, {store_id}).get(store_id, ())
            now_lines = consignment_lines(session, period, rows, catalogue)
        else:
            now_lines = franchise_lines(period, _invoice_rows(session, period.start, period.end, {store_id}).get(
                store_id, ()), _payment_rows(session, period.start, period.end, {store_id}).get(store_id, ()))
        before = [lines for (lines,) in session.execute(select(s.lines).where(
            s.location_id == store_id, s.month == issued_month).order_by(s.sequence)).all()]
        lines = difference(now_lines, before)
        if not lines:
            continue
        made += _write(session, [_row(period, sequence + 1, month, model, lines, totals_of(model, lines), seen, now)])
    return made


# ---------------------------------------------------------------- reading statements and balances

@query
def statements_of(session: Session, *, store_id: int, limit: int = 100, before_id: int | None = None
                  ) -> list[Statement]:
    """The store's statements, newest first (adjustments next to their month)."""
    statement = (select(Statement).where(Statement.location_id == store_id)
                 .order_by(Statement.id.desc()).limit(limit))
    if before_id is not None:
        statement = statement.where(Statement.id < before_id)
    return list(session.execute(statement).scalars())


@query
def statement_of(session: Session, *, store_id: int, statement_id: int) -> Statement:
    """One of the store's statements; another store's is NotFound (its existence is not confirmed)."""
    found = session.get(Statement, statement_id)
    if found is None or found.location_id != store_id:
        raise errors.NotFound(what="Statement", key=statement_id)
    return found


@query
def reported_with(session: Session, *, statement: Statement) -> list[Statement]:
    """Adjusting statements of earlier months issued by the run that issued `statement` (same reported month)."""
    return list(session.execute(select(Statement).where(
        Statement.location_id == statement.location_id, Statement.reported_in == statement.month,
        Statement.sequence > 1).order_by(Statement.month, Statement.sequence)).scalars())


@query
def store_orders(session: Session, *, store_id: int, limit: int = 20) -> list[tuple[OrderPricing, ReplenishmentOrder]]:
    """The store's priced orders (franchise purchases), newest first, with their hold."""
    return list(session.execute(select(OrderPricing, ReplenishmentOrder)
                                .join(ReplenishmentOrder, ReplenishmentOrder.id == OrderPricing.order_id)
                                .where(OrderPricing.location_id == store_id)
                                .order_by(OrderPricing.priced_at.desc()).limit(limit)).all())


@query
def store_balance(session: Session, *, store_id: int) -> Decimal:
    return open_balance_of(session, store_id)


@dataclass(frozen=True)
class BalanceRow:
    store_id: int
    code: str
    name: str
    currency: str
    balance: Decimal
    overdue: Decimal
    credit_limit: Decimal | None
    status: str


@query
def open_balances(session: Session, *, today: date, limit: int = 200) -> list[BalanceRow]:
    """Franchise stores owing money, largest first: balance, overdue (invoices past due not covered by the
    payments, oldest first) and the credit limit in force."""
    invoiced, due = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for store_id, total, past in session.execute(
            select(Invoice.location_id, func.sum(Invoice.total),
                   func.sum(func.coalesce(Invoice.total, 0)).filter(Invoice.due_on < today))
            .group_by(Invoice.location_id)).all():
        invoiced[store_id], due[store_id] = _d(total), _d(past)
    paid = defaultdict(lambda: ZERO, {k: _d(v) for k, v in session.execute(
        select(Payment.location_id, func.sum(Payment.amount)).group_by(Payment.location_id)).all()})
    ids = set(invoiced) | set(paid)
    if not ids:
        return []
    versions = agreements.versions_by_store(session, until=today, store_ids=ids)
    names = {i: (c, n, cur) for i, c, n, cur in session.execute(
        select(Location.id, Location.code, Location.name, Location.currency).where(Location.id.in_(ids))).all()}
    rows = []
    for store_id in ids:
        balance = cents(invoiced[store_id] - paid[store_id])
        if balance == 0:
            continue
        version = agreements.version_on(versions.get(store_id, []), today)
        code, name, currency = names[store_id]
        rows.append(BalanceRow(store_id, code, name, currency, balance, cents(max(ZERO, due[store_id] - paid[store_id])),
                               version.credit_limit if version else None, version.status if version else "-"))
    return sorted(rows, key=lambda r: (-r.balance, r.code))[:limit]


@query
def credit_holds(session: Session) -> list[tuple[OrderPricing, ReplenishmentOrder, Location]]:
    """Franchise orders held at submission and still waiting for a planner."""
    return list(session.execute(
        select(OrderPricing, ReplenishmentOrder, Location)
        .join(ReplenishmentOrder, ReplenishmentOrder.id == OrderPricing.order_id)
        .join(Location, Location.id == OrderPricing.location_id)
        .where(OrderPricing.held.is_(True), ReplenishmentOrder.status == OrderStatus.submitted.value)
        .order_by(OrderPricing.priced_at)).all())


@dataclass(frozen=True)
class StockValueRow:
    store_id: int
    code: str
    name: str
    units: int
    cost_cny: Decimal
    list_value: Decimal
    currency: str


@query
def consignment_stock_value(session: Session, *, today: date, limit: int = 200) -> tuple[list[StockValueRow], Decimal]:
    """The platform's stock held by consignment stores (on hand, on display, in transit to them), by store: at
    cost (CNY) and at list price in the store's currency; largest first, and the network's total at cost."""
    versions = agreements.versions_by_store(session, until=today)
    consigned = {i for i, vs in versions.items() if (v := agreements.version_on(vs, today)) is not None
                 and v.model == AgreementModel.consignment}
    b, p, loc = StockBalance.__table__.c, Product.__table__.c, Location.__table__.c
    units = b.on_hand + b.demo + b.in_transit
    rows = []
    for store_id, code, name, currency, n, cost, cny, hkd in session.execute(
            select(loc.id, loc.code, loc.name, loc.currency, func.sum(units), func.sum(units * p.wholesale_cost),
                   func.sum(units * p.list_price_cny), func.sum(units * p.list_price_hkd))
            .select_from(StockBalance.__table__).join(Location.__table__, loc.id == b.location_id)
            .join(Product.__table__, p.id == b.product_id)
            .where(loc.kind == "store").group_by(loc.id, loc.code, loc.name, loc.currency)).all():
        if store_id in consigned and n:
            rows.append(StockValueRow(store_id, code, name, int(n), cents(_d(cost)),
                                      cents(_d(hkd if currency == "HKD" else cny)), currency))
    rows.sort(key=lambda r: (-r.cost_cny, r.code))
    return rows[:limit], cents(sum((r.cost_cny for r in rows), ZERO))


@dataclass(frozen=True)
class BrandRow:
    brand_id: int
    code: str
    name: str
    currency: str
    units_sold: int
    units_returned: int
    net_sales: Decimal
    store_share: Decimal
    platform_share: Decimal


@query
def brand_consignment(session: Session, *, month: date) -> list[BrandRow]:
    """Units sold on consignment per brand in a month, from the month's issued statements (adjustments
    included), per currency: what the platform settles with each brand."""
    acc: dict[tuple[int, str], list] = {}
    for lines, currency in session.execute(select(Statement.lines, Statement.currency).where(
            Statement.month == month_of(month), Statement.model == AgreementModel.consignment.value)).all():
        for line in lines:
            if line["kind"] not in ("sale", "return"):
                continue
            row = acc.setdefault((line["brand_id"], currency), [0, 0, ZERO, ZERO, ZERO])
            row[0 if line["kind"] == "sale" else 1] += line["units"]
            row[2] += _d(line["amount"])
            row[3] += _d(line["store_share"])
            row[4] += _d(line["platform_share"])
    brands = {i: (c, n) for i, c, n in session.execute(select(Brand.id, Brand.code, Brand.name)).all()}
    return sorted((BrandRow(brand_id, *brands.get(brand_id, ("?", "?")), currency, r[0], r[1], cents(r[2]),
                            cents(r[3]), cents(r[4])) for (brand_id, currency), r in acc.items()),
                  key=lambda r: (r.currency, -r.net_sales, r.code))


@query
def months_issued(session: Session, *, limit: int = 24) -> list[date]:
    return list(session.execute(select(Statement.month).distinct().order_by(Statement.month.desc())
                                .limit(limit)).scalars())

