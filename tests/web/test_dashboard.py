"""The planners' dashboard (issue 16): who may open it, what its figures are (the precomputed rows against
`forecasting.kpis` on the same panel), the CSV (totals, formula injection), and the action lists' decisions
(audited, through the existing verbs, decided once)."""
from __future__ import annotations

import csv
import io
import os
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from forecasting import kpis
from retail import errors
from retail.models import (
    AuditLog,
    DashboardWeek,
    ForecastRun,
    Location,
    Movement,
    PlanDecision,
    PurchaseProposal,
    ReplenishmentRun,
    StockBalance,
    TransferProposal,
    TransferRequest,
    utcnow,
)
from retail.services import dashboard, sales
from tests.factories import on_the_mainland
from tests.web.factories import csrf_token, shop_world, sign_in


@pytest.fixture
def database_url(both_backends):
    return both_backends


def dashboard_world(session: Session) -> dict:
    """The shop world with sales over the last weeks, the dashboard refreshed, and a plan proposing a transfer
    of 1 unit of RK-MAX2-BLK from store A to store B and a purchase."""
    world = shop_world(session)
    on_the_mainland(session, world["b"])  # a transfer proposal stays on one side of the border
    a, b = world["a"], world["b"]
    now = utcnow()
    sales.sell(session, world["manager"], store_id=a.id, sku="RK-CASE", quantity=2, at=now - timedelta(days=20))
    sales.sell(session, world["manager"], store_id=a.id, serials=["SN-A1"], at=now - timedelta(days=10))
    sales.sell(session, world["staff_b"], store_id=b.id, serials=["SN-B1"], at=now - timedelta(days=12))
    monday = now.date() - timedelta(days=now.date().weekday())
    forecast = ForecastRun(start_week=monday, horizon=13, series=0)
    session.add(forecast)
    session.flush()
    plan = ReplenishmentRun(forecast_run_id=forecast.id, as_of=monday)
    session.add(plan)
    session.flush()
    proposal = TransferProposal(run_id=plan.id, from_location_id=a.id, to_location_id=b.id,
                                product_id=world["glasses"].id, quantity=1, expected_gain=0.4,
                                explanation={"p_from": 0.1, "p_to": 0.5, "aged": False})
    purchase = PurchaseProposal(run_id=plan.id, dc_id=world["dc"].id, product_id=world["case"].id,
                                brand_id=world["brand"].id, quantity=10, arrival_week=monday + timedelta(weeks=2),
                                explanation={})
    session.add_all([proposal, purchase])
    session.commit()
    world["report"] = dashboard.refresh(session, as_of=monday + timedelta(weeks=1))
    world.update(proposal=proposal, purchase=purchase, monday=monday)
    return world


@pytest.fixture
def dworld(session):
    return dashboard_world(session)


PAGES = ["/network/", "/network/brands/{brand}", "/network/brands/{brand}/provinces/Shanghai",
         "/network/brands/{brand}/stores/{a}", "/network/stores/{a}/skus/{glasses}", "/network/accuracy",
         "/network/actions", "/network/?csv=brand"]


def _pages(world):
    return [p.format(brand=world["brand"].id, a=world["a"].id, glasses=world["glasses"].id) for p in PAGES]


def test_planners_and_admins_open_every_page(client, dworld):
    for who in ("planner", "admin"):
        sign_in(client, dworld[who].email)
        for path in _pages(dworld):
            response = client.get(path)
            assert response.status_code == 200, (who, path)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/network/")})


@pytest.mark.parametrize("who", ["staff", "manager", "staff_b", "partner"])
def test_store_staff_and_brand_partners_are_refused(client, dworld, who):
    sign_in(client, dworld[who].email)
    for path in _pages(dworld):
        assert client.get(path).status_code == 403, (who, path)
    for kind in ("orders", "transfers", "purchases"):
        response = client.post(f"/network/actions/{kind}", data={
            "csrf_token": csrf_token(client, "/password"), "decision": "approve", "id": "1"})
        assert response.status_code == 403
    assert dworld[who].role != "planner"


