"""Settlement operations of the partner API (issue 15): a franchise or consignment store's ERP reads its agreement
(the version in force and the history) and its monthly settlement statements, with a key bound to the store.
Every query is filtered by the key's store (`core.store_id()`): another store's statement is 404.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from retail import errors
from retail.api import core
from retail.models import utcnow
from retail.request_db import db_session
from retail.services import agreements, settlement, stores

bp = core.blueprint("api_store_settlement", "/api/v1/store", "Store",
                    "For franchise and consignment stores' own POS and ERP systems, with a key bound to the store.")

MAX_ID = 2_147_483_647
Decimal4 = Annotated[str, Field(pattern=r"^\d+(\.\d{1,4})?$", examples=["0.2000"])]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-10"])]


class AgreementOut(BaseModel):
    version: int = Field(ge=1, examples=[2])
    valid_from: date = Field(description="In force from this day (the store's time zone) until the next version's.")
    ends_on: date | None = None
    model: Literal["franchise", "consignment"]
    status: Literal["active", "suspended", "terminated"]
    currency: Literal["CNY", "HKD"]
    wholesale_tier: str | None = Field(default=None, examples=["B"], description="Franchise: the price list.")
    revenue_share: Decimal4 | None = Field(default=None, description="Consignment: the store's share of its sales.")
    shrinkage_rate: Decimal4 = Field(description="Consignment: the share of the list price charged per unit "
                                                 "counted missing.")
    brand_terms: dict[str, dict[str, str]] | None = Field(default=None, description="Overrides by brand id.")
    authorised_brands: list[int] | None = Field(default=None, description="Brand ids; null: every brand.")
    deposit: core.Money
    credit_limit: core.Money | None = None
    payment_terms_days: int = Field(ge=0, le=365)


class AgreementAnswer(BaseModel):
    in_force: AgreementOut | None = Field(description="The version in force today; null without an agreement.")
    versions: list[AgreementOut] = Field(description="Every version, newest first (versions are never changed).")
    open_balance: core.Money | None = Field(default=None, description="Franchise: invoices less payments.")


class StatementSummary(BaseModel):
    id: int = Field(ge=1, examples=[51])
    number: str = Field(examples=["ST-S0001-202610-1"])
    month: Month
    sequence: int = Field(ge=1, description="1: the month's statement; 2, 3, ...: adjusting statements (the "
                                            "differences recorded into the month after it was issued).")
    reported_in: Month = Field(description="The month whose run issued it.")
    model: Literal["franchise", "consignment"]
    currency: Literal["CNY", "HKD"]
    agreement_versions: list[int]
    totals: dict[str, str | int] = Field(description="Decimal strings (amounts) and whole numbers (units).")
    issued_at: datetime


class StatementLine(BaseModel):
    kind: Literal["invoice", "payment", "sale", "return", "shrinkage"]
    sku: str | None = None
    brand_id: int | None = None
    ref: str | None = Field(default=None, description="Invoice number or payment reference.")
    day: str | None = None
    due_on: str | None = None
    unit_price: str | None = None
    rate: str | None = Field(default=None, description="The store's share (sales, returns) or the shrinkage rate.")
    units: int
    amount: str
    store_share: str | None = None
    platform_share: str | None = None


class StatementOut(StatementSummary):
    lines: list[StatementLine]


class StatementPage(BaseModel):
    data: list[StatementSummary]
    next_cursor: str | None = None


class StatementPath(BaseModel):
    statement_id: Annotated[int, Field(ge=1, le=MAX_ID)]


def _agreement(a) -> dict:
    return {"version": a.version, "valid_from": a.valid_from, "ends_on": a.ends_on, "model": a.model,
            "status": a.status, "currency": a.currency, "wholesale_tier": a.wholesale_tier,
            "revenue_share": None if a.revenue_share is None else f"{a.revenue_share:.4f}",
            "shrinkage_rate": f"{a.shrinkage_rate:.4f}", "brand_terms": a.brand_terms,
            "authorised_brands": a.authorised_brands, "deposit": core.money(a.deposit, a.currency),
            "credit_limit": core.money(a.credit_limit, a.currency), "payment_terms_days": a.payment_terms_days}


def _summary(s) -> dict:
    return {"id": s.id, "number": s.number, "month": f"{s.month:%Y-%m}", "sequence": s.sequence,
            "reported_in": f"{s.reported_in:%Y-%m}", "model": s.model, "currency": s.currency,
            "agreement_versions": list(s.agreement_versions), "totals": dict(s.totals), "issued_at": s.issued_at}


@bp.get("/agreement", responses={200: AgreementAnswer}, summary="The store's agreement: in force and every version")
def get_agreement():
    session, store_id = db_session(), core.store_id()
    store = stores.get_store(session, store_id=store_id)
    today = settlement.local_day(utcnow(), store.timezone)
    current = agreements.in_force(session, store_id=store_id, day=today)
    versions = agreements.history(session, store_id=store_id)
    balance = None
    if current is not None and current.model == "franchise":
        balance = core.money(settlement.store_balance(session, store_id=store_id), current.currency)
    return core.ok({"in_force": _agreement(current) if current else None,
                    "versions": [_agreement(v) for v in versions], "open_balance": balance})


@bp.get("/statements", responses={200: StatementPage}, summary="The store's settlement statements, newest first")
def list_statements(query: core.PageQuery):
    after = core.decode_cursor(query.cursor)
    if after is not None and not isinstance(after[0], int):
        raise errors.InvalidValue(field="cursor", value=query.cursor[:40])
    before = after[0] if after is not None else None
    found = settlement.statements_of(db_session(), store_id=core.store_id(), limit=query.limit + 1,
                                     before_id=before)
    rows, next_cursor = core.page_of(found, query, lambda s: (s.id,))
    return core.page([_summary(s) for s in rows], next_cursor=next_cursor, query=query)


@bp.get("/statements/<int:statement_id>", responses={200: StatementOut},
        summary="One of the store's statements, with its lines")
def get_statement(path: StatementPath):
    found = settlement.statement_of(db_session(), store_id=core.store_id(), statement_id=path.statement_id)
    return core.ok({**_summary(found), "lines": list(found.lines)})

