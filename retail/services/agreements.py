"""Store agreements, versioned (issue 15; docs/settlement.md).

A change is a new version (a new row); an issued version is never updated. The version in force on a day is
the one with the latest `valid_from` on or before that day (ties: the higher version). A new version may not
start in a month whose statement is already issued: the statements would no longer follow from the
agreement (a correction of an issued month is an adjusting statement, never a rewrite).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from retail import errors, parsing
from retail.models import Agreement, AgreementModel, AgreementStatus, Brand, Location, Statement, User, utcnow
from retail.services import audit
from retail.services.prices import TIER_DISCOUNTS
from retail.services.verbs import NETWORK, job, query, transaction, verb

MODELS = tuple(m.value for m in AgreementModel)
STATUSES = tuple(s.value for s in AgreementStatus)
TERMS = ("model", "status", "currency", "wholesale_tier", "revenue_share", "shrinkage_rate", "brand_terms",
         "authorised_brands", "deposit", "credit_limit", "payment_terms_days", "ends_on", "valid_from")


def _rate(value, *, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise errors.AgreementInvalid(reason=f"{field} {str(value)[:20]!r} is not a number") from None
    if not rate.is_finite() or not 0 <= rate <= 1 or rate != rate.quantize(Decimal("0.0001")):
        raise errors.AgreementInvalid(reason=f"{field} must be between 0 and 1 with at most 4 decimals")
    return rate


def _brand_terms(session: Session, terms, model: str) -> dict | None:
    if not terms:
        return None
    if not isinstance(terms, dict) or len(terms) > 100:
        raise errors.AgreementInvalid(reason="brand terms must map brand ids to terms")
    known = set(session.execute(select(Brand.id)).scalars())
    out = {}
    for brand_id, values in terms.items():
        if not str(brand_id).isdigit() or int(brand_id) not in known or not isinstance(values, dict):
            raise errors.AgreementInvalid(reason=f"brand {str(brand_id)[:20]} is unknown")
        if model == AgreementModel.franchise:
            tier = values.get("tier")
            if tier not in TIER_DISCOUNTS:
                raise errors.AgreementInvalid(reason=f"tier {str(tier)[:8]} of brand {brand_id} is unknown")
            out[str(int(brand_id))] = {"tier": tier}
        else:
            out[str(int(brand_id))] = {"revenue_share": str(_rate(values.get("revenue_share"),
                                                                  field="revenue share"))}
    return out


def _last_issued_month(session: Session, store_id: int) -> date | None:
    return session.execute(select(func.max(Statement.month)).where(Statement.location_id == store_id)).scalar()


@verb(NETWORK)
def create_version(session: Session, actor: User, *, store_id: int, valid_from: date, model: str,
                   status: str = "active", wholesale_tier: str | None = None, revenue_share=None,
                   shrinkage_rate=None, brand_terms: dict | None = None,
                   authorised_brands: Iterable[int] | None = None, deposit=None, credit_limit=None,
                   payment_terms_days: int = 30, ends_on: date | None = None, note: str | None = None) -> Agreement:
    """A planner or admin starts a new version of a store's agreement. The same terms from the same day as the
    latest version give that version back (a repeated form post acts once)."""
    store = session.get(Location, store_id)
    if store is None or store.kind != "store":
        raise errors.NotFound(what="Store", key=store_id)
    if not isinstance(valid_from, date):
        raise errors.InvalidDate(field="valid from", value=str(valid_from)[:20])
    if model not in MODELS:
        raise errors.AgreementInvalid(reason=f"the model must be one of {', '.join(MODELS)}")
    if status not in STATUSES:
        raise errors.AgreementInvalid(reason=f"the status must be one of {', '.join(STATUSES)}")
    if ends_on is not None and (not isinstance(ends_on, date) or ends_on < valid_from):
        raise errors.AgreementInvalid(reason="the end date is before the start")
    if isinstance(payment_terms_days, bool) or not isinstance(payment_terms_days, int) or not (
            0 <= payment_terms_days <= 365):
        raise errors.AgreementInvalid(reason="payment terms are 0 to 365 days")
    values = dict(model=model, status=status, currency=store.currency, ends_on=ends_on, valid_from=valid_from,
                  payment_terms_days=payment_terms_days, wholesale_tier=None, revenue_share=None,
                  shrinkage_rate=_rate(shrinkage_rate, field="shrinkage rate") if shrinkage_rate not in (None, "")
                  else Decimal("1"),
                  brand_terms=_brand_terms(session, brand_terms, model),
                  deposit=parsing.money(deposit, field="deposit", default=Decimal("0.00")),
                  credit_limit=parsing.money(credit_limit, field="credit limit"))
    if model == AgreementModel.franchise:
        if wholesale_tier not in TIER_DISCOUNTS:
            raise errors.AgreementInvalid(reason=f"a franchise needs a wholesale tier ({', '.join(TIER_DISCOUNTS)})")
        values["wholesale_tier"] = wholesale_tier
    else:
        share = _rate(revenue_share, field="revenue share")
        if share is None:
            raise errors.AgreementInvalid(reason="a consignment needs the store's revenue share")
        values["revenue_share"] = share
        values["credit_limit"] = None
    if authorised_brands is not None:
        brands = sorted({int(b) for b in authorised_brands if str(b).isdigit()})
        known = set(session.execute(select(Brand.id).where(Brand.id.in_(brands))).scalars())
        if set(brands) - known:
            raise errors.AgreementInvalid(reason="an authorised brand is unknown")
        values["authorised_brands"] = brands
    else:
        values["authorised_brands"] = None
    latest = session.execute(select(Agreement).where(Agreement.location_id == store_id)
                             .order_by(Agreement.version.desc()).limit(1)).scalars().first()
    if latest is not None and all(_same(getattr(latest, k), values[k]) for k in TERMS):
        return latest
    issued = _last_issued_month(session, store_id)
    if issued is not None:
        earliest = (issued.replace(day=28) + timedelta(days=4)).replace(day=1)
        if valid_from < earliest:
            raise errors.AgreementBackdated(store=store.code, month=issued.strftime("%Y-%m"), earliest=earliest)
    agreement = Agreement(location_id=store_id, version=(latest.version + 1) if latest else 1, created_by=actor.id,
                          note=parsing.text(note, field="note"), **values)
    session.add(agreement)
    session.flush()
    audit.record(session, actor_id=actor.id, action="agreement.version", entity="agreement", entity_id=agreement.id,
                 detail={"store": store.code, "version": agreement.version, "valid_from": str(valid_from),
                         "model": model, "status": status})
    return agreement


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (a is not None and b is not None and Decimal(a) == Decimal(b))
    return a == b


@query
def in_force(session: Session, *, store_id: int, day: date) -> Agreement | None:
    """The version in force on `day`: the latest `valid_from` on or before it."""
    return session.execute(select(Agreement).where(Agreement.location_id == store_id, Agreement.valid_from <= day)
                           .order_by(Agreement.valid_from.desc(), Agreement.version.desc()).limit(1)).scalars().first()


@query
def history(session: Session, *, store_id: int) -> list[Agreement]:
    return list(session.execute(select(Agreement).where(Agreement.location_id == store_id)
                                .order_by(Agreement.version.desc())).scalars())


@query
def versions_by_store(session: Session, *, until: date, store_ids: Iterable[int] | None = None
                      ) -> dict[int, list[Agreement]]:
    """Every version starting on or before `until`, by store, in force order (one query)."""
    statement = select(Agreement).where(Agreement.valid_from <= until)
    if store_ids is not None:
        statement = statement.where(Agreement.location_id.in_(list(store_ids)))
    found: dict[int, list[Agreement]] = defaultdict(list)
    for agreement in session.execute(statement.order_by(Agreement.location_id, Agreement.valid_from,
                                                        Agreement.version)).scalars():
        found[agreement.location_id].append(agreement)
    return found


def version_on(versions: list[Agreement], day: date) -> Agreement | None:
    """The version of `versions` (in force order) in force on `day`."""
    chosen = None
    for agreement in versions:
        if agreement.valid_from <= day:
            chosen = agreement
        else:
            break
    return chosen


def active_on(versions: list[Agreement], day: date) -> Agreement | None:
    """The version in force on `day`, unless it ended before (`ends_on`): None then."""
    chosen = version_on(versions, day)
    if chosen is not None and chosen.ends_on is not None and day > chosen.ends_on:
        return None
    return chosen


def share_for(agreement: Agreement, brand_id: int) -> Decimal:
    """The store's share of a consignment sale of the brand."""
    override = (agreement.brand_terms or {}).get(str(brand_id))
    if override and override.get("revenue_share") not in (None, "None"):
        return Decimal(override["revenue_share"])
    return Decimal(agreement.revenue_share or 0)


