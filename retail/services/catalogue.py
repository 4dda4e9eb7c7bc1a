"""A brand maintains its own SKUs (the partner API): create one, change one under optimistic concurrency.

Every change raises `Product.version` in the same conditional UPDATE that checks it
(`... WHERE id = :id AND version = :expected`): of two writers who read the same version, one wins and
the other is told VersionMismatch (the API's 412), never a lost update. A brand sees only its own SKUs:
another brand's SKU is NotFound. Every value is bounded here, whatever the adapter already checked.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import exc as sa_exc
from sqlalchemy import or_, select, update
from sqlmodel import Session

from retail import errors, parsing
from retail.models import Category, Product, User
from retail.services import audit
from retail.services.verbs import BRAND, query, verb

CURRENCIES = ("CNY", "HKD")
MAX_PACK = 10_000
FIRST_YEAR, LAST_YEAR = 2000, 2100
# What a brand may change after creation. The SKU names the product; `serialised` decides how the ledger
# counts its units and cannot change once units exist, so it is set at creation only.
EDITABLE = ("model", "variant", "category", "barcode", "list_price_cny", "list_price_hkd", "wholesale_cost",
            "cost_currency", "pack_size", "launch_date", "eol_date")
CREATED = (*EDITABLE, "serialised")


def _day(value, field: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise errors.InvalidDate(field=field, value=parsing.shown(value))
    return value


def _clean(values: Mapping, fields: tuple[str, ...]) -> dict:
    """The given fields, each checked against its bounds; unknown fields are refused."""
    unknown = [name for name in values if name not in fields]
    if unknown:
        raise errors.InvalidValue(field="field", value=parsing.shown(unknown[0]))
    out: dict = {}
    for name, value in values.items():
        if name == "model":
            out[name] = parsing.reference(value, field=name, max_length=80, required=True)
        elif name == "variant":
            out[name] = parsing.reference(value, field=name, max_length=80) or ""
        elif name == "category":
            if value not in {c.value for c in Category}:
                raise errors.InvalidValue(field=name, value=parsing.shown(value))
            out[name] = value
        elif name == "barcode":
            if value is not None and (not isinstance(value, str) or not value.isascii() or not value.isdigit()
                                      or not 8 <= len(value) <= 14):
                raise errors.InvalidValue(field=name, value=parsing.shown(value))
            out[name] = value
        elif name in ("list_price_cny", "list_price_hkd", "wholesale_cost"):
            out[name] = parsing.money(value, field=name, required=True)
        elif name == "cost_currency":
            if value not in CURRENCIES:
                raise errors.InvalidValue(field=name, value=parsing.shown(value))
            out[name] = value
        elif name == "pack_size":
            out[name] = parsing.whole(value, field=name, minimum=1, maximum=MAX_PACK, required=True)
        elif name == "serialised":
            if not isinstance(value, bool):
                raise errors.InvalidValue(field=name, value=parsing.shown(value))
            out[name] = value
        elif name in ("launch_date", "eol_date"):
            out[name] = _day(value, name)
            if name == "launch_date" and out[name] is None:
                raise errors.MissingValue(field=name)
    return out


def _check_dates(launch: date, eol: date | None) -> None:
    if eol is not None and eol < launch:
        raise errors.InvalidValue(field="eol_date", value=eol.isoformat())


def _taken(session: Session, *, sku: str | None, barcode: str | None, other_than: int | None = None) -> None:
    """AlreadyExists when another product has this SKU or barcode (as a SKU or a barcode: the scanners'
    lookup reads both columns)."""
    keys = [k for k in (sku, barcode) if k]
    if not keys:
        return
    found = session.execute(select(Product.sku, Product.barcode).where(
        or_(Product.sku.in_(keys), Product.barcode.in_(keys)),
        *([Product.id != other_than] if other_than is not None else []))).first()
    if found is not None:
        key = sku if sku in (found.sku, found.barcode) else barcode
        raise errors.AlreadyExists(what="Product", key=key)


def _flush_unique(session: Session, *, sku: str, barcode: str | None) -> None:
    """Flush in a savepoint: a concurrent twin that committed the same SKU or barcode first is AlreadyExists,
    not a database error."""
    try:
        with session.begin_nested():
            session.flush()
    except sa_exc.IntegrityError:
        raise errors.AlreadyExists(what="Product", key=barcode or sku) from None


@query
def brand_product(session: Session, *, brand_id: int, sku: str) -> Product:
    """The brand's product with this SKU; another brand's, or none, is NotFound."""
    key = (sku or "").strip()[:parsing.MAX_SKU_LENGTH + 1]
    product = session.execute(select(Product).where(Product.sku == key, Product.brand_id == brand_id)
                              ).scalar_one_or_none()
    if product is None:
        raise errors.NotFound(what="Product", key=parsing.shown(key))
    return product


@verb(BRAND)
def create_product(session: Session, actor: User, *, brand_id: int, sku: str, values: Mapping) -> Product:
    """A new SKU of the brand. `values` holds the fields of CREATED: model, category, the three prices and
    launch_date are required. A SKU or barcode used by any product (any brand) is AlreadyExists."""
    sku = parsing.sku(sku)
    if not all(c.isascii() and (c.isalnum() or c in "._-") for c in sku):
        raise errors.InvalidValue(field="sku", value=parsing.shown(sku))
    for required in ("model", "category", "list_price_cny", "list_price_hkd", "wholesale_cost", "launch_date"):
        if values.get(required) is None:
            raise errors.MissingValue(field=required)
    fields = _clean(values, CREATED)
    _check_dates(fields["launch_date"], fields.get("eol_date"))
    _taken(session, sku=sku, barcode=fields.get("barcode"))
    product = Product(sku=sku, brand_id=brand_id, version=1, **fields)
    session.add(product)
    _flush_unique(session, sku=sku, barcode=fields.get("barcode"))
    audit.record(session, actor_id=actor.id, action="product.created", entity="product", entity_id=sku,
                 detail={"brand_id": brand_id})
    return product


@verb(BRAND)
def update_product(session: Session, actor: User, *, brand_id: int, sku: str, version: int,
                   changes: Mapping) -> Product:
    """Change fields of EDITABLE of the brand's SKU if it is still at `version` (else VersionMismatch);
    the version rises by one in the same UPDATE. An empty change still raises the version (a touch)."""
    product = brand_product(session, brand_id=brand_id, sku=sku)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise errors.InvalidValue(field="If-Match", value=parsing.shown(version))
    fields = _clean(changes, EDITABLE)
    _check_dates(fields.get("launch_date", product.launch_date),
                 fields["eol_date"] if "eol_date" in fields else product.eol_date)
    if fields.get("barcode"):
        _taken(session, sku=None, barcode=fields["barcode"], other_than=product.id)
    try:
        with session.begin_nested():
            changed = session.execute(
                update(Product).where(Product.id == product.id, Product.version == version)
                .values(**fields, version=Product.version + 1).execution_options(synchronize_session=False)
            ).rowcount
    except sa_exc.IntegrityError:
        raise errors.AlreadyExists(what="Product", key=fields.get("barcode") or product.sku) from None
    if changed != 1:
        current = session.execute(select(Product.version).where(Product.id == product.id)).scalar_one()
        raise errors.VersionMismatch(what="Product", key=product.sku, expected=version, current=current)
    session.refresh(product)
    audit.record(session, actor_id=actor.id, action="product.updated", entity="product", entity_id=product.sku,
                 detail={"version": product.version, "fields": sorted(fields)})
    return product
