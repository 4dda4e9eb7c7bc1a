"""Hand-computed statements (issue 15), on SQLite and PostgreSQL: a franchise store with two invoices and a
partial payment; a consignment store with sales, a return and a count shortfall charged as shrinkage; an
agreement that changes mid-month; re-runs that change nothing; a late sale issued as an adjustment."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import Invoice, Statement
from retail.services import agreements, settlement
from tests.committing import inventory
from tests.settlement.helpers import at, consignment, franchise, shipped, world

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
AFTER_NOVEMBER = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture
def w(session):
    return world(session)


def statement(session, store, month, sequence=1) -> Statement:
    return session.execute(select(Statement).where(Statement.location_id == store.id, Statement.month == month,
                                                   Statement.sequence == sequence)).scalars().one()


def test_franchise_two_invoices_and_a_partial_payment(session, w, monkeypatch):
    franchise(session, w)
    shipped(session, w, monkeypatch, at("2026-09-28"), {"RK-CASE": 3})  # September: 300.00, the opening balance
    shipped(session, w, monkeypatch, at("2026-10-05"), {"RK-CASE": 10})  # 10 x 100.00 = 1,000.00
    shipped(session, w, monkeypatch, at("2026-10-20"), {"RK-CASE": 15})  # 15 x 100.00 = 1,500.00
    settlement.record_payment(session, w["planner"], store_id=w["a"].id, amount="1200", received_on=date(2026, 10, 25),
                              reference="BANK-001")
    # The same payment recorded twice is one payment.
    settlement.record_payment(session, w["planner"], store_id=w["a"].id, amount="1200.00",
                              received_on=date(2026, 10, 25), reference="BANK-001")
    with pytest.raises(errors.DuplicateReference):
        settlement.record_payment(session, w["planner"], store_id=w["a"].id, amount="99",
                                  received_on=date(2026, 10, 25), reference="BANK-001")
    # Statements are issued only for months that are over.
    with pytest.raises(errors.MonthNotOver):
        settlement.run_month(session, month=OCTOBER, now=datetime(2026, 10, 31, 15, tzinfo=UTC))

    report = settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC))
    assert report.issued == 1  # store B has no agreement: no statement
    s = statement(session, w["a"], OCTOBER)
    assert (s.model, s.currency, s.number) == ("franchise", "CNY", "ST-S0001-202610-1")
    assert s.totals == {"opening_balance": "300.00", "invoiced": "2500.00", "paid": "1200.00",
                        "closing_balance": "1600.00"}
    assert [(ln["kind"], ln["day"], ln["amount"]) for ln in s.lines] == [
        ("invoice", "2026-10-05", "1000.00"), ("invoice", "2026-10-20", "1500.00"),
        ("payment", "2026-10-25", "1200.00")]
    assert s.lines[0]["due_on"] == "2026-11-04"  # 30 days' terms
    balances = settlement.open_balances(session, today=date(2026, 11, 10))
    # Overdue on 10 November: 300.00 (due 28 October) + 1,000.00 (due 4 November) - 1,200.00 paid.
    assert [(r.code, r.balance, r.overdue) for r in balances] == [("S0001", 1600, 100)]


def test_consignment_sales_a_return_and_shrinkage(session, w):
    b = w["b"].id
    consignment(session, w)  # the store keeps 20 %; a unit counted missing costs it 50 % of the list price
    inventory.receive_purchase(session, location_id=b, sku="RK-CASE", quantity=5, at=at("2026-09-01"))
    inventory.receive_purchase(session, location_id=b, sku="RK-MAX2-BLK", quantity=1, serials=["SN-B1"],
                               at=at("2026-09-01"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", quantity=2, unit_price="200", at=at("2026-10-03"))
    inventory.record_sale(session, store_id=b, sku="RK-MAX2-BLK", serials=["SN-B1"], unit_price="3000",
                          at=at("2026-10-05"))
    inventory.record_return(session, store_id=b, sku="RK-CASE", quantity=1, unit_price="200", at=at("2026-10-10"))
    inventory.adjust_count(session, location_id=b, sku="RK-CASE", counted=3, reason="count", at=at("2026-10-20"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", quantity=1, unit_price="219",
                          at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))  # 1 November 00:30 in Hong Kong

    settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC))
    s = statement(session, w["b"], OCTOBER)
    assert (s.model, s.currency, s.agreement_versions) == ("consignment", "HKD", [1])
    assert [(ln["kind"], ln["sku"], ln["unit_price"], ln["units"], ln["amount"], ln["store_share"],
             ln["platform_share"]) for ln in s.lines] == [
        ("sale", "RK-CASE", "200.00", 2, "400.00", "80.00", "320.00"),
        ("sale", "RK-MAX2-BLK", "3000.00", 1, "3000.00", "600.00", "2400.00"),
        ("return", "RK-CASE", "200.00", 1, "-200.00", "-40.00", "-160.00"),
        ("shrinkage", "RK-CASE", "109.50", 1, "109.50", "0.00", "109.50"),  # 0.5 x HKD 219 list price
    ]
    assert s.totals == {"units_sold": 3, "units_returned": 1, "sales": "3400.00", "returns": "-200.00",
                        "net_sales": "3200.00", "store_share": "640.00", "platform_share": "2560.00",
                        "shrinkage_units": 1, "shrinkage": "109.50", "due_to_platform": "2669.50"}
    brands = settlement.brand_consignment(session, month=OCTOBER)
    assert [(r.code, r.currency, r.units_sold, r.units_returned, r.net_sales) for r in brands] == [
        ("ROKID", "HKD", 3, 1, 3200)]


def test_an_agreement_that_changes_mid_month_applies_each_version_to_its_days(session, w):
    b = w["b"].id
    consignment(session, w, share="0.20")
    consignment(session, w, share="0.30", valid_from=date(2026, 10, 16))
    inventory.receive_purchase(session, location_id=b, sku="RK-CASE", quantity=5, at=at("2026-09-01"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-10"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200",
                          at=datetime(2026, 10, 15, 15, 30, tzinfo=UTC))  # 23:30 on the 15th in Hong Kong: v1
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200",
                          at=datetime(2026, 10, 15, 16, 30, tzinfo=UTC))  # 00:30 on the 16th: v2
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-20"))

    settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC))
    s = statement(session, w["b"], OCTOBER)
    assert s.agreement_versions == [1, 2]
    assert [(ln["rate"], ln["units"], ln["amount"], ln["store_share"]) for ln in s.lines] == [
        ("0.2000", 2, "400.00", "80.00"), ("0.3000", 2, "400.00", "120.00")]
    assert (s.totals["store_share"], s.totals["platform_share"]) == ("200.00", "600.00")
    # An issued month cannot get a new version any more: it would rewrite its statement.
    with pytest.raises(errors.AgreementBackdated):
        consignment(session, w, share="0.40", valid_from=date(2026, 10, 20))
    assert consignment(session, w, share="0.40", valid_from=date(2026, 11, 1)).version == 3


def test_rerunning_a_month_changes_nothing_and_a_late_sale_is_an_adjustment(session, w, monkeypatch):
    b = w["b"].id
    consignment(session, w)
    franchise(session, w)
    inventory.receive_purchase(session, location_id=b, sku="RK-CASE", quantity=10, at=at("2026-09-01"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-10"))
    shipped(session, w, monkeypatch, at("2026-10-05"), {"RK-CASE": 10})

    first = settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC))
    assert (first.issued, first.adjustments) == (2, 0)
    issued = {s.id: (s.totals, s.lines, s.issued_at) for s in session.execute(select(Statement)).scalars()}
    again = settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 3, tzinfo=UTC))
    assert (again.issued, again.adjustments, again.already) == (0, 0, 2)
    session.expire_all()
    assert {s.id: (s.totals, s.lines, s.issued_at) for s in session.execute(select(Statement)).scalars()} == issued

    # Recorded in November, dated in October (a till that was offline); a November sale; a late payment.
    inventory.record_sale(session, store_id=b, sku="RK-CASE", quantity=2, unit_price="210", at=at("2026-10-28"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-11-12"))
    settlement.record_payment(session, w["planner"], store_id=w["a"].id, amount="400", received_on=date(2026, 10, 30),
                              reference="LATE-1")
    november = settlement.run_month(session, month=NOVEMBER, now=AFTER_NOVEMBER)
    assert (november.issued, november.adjustments) == (2, 2)
    session.expire_all()
    assert statement(session, w["b"], OCTOBER).totals == issued[statement(session, w["b"], OCTOBER).id][0]
    adjusting = statement(session, w["b"], OCTOBER, sequence=2)
    assert (adjusting.reported_in, adjusting.number) == (NOVEMBER, "ST-S0002-202610-2")
    assert [(ln["kind"], ln["unit_price"], ln["units"], ln["amount"]) for ln in adjusting.lines] == [
        ("sale", "210.00", 2, "420.00")]
    assert (adjusting.totals["store_share"], adjusting.totals["platform_share"]) == ("84.00", "336.00")
    nov = statement(session, w["b"], NOVEMBER)
    assert [(ln["units"], ln["amount"]) for ln in nov.lines] == [(1, "200.00")]
    assert [s.number for s in settlement.reported_with(session, statement=nov)] == ["ST-S0002-202610-2"]
    franchise_adjustment = statement(session, w["a"], OCTOBER, sequence=2)
    assert franchise_adjustment.totals == {"opening_balance": "0.00", "invoiced": "0.00", "paid": "400.00",
                                           "closing_balance": "-400.00"}
    # November's opening balance is the ledger's: 1,000 invoiced less 400 paid.
    assert statement(session, w["a"], NOVEMBER).totals["opening_balance"] == "600.00"
    # And re-running November (or October) changes nothing.
    assert settlement.run_month(session, month=NOVEMBER, now=AFTER_NOVEMBER).adjustments == 0
    assert settlement.run_month(session, month=OCTOBER, now=AFTER_NOVEMBER).adjustments == 0
    assert session.execute(select(func.count()).select_from(Statement)).scalar_one() == 6
    assert session.execute(select(func.count()).select_from(Invoice)).scalar_one() == 1


def test_default_agreements_follow_the_partnership_and_are_not_repeated(session, w):
    assert agreements.default_agreements(session, valid_from=date(2026, 1, 1)) == 2
    assert agreements.default_agreements(session, valid_from=date(2026, 1, 1)) == 0
    a = agreements.in_force(session, store_id=w["a"].id, day=date(2026, 6, 1))
    b = agreements.in_force(session, store_id=w["b"].id, day=date(2026, 6, 1))
    assert (a.model, a.wholesale_tier, b.model, str(b.revenue_share)) == ("franchise", "B", "consignment", "0.2000")


def test_two_runs_at_once_issue_each_statement_once(engine, session, w):
    """Two operators (or a cron and a person) run the same month at the same time: each statement once."""
    import threading

    from retail.db import new_session

    b = w["b"].id
    consignment(session, w)
    franchise(session, w)
    inventory.receive_purchase(session, location_id=b, sku="RK-CASE", quantity=10, at=at("2026-09-01"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-10"))
    session.commit()
    reports, failures = [], []
    start = threading.Barrier(2)

    def run():
        with new_session(engine) as own:
            start.wait()
            try:
                reports.append(settlement.run_month(own, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC)))
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(repr(exc))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(r.issued for r in reports) in ([0, 2], [1, 1])
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Statement)).scalar_one() == 2


def test_an_agreement_that_ends_mid_month_counts_its_days_only(session, w):
    b = w["b"].id
    consignment(session, w, ends_on=date(2026, 10, 15))
    inventory.receive_purchase(session, location_id=b, sku="RK-CASE", quantity=5, at=at("2026-09-01"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-15"))
    inventory.record_sale(session, store_id=b, sku="RK-CASE", unit_price="200", at=at("2026-10-16"))  # after the end
    settlement.run_month(session, month=OCTOBER, now=AFTER_NOVEMBER)
    assert statement(session, w["b"], OCTOBER).totals["units_sold"] == 1
    settlement.run_month(session, month=NOVEMBER, now=AFTER_NOVEMBER)  # ended before November: no statement
    assert session.execute(select(func.count()).select_from(Statement)).scalar_one() == 1
