"""Customer orders (the endless aisle) through the partner API: a franchise store's own POS or ERP does what its
staff do on the pages of retail/web/customer_orders.py. Thin views over `retail.services.customer_orders`: each
operation calls one verb or one read; every rule (bounds, sourcing, states, who may act, what is erased when the
order closes) is the service's (docs/customer-orders.md).

- `GET /api/v1/store/customer-orders?role=ordering|origin&state=`: the orders the store took (`ordering`, the
  default) or the orders other stores sourced from it (`origin`; with `state=sourced`, those waiting for it to
  ship), newest first (id descending), in cursor pages. Lists never carry the customer's contact or address.
- `POST /api/v1/store/customer-orders`: place an order (201).
- `GET /api/v1/store/customer-orders/{customer_order_id}`: one order, for its ordering store or its origin
  store; any other store gets 404.
- `POST .../{customer_order_id}/sourcing | shipment | arrival | hand-over | cancellation`: one transition each
  (200 with the order). A transition repeated after it happened answers the order as it stands and writes
  nothing; a transition the order's state no longer allows is 409 `customer_order_closed`.

The origin store sees the SKU, quantity, dates and ordering store, never the customer's reference, contact,
address or the money (as on the web page). A brand key is refused (403) before the request is read.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from retail import errors, parsing
from retail.api import core
from retail.api.store import MAX_ID, SERIAL, SKU
from retail.request_db import db_session
from retail.services import customer_orders as orders

bp = core.blueprint("api_customer_orders", "/api/v1/store/customer-orders", "Customer orders",
                    "The endless aisle: a store orders a SKU it does not have on its shelf for a customer; it is "
                    "sourced from a store of the same city or the DC, received, and handed over as a sale.")


@bp.before_request
def _store_keys_only():
    """A brand key is refused (403) before its request is read, whatever its body."""
    core.store_id()


STATES = Literal["placed", "sourced", "shipped", "arrived", "handed_over", "cancelled"]
SERIALS = Annotated[list[SERIAL], Field(max_length=orders.MAX_QUANTITY, examples=[["SN-C2"]],
                                        description=f"The serial numbers scanned, one per unit (at most "
                                                    f"{orders.MAX_QUANTITY}); none for a SKU without serials.")]


# ---------------------------------------------------------------- answers

class SourceOut(BaseModel):
    kind: Literal["store", "dc"] = Field(description="A store of the same city (by transfer) or the store's DC.")
    location_code: str = Field(examples=["S0003"])


class CustomerOrderOut(BaseModel):
    id: int = Field(examples=[42])
    reference: str = Field(examples=["CO-42"], description="The reference of the DC shipment and of the hand-over "
                                                           "sale.")
    role: Literal["ordering", "origin"] = Field(
        description="ordering: this store took the order; origin: this store was chosen to send it.")
    state: STATES
    sku: str = Field(examples=["RK-MAX2-BLK"])
    quantity: int = Field(ge=1, le=orders.MAX_QUANTITY, examples=[1])
    fulfilment: Literal["pickup", "delivery"]
    promised_date: date = Field(examples=["2026-12-05"])
    ordering_store_code: str = Field(examples=["S0001"])
    source: SourceOut | None = Field(default=None, description="Null while no source could spare the units.")
    transfer_id: int | None = Field(default=None, examples=[7], description="The transfer request from a source "
                                                                            "store (`/transfers/{transfer_id}`).")
    price: core.Money | None = Field(default=None, description="List price x quantity, fixed when placed "
                                                               "(ordering store only).")
    deposit: core.Money | None = Field(default=None, description="Ordering store only.")
    balance_due: core.Money | None = Field(default=None, description="Price less deposit, collected at the "
                                                                     "hand-over (ordering store only).")
    refund: core.Money | None = Field(default=None, description="The deposit refunded on cancellation.")
    customer_ref: str | None = Field(default=None, examples=["T-1001"],
                                     description="The store's own ticket number (ordering store only).")
    serials: list[str] = Field(examples=[["SN-C2"]], description="The serials that arrived for the order.")
    sale_id: int | None = Field(default=None, examples=[1201], description="The hand-over sale (`/sales/{sale_id}`).")
    cancel_reason: str | None = None
    placed_at: datetime = Field(examples=["2026-11-29T02:00:00Z"])
    updated_at: datetime = Field(examples=["2026-11-29T02:00:00Z"])


class EventOut(BaseModel):
    from_state: STATES | None = None
    state: STATES
    at: datetime = Field(examples=["2026-11-29T02:00:00Z"])


class CustomerOrderDetail(CustomerOrderOut):
    contact: str | None = Field(default=None, examples=["138 0000 0000"],
                                description="Ordering store only; erased when the order is handed over or "
                                            "cancelled.")
    address: str | None = Field(default=None, description="Delivery only; ordering store only; erased when the "
                                                          "order is handed over or cancelled.")
    expected_serials: list[str] = Field(description="Ordering store: the serials on their way for the order.")
    serials_in_stock: list[str] = Field(description="Origin store, while it has to ship: serials of the SKU in its "
                                                    "stock (up to 50).")
    history: list[EventOut]


class CustomerOrderPage(BaseModel):
    data: list[CustomerOrderOut]
    next_cursor: str | None = None


def _out(order, product, store_code: str, source_code: str | None, role: str) -> dict:
    ordering = role == "ordering"
    price = order.unit_price * order.quantity

    def money(amount):
        return core.money(amount, order.currency) if ordering else None

    return {"id": order.id, "reference": orders.reference(order.id), "role": role, "state": order.state,
            "sku": product.sku, "quantity": order.quantity, "fulfilment": order.fulfilment,
            "promised_date": order.promised_date, "ordering_store_code": store_code,
            "source": {"kind": order.source_kind, "location_code": source_code}
            if order.source_kind and source_code else None,
            "transfer_id": order.transfer_id, "price": money(price), "deposit": money(order.deposit),
            "balance_due": money(price - order.deposit), "refund": money(order.refund),
            "customer_ref": order.customer_ref if ordering else None, "serials": list(order.serials or []),
            "sale_id": order.sale_movement_id if ordering else None,
            "cancel_reason": order.cancel_reason if ordering else None,
            "placed_at": order.placed_at, "updated_at": order.updated_at}


def _detail(store_id: int, order_id: int) -> dict:
    session = db_session()
    found = orders.detail(session, store_id=store_id, order_id=order_id)
    order, role = found.order, "origin" if found.is_origin else "ordering"
    out = _out(order, found.product, found.store.code, found.source.code if found.source else None, role)
    ordering = role == "ordering"
    out.update(contact=order.contact if ordering else None, address=order.address if ordering else None,
               expected_serials=orders.shipment_serials(session, store_id=store_id, order_id=order_id)
               if ordering and order.state == "shipped" else [],
               serials_in_stock=list(found.serials_at_origin),
               history=[{"from_state": event.from_state, "state": event.to_state, "at": event.at}
                        for event, _name in found.events])
    return out


# ---------------------------------------------------------------- the lists

class CustomerOrderQuery(core.PageQuery):
    role: Literal["ordering", "origin"] = Field(
        default="ordering", description="ordering: the orders this store took; origin: other stores' orders "
                                        "sourced from this store (with state=sourced: those waiting for it to ship).")
    state: Literal["placed", "sourced", "shipped", "arrived", "handed_over", "cancelled", ""] = Field(
        default="", description="Only orders in this state; empty for all.")


@bp.get("", responses={200: CustomerOrderPage},
        summary="The store's customer orders, or those other stores sourced from it, newest first")
def list_customer_orders(query: CustomerOrderQuery):
    after = core.decode_cursor(query.cursor)
    if after is not None and not isinstance(after[0], int):
        raise errors.InvalidValue(field="cursor", value=query.cursor[:40])
    rows = orders.orders_page(db_session(), store_id=core.store_id(), role=query.role, state=query.state or None,
                              before_id=after[0] if after else None, limit=query.limit + 1)
    rows, next_cursor = core.page_of(rows, query, lambda r: (r.order.id,))
    return core.page([_out(r.order, r.product, r.store_code, r.source_code, query.role) for r in rows],
                     next_cursor=next_cursor, query=query)


class OrderPath(BaseModel):
    customer_order_id: Annotated[int, Field(ge=1, le=MAX_ID)]


@bp.get("/<int:customer_order_id>", responses={200: CustomerOrderDetail},
        summary="One customer order, for its ordering store or its origin store")
def get_customer_order(path: OrderPath):
    return core.ok(_detail(core.store_id(), path.customer_order_id))


# ---------------------------------------------------------------- place

class CustomerOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: SKU
    quantity: Annotated[int, Field(ge=1, le=orders.MAX_QUANTITY, examples=[1])] = 1
    deposit: Annotated[str, Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["500.00"],
                                  description="A decimal string in the store's currency; at most the price.")] | None \
        = None
    promised_date: date = Field(examples=["2026-12-05"], description=f"From the store's today to "
                                                                    f"{orders.MAX_PROMISE_DAYS} days ahead.")
    fulfilment: Literal["pickup", "delivery"] = "pickup"
    customer_ref: Annotated[str, Field(min_length=1, max_length=orders.CUSTOMER_REF_LENGTH, examples=["T-1001"],
                                       description="The store's own ticket or receipt number.")]
    contact: Annotated[str, Field(max_length=orders.CONTACT_LENGTH, examples=["138 0000 0000"],
                                  description="How to reach the customer (a phone number).")] | None = None
    address: Annotated[str, Field(max_length=orders.ADDRESS_LENGTH,
                                  description="Required for delivery; ignored for pickup.")] | None = None


@bp.post("", responses={201: CustomerOrderDetail, **core.WRITE_RESPONSES},
         summary="Order a SKU for a customer (sourced at once when a store of the city or the DC can spare it)")
def place_customer_order(body: CustomerOrderIn, header: core.WriteHeaders):
    """The same verb as the page: the price is the list price in the store's currency; a SKU on the shelf is
    refused (sell it instead). An order no source can spare yet is kept as `placed`: try `sourcing` later."""
    store_id, actor = core.store_id(), core.caller().actor

    def work():
        order = orders.place(db_session(), actor, store_id=store_id, sku=body.sku, quantity=body.quantity,
                             deposit=body.deposit, promised_date=body.promised_date, fulfilment=body.fulfilment,
                             customer_ref=body.customer_ref, contact=body.contact, address=body.address)
        return core.ok(_detail(store_id, order.id), status=201)

    return core.write(work)


# ---------------------------------------------------------------- transitions

def _transition(verb, order_id: int, **arguments) -> Response:
    store_id, actor = core.store_id(), core.caller().actor

    def work():
        verb(db_session(), actor, store_id=store_id, order_id=order_id, **arguments)
        return core.ok(_detail(store_id, order_id))

    return core.write(work)


TRANSITION_RESPONSES = {200: CustomerOrderDetail, **core.WRITE_RESPONSES}


@bp.post("/<int:customer_order_id>/sourcing", responses=TRANSITION_RESPONSES,
         summary="Look for a source again for an order still placed (ordering store)")
def source_customer_order(path: OrderPath, header: core.WriteHeaders):
    """422 `customer_order_no_source` while no store of the city and not the DC can spare the units."""
    return _transition(orders.source, path.customer_order_id)


class SerialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serials: SERIALS = []


@bp.post("/<int:customer_order_id>/shipment", responses=TRANSITION_RESPONSES,
         summary="Ship the order to the ordering store (origin store)")
def ship_customer_order(path: OrderPath, body: SerialsIn, header: core.WriteHeaders):
    """Only the origin store ships (the ordering store gets 403, any other store 404); its hold is given back and
    the transfer request is shipped with the serials scanned."""
    return _transition(orders.ship, path.customer_order_id, serials=body.serials)


@bp.post("/<int:customer_order_id>/arrival", responses=TRANSITION_RESPONSES,
         summary="Receive the order's shipment and hold it for the customer (ordering store)")
def receive_customer_order(path: OrderPath, body: SerialsIn, header: core.WriteHeaders):
    return _transition(orders.arrive, path.customer_order_id, serials=body.serials)


@bp.post("/<int:customer_order_id>/hand-over", responses=TRANSITION_RESPONSES,
         summary="Hand the order over to the customer: recorded as a sale (ordering store)")
def hand_over_customer_order(path: OrderPath, header: core.WriteHeaders):
    """The sale is at the order's price, with the reference `CO-<id>`; the deposit counts toward it
    (`balance_due`). The customer's contact and address are erased."""
    return _transition(orders.hand_over, path.customer_order_id)


class CancellationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=parsing.MAX_TEXT_LENGTH, examples=["The customer changed their mind"])] \
        | None = None


@bp.post("/<int:customer_order_id>/cancellation", responses=TRANSITION_RESPONSES,
         summary="Cancel the order before the hand-over; the deposit is recorded as refunded (ordering store)")
def cancel_customer_order(path: OrderPath, body: CancellationIn, header: core.WriteHeaders):
    return _transition(orders.cancel, path.customer_order_id, reason=body.reason)