def test_signed_out_is_sent_to_sign_in(client, dworld):
    response = client.get("/network/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_verbs_refuse_outsiders(session, dworld):
    for who in ("staff", "manager", "partner"):
        with pytest.raises(errors.Forbidden):
            dashboard.decide_transfers(session, dworld[who], proposal_ids=[dworld["proposal"].id], approve=True)


def test_figures_are_the_kpis_of_the_panel(session, dworld):
    """The stored sums, added up, give what `forecasting.kpis` says of the panel itself."""
    p = dashboard.panel(session, as_of=dworld["monday"] + timedelta(weeks=1))
    f = p.frame
    cost = pd.Series(p.products["cost"].to_numpy(), index=p.products.index.astype(str))
    panel = f.assign(sku=f["product_id"].astype(str))
    view = dashboard.network(session)
    assert view.totals["units_sold"] == int(panel["sold"].sum()) == 4
    assert view.totals["turnover"] == pytest.approx(kpis.turnover(panel, cost))
    assert view.totals["sell_through"] == pytest.approx(kpis.sell_through(panel))
    assert view.totals["stockout_weeks"] == kpis.stockout_weeks(panel)
    # closing stock at the last week is the ledger's balance now
    on_hand = session.execute(select(func.sum(StockBalance.on_hand)).join(
        Location, Location.id == StockBalance.location_id).where(Location.kind == "store")).scalar()
    last = f[f["week"] == f["week"].max()]
    assert int(last["closing"].sum()) == on_hand
    assert len(view.trend) == f["week"].nunique()


def test_refresh_is_safe_to_rerun(session, dworld):
    before = session.execute(select(func.count()).select_from(DashboardWeek)).scalar()
    dashboard.refresh(session, as_of=dworld["monday"] + timedelta(weeks=1))
    assert session.execute(select(func.count()).select_from(DashboardWeek)).scalar() == before > 0


def test_csv_totals_match_the_database_and_no_formula_survives(client, session, dworld):
    sign_in(client, dworld["planner"].email)
    response = client.get(f"/network/brands/{dworld['brand'].id}/stores/{dworld['a'].id}?csv=sku")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    on_hand = sum(int(r[header.index("On hand")]) for r in body)
    assert on_hand == session.execute(select(func.sum(StockBalance.on_hand)).where(
        StockBalance.location_id == dworld["a"].id)).scalar()
    # a province named like a formula is written as text
    session.get(Location, dworld["a"].id).province = "=HYPERLINK(\"x\")"
    session.commit()
    dashboard.refresh(session, as_of=dworld["monday"] + timedelta(weeks=1))
    text = client.get("/network/?csv=province").get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


@pytest.mark.parametrize(("language", "guangdong", "hong_kong"),
                         [("zh_Hans", "广东", "香港"), ("zh_Hant", "廣東", "香港"), ("en", "Guangdong", "Hong Kong")])
def test_provinces_are_shown_in_the_readers_language(client, session, dworld, language, guangdong, hong_kong):
    """Stored in English (the key of the links, the sort and the CSV), shown in the planner's language."""
    store = session.get(Location, dworld["a"].id)
    store.province, store.city, store.city_zh = "Guangdong", "Shenzhen", "深圳"
    session.commit()
    dashboard.refresh(session, as_of=dworld["monday"] + timedelta(weeks=1))
    dworld["planner"].language = language
    session.commit()
    sign_in(client, dworld["planner"].email)
    page = client.get("/network/").get_data(as_text=True)
    assert f">{guangdong}<" in page and f">{hong_kong}<" in page
    brand = client.get(f"/network/brands/{dworld['brand'].id}").get_data(as_text=True)
    assert f'/provinces/Guangdong">{guangdong}</a>' in brand  # the link keeps the stored name
    province = client.get(f"/network/brands/{dworld['brand'].id}/provinces/Guangdong").get_data(as_text=True)
    assert f"· {guangdong}" in province
    shenzhen = "Shenzhen" if language == "en" else "深圳"
    assert f"<td>{shenzhen}</td>" in province  # the store's city, in the reader's language
    rows = client.get("/network/?csv=province").get_data(as_text=True)
    assert "Guangdong" in rows  # the CSV keeps the stored key
    stores = client.get(f"/network/brands/{dworld['brand'].id}/provinces/Guangdong?csv=store").get_data(as_text=True)
    assert "Shenzhen" in stores and "深圳" not in stores and "('" not in stores


def test_tables_sort_by_a_column(client, dworld):
    sign_in(client, dworld["planner"].email)
    page = client.get("/network/?sort=province.-units_sold").get_data(as_text=True)
    assert 'aria-sort="descending"' in page
    assert client.get("/network/?sort=nonsense.%3Cscript%3E").status_code == 200


def test_a_transfer_proposal_approved_moves_stock_once(client, session, dworld):
    sign_in(client, dworld["planner"].email)
    proposal = dworld["proposal"]
    page = client.get("/network/actions").get_data(as_text=True)
    assert "S0001" in page and "S0002" in page
    response = client.post("/network/actions/transfers", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": "approve", "id": str(proposal.id)})
    assert response.status_code == 302
    session.expire_all()
    decision = session.execute(select(PlanDecision).where(PlanDecision.proposal_id == proposal.id)).scalar_one()
    request = session.get(TransferRequest, decision.transfer_request_id)
    assert request.status == "shipped" and request.quantity == 1
    out = session.execute(select(Movement).where(Movement.kind == "transfer_out",
                                                 Movement.location_id == dworld["a"].id)).scalars().all()
    assert [m.quantity for m in out] == [-1]
    assert session.get(StockBalance, (dworld["b"].id, dworld["glasses"].id)).in_transit >= 1
    assert session.execute(select(AuditLog).where(AuditLog.action == "transfer_proposal.approved")).scalars().first()
    # decided once: again is refused, nothing moves twice
    again = client.post("/network/actions/transfers", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": "approve", "id": str(proposal.id)})
    assert again.status_code == 422
    assert session.execute(select(func.count()).select_from(Movement).where(
        Movement.kind == "transfer_out", Movement.location_id == dworld["a"].id)).scalar() == 1
    assert "S0001" not in client.get("/network/actions").get_data(as_text=True).split("Proposed transfers")[1] \
        .split("Purchase")[0]


def test_bulk_decisions_are_all_or_nothing(session, dworld):
    with pytest.raises(errors.NotFound):
        dashboard.decide_purchases(session, dworld["planner"], proposal_ids=[dworld["purchase"].id, 999_999],
                                   approve=False)
    assert session.execute(select(func.count()).select_from(PlanDecision)).scalar() == 0
    assert dashboard.decide_purchases(session, dworld["planner"], proposal_ids=[dworld["purchase"].id],
                                      approve=False) == 1
    assert session.execute(select(AuditLog.action).where(
        AuditLog.action == "purchase_proposal.rejected")).scalar_one()


@pytest.mark.parametrize("data", [{"decision": "maybe", "id": "1"}, {"decision": "approve"},
                                  {"decision": "approve", "id": "-1"}, {"decision": "approve", "id": "9" * 30}])
def test_bad_decisions_get_a_clear_refusal(client, dworld, data):
    sign_in(client, dworld["planner"].email)
    response = client.post("/network/actions/transfers",
                           data={**data, "csrf_token": csrf_token(client, "/network/actions")})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)


def test_the_forms_need_csrf(client, dworld):
    sign_in(client, dworld["planner"].email)
    response = client.post("/network/actions/transfers", data={"decision": "approve", "id": "1"})
    assert response.status_code == 400


def test_empty_before_the_first_refresh(client, session):
    world = shop_world(session)
    sign_in(client, world["planner"].email)
    assert client.get("/network/").status_code == 200
    assert client.get("/network/accuracy").status_code == 200
    assert date.today()  # nothing computed yet: the pages say so instead of failing


ODD = ["", " ", "0", "-1", "1.5", "9" * 25, "１２", "²", "٣", "\x00", "approve", "reject", "APPROVE", "<script>", "2147483648",
       "' OR 1=1 --", "%(x)s", "1", "2", "3"]


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["orders", "transfers", "purchases"]),
       decision=st.one_of(st.sampled_from(ODD), st.text(max_size=30)),
       ids=st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=12)), max_size=4),
       sort=st.one_of(st.sampled_from(["province.-turnover", "brand.name", "x.-", ".", "trend.week"]), st.text(max_size=20)))
