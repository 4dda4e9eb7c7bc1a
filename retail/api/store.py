"""Store operations of the partner API: a franchise or consignment store's own POS or ERP pushes its sales and
returns, and reads and acts on its stock, its open deliveries, its suggested order and its transfer
requests. Every query is filtered by the key's store (`core.store_id()`): another store's object is 404;
a brand key is 403. The integration account of the key acts as the store's staff and manager (it may
submit the suggested order), through the same verbs as the web forms.

Sales and returns come in batches of up to 500 rows, read and checked like a POS file's rows
(retail/services/store_api.py, retail/services/pos_import.py) and recorded all or nothing: a refused batch
is one 422 problem listing every refused row (`errors: [{row, field, code, message}]`, rows numbered from
1). A retry is safe with an `Idempotency-Key`; without one, rows sent with their till time (`sold_at`,
`returned_at`) are recognised by the POS import's row fingerprint and answered as `already_recorded`.
"""
from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from flask_babel import force_locale, format_decimal, gettext
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from retail import errors, parsing
from retail.api import core
from retail.messages import LINE_REASONS, message
from retail.models import Location, Product, utcnow
from retail.request_db import db_session
from retail.services import deliveries, replenishment, returns, stock, store_api, transfers
from retail.services.weekly_sales import local_midnight

bp = core.blueprint("api_store", "/api/v1/store", "Store",
                    "For franchise and consignment stores' own POS and ERP systems, with a key bound to the store.")


@bp.before_request
def _store_keys_only():
    """A brand key is refused (403) before its request is read, whatever its body."""
    core.store_id()


MAX_ID = 2_147_483_647
SKU = Annotated[str, Field(min_length=1, max_length=parsing.MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]+$",
                           description="SKU or barcode.", examples=["RK-MAX2-BLK"])]
SERIAL = Annotated[str, Field(min_length=1, max_length=parsing.MAX_SERIAL_LENGTH, pattern=r"^[A-Za-z0-9._-]+$",
                              examples=["SN-A1"])]
SERIALS = Annotated[list[SERIAL], Field(max_length=parsing.MAX_SERIALS, examples=[["SN-A1"]],
                                        description="Serial numbers scanned (at most 500).")]
RECEIPT = Annotated[str, Field(min_length=1, max_length=parsing.MAX_REFERENCE_LENGTH,
                               pattern=r"^[A-Za-z0-9][A-Za-z0-9._/#:-]*$", examples=["R-1001"],
                               description="The till's receipt number.")]
QUANTITY = Annotated[int, Field(ge=1, le=parsing.MAX_QUANTITY, examples=[1])]
COUNT = Annotated[int, Field(ge=0, le=parsing.MAX_QUANTITY, examples=[1])]
PRICE = Annotated[str, Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["2999.00"],
                             description="A decimal string in the store's currency.")]
DAY = Annotated[str, Field(pattern=r"^(\d{4}-\d{2}-\d{2})?$",
                           description="The first day included (YYYY-MM-DD, the store's time zone); empty for none.")]
LAST_DAY = Annotated[str, Field(pattern=r"^(\d{4}-\d{2}-\d{2})?$",
                                description="The last day included (YYYY-MM-DD, the store's time zone); empty for none.")]
TILL_TIME = ("The till's time, ISO 8601 (an offset or Z; without one, the store's local time). Send it: a row "
             "with its till time is recognised when sent again (without it, the time of arrival is used).")


# ---------------------------------------------------------------- shared answers

class SaleOut(BaseModel):
    id: int = Field(examples=[1201])
    reference: str = Field(examples=["SALE-1201"], description="The sale's number, named by its returns.")
    receipt: str | None = Field(default=None, examples=["R-1001"])
    sku: str = Field(examples=["RK-MAX2-BLK"])
    quantity: int = Field(ge=1, examples=[1])
    serials: list[str] = Field(examples=[["SN-A1"]])
    unit_price: core.Money | None = None
    sold_at: datetime = Field(examples=["2026-11-20T06:05:00Z"])
    returned: int = Field(ge=0, examples=[0], description="Units returned against the sale so far.")


