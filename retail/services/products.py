"""The catalogue as the shop floor reads it: a product by SKU or barcode (the one lookup every form,
import row and API call goes through)."""
from __future__ import annotations

import zhconv
from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from retail import errors
from retail.models import Brand, Product, SerialUnit, StockBalance
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


def _label(r) -> str:
    """"若琪 Rokid Max 2 black", "Huawei 华为 Eyewear 2": the brand in both scripts once, then the model."""
    names = [r.brand_zh] if r.brand_zh and r.brand_zh != r.brand else []
    if not r.model.lower().startswith(r.brand.lower()):
        names.insert(0, r.brand)
    return " ".join([*names, r.model, r.variant]).strip()


@query
def choices(session: Session, *, store_id: int) -> list[tuple[str, str]]:
    """SKUs the store holds or has held, for the pickers of the forms: (sku, label with the brand in both
    scripts, so that a phone's suggestion list finds `华为` as well as `Huawei`)."""
    rows = session.execute(
        select(Product.sku, Product.model, Product.variant, Brand.name.label("brand"), Brand.name_zh.label("brand_zh"))
        .join(Brand, Brand.id == Product.brand_id)
        .join(StockBalance, StockBalance.product_id == Product.id)
        .where(StockBalance.location_id == store_id).order_by(Product.sku)
    ).all()
    return [(r.sku, _label(r)) for r in rows]


MAX_CATALOGUE_CHOICES = 500


@query
def catalogue_choices(session: Session, *, as_of=None, limit: int = MAX_CATALOGUE_CHOICES) -> list[tuple[str, str]]:
    """Every SKU on sale (not past its end of life), for forms about products the store may not hold (a
    missed sale): (sku, label), bounded."""
    statement = (select(Product.sku, Product.model, Product.variant, Brand.name.label("brand"),
                        Brand.name_zh.label("brand_zh"))
                 .join(Brand, Brand.id == Product.brand_id).order_by(Product.sku).limit(limit))
    if as_of is not None:
        statement = statement.where((Product.eol_date.is_(None)) | (Product.eol_date >= as_of))
    return [(r.sku, _label(r)) for r in session.execute(statement).all()]


SEARCH_LENGTH = 80


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@query
def search(session: Session, *, query: str, limit: int = 20) -> list[Product]:
    """Products whose every word matches the SKU, model, variant (colour), brand (its name in Latin or
    Chinese script, Simplified or Traditional, or its code) or barcode; or the product of a serial number typed in full. `小米 black`
    finds Xiaomi's black ones. Bounded: at most SEARCH_LENGTH characters, `limit` products."""
    text = (query or "").strip()[:SEARCH_LENGTH]
    if not text:
        return []
    conditions = []
    for word in text.split()[:6]:
        # Hong Kong staff type Traditional script (華為): brand names are kept in Simplified (华为)
        forms = {word.lower(), zhconv.convert(word, "zh-hans").lower()}
        conditions.append(or_(*(func.lower(column).like(f"%{_escaped(form)}%", escape="\\") for form in forms
                                for column in (Product.sku, Product.model, Product.variant, Brand.name, Brand.name_zh,
                                               Brand.code, Product.barcode))))
    serial_of = select(SerialUnit.product_id).where(SerialUnit.serial == text)
    return list(session.execute(
        select(Product).join(Brand, Brand.id == Product.brand_id)
        .where(or_(and_(*conditions), Product.id.in_(serial_of)))
        .order_by(Product.sku).limit(limit)
    ).scalars())


@query
def brand_names(session: Session, *, brand_ids) -> dict[int, str]:
    """Brand id -> "Xiaomi 小米" (both scripts, as shops and customers say them), for search results."""
    if not brand_ids:
        return {}
    rows = session.execute(select(Brand.id, Brand.name, Brand.name_zh).where(Brand.id.in_(list(brand_ids)))).all()
    return {r.id: f"{r.name} {r.name_zh}".strip() if r.name_zh != r.name else r.name for r in rows}
