"""The core domain model: catalogue, locations, stock ledger, people. Constraints are declared here, once.

Money is stored as NUMERIC with its ISO currency next to it; times are UTC.
The stock ledger is `Movement` (append-only, quantity signed by its effect on the
sellable stock on hand) plus `StockBalance`, updated in the same transaction.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Numeric, UniqueConstraint
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

__all__ = ['Category', 'LocationKind', 'Partnership', 'LocationStatus', 'MovementKind', 'SerialState', 'Role', 'ShipmentStatus', 'Brand', 'Product', 'Location', 'StockBalance', 'Movement', 'SerialUnit', 'MovementSerial', 'Shipment', 'ShipmentLine', 'User', 'AuditLog', 'utcnow', 'UtcDateTime', 'Money']


def utcnow() -> datetime:
    return datetime.now(UTC)


def UtcDateTime(**kwargs) -> Column:  # noqa: N802 - reads as a column type
    return Column(DateTime(timezone=True), **kwargs)


def Money(**kwargs) -> Column:  # noqa: N802
    return Column(Numeric(12, 2), **kwargs)


class Category(StrEnum):
    audio = "audio"
    camera = "camera"
    ar = "ar"


class LocationKind(StrEnum):
    store = "store"
    dc = "dc"


class Partnership(StrEnum):
    franchise = "franchise"
    consignment = "consignment"


class LocationStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    closed = "closed"


class MovementKind(StrEnum):
    sale = "sale"
    return_ = "return"
    receipt = "receipt"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    count_adjustment = "count_adjustment"
    write_off = "write_off"
    demo_in = "demo_in"
    demo_out = "demo_out"


class SerialState(StrEnum):
    in_stock = "in_stock"
    in_transit = "in_transit"
    demo = "demo"
    sold = "sold"
    written_off = "written_off"


class Role(StrEnum):
    admin = "admin"
    planner = "planner"
    store_manager = "store_manager"
    store_staff = "store_staff"
    brand_partner = "brand_partner"
    integration = "integration"  # a partner's system acting through an API key (retail/models/api.py)


class ShipmentStatus(StrEnum):
    in_transit = "in_transit"
    received = "received"
    cancelled = "cancelled"


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(max_length=80)
    name_zh: str = Field(max_length=80)
    lead_time_days: int = Field(default=14, ge=0)
    moq: int = Field(default=1, ge=1)
    contact_email: str | None = Field(default=None, max_length=254)
    active: bool = True


class Product(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
        CheckConstraint("category IN ('audio', 'camera', 'ar')", name="category_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=40, unique=True, index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    model: str = Field(max_length=80)
    variant: str = Field(default="", max_length=80)
    category: str = Field(max_length=16)
    barcode: str | None = Field(default=None, max_length=14, unique=True)
    list_price_cny: Decimal = Field(sa_column=Money(nullable=False))
    list_price_hkd: Decimal = Field(sa_column=Money(nullable=False))
    wholesale_cost: Decimal = Field(sa_column=Money(nullable=False))
    cost_currency: str = Field(default="CNY", max_length=3)
    pack_size: int = 1
    serialised: bool = True
    launch_date: date
    eol_date: date | None = None
    # Raised by every change through the API: its ETag, checked against If-Match (optimistic concurrency).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Location(SQLModel, table=True):
    """A store or a distribution centre: anywhere stock can be."""

    __table_args__ = (
        CheckConstraint("market IN ('CN', 'HK')", name="market_known"),
        CheckConstraint("currency IN ('CNY', 'HKD')", name="currency_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    kind: str = Field(default=LocationKind.store, max_length=8)
    name: str = Field(max_length=120)
    city: str = Field(max_length=60)
    city_zh: str = Field(default="", max_length=60)
    province: str = Field(default="", max_length=60)
    city_tier: int = 3
    market: str = Field(default="CN", max_length=2)
    currency: str = Field(default="CNY", max_length=3)
    timezone: str = Field(default="Asia/Shanghai", max_length=40)
    partnership: str | None = Field(default=None, max_length=16)
    status: str = Field(default=LocationStatus.active, max_length=12)
    opened_on: date | None = None
    size_class: str | None = Field(default=None, max_length=2)
    dc_id: int | None = Field(default=None, foreign_key="location.id")


class StockBalance(SQLModel, table=True):
    __tablename__ = "stock_balance"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("demo >= 0", name="demo_not_negative"),
        CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True, index=True)
    on_hand: int = 0
    demo: int = 0
    in_transit: int = 0
    reserved: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class Movement(SQLModel, table=True):
    """One change of stock. Rows are only ever inserted, never updated or deleted."""

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_movement_location_product_ts", "location_id", "product_id", "ts"),
        Index("ix_movement_kind_ts", "kind", "ts"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    location_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    kind: str = Field(max_length=20)
    quantity: int  # signed: its effect on the sellable stock on hand at location
    unit_price: Decimal | None = Field(default=None, sa_column=Money(nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    reference: str | None = Field(default=None, max_length=64, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    note: str | None = Field(default=None, max_length=240)


class SerialUnit(SQLModel, table=True):
    __tablename__ = "serial_unit"
    serial: str = Field(primary_key=True, max_length=40)
    product_id: int = Field(foreign_key="product.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="location.id", index=True)
    state: str = Field(max_length=12)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class MovementSerial(SQLModel, table=True):
    """Which serial numbers a movement moved: the history of each unit."""

    __tablename__ = "movement_serial"
    movement_id: int = Field(foreign_key="movement.id", primary_key=True)
    serial: str = Field(foreign_key="serial_unit.serial", primary_key=True, index=True)


class Shipment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True, index=True)
    from_location_id: int | None = Field(default=None, foreign_key="location.id")
    to_location_id: int = Field(foreign_key="location.id", index=True)
    status: str = Field(default=ShipmentStatus.in_transit, max_length=12)
    shipped_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    expected_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    received_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))


class ShipmentLine(SQLModel, table=True):
    """One SKU of a shipment. On receipt: `received_quantity` (never above `quantity`) went into stock;
    `surplus` units counted beyond `quantity` are held, not stock, until decided (`surplus_status`: held,
    accepted, refused; 'posted' for over-receipts made before revision 0008); `received_serials` are the
    serials scanned on arrival (the shipped ones not among them stay in transit, missing)."""

    __tablename__ = "shipment_line"
    __table_args__ = (
        UniqueConstraint("shipment_id", "product_id"),
        CheckConstraint("quantity > 0", name="shipped_positive"),
        CheckConstraint("received_quantity IS NULL OR (received_quantity >= 0 AND received_quantity <= quantity)",
                        name="received_within_shipped"),
        CheckConstraint("surplus >= 0", name="surplus_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    received_quantity: int | None = None
    serials: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    surplus: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    surplus_status: str | None = Field(default=None, max_length=12)
    received_serials: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class User(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'planner', 'store_manager', 'store_staff', 'brand_partner', 'integration')",
            name="role_known"
        ),
        CheckConstraint("language IN ('zh_Hans', 'zh_Hant', 'en')", name="language_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(max_length=16)
    store_id: int | None = Field(default=None, foreign_key="location.id", index=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    language: str = Field(default="zh_Hans", max_length=8)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    # Part of every sign-in session's id: raising it (sign-out, deactivation, password change) revokes
    # every copy of every session of this person at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False, index=True))
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=60)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    detail: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