class ReturnOut(BaseModel):
    id: int = Field(examples=[1305])
    sale_id: int | None = Field(default=None, examples=[1201])
    sku: str = Field(examples=["RK-MAX2-BLK"])
    quantity: int = Field(ge=1, examples=[1])
    serials: list[str] = Field(examples=[["SN-A1"]])
    unit_price: core.Money | None = None
    returned_at: datetime = Field(examples=["2026-11-21T03:00:00Z"])


def _sale_outs(rows: list[tuple]) -> list[dict]:
    """(sale movement, SKU) pairs as `SaleOut`s (their serials and returns read in two queries)."""
    session = db_session()
    ids = [movement.id for movement, _sku in rows]
    serials = store_api.serials_of(session, ids)
    returned = store_api.returned_by_sale(session, ids)
    return [{"id": m.id, "reference": returns.sale_reference(m.id), "receipt": m.reference, "sku": sku,
             "quantity": -m.quantity, "serials": serials.get(m.id, []),
             "unit_price": core.money(m.unit_price, m.currency), "sold_at": m.ts, "returned": returned.get(m.id, 0)}
            for m, sku in rows]


def _return_outs(movements: list, skus: dict[int, str]) -> list[dict]:
    serials = store_api.serials_of(db_session(), [m.id for m in movements])
    outs = []
    for m in movements:
        ref = m.reference or ""
        sale_id = int(ref[5:]) if ref.startswith("SALE-") and ref[5:].isdigit() else None
        outs.append({"id": m.id, "sale_id": sale_id, "sku": skus.get(m.product_id, ""), "quantity": m.quantity,
                     "serials": serials.get(m.id, []), "unit_price": core.money(m.unit_price, m.currency),
                     "returned_at": m.ts})
    return outs


def _row_errors(refused: errors.InvalidBatch) -> list[dict]:
    with force_locale(core.caller().language):
        return [{"row": e.row_number, "field": e.column, "code": e.code, "message": message(e.code, e.params)}
                for e in refused.errors[:MAX_ROW_ERRORS]]


MAX_ROW_ERRORS = 1000


def _batch(work):
    """A batch write: the verb's InvalidBatch becomes one problem listing the refused rows."""
    try:
        return core.write(work)
    except errors.InvalidBatch as refused:
        return core.refusal(refused, extra_errors=_row_errors(refused))


# ---------------------------------------------------------------- sales

class SaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: RECEIPT
    sku: Annotated[str, Field(max_length=parsing.MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]*$",
                              description="SKU or barcode; may be left out when serials are given.",
                              examples=["RK-MAX2-BLK"])] = ""
    serials: SERIALS = []
    quantity: QUANTITY | None = Field(default=None, description="Default: the number of serials, else 1.")
    unit_price: PRICE | None = Field(default=None, description="Default: the list price. A price must lie in "
                                                               "the band around the list price.")
    currency: Literal["CNY", "HKD"] | None = Field(default=None, description="The store's currency, if given.")
    sold_at: datetime | None = Field(default=None, description=TILL_TIME, examples=["2026-11-20T14:05:00+08:00"])


class SalesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sales: Annotated[list[SaleIn], Field(min_length=1, max_length=store_api.MAX_BATCH,
                                         description="1 to 500 sales, recorded all or none.")]


class PostedSale(BaseModel):
    row: int = Field(ge=1, examples=[1])
    already_recorded: bool = Field(description="The same till row was recorded before (sent again): not again.")
    sale: SaleOut | None = None


class SalesPosted(BaseModel):
    data: list[PostedSale]
    recorded: int = Field(ge=0, examples=[1])
    already_recorded: int = Field(ge=0, examples=[0])


