"""Administration of stores: list, search, create, edit, deactivate. Stock is never touched here."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlmodel import Session

from retail import errors
from retail.models import Location, LocationKind, LocationStatus, Partnership, User
from retail.services import audit
from retail.services.verbs import ADMIN, query, verb

MARKETS = {"CN": ("CNY", "Asia/Shanghai"), "HK": ("HKD", "Asia/Hong_Kong")}
STATUSES = tuple(s.value for s in LocationStatus)
PARTNERSHIPS = tuple(p.value for p in Partnership)


def _store(session: Session, store_id: int) -> Location:
    store = session.get(Location, store_id)
    if store is None or store.kind != LocationKind.store:
        raise errors.NotFound(what="Store", key=store_id)
    return store


def _apply(session: Session, store: Location, *, name: str, city: str, city_zh: str, province: str, city_tier: int,
           market: str, partnership: str, status: str, dc_code: str | None) -> None:
    name, city = (name or "").strip(), (city or "").strip()
    if not name:
        raise errors.MissingValue(field="name")
    if not city:
        raise errors.MissingValue(field="city")
    if market not in MARKETS:
        raise errors.InvalidValue(field="market", value=market)
    if partnership not in PARTNERSHIPS:
        raise errors.InvalidValue(field="partnership", value=partnership)
    if status not in STATUSES:
        raise errors.InvalidValue(field="status", value=status)
    if city_tier not in (1, 2, 3, 4, 5):
        raise errors.InvalidValue(field="city_tier", value=city_tier)
    dc_id = None
    code = (dc_code or "").strip().upper()
    if code:
        dc = session.execute(select(Location).where(func.upper(Location.code) == code,
                                                    Location.kind == LocationKind.dc)).scalars().first()
        if dc is None:
            raise errors.UnknownLocation(location=code)
        dc_id = dc.id
    store.currency, store.timezone = MARKETS[market]
    store.name, store.city, store.city_zh, store.province = name[:120], city[:60], (city_zh or "").strip()[:60], \
        (province or "").strip()[:60]
    store.city_tier, store.market, store.partnership, store.status, store.dc_id = city_tier, market, partnership, \
        status, dc_id


@verb(ADMIN)
def create_store(session: Session, actor: User, *, code: str, name: str, city: str, city_zh: str = "", province: str = "",
                 city_tier: int = 3, market: str = "CN", partnership: str = "franchise", dc_code: str | None = None) -> Location:
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        raise errors.InvalidValue(field="code", value=code)
    if session.execute(select(Location.id).where(func.upper(Location.code) == code)).first():
        raise errors.AlreadyExists(what="Store", key=code)
    store = Location(code=code, kind=LocationKind.store, name="", city="")
    _apply(session, store, name=name, city=city, city_zh=city_zh, province=province, city_tier=city_tier,
           market=market, partnership=partnership, status=LocationStatus.active, dc_code=dc_code)
    session.add(store)
    session.flush()
    audit.record(session, actor_id=actor.id, action="store.created", entity="location", entity_id=store.code)
    session.flush()
    return store


@verb(ADMIN)
def update_store(session: Session, actor: User, *, store_id: int, name: str, city: str, city_zh: str = "", province: str = "",
                 city_tier: int = 3, market: str = "CN", partnership: str = "franchise", status: str = "active",
                 dc_code: str | None = None) -> Location:
    store = _store(session, store_id)
    _apply(session, store, name=name, city=city, city_zh=city_zh, province=province, city_tier=city_tier,
           market=market, partnership=partnership, status=status, dc_code=dc_code)
    audit.record(session, actor_id=actor.id, action="store.updated", entity="location", entity_id=store.code)
    session.flush()
    return store


@verb(ADMIN)
def deactivate_store(session: Session, actor: User, *, store_id: int) -> Location:
    """Suspend a store: it keeps its history and can be made active again by editing it."""
    store = _store(session, store_id)
    store.status = LocationStatus.suspended
    audit.record(session, actor_id=actor.id, action="store.deactivated", entity="location", entity_id=store.code)
    session.flush()
    return store


@query
def get_store(session: Session, *, store_id: int) -> Location:
    return _store(session, store_id)


@query
def dc_code(session: Session, store: Location) -> str:
    dc = session.get(Location, store.dc_id) if store.dc_id else None
    return dc.code if dc else ""


@query
def find(session: Session, *, query: str = "", limit: int = 50) -> list[Location]:
    """Stores matching a code, name or city, for the planners' store picker."""
    q = select(Location).where(Location.kind == LocationKind.store)
    text = (query or "").strip().lower()
    if text:
        like = f"%{text}%"
        q = q.where(or_(func.lower(Location.code).like(like), func.lower(Location.name).like(like),
                        func.lower(Location.city).like(like), Location.city_zh.like(f"%{query.strip()}%")))
    return list(session.execute(q.order_by(Location.code).limit(limit)).scalars())