def test_the_action_forms_and_the_sort_fuzzed(client, session, dworld, kind, decision, ids, sort):
    """Arbitrary decisions and ids: never a 500; a refused post changes nothing; any sort parameter renders."""
    if not getattr(client, "_signed", False):
        sign_in(client, dworld["planner"].email)
        client._signed = True
    moves = session.execute(select(func.count()).select_from(Movement)).scalar()
    decided = session.execute(select(func.count()).select_from(PlanDecision)).scalar()
    response = client.post(f"/network/actions/{kind}", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": decision, "id": ids})
    assert response.status_code < 500
    if response.status_code >= 400:
        session.expire_all()
        assert session.execute(select(func.count()).select_from(Movement)).scalar() == moves
        assert session.execute(select(func.count()).select_from(PlanDecision)).scalar() == decided
    assert client.get("/network/", query_string={"sort": sort}).status_code == 200


def test_the_weekly_command_refreshes_and_refuses_a_day_that_is_not_a_monday(app, dworld):
    runner = app.test_cli_runner()
    monday = dworld["monday"] + timedelta(weeks=1)
    result = runner.invoke(args=["dashboard", "refresh", "--as-of", monday.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"dashboard as of {monday}" in result.output
    kept = runner.invoke(args=["dashboard", "refresh", "--as-of", monday.isoformat(), "--if-needed"])
    assert kept.exit_code == 0 and "already computed, kept" in kept.output, kept.output
    later = runner.invoke(args=["dashboard", "refresh", "--as-of", (monday + timedelta(weeks=1)).isoformat(),
                                "--if-needed"])
    assert later.exit_code == 0 and "kept" not in later.output, later.output
    wrong = runner.invoke(args=["dashboard", "refresh", "--as-of", (monday + timedelta(days=1)).isoformat()])
    assert wrong.exit_code != 0 and "not a Monday" in wrong.output


def test_forecast_accuracy_compares_a_stored_runs_first_week_with_its_sales(client, session, dworld):
    from retail.models import DashboardAccuracy, ForecastSeries
    sold_on = (utcnow() - timedelta(days=10)).date()
    start = sold_on - timedelta(days=sold_on.weekday())
    run = ForecastRun(start_week=start, horizon=13, series=2)
    session.add(run)
    session.flush()
    session.add_all([ForecastSeries(run_id=run.id, location_id=dworld["a"].id, product_id=dworld["glasses"].id,
                                    mean=[2.0] * 13, quantiles={"p50": [2.0] * 13}),
                     ForecastSeries(run_id=run.id, location_id=dworld["b"].id, product_id=dworld["case"].id,
                                    mean=[0.5] * 13, quantiles={"p50": [0.5] * 13})])
    session.commit()
    dashboard.refresh(session, as_of=dworld["monday"] + timedelta(weeks=1))
    row = session.execute(select(DashboardAccuracy).where(DashboardAccuracy.run_id == run.id)).scalar_one()
    p = dashboard.panel(session, as_of=dworld["monday"] + timedelta(weeks=1))
    sold = int(p.frame[p.frame["week"] == pd.Timestamp(start)]["sold"].sum())
    assert row.forecast_units == pytest.approx(2.5) and row.actual_units == sold >= 1
    figures = dashboard.accuracy(session)
    assert figures["brand"][0]["bias"] == pytest.approx(2.5 / sold - 1)
    sign_in(client, dworld["planner"].email)
    page = client.get("/network/accuracy").get_data(as_text=True)
    assert "Rokid" in page and "<svg" in page


def test_orders_awaiting_approval_approved_and_cancelled_in_bulk(client, session, dworld):
    from retail.models import ReplenishmentOrder
    plan_id = dworld["proposal"].run_id
    orders = [ReplenishmentOrder(reference=f"RO-T-{i}", run_id=plan_id, location_id=dworld[s].id,
                                 from_location_id=dworld["dc"].id, status="submitted")
              for i, s in enumerate(["a", "b", "a"])]
    session.add_all(orders)
    session.commit()
    sign_in(client, dworld["planner"].email)
    page = client.get("/network/actions").get_data(as_text=True)
    assert all(o.reference in page for o in orders)
    response = client.post("/network/actions/orders", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": "approve",
        "id": [str(orders[0].id), str(orders[1].id)]})
    assert response.status_code == 302
    response = client.post("/network/actions/orders", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": "reject", "id": [str(orders[2].id)]})
    assert response.status_code == 302
    session.expire_all()
    assert [session.get(ReplenishmentOrder, o.id).status for o in orders] == ["approved", "approved", "cancelled"]
    actions = set(session.execute(select(AuditLog.action).where(AuditLog.entity == "replenishment_order")).scalars())
    assert {"order.approved", "order.cancelled"} <= actions
    # an approved order cannot be cancelled and approved in one batch with a bad one: nothing changes
    again = client.post("/network/actions/orders", data={
        "csrf_token": csrf_token(client, "/network/actions"), "decision": "reject",
        "id": [str(orders[0].id), "999999"]})
    assert again.status_code == 422
    session.expire_all()
    assert session.get(ReplenishmentOrder, orders[0].id).status == "approved"


def test_unknown_or_empty_levels(client, dworld):
    sign_in(client, dworld["planner"].email)
    brand, dc = dworld["brand"].id, dworld["dc"].id
    assert client.get(f"/network/brands/{brand}/stores/{dc}").status_code == 404
    assert client.get("/network/brands/999/provinces/Shanghai").status_code == 404
    assert client.get(f"/network/brands/{brand}/provinces/%3Cscript%3E").status_code == 404
    assert client.get(f"/network/stores/{dc}/skus/{dworld['case'].id}").status_code == 404
    assert client.get(f"/network/stores/{dworld['b'].id}/skus/{dworld['case'].id}").status_code == 200
    assert client.get(f"/network/brands/{brand}/stores/{dworld['b'].id}").status_code == 200


def test_the_sku_pages_weeks_and_ledger_download_as_csv(client, session, dworld):
    sign_in(client, dworld["planner"].email)
    path = f"/network/stores/{dworld['a'].id}/skus/{dworld['case'].id}"
    weeks = list(csv.reader(io.StringIO(client.get(path + "?csv=weeks").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(weeks) == 1 + dashboard.WEEKS and sum(int(r[1]) for r in weeks[1:]) == 2
    ledger = list(csv.reader(io.StringIO(client.get(path + "?csv=ledger").get_data(as_text=True).lstrip("\ufeff"))))
    quantities = [int(r[2]) for r in ledger[1:]]
    assert sum(quantities) == session.get(StockBalance, (dworld["a"].id, dworld["case"].id)).on_hand