@bp.post("/sales", responses={201: SalesPosted, **core.WRITE_RESPONSES},
         summary="Record a batch of till sales (all or none)")
def post_sales(body: SalesIn, header: core.WriteHeaders):
    """Each row is checked like a POS file's row and recorded through the same verb as the till page; any
    refused row refuses the batch, with every refused row listed (`errors[].row`, from 1)."""
    store_id, actor = core.store_id(), core.caller().actor
    items = [item.model_dump() for item in body.sales]

    def work():
        session = db_session()
        posted = store_api.post_sales(session, actor, store_id=store_id, items=items)
        movements = [(m, None) for p in posted for m in p.movements]
        skus = dict(session.execute(_sku_query([m.product_id for m, _ in movements])).all()) if movements else {}
        outs = {o["id"]: o for o in _sale_outs([(m, skus[m.product_id]) for m, _ in movements])}
        data = [{"row": p.row, "already_recorded": p.already_recorded,
                 "sale": outs[p.movements[0].id] if p.movements else None} for p in posted]
        recorded = sum(1 for p in posted if not p.already_recorded)
        return core.ok({"data": data, "recorded": recorded, "already_recorded": len(posted) - recorded}, status=201)

    return _batch(work)


def _sku_query(product_ids):
    return select(Product.id, Product.sku).where(Product.id.in_(set(product_ids)))


class SalesQuery(core.PageQuery):
    since: DAY = ""
    until: LAST_DAY = ""


class SalePage(BaseModel):
    data: list[SaleOut]
    next_cursor: str | None = None


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidValue(field=field, value=value[:20]) from None


def _store() -> Location:
    return db_session().get(Location, core.store_id())


@bp.get("/sales", responses={200: SalePage}, summary="The store's sales, newest first")
def list_sales(query: SalesQuery):
    store = _store()
    since, until = _day(query.since, "since"), _day(query.until, "until")
    after = core.decode_cursor(query.cursor, 2)
    position = None
    if after is not None:
        try:
            position = (datetime.fromisoformat(str(after[0])), int(after[1]))
        except (TypeError, ValueError):
            raise errors.InvalidValue(field="cursor", value=query.cursor[:40]) from None
        if position[0].tzinfo is None:
            raise errors.InvalidValue(field="cursor", value=query.cursor[:40])
    rows = store_api.sales_page(
        db_session(), store_id=store.id, limit=query.limit + 1, after=position,
        since=local_midnight(since, store.timezone) if since else None,
        until=local_midnight(until + timedelta(days=1), store.timezone) if until else None)
    rows, next_cursor = core.page_of(rows, query, lambda r: (_ts(r[0].ts).isoformat(), r[0].id))
    return core.page(_sale_outs(rows), next_cursor=next_cursor, query=query)


def _ts(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SalePath(BaseModel):
    sale_id: Annotated[int, Field(ge=1, le=MAX_ID)]


@bp.get("/sales/<int:sale_id>", responses={200: SaleOut}, summary="One of the store's sales")
def get_sale(path: SalePath):
    found = store_api.sale(db_session(), store_id=core.store_id(), sale_id=path.sale_id)
    return core.ok(_sale_outs([found])[0])


# ---------------------------------------------------------------- returns

class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serials: SERIALS = []
    sale_id: Annotated[int, Field(ge=1, le=MAX_ID, examples=[1201])] | None = Field(
        default=None, description="The sale's number (`id` of the sale).")
    receipt: RECEIPT | None = Field(default=None, description="The receipt the sale was recorded under here.")
    sku: Annotated[str, Field(max_length=parsing.MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]*$",
                              description="Picks the line of a receipt; may be left out with serials or a sale id.",
                              examples=["RK-CASE"])] = ""
    quantity: QUANTITY | None = Field(default=None, description="Default: the number of serials, else 1. A "
                                                               "serialised SKU comes back by its serials, as in "
                                                               "a POS file.")
    returned_at: datetime | None = Field(default=None, description=TILL_TIME, examples=["2026-11-21T11:00:00+08:00"])


class ReturnsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    returns: Annotated[list[ReturnIn], Field(min_length=1, max_length=store_api.MAX_BATCH,
                                             description="1 to 500 returns, recorded all or none.")]


class PostedReturn(BaseModel):
    row: int = Field(ge=1, examples=[1])
    already_recorded: bool
    returns: list[ReturnOut] = Field(description="One return per sale the row returns against.")


class ReturnsPosted(BaseModel):
    data: list[PostedReturn]
    recorded: int = Field(ge=0, examples=[1])
    already_recorded: int = Field(ge=0, examples=[0])


@bp.post("/returns", responses={201: ReturnsPosted, **core.WRITE_RESPONSES},
         summary="Record a batch of customer returns (all or none)")
def post_returns(body: ReturnsIn, header: core.WriteHeaders):
    """Each return names its sale by serials, by the sale's number or by its receipt (with the SKU); it is
    never more than the sale sold, and only at the store that sold it."""
    store_id, actor = core.store_id(), core.caller().actor
    items = [item.model_dump() for item in body.returns]

    def work():
        session = db_session()
        posted = store_api.post_returns(session, actor, store_id=store_id, items=items)
        movements = [m for p in posted for m in p.movements]
        skus = dict(session.execute(_sku_query([m.product_id for m in movements])).all()) if movements else {}
        data = [{"row": p.row, "already_recorded": p.already_recorded, "returns": _return_outs(p.movements, skus)}
                for p in posted]
        recorded = sum(1 for p in posted if not p.already_recorded)
        return core.ok({"data": data, "recorded": recorded, "already_recorded": len(posted) - recorded}, status=201)

    return _batch(work)


# ---------------------------------------------------------------- stock

class StockOut(BaseModel):
    sku: str = Field(examples=["RK-MAX2-BLK"])
    model: str = Field(examples=["Rokid Max 2"])
    variant: str = Field(examples=["black"])
    brand: str = Field(examples=["Rokid"])
    serialised: bool
    on_hand: int = Field(examples=[3])
    demo: int = Field(ge=0, examples=[1])
    in_transit: int = Field(ge=0, examples=[2])
    weekly_rate: float = Field(ge=0, examples=[0.46], description="Units sold a week over the last 13 weeks.")
    weeks_of_cover: float | None = Field(default=None, examples=[6.5],
                                         description="On hand / weekly rate; null when nothing sold recently.")
    last_sale_at: datetime | None = None
    at_risk: bool = Field(description="Selling, and cover shorter than a replenishment takes to arrive.")
    aging: bool = Field(description="Units on hand and no sale for longer than the SKU's expected interval between "
                        "sales at the store (its last 52 weeks), and at least 90 days; never sold: aging.")


class StockPage(BaseModel):
    data: list[StockOut]
    next_cursor: str | None = None


@bp.get("/stock", responses={200: StockPage}, summary="The store's stock by SKU")
def list_stock(query: core.PageQuery):
    after = core.decode_cursor(query.cursor)
    store_id = core.store_id()

    def answer():
        lines = stock.stock_page(db_session(), store_id=store_id, as_of=utcnow(),
                                 after_sku=None if after is None else str(after[0]), limit=query.limit + 1)
        lines, next_cursor = core.page_of(lines, query, lambda line: (line.sku,))
        return core.page([{"sku": x.sku, "model": x.model, "variant": x.variant, "brand": x.brand,
                           "serialised": x.serialised, "on_hand": x.on_hand, "demo": x.demo,
                           "in_transit": x.in_transit, "weekly_rate": round(x.weekly_rate, 3),
                           "weeks_of_cover": None if x.weeks_of_cover is None else round(x.weeks_of_cover, 2),
                           "last_sale_at": x.last_sale_at, "at_risk": x.at_risk, "aging": x.aging} for x in lines],
                         next_cursor=next_cursor, query=query)

    # kept until a commit writes stock, sales, products or locations (or KEPT_SECONDS pass)
    return core.kept_answer(core.data_version(core.STOCK_TABLES), answer)


