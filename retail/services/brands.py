"""Administration of brands: list, search, create, edit, deactivate."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlmodel import Session

from retail import errors
from retail.models import Brand, User
from retail.services import audit
from retail.services.verbs import ADMIN, query, verb


@query
def find_brands(session: Session, *, query: str = "", limit: int = 100) -> list[Brand]:
    q = select(Brand)
    text = (query or "").strip().lower()
    if text:
        like = f"%{text}%"
        q = q.where(or_(func.lower(Brand.code).like(like), func.lower(Brand.name).like(like),
                        Brand.name_zh.like(f"%{query.strip()}%")))
    return list(session.execute(q.order_by(Brand.code).limit(limit)).scalars())


@query
def get_brand(session: Session, *, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise errors.NotFound(what="Brand", key=brand_id)
    return brand


def _apply(brand: Brand, *, name: str, name_zh: str, lead_time_days: int, moq: int, contact_email: str | None,
           active: bool) -> None:
    name = (name or "").strip()
    if not name:
        raise errors.MissingValue(field="name")
    if lead_time_days is None or not 0 <= lead_time_days <= 365:
        raise errors.InvalidValue(field="lead_time_days", value=lead_time_days)
    if moq is None or moq < 1:
        raise errors.InvalidValue(field="moq", value=moq)
    email = (contact_email or "").strip() or None
    if email and "@" not in email:
        raise errors.InvalidValue(field="email", value=email)
    brand.name, brand.name_zh = name[:80], ((name_zh or "").strip() or name)[:80]
    brand.lead_time_days, brand.moq, brand.contact_email, brand.active = lead_time_days, moq, email, active


@verb(ADMIN)
def create_brand(session: Session, actor: User, *, code: str, name: str, name_zh: str = "", lead_time_days: int = 14,
                 moq: int = 1, contact_email: str | None = None) -> Brand:
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        raise errors.InvalidValue(field="code", value=code)
    if session.execute(select(Brand.id).where(func.upper(Brand.code) == code)).first():
        raise errors.AlreadyExists(what="Brand", key=code)
    brand = Brand(code=code, name="", name_zh="")
    _apply(brand, name=name, name_zh=name_zh, lead_time_days=lead_time_days, moq=moq, contact_email=contact_email,
           active=True)
    session.add(brand)
    session.flush()
    audit.record(session, actor_id=actor.id, action="brand.created", entity="brand", entity_id=brand.code)
    session.flush()
    return brand


@verb(ADMIN)
def update_brand(session: Session, actor: User, *, brand_id: int, name: str, name_zh: str = "", lead_time_days: int = 14,
                 moq: int = 1, contact_email: str | None = None, active: bool = True) -> Brand:
    brand = get_brand(session, brand_id=brand_id)
    _apply(brand, name=name, name_zh=name_zh, lead_time_days=lead_time_days, moq=moq, contact_email=contact_email,
           active=active)
    audit.record(session, actor_id=actor.id, action="brand.updated", entity="brand", entity_id=brand.code)
    session.flush()
    return brand


@verb(ADMIN)
def deactivate_brand(session: Session, actor: User, *, brand_id: int) -> Brand:
    brand = get_brand(session, brand_id=brand_id)
    brand.active = False
    audit.record(session, actor_id=actor.id, action="brand.deactivated", entity="brand", entity_id=brand.code)
    session.flush()
    return brand
