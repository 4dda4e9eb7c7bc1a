"""The catalogue as the shop floor reads it: a product by SKU or barcode (the one lookup every form,
import row and API call goes through)."""
from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import Session, select

from retail import errors
from retail.models import Product, StockBalance
from retail.services.verbs import query

MAX_KEY_LENGTH = 64  # SKU and barcode columns are at most this long
_FOUND = "retail.products_by_key"  # session.info: key -> product id, for the session's life (a request, a job)


@query
def by_sku_or_barcode(session: Session, sku: str) -> Product:
    """Find a product by SKU or by barcode; UnknownProduct otherwise. A key found once in this session is
    served from the session (the verb and the ledger primitive it calls, each row of a POS file): one query
    per key, not per call."""
    key = (sku or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise errors.UnknownProduct(sku=key[:MAX_KEY_LENGTH])
    found = session.info.setdefault(_FOUND, {})
    product = session.get(Product, found[key]) if key in found else None
    if product is None:
        product = session.exec(select(Product).where((Product.sku == key) | (Product.barcode == key))).first()
        if product is None:
            raise errors.UnknownProduct(sku=key)
        found[key] = product.id
    return product


@query
def choices(session: Session, *, store_id: int) -> list[tuple[str, str]]:
    """SKUs the store holds or has held, for the pickers of the forms: (sku, label)."""
    rows = session.execute(
        select(Product.sku, Product.model, Product.variant)
        .join(StockBalance, StockBalance.product_id == Product.id)
        .where(StockBalance.location_id == store_id).order_by(Product.sku)
    ).all()
    return [(r.sku, f"{r.model} {r.variant}".strip()) for r in rows]


@query
def search(session: Session, *, query: str, limit: int = 20) -> list[Product]:
    text = (query or "").strip()
    if not text:
        return []
    like = f"%{text.lower()}%"
    return list(session.execute(
        select(Product).where(or_(func.lower(Product.sku).like(like), func.lower(Product.model).like(like),
                                  Product.barcode == text))
        .order_by(Product.sku).limit(limit)
    ).scalars())