# ---------------------------------------------------------------- serial numbers

class SerialQuery(core.PageQuery):
    sku: Annotated[str, Field(max_length=parsing.MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]*$",
                              description="Only this SKU's serials; empty for all.")] = ""
    state: Literal["in_stock", "demo", ""] = Field(default="", description="`in_stock` (on the shelf) or `demo` "
                                                                           "(on display); empty for both.")


class SerialOut(BaseModel):
    serial: str = Field(examples=["RKM2B00012345"])
    sku: str = Field(examples=["RK-MAX2-BLK"])
    state: Literal["in_stock", "demo"]
    since: datetime = Field(description="When the unit last changed state (UTC).")


class SerialPage(BaseModel):
    data: list[SerialOut]
    next_cursor: str | None = None


@bp.get("/serials", responses={200: SerialPage}, summary="The serial numbers the store holds")
def list_serials(query: SerialQuery):
    """Every serialised unit at the store, on the shelf or on display, by serial number: what a POS reconciles
    its register with, and the serials it sells or returns by (`POST /sales`, `serials`)."""
    after = core.decode_cursor(query.cursor)
    lines = stock.serials_page(db_session(), store_id=core.store_id(), sku=query.sku, state=query.state,
                               after_serial=None if after is None else str(after[0]), limit=query.limit + 1)
    lines, next_cursor = core.page_of(lines, query, lambda line: (line.serial,))
    return core.page([{"serial": x.serial, "sku": x.sku, "state": x.state, "since": x.since} for x in lines],
                     next_cursor=next_cursor, query=query)


# ---------------------------------------------------------------- deliveries

class DeliveryOut(BaseModel):
    id: int = Field(examples=[31])
    reference: str = Field(examples=["SH-2026-0031"])
    origin: str | None = Field(default=None, examples=["DC-SH"], description="The warehouse or store it comes from.")
    shipped_at: datetime
    expected_at: datetime | None = None
    lines: int = Field(ge=0, examples=[2])
    units: int = Field(ge=0, examples=[12])


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None = None


@bp.get("/deliveries", responses={200: DeliveryPage}, summary="Deliveries on their way to the store")
def list_deliveries(query: core.PageQuery):
    after = core.decode_cursor(query.cursor)
    found = sorted(deliveries.open_deliveries(db_session(), store_id=core.store_id()), key=lambda d: d.id)
    if after is not None:
        found = [d for d in found if d.id > int(after[0])] if isinstance(after[0], int) else []
    found, next_cursor = core.page_of(found[:query.limit + 1], query, lambda d: (d.id,))
    return core.page([{"id": d.id, "reference": d.reference, "origin": d.origin, "shipped_at": d.shipped_at,
                       "expected_at": d.expected_at, "lines": d.lines, "units": d.units} for d in found],
                     next_cursor=next_cursor, query=query)


class DeliveryLineOut(BaseModel):
    sku: str = Field(examples=["RK-MAX2-BLK"])
    quantity: int = Field(ge=1, examples=[2], description="Units shipped.")
    serials: list[str] = Field(examples=[["SN-A7", "SN-A8"]], description="Serials shipped.")
    received_quantity: int | None = Field(default=None, examples=[2])
    received_serials: list[str] | None = None
    surplus: int = Field(ge=0, examples=[0], description="Units counted beyond those shipped, held for a decision.")
    surplus_status: Literal["held", "accepted", "refused", "posted"] | None = None