def tier_for(agreement: Agreement, brand_id: int) -> str:
    override = (agreement.brand_terms or {}).get(str(brand_id))
    return (override or {}).get("tier") or agreement.wholesale_tier or "C"


# Defaults for stores that have none (the demo world, stores created before agreements): by size class.
DEFAULT_CREDIT = {"XL": Decimal("300000"), "L": Decimal("200000"), "M": Decimal("120000"), "S": Decimal("60000")}
DEFAULT_TIER = {"XL": "A", "L": "A", "M": "B", "S": "C"}
DEFAULT_SHARE = Decimal("0.2000")


@job
def default_agreements(session: Session, *, valid_from: date) -> int:
    """Give every store without an agreement a first version from its `partnership` (franchise: a tier and a
    credit limit by size class, 30 days' terms; consignment: a 20 % share, shrinkage at the list price).
    Stores with an agreement are left alone: safe to re-run."""
    with transaction(session):  # read and write in one unit: a concurrent twin waits, then finds them made
        return _default_agreements(session, valid_from)


def _default_agreements(session: Session, valid_from: date) -> int:
    having = set(session.execute(select(Agreement.location_id).distinct()).scalars())
    stores = session.execute(select(Location.id, Location.partnership, Location.currency, Location.size_class,
                                    Location.opened_on).where(Location.kind == "store")).all()
    rows = []
    for store_id, partnership, currency, size, opened in stores:
        if store_id in having:
            continue
        start = min(valid_from, opened) if opened else valid_from
        if partnership == AgreementModel.consignment:
            rows.append(dict(location_id=store_id, version=1, valid_from=start, model="consignment", status="active",
                             currency=currency, revenue_share=DEFAULT_SHARE, shrinkage_rate=Decimal("1"),
                             deposit=Decimal("0"), payment_terms_days=30, note="default"))
        else:
            credit = DEFAULT_CREDIT.get(size or "", Decimal("100000"))
            rows.append(dict(location_id=store_id, version=1, valid_from=start, model="franchise", status="active",
                             currency=currency, wholesale_tier=DEFAULT_TIER.get(size or "", "B"),
                             shrinkage_rate=Decimal("1"), deposit=credit / 10, credit_limit=credit,
                             payment_terms_days=30, note="default"))
    now = utcnow()
    blank = dict(wholesale_tier=None, revenue_share=None, credit_limit=None, brand_terms=None,
                 authorised_brands=None, ends_on=None, created_by=None, created_at=now)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    count = select(func.count()).select_from(Agreement)
    before = session.execute(count).scalar_one()
    for lo in range(0, len(rows), 2000):  # a concurrent twin's rows are left alone (PostgreSQL locks by row)
        session.execute(dialect.insert(Agreement).on_conflict_do_nothing(index_elements=["location_id", "version"]),
                        [{**blank, **r} for r in rows[lo:lo + 2000]])
    return session.execute(count).scalar_one() - before
