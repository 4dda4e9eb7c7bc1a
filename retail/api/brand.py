"""Brand operations of the partner API: a brand partner's system reads and maintains its catalogue, and
reads its stock, sell-through and forecasts across the network; it answers the purchase orders addressed to
it and sends advance shipment notices. Every query is filtered by the key's brand (`core.brand_id()`):
another brand's object is 404.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import select

from retail import errors
from retail.api import core
from retail.models import Product, PurchaseOrder, utcnow
from retail.request_db import db_session
from retail.services import brand_reports, catalogue, purchasing

bp = core.blueprint("api_brand", "/api/v1/brand", "Brand",
                    "For brand partners' systems, with a key bound to the brand.")


@bp.before_request
def _brand_keys_only() -> None:
    """A store key is refused (403) before its request is read: a brand operation's refusal does not depend
    on the body or the query it sent."""
    core.brand_id()  # runs after core.authenticate_request, which set the caller


SKU = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", examples=["RK-MAX2-BLK"])]


class ProductOut(BaseModel):
    sku: SKU
    model: str = Field(examples=["Rokid Max 2"])
    variant: str = Field(examples=["black"])
    category: Literal["audio", "camera", "ar"]
    barcode: str | None = Field(default=None, examples=["6970000000017"])
    list_prices: list[core.Money] = Field(description="In CNY and HKD.")
    wholesale_cost: core.Money
    pack_size: int = Field(ge=1)
    serialised: bool
    launch_date: date
    eol_date: date | None = None
    version: int = Field(ge=1, description="Also the ETag: send it back as If-Match to change the product.")


class ProductPage(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None = None


class ProductQuery(core.PageQuery):
    category: Literal["audio", "camera", "ar", ""] = ""


def product_out(product: Product) -> dict:
    return {"sku": product.sku, "model": product.model, "variant": product.variant, "category": product.category,
            "barcode": product.barcode,
            "list_prices": [core.money(product.list_price_cny, "CNY"), core.money(product.list_price_hkd, "HKD")],
            "wholesale_cost": core.money(product.wholesale_cost, product.cost_currency),
            "pack_size": product.pack_size, "serialised": product.serialised, "launch_date": product.launch_date,
            "eol_date": product.eol_date, "version": product.version}


@bp.get("/products", responses={200: ProductPage}, summary="The brand's products, by SKU")
def list_products(query: ProductQuery):
    brand_id = core.brand_id()
    after = core.decode_cursor(query.cursor)
    statement = select(Product).where(Product.brand_id == brand_id).order_by(Product.sku).limit(query.limit + 1)
    if after is not None:
        statement = statement.where(Product.sku > str(after[0]))
    if query.category:
        statement = statement.where(Product.category == query.category)
    rows, next_cursor = core.page_of(list(db_session().execute(statement).scalars()), query, lambda p: (p.sku,))
    return core.page([product_out(p) for p in rows], next_cursor=next_cursor, query=query)


# ---------------------------------------------------------------- shared bounds

MAX_QUANTITY = 100_000
MAX_ID = 2_147_483_647
MAX_LINES = 500
MAX_SERIALS = 1_000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)



# Request bodies take JSON as its schema says, without pydantic's lax conversions (0 for false, a number of
# seconds for a date, "5" for 5): a value of another JSON type is refused (422), as the document promises.
def _iso_date(value):
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("a date is written as text, YYYY-MM-DD")
    return value


def _iso_datetime(value):
    if not isinstance(value, str | datetime):
        raise ValueError("a time is written as text in ISO 8601 (2026-11-20T08:00:00Z)")
    return value


def _true(value):
    if value is not True:
        raise ValueError("reject is true (leave the line out, or confirm a quantity, otherwise)")
    return value


Day = Annotated[date, BeforeValidator(_iso_date), Field(ge=FIRST_DAY, le=LAST_DAY, examples=["2026-11-02"])]
Instant = Annotated[datetime, BeforeValidator(_iso_datetime)]
DayParam = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]  # parameters take no list of examples
SkuParam = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Price = Annotated[str, Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", max_length=13, examples=["2999.00"],
                             description="A decimal string: at most 10 digits and 2 decimals, not negative.")]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY, examples=[20])]
SkuFilter = Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9._-]*$",
                                 description="Only this SKU (empty: every SKU of the brand).")]
Serial = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", examples=["RKM2-000123"])]
Barcode = Annotated[str, Field(pattern=r"^[0-9]{8,14}$", examples=["6970000000017"])]
Text80 = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
Variant = Annotated[str, Field(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$", examples=["black"])]
Category = Literal["audio", "camera", "ar"]
Currency = Literal["CNY", "HKD"]
VERSION_PATTERN = re.compile(r'^(?:W/)?"?([0-9]{1,10})"?$')


def _etag(product: Product) -> dict:
    return {"ETag": f'"{product.version}"'}


# ---------------------------------------------------------------- products: read one, create, change

ProductOut.model_config = ConfigDict(openapi_extra={"headers": {"ETag": {
    "description": 'The product\'s version, quoted (`"3"`): send it back as If-Match to change the product.',
    "schema": {"type": "string"}}}})
ProductOut.model_rebuild(force=True)


class ProductPath(BaseModel):
    sku: SkuParam


class ProductIn(BaseModel):
    """A new SKU of the brand. `serialised` (units carry serial numbers) is set here once and never changed."""

    model_config = ConfigDict(extra="forbid")
    sku: SKU
    model: Text80 = Field(examples=["Rokid Max 2"])
    variant: Variant = ""
    category: Category
    barcode: Barcode | None = None
    list_price_cny: Price
    list_price_hkd: Price = Field(examples=["3299.00"])
    wholesale_cost: Price = Field(examples=["2100.00"])
    cost_currency: Currency = "CNY"
    pack_size: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    serialised: StrictBool = True
    launch_date: Day
    eol_date: Day | None = None


class ProductChange(BaseModel):
    """The fields to change (those left out stay as they are); `barcode` and `eol_date` may be null to clear
    them. The SKU and `serialised` cannot change."""

    model_config = ConfigDict(extra="forbid")
    model: Text80 | None = Field(default=None, examples=["Rokid Max 2 Pro"])
    variant: Variant | None = None
    category: Category | None = None
    barcode: Barcode | None = None
    list_price_cny: Price | None = None
    list_price_hkd: Price | None = None
    wholesale_cost: Price | None = None
    cost_currency: Currency | None = None
    pack_size: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None
    launch_date: Day | None = None
    eol_date: Day | None = None


class ChangeHeaders(core.WriteHeaders):
    if_match: Annotated[str, Field(
        alias="If-Match", max_length=16, pattern=r'^(W/)?"?[0-9]{1,10}"?$',
        description='The ETag of the version you read (`"3"`). Required: missing is 428, stale is 412.',
    )] = ""


PRECONDITION_RESPONSES = {
    "412": core._problem_response("The product changed since the version named by If-Match: read it again"),
    "428": core._problem_response("If-Match is required to change a product"),
}


@bp.get("/products/<sku>", responses={200: ProductOut}, summary="One of the brand's products, with its ETag")
def get_product(path: ProductPath):
    product = catalogue.brand_product(db_session(), brand_id=core.brand_id(), sku=path.sku)
    return core.ok(product_out(product), headers=_etag(product))


@bp.post("/products", responses={201: ProductOut, **core.WRITE_RESPONSES},
         summary="Create one of the brand's SKUs (a SKU or barcode used before is 409)")
def create_product(body: ProductIn, header: core.WriteHeaders):
    brand_id = core.brand_id()
    values = body.model_dump(exclude={"sku"})

    def handler():
        product = catalogue.create_product(db_session(), core.caller().actor, brand_id=brand_id, sku=body.sku,
                                           values=values)
        return core.ok(product_out(product), status=201,
                       headers={"Location": f"{bp.url_prefix}/products/{product.sku}", **_etag(product)})

    return core.write(handler)


@bp.patch("/products/<sku>", responses={200: ProductOut, **core.WRITE_RESPONSES, **PRECONDITION_RESPONSES},
          summary="Change one of the brand's products (If-Match required)")
def change_product(path: ProductPath, body: ProductChange, header: ChangeHeaders):
    brand_id = core.brand_id()
    changes = body.model_dump(exclude_unset=True)
    if not header.if_match:
        catalogue.brand_product(db_session(), brand_id=brand_id, sku=path.sku)  # another brand's SKU: 404 first
        raise errors.VersionRequired()
    version = int(VERSION_PATTERN.fullmatch(header.if_match).group(1))

    def handler():
        product = catalogue.update_product(db_session(), core.caller().actor, brand_id=brand_id, sku=path.sku,
                                           version=version, changes=changes)
        return core.ok(product_out(product), headers=_etag(product))

    return core.write(handler)


# ---------------------------------------------------------------- stock

class BrandStockOut(BaseModel):
    sku: SKU
    province: str | None = Field(default=None, examples=["Shanghai"], description="At level province or store.")
    store: str | None = Field(default=None, examples=["S0001"], description="At level store.")
    on_hand: int = Field(ge=0, examples=[42])
    in_transit: int = Field(ge=0, examples=[10])
    weekly_sales: float = Field(ge=0, examples=[3.5],
                                description="Mean units sold a week over the last 8 weeks (56 days).")
    weeks_of_cover: float | None = Field(default=None, ge=0, examples=[12.0],
                                         description="on_hand / weekly_sales; null when nothing sold.")


class BrandStockPage(BaseModel):
    data: list[BrandStockOut]
    next_cursor: str | None = None


class BrandStockQuery(core.PageQuery):
    level: Literal["sku", "province", "store"] = "sku"
    sku: SkuFilter = ""


@bp.get("/stock", responses={200: BrandStockPage},
        summary="The brand's stock by SKU (every location), province or store: on hand, in transit, cover")
def list_stock(query: BrandStockQuery):
    """Weeks of cover are on hand divided by the mean weekly units sold over the last 8 weeks (sales
    history, not the forecast); null when nothing sold. Level `sku` counts every location (warehouses
    included); `province` and `store` count stores only. Ordered by (sku), (province, sku) or (store, sku)."""
    brand_id = core.brand_id()
    arity = 1 if query.level == "sku" else 2
    after = core.decode_cursor(query.cursor, arity)

    def answer():
        rows = brand_reports.stock(db_session(), brand_id=brand_id, level=query.level, sku=query.sku,
                                   after=[str(v) for v in after] if after else None, limit=query.limit + 1,
                                   as_of=utcnow())
        rows, next_cursor = core.page_of(rows, query, lambda r: (r.sku,) if arity == 1 else (
            r.province if query.level == "province" else r.store, r.sku))
        return core.page([vars(r) for r in rows], next_cursor=next_cursor, query=query,
                         columns=list(BrandStockOut.model_fields))

    # kept until a commit writes stock, sales, products or locations (or KEPT_SECONDS pass)
    return core.kept_answer(core.data_version(core.STOCK_TABLES), answer)


# ---------------------------------------------------------------- sell-through

class SellThroughOut(BaseModel):
    sku: SKU
    province: str | None = Field(default=None, examples=["Shanghai"])
    store: str | None = Field(default=None, examples=[None])
    week: date = Field(description="The Monday of the store's local week.", examples=["2026-11-02"])
    units_sold: int = Field(ge=0, examples=[12])
    units_returned: int = Field(ge=0, examples=[1])
    revenue: list[core.Money] = Field(description="Sales at the prices charged, per currency (returns not "
                                                  "deducted).")


class SellThroughPage(BaseModel):
    data: list[SellThroughOut]
    next_cursor: str | None = None


class SellThroughQuery(core.PageQuery):
    start: DayParam = Field(description="First day (store local), at most 366 days before `end`.")
    end: DayParam = Field(description="Last day (store local), included.")
    by: Literal["sku", "province", "store"] = "sku"
    sku: SkuFilter = ""


@bp.get("/sell-through", responses={200: SellThroughPage},
        summary="Weekly units and revenue of the brand's SKUs by SKU, province or store")
def list_sell_through(query: SellThroughQuery):
    """Ordered by (sku, province or store, week). A range longer than 366 days, or ending before it starts,
    is 422."""
    brand_id = core.brand_id()
    brand_reports.check_range(query.start, query.end)
    after = core.decode_cursor(query.cursor, 3)
    rows = brand_reports.sell_through(db_session(), brand_id=brand_id, start=query.start, end=query.end,
                                      by=query.by, sku=query.sku, after=[str(v) for v in after] if after else None,
                                      limit=query.limit + 1)
    rows, next_cursor = core.page_of(rows, query, lambda r: (
        r.sku, "" if query.by == "sku" else (r.province if query.by == "province" else r.store) or "",
        r.week.isoformat()))
    items = [{**vars(r), "revenue": [core.money(amount, currency) for currency, amount in r.revenue.items()]}
             for r in rows]
    return core.page(items, next_cursor=next_cursor, query=query, columns=list(SellThroughOut.model_fields))


# ---------------------------------------------------------------- forecasts

class ForecastWeekOut(BaseModel):
    week: date = Field(examples=["2026-11-09"])
    mean: float = Field(ge=0, examples=[4.2])
    quantiles: dict[str, int] = Field(examples=[{"p50": 4, "p80": 6, "p95": 8}],
                                      description="Units at each stored quantile (p50, p80, p95).")


class ForecastOut(BaseModel):
    run_id: int = Field(ge=1)
    sku: SKU
    province: str | None = Field(default=None, examples=["Shanghai"])
    store: str | None = Field(default=None, examples=[None])
    weeks: list[ForecastWeekOut]


class ForecastPage(BaseModel):
    data: list[ForecastOut]
    next_cursor: str | None = None


class ForecastQuery(core.PageQuery):
    level: Literal["network", "province", "store"] = "network"
    sku: SkuFilter = ""


@bp.get("/forecasts", responses={200: ForecastPage},
        summary="The latest forecast of the brand's SKUs by week, with quantiles, by network, province or store")
def list_forecasts(query: ForecastQuery):
    """Level `store` gives each store x SKU series as stored. At `province` and `network` the means are
    summed; the quantiles of a sum are not the sums of quantiles, so they are recomputed as a negative
    binomial matched to the mean and variance of the sum, with the forecast run's dispersion: stores share
    the SKU-level forecast error (it does not average out) and are otherwise independent
    (`forecasting.aggregate`). No run yet: an empty list. Ordered by (sku), (province, sku), (store, sku)."""
    brand_id = core.brand_id()
    arity = 1 if query.level == "network" else 2
    after = core.decode_cursor(query.cursor, arity)

    def answer():
        rows = brand_reports.forecast(db_session(), brand_id=brand_id, level=query.level, sku=query.sku,
                                      after=[str(v) for v in after] if after else None, limit=query.limit + 1)
        rows, next_cursor = core.page_of(rows, query, lambda r: (r.sku,) if arity == 1 else (
            (r.province if query.level == "province" else r.store) or "", r.sku))
        return core.page([vars(r) for r in rows], next_cursor=next_cursor, query=query,
                         columns=list(ForecastOut.model_fields))

    # a stored run never changes: its pages are kept until a commit writes runs, products or locations (with
    # Redis), else by the latest run read from the database; a new run is served at once either way
    version = core.data_version(core.FORECAST_TABLES) or brand_reports.forecast_version(db_session())
    return core.kept_answer(version, answer)


# ---------------------------------------------------------------- purchase orders

class PurchaseOrderLineOut(BaseModel):
    sku: SKU
    proposed_quantity: int = Field(ge=1, examples=[40])
    status: Literal["open", "confirmed", "rejected"]
    confirmed_quantity: int | None = Field(default=None, ge=0, examples=[30])
    notified_quantity: int = Field(ge=0, examples=[0], description="Units sent in shipment notices so far.")
    answered_at: datetime | None = None


class PurchaseOrderOut(BaseModel):
    id: int = Field(ge=1, examples=[7])
    reference: str = Field(examples=["PO-12-ROKID-DC-SH"])
    status: Literal["open", "answered", "closed"]
    dc: str = Field(examples=["DC-SH"], description="The warehouse the goods go to.")
    arrival_week: date = Field(examples=["2026-11-23"])
    created_at: datetime
    updated_at: datetime
    lines: list[PurchaseOrderLineOut]


class PurchaseOrderPage(BaseModel):
    data: list[PurchaseOrderOut]
    next_cursor: str | None = None


class PurchaseOrderQuery(core.PageQuery):
    status: Literal["open", "answered", "closed", ""] = ""


class PurchaseOrderPath(BaseModel):
    order_id: Annotated[int, Field(ge=1, le=MAX_ID)]


def order_out(order: PurchaseOrder, dc: str, lines: list[purchasing.OrderLine]) -> dict:
    return {"id": order.id, "reference": order.reference, "status": order.status, "dc": dc,
            "arrival_week": order.arrival_week, "created_at": order.created_at, "updated_at": order.updated_at,
            "lines": [{"sku": ln.sku, "proposed_quantity": ln.proposed, "status": ln.status,
                       "confirmed_quantity": ln.confirmed, "notified_quantity": ln.notified,
                       "answered_at": ln.answered_at} for ln in lines]}


@bp.get("/purchase-orders", responses={200: PurchaseOrderPage},
        summary="The purchase orders addressed to the brand, oldest first")
def list_purchase_orders(query: PurchaseOrderQuery):
    brand_id = core.brand_id()
    after = core.decode_cursor(query.cursor)
    session = db_session()
    rows = purchasing.orders(session, brand_id=brand_id, status=query.status or None,
                             after_id=_int(after[0]) if after else None, limit=query.limit + 1)
    rows, next_cursor = core.page_of(rows, query, lambda o: (o.id,))
    lines = purchasing.order_lines(session, order_ids=[o.id for o in rows])
    dcs = purchasing.location_codes(session, ids=[o.dc_id for o in rows])
    return core.page([order_out(o, dcs.get(o.dc_id, ""), lines[o.id]) for o in rows], next_cursor=next_cursor,
                     query=query, columns=list(PurchaseOrderOut.model_fields))


@bp.get("/purchase-orders/<int:order_id>", responses={200: PurchaseOrderOut},
        summary="One purchase order with its lines: proposed, confirmed and notified quantities")
def get_purchase_order(path: PurchaseOrderPath):
    view = purchasing.order(db_session(), brand_id=core.brand_id(), order_id=path.order_id)
    return core.ok(order_out(view.order, view.dc, view.lines))


class ConfirmLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    confirmed_quantity: Quantity = Field(description="At most the proposed quantity.")


class RejectLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    reject: Annotated[Literal[True], BeforeValidator(_true)]


class AnswersIn(BaseModel):
    """Each line answered once: confirmed (1 to the proposed quantity) or rejected. All or nothing."""

    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[ConfirmLine | RejectLine], Field(
        min_length=1, max_length=MAX_LINES,
        examples=[[{"sku": "RK-MAX2-BLK", "confirmed_quantity": 30}, {"sku": "RK-CASE", "reject": True}]])]


@bp.post("/purchase-orders/<int:order_id>/answers", responses={200: PurchaseOrderOut, **core.WRITE_RESPONSES},
         summary="Confirm or reject lines of a purchase order")
def answer_purchase_order(path: PurchaseOrderPath, body: AnswersIn, header: core.WriteHeaders):
    brand_id = core.brand_id()
    answers = [purchasing.Answer(sku=ln.sku, reject=True) if isinstance(ln, RejectLine)
               else purchasing.Answer(sku=ln.sku, confirmed_quantity=ln.confirmed_quantity) for ln in body.lines]

    def handler():
        session = db_session()
        purchasing.answer(session, core.caller().actor, brand_id=brand_id, order_id=path.order_id, answers=answers)
        view = purchasing.order(session, brand_id=brand_id, order_id=path.order_id)
        return core.ok(order_out(view.order, view.dc, view.lines))

    return core.write(handler)


# ---------------------------------------------------------------- advance shipment notices

class NoticeLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    quantity: Quantity
    serials: Annotated[list[Serial], Field(max_length=MAX_SERIALS, description=(
        "One per unit for a serialised SKU (new to the platform); none for the others."))] = []


class NoticeIn(BaseModel):
    """An advance shipment notice: the brand's ASN number (unique per brand), and per SKU at most what remains
    confirmed on the order. The units go in transit to the order's warehouse."""

    model_config = ConfigDict(extra="forbid")
    reference: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$",
                                    examples=["ASN-2026-0042"])]
    expected_at: Instant | None = Field(default=None, examples=["2026-11-20T08:00:00Z"],
                                         description="When the goods should arrive (UTC; years 2000 to 2100).")
    lines: Annotated[list[NoticeLineIn], Field(min_length=1, max_length=MAX_LINES, examples=[[
        {"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["RKM2-000123", "RKM2-000124"]},
        {"sku": "RK-CASE", "quantity": 10, "serials": []}]])]


class NoticeLineOut(BaseModel):
    sku: SKU
    quantity: int = Field(ge=1, examples=[2])
    serials: list[str] = Field(examples=[["RKM2-000123", "RKM2-000124"]])


class NoticeOut(BaseModel):
    id: int = Field(ge=1, examples=[3])
    reference: str = Field(examples=["ASN-2026-0042"])
    order_id: int = Field(ge=1, examples=[7])
    order_reference: str = Field(examples=["PO-12-ROKID-DC-SH"])
    shipment_reference: str = Field(examples=["ROKID:ASN-2026-0042"],
                                    description="The delivery's reference at the warehouse.")
    status: Literal["in_transit", "received", "cancelled"]
    dc: str = Field(examples=["DC-SH"])
    shipped_at: datetime
    expected_at: datetime | None = None
    received_at: datetime | None = None
    created_at: datetime
    lines: list[NoticeLineOut]


class NoticePage(BaseModel):
    data: list[NoticeOut]
    next_cursor: str | None = None


class NoticeQuery(core.PageQuery):
    order_id: Annotated[int, Field(ge=0, le=MAX_ID, description="Only this order's notices (0: all).")] = 0


class NoticePath(BaseModel):
    notice_id: Annotated[int, Field(ge=1, le=MAX_ID)]


def notice_out(view: purchasing.NoticeView) -> dict:
    shipment = view.shipment
    return {"id": view.notice.id, "reference": view.notice.reference, "order_id": view.notice.order_id,
            "order_reference": view.order_reference, "shipment_reference": shipment.reference,
            "status": shipment.status, "dc": view.dc, "shipped_at": shipment.shipped_at,
            "expected_at": shipment.expected_at, "received_at": shipment.received_at,
            "created_at": view.notice.created_at,
            "lines": [{"sku": sku, "quantity": quantity, "serials": serials} for sku, quantity, serials in view.lines]}


@bp.post("/purchase-orders/<int:order_id>/shipment-notices", responses={201: NoticeOut, **core.WRITE_RESPONSES},
         summary="Send an advance shipment notice: the units go in transit to the order's warehouse")
def create_shipment_notice(path: PurchaseOrderPath, body: NoticeIn, header: core.WriteHeaders):
    brand_id = core.brand_id()
    expected_at = body.expected_at
    if expected_at is not None:
        if not FIRST_DAY.year <= expected_at.year <= LAST_DAY.year:
            raise errors.InvalidDate(field="expected_at", value=expected_at.isoformat()[:40])
        expected_at = (expected_at.replace(tzinfo=UTC) if expected_at.tzinfo is None
                       else expected_at.astimezone(UTC))
    lines = [purchasing.NoticeLine(sku=ln.sku, quantity=ln.quantity, serials=tuple(ln.serials)) for ln in body.lines]

    def handler():
        session = db_session()
        created = purchasing.notify_shipment(session, core.caller().actor, brand_id=brand_id,
                                             order_id=path.order_id, reference=body.reference, lines=lines,
                                             expected_at=expected_at)
        body_out = notice_out(purchasing.notice(session, brand_id=brand_id, notice_id=created.id))
        return core.ok(body_out, status=201,
                       headers={"Location": f"{bp.url_prefix}/shipment-notices/{created.id}"})

    return core.write(handler)


@bp.get("/shipment-notices", responses={200: NoticePage}, summary="The brand's shipment notices, oldest first")
def list_shipment_notices(query: NoticeQuery):
    brand_id = core.brand_id()
    after = core.decode_cursor(query.cursor)
    session = db_session()
    rows = purchasing.notices(session, brand_id=brand_id, order_id=query.order_id or None,
                              after_id=_int(after[0]) if after else None, limit=query.limit + 1)
    rows, next_cursor = core.page_of(rows, query, lambda n: (n.id,))
    return core.page([notice_out(v) for v in purchasing.notice_views(session, notices=rows)],
                     next_cursor=next_cursor, query=query, columns=list(NoticeOut.model_fields))


@bp.get("/shipment-notices/<int:notice_id>", responses={200: NoticeOut},
        summary="One shipment notice: its lines and serials, and its delivery's status at the warehouse")
def get_shipment_notice(path: NoticePath):
    return core.ok(notice_out(purchasing.notice(db_session(), brand_id=core.brand_id(), notice_id=path.notice_id)))


def _int(value) -> int:
    """A cursor's id: a whole number, else the cursor was not ours (422)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise errors.InvalidValue(field="cursor", value=str(value)[:40])
    return value