class DeliveryDetail(BaseModel):
    id: int = Field(examples=[31])
    reference: str = Field(examples=["SH-2026-0031"])
    status: Literal["in_transit", "received", "cancelled"]
    shipped_at: datetime
    expected_at: datetime | None = None
    received_at: datetime | None = None
    lines: list[DeliveryLineOut]


class DeliveryPath(BaseModel):
    delivery_id: Annotated[int, Field(ge=1, le=MAX_ID)]


def _delivery(store_id: int, delivery_id: int) -> dict:
    shipment, lines = deliveries.open_delivery(db_session(), store_id=store_id, shipment_id=delivery_id)
    return {"id": shipment.id, "reference": shipment.reference, "status": shipment.status,
            "shipped_at": shipment.shipped_at, "expected_at": shipment.expected_at,
            "received_at": shipment.received_at,
            "lines": [{"sku": product.sku, "quantity": line.quantity, "serials": list(line.serials or []),
                       "received_quantity": line.received_quantity,
                       "received_serials": None if line.received_serials is None else list(line.received_serials),
                       "surplus": line.surplus or 0, "surplus_status": line.surplus_status}
                      for line, product in lines]}


@bp.get("/deliveries/<int:delivery_id>", responses={200: DeliveryDetail},
        summary="A delivery to the store, with its lines")
def get_delivery(path: DeliveryPath):
    return core.ok(_delivery(core.store_id(), path.delivery_id))


class ReceiptLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    quantity: COUNT = Field(description="Units counted (0 to 100000); beyond those shipped they are held.")
    serials: SERIALS | None = Field(default=None, description="The serials scanned (serialised SKUs).")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[ReceiptLine], Field(max_length=parsing.MAX_LINES, description=(
        "Counted lines; a SKU left out arrives as shipped, except a serialised one, which needs its serials "
        "scanned (or a count of 0)."))] = []


@bp.post("/deliveries/<int:delivery_id>/receipt", responses={201: DeliveryDetail, **core.WRITE_RESPONSES},
         summary="Sign for a delivery (the same rules as the receiving page)")
def receive_delivery(path: DeliveryPath, body: ReceiptIn, header: core.WriteHeaders):
    store_id, actor = core.store_id(), core.caller().actor

    def work():
        session = db_session()
        _shipment, lines = deliveries.open_delivery(session, store_id=store_id, shipment_id=path.delivery_id)
        received, scanned = {}, {p.sku: [] for _line, p in lines if p.serialised}
        canonical = {code: p.sku for _line, p in lines for code in (p.sku, p.barcode) if code}
        for line in body.lines:
            sku = parsing.sku(line.sku)
            sku = canonical.get(sku, sku)  # a barcode names its SKU
            if sku in received:
                raise errors.InvalidValue(field="sku", value=sku)
            received[sku] = line.quantity
            if line.serials or (line.serials is not None and sku in scanned):  # [] means none, for any SKU
                scanned[sku] = line.serials
        deliveries.receive(session, actor, store_id=store_id, shipment_id=path.delivery_id, received=received,
                           serials=scanned)
        return core.ok(_delivery(store_id, path.delivery_id), status=201)

    return core.write(work)


# ---------------------------------------------------------------- replenishment

REASON_TEXTS = LINE_REASONS  # retail/messages.py: the store pages word a line with the same table


class ReasonOut(BaseModel):
    code: str = Field(examples=["position"], description="Stable and machine-readable: " + ", ".join(
        f"`{code}`" for code in REASON_TEXTS) + " (docs/api.md).")
    numbers: dict[str, int | float] = Field(examples=[{"on_hand": 2, "coming": 0, "target": 6, "need": 4}],
                                            description="The numbers of the reason, by name.")
    text: str | None = Field(default=None, examples=["You have 2 on hand and 0 on the way; to reach 6, 4 more are "
                                                     "needed."],
                             description="The reason in the key's language; null where it has no such wording.")


class SuggestedLineOut(BaseModel):
    sku: str = Field(examples=["RK-CASE"])
    quantity: int = Field(ge=1, examples=[10], description="Units suggested.")
    reasons: list[ReasonOut] = Field(description="Why this quantity, in order: expected sales, what is kept on "
                                                 "the shelf, what the store holds and has coming, packs, the shelf.")
    numbers: dict = Field(description="The plan's numbers behind the quantity.")
    ordered: int | None = Field(default=None, ge=0, description="Units ordered, once the order is submitted.")


class OrderOut(BaseModel):
    reference: str = Field(examples=["RO-12-S0001"])
    status: Literal["suggested", "submitted", "approved", "shipped", "received", "closed", "cancelled"]


class Replenishment(BaseModel):
    run_id: int | None = Field(default=None, examples=[12], description="Null: no plan has lines for the store.")
    as_of: date | None = None
    order: OrderOut | None = None
    lines: list[SuggestedLineOut]


def _finite(numbers: dict) -> dict:
    """The plan's numbers as JSON allows them: a non-finite float (an unbounded cover) is null."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in (numbers or {}).items()}


def _replenishment(store_id: int) -> dict:
    suggestion = replenishment.suggested_order(db_session(), store_id=store_id)
    if suggestion is None:
        return {"run_id": None, "as_of": None, "order": None, "lines": []}
    order = suggestion.order
    return {"run_id": suggestion.run.id, "as_of": suggestion.run.as_of,
            "order": {"reference": order.reference, "status": order.status} if order else None,
            "lines": [{"sku": product.sku, "quantity": line.quantity, "reasons": _reasons(line),
                       "numbers": _finite(line.explanation), "ordered": ordered}
                      for line, product, ordered in suggestion.lines]}


def _reasons(line) -> list[dict]:
    """The line's reason codes with their numbers, and each one's sentence in the key's language where the
    catalogue has it (an English key: always)."""
    language = core.caller().language
    out = []
    with force_locale(language):
        for code, numbers in replenishment.line_reasons(line):
            template = REASON_TEXTS.get(code)
            text = None
            if template is not None and (language == "en" or gettext(template) != template):
                text = gettext(template, **{k: format_decimal(v, "#,##0.#") if isinstance(v, float) else v
                                            for k, v in numbers.items()})
            out.append({"code": code, "numbers": _finite(numbers), "text": text})
    return out


@bp.get("/replenishment", responses={200: Replenishment},
        summary="The store's lines of the latest replenishment plan, and the order made of them")
def get_replenishment():
    return core.ok(_replenishment(core.store_id()))


class SubmissionLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    quantity: COUNT = Field(description="Units to order; 0 drops the line.")


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[SubmissionLine], Field(max_length=parsing.MAX_LINES, description=(
        "Changed quantities of suggested lines; lines left out are ordered as suggested."))] = []


@bp.post("/replenishment/submission", responses={201: Replenishment, **core.WRITE_RESPONSES},
         summary="Submit the suggested order (as the store's manager)")
def submit_replenishment(body: SubmissionIn, header: core.WriteHeaders):
    """Submitting again returns the order already made of the plan."""
    store_id, actor = core.store_id(), core.caller().actor

    def work():
        session = db_session()
        suggestion = replenishment.suggested_order(session, store_id=store_id)
        if suggestion is None:
            raise errors.NotFound(what="Suggested order", key=store_id)
        by_sku = {product.sku: product.id for _line, product, _ordered in suggestion.lines}
        quantities = {}
        for line in body.lines:
            sku = parsing.sku(line.sku)
            if sku not in by_sku:
                raise errors.NotInSuggestion(sku=sku)
            quantities[by_sku[sku]] = line.quantity
        replenishment.submit(session, actor, store_id=store_id, run_id=suggestion.run.id, quantities=quantities)
        return core.ok(_replenishment(store_id), status=201)

    return core.write(work)


# ---------------------------------------------------------------- transfers

STATUSES = Literal["requested", "shipped", "declined", "cancelled"]


class TransferOut(BaseModel):
    id: int = Field(examples=[7])
    direction: Literal["inbound", "outbound"] = Field(
        description="inbound: this store asked for the units; outbound: this store is asked to send them.")
    from_store_code: str = Field(examples=["S0002"])
    to_store_code: str = Field(examples=["S0001"])
    sku: str = Field(examples=["RK-CASE"])
    quantity: int = Field(ge=1, examples=[2])
    status: STATUSES
    note: str | None = None
    decline_reason: str | None = None
    requested_at: datetime
    acted_at: datetime | None = None
    shipment_reference: str | None = Field(default=None, examples=["TR-7"])


class TransferPage(BaseModel):
    data: list[TransferOut]
    next_cursor: str | None = None


class TransferQuery(core.PageQuery):
    direction: Literal["inbound", "outbound", ""] = ""
    status: Literal["requested", "shipped", "declined", "cancelled", ""] = ""


def _transfer_out(store_id: int, request, sku: str, from_code: str, to_code: str, shipment: str | None) -> dict:
    return {"id": request.id, "direction": "inbound" if request.to_store_id == store_id else "outbound",
            "from_store_code": from_code, "to_store_code": to_code, "sku": sku, "quantity": request.quantity,
            "status": request.status, "note": request.note, "decline_reason": request.decline_reason,
            "requested_at": request.requested_at, "acted_at": request.acted_at, "shipment_reference": shipment}


@bp.get("/transfers", responses={200: TransferPage}, summary="The store's transfer requests, in and out")
def list_transfers(query: TransferQuery):
    store_id = core.store_id()
    after = core.decode_cursor(query.cursor)
    if after is not None and not isinstance(after[0], int):
        raise errors.InvalidValue(field="cursor", value=query.cursor[:40])
    rows = store_api.transfer_page(db_session(), store_id=store_id, limit=query.limit + 1,
                                   after=after[0] if after else None, direction=query.direction, status=query.status)
    rows, next_cursor = core.page_of(rows, query, lambda r: (r.request.id,))
    return core.page([_transfer_out(store_id, r.request, r.sku, r.from_code, r.to_code, r.shipment_reference)
                      for r in rows], next_cursor=next_cursor, query=query)


class TransferPath(BaseModel):
    transfer_id: Annotated[int, Field(ge=1, le=MAX_ID)]


def _transfer(store_id: int, transfer_id: int) -> dict:
    found = transfers.detail(db_session(), store_id=store_id, transfer_id=transfer_id)
    return _transfer_out(store_id, found.request, found.product.sku, found.origin.code, found.destination.code,
                         found.shipment.reference if found.shipment else None)


@bp.get("/transfers/<int:transfer_id>", responses={200: TransferOut}, summary="One of the store's transfer requests")
def get_transfer(path: TransferPath):
    return core.ok(_transfer(core.store_id(), path.transfer_id))


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_store_code: Annotated[str, Field(min_length=1, max_length=parsing.MAX_STORE_CODE_LENGTH,
                                          pattern=r"^[A-Za-z0-9_-]+$", examples=["S0002"])]
    sku: SKU
    quantity: QUANTITY
    note: Annotated[str, Field(max_length=240, examples=["For a customer on Saturday"])] = ""


@bp.post("/transfers", responses={201: TransferOut, **core.WRITE_RESPONSES},
         summary="Ask another store to send units to this one")
def post_transfer(body: TransferIn, header: core.WriteHeaders):
    store_id, actor = core.store_id(), core.caller().actor

    def work():
        session = db_session()
        made = transfers.request_transfer(session, actor, store_id=store_id, from_store_code=body.from_store_code,
                                          sku=body.sku, quantity=body.quantity, note=body.note or None)
        return core.ok(_transfer(store_id, made.id), status=201)

    return core.write(work)
