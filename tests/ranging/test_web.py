"""The planners' range page /network/ranging on SQLite and PostgreSQL: who may open it and answer, the week's
proposals with their reasons in the reader's language, filters, and approve / reject forms (CSRF, one-time keys:
a doubled post acts once)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, update

from retail.db import make_engine
from retail.models import AuditLog, StoreRange, User, utcnow
from tests.ranging.helpers import proposal, range_world
from tests.web.factories import csrf_token, password_hash, sign_in


@pytest.fixture
def engine(database_url):
    """Plain pysqlite for the test's own reads (the app's engine begins IMMEDIATE; see tests/web/conftest.py)."""
    engine = create_engine(database_url) if database_url.startswith("sqlite") else make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def world(session):
    w = range_world(session)
    for key in ("planner", "planner2", "admin", "manager", "partner", "staff", "gone_planner"):
        w[key].password_hash = password_hash()
    session.commit()
    a = w["a"]
    w["rows"] = [proposal(session, a, w["glasses"], "show", reason="sells_to_order"),
                 proposal(session, a, w["station"], "none", reason="low_demand"),
                 proposal(session, w["b"], w["station"], "none", reason="display_capacity")]
    return w


def _key(page: str, form_id: str) -> str:
    form = page[page.index(f'id="{form_id}"'):]
    return re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)


@pytest.mark.parametrize("who,status", [("planner", 200), ("admin", 200), ("staff", 403), ("manager", 403),
                                        ("partner", 403)])
def test_only_planners_and_admins_open_the_page(client, world, who, status):
    sign_in(client, world[who].email)
    assert client.get("/network/ranging/").status_code == status
    response = client.post("/network/ranging/decide", data={
        "csrf_token": csrf_token(client, "/password"), "decision": "approve", "id": str(world["rows"][0].id)})
    assert response.status_code == (303 if status == 200 else 403)


def test_a_signed_out_visitor_and_a_deactivated_planner_are_sent_to_sign_in(client, session, world):
    assert client.get("/network/ranging/").status_code == 302
    sign_in(client, world["planner"].email)
    token = csrf_token(client, "/network/ranging/")
    session.get(User, world["planner"].id).active = False
    session.commit()
    assert client.get("/network/ranging/").status_code == 302
    response = client.post("/network/ranging/decide", data={"csrf_token": token, "decision": "approve",
                                                            "id": str(world["rows"][0].id)})
    assert response.status_code in (302, 400)
    session.expire_all()
    assert session.get(StoreRange, world["rows"][0].id).status == "proposed"


def test_the_page_words_the_reasons_in_the_readers_language(app, client, world):
    sign_in(client, world["admin"].email)  # English
    page = client.get("/network/ranging/").get_data(as_text=True)
    assert "S0001" in page and "RK-MAX2-BLK" in page and "Show only (demo unit, sold to order)" in page
    assert "The store&#39;s display slots are full" in page or "The store's display slots are full" in page
    other = app.test_client()
    sign_in(other, world["planner"].email)  # Simplified Chinese (the default language)
    page = other.get("/network/ranging/").get_data(as_text=True)
    assert "铺货" in page and "仅陈列样机" in page
    assert "The store" not in page and "Sells about" not in page


def test_filters_narrow_the_list_and_nonsense_is_ignored(client, world):
    sign_in(client, world["admin"].email)
    page = client.get("/network/ranging/?decision=none&store=S0001").get_data(as_text=True)
    assert "RK-STATION" in page and "RK-MAX2-BLK" not in page and "S0002" not in page.split("<tbody>")[1]
    page = client.get("/network/ranging/?reason=display_capacity").get_data(as_text=True)
    assert "S0002" in page.split("<tbody>")[1] and "S0001" not in page.split("<tbody>")[1]
    for query in ("week=2026-13-45", "brand_id=99999999999", "tier=x", "offset=-1", "status=<b>", "store=" + "x" * 300,
                  "decision=maybe", "reason=%00", "province=" + "省" * 200):
        assert client.get(f"/network/ranging/?{query}").status_code == 200, query


def test_approve_selected_once_even_when_the_form_is_sent_twice(client, session, world):
    sign_in(client, world["planner"].email)
    page = client.get("/network/ranging/").get_data(as_text=True)
    first, second = world["rows"][0].id, world["rows"][1].id
    form = {"csrf_token": csrf_token(client, "/network/ranging/"), "idempotency_key": _key(page, "proposals"),
            "decision": "approve", "id": [str(first), str(second)], "back": "/network/ranging/"}
    response = client.post("/network/ranging/decide", data=form)
    assert response.status_code == 303
    again = client.post("/network/ranging/decide", data=form)  # a doubled click
    assert again.status_code == 303
    session.expire_all()
    assert [session.get(StoreRange, i).status for i in (first, second)] == ["approved", "approved"]
    assert session.execute(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "range.approved")).scalar_one() == 2
    page = client.get("/network/ranging/").get_data(as_text=True)
    assert "RK-MAX2-BLK" not in page.split("<tbody>")[1]  # decided: no longer among the proposed
    page = client.get("/network/ranging/?status=approved").get_data(as_text=True)
    assert "RK-MAX2-BLK" in page.split("<tbody>")[1]


def test_a_proposal_revised_after_the_page_was_shown_is_not_answered(client, session, world):
    """A re-run of `propose` (after a calibration) revises an open proposal while the planner looks at the old
    one: approving from that page answers the others, not the revised one, and says so."""
    sign_in(client, world["planner"].email)
    page = client.get("/network/ranging/").get_data(as_text=True)
    shown_at = re.search(r'name="shown_at" value="([^"]+)"', page).group(1)
    revised, kept = world["rows"][0], world["rows"][1]
    session.execute(update(StoreRange).where(StoreRange.id == revised.id).values(  # what the re-run writes
        decision="none", reason="low_demand", proposed_at=utcnow() + timedelta(seconds=1)))
    session.commit()
    form = {"csrf_token": csrf_token(client, "/network/ranging/"), "idempotency_key": _key(page, "proposals"),
            "decision": "approve", "id": [str(revised.id), str(kept.id)], "back": "/network/ranging/",
            "shown_at": shown_at}
    response = client.post("/network/ranging/decide", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert "在本页显示后已被修订" in response.get_data(as_text=True)  # the planner reads Simplified Chinese
    session.expire_all()
    assert (session.get(StoreRange, revised.id).status, session.get(StoreRange, kept.id).status) == (
        "proposed", "approved")
    bad = dict(form, idempotency_key=_key(client.get("/network/ranging/").get_data(as_text=True), "proposals"),
               shown_at="yesterday")
    assert client.post("/network/ranging/decide", data=bad).status_code == 422


def test_reject_all_shown_and_refusals_render_the_page_again(client, session, world):
    sign_in(client, world["admin"].email)
    page = client.get("/network/ranging/?store=S0002").get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, "/network/ranging/"), "idempotency_key": _key(page, "all-shown"),
            "decision": "reject", "id": re.findall(r'<input type="hidden" name="id" value="(\d+)">', page)}
    assert form["id"] == [str(world["rows"][2].id)]
    assert client.post("/network/ranging/decide", data=form).status_code == 303
    session.expire_all()
    assert session.get(StoreRange, world["rows"][2].id).status == "rejected"
    token = csrf_token(client, "/network/ranging/")
    for data in ({"decision": "approve"}, {"decision": "maybe", "id": "1"}, {"decision": "approve", "id": "abc"},
                 {"decision": "approve", "id": ["1"] * 2 + [str(i) for i in range(2, 503)]}):
        response = client.post("/network/ranging/decide", data={"csrf_token": token, **data})
        assert response.status_code == 422, data
    assert client.post("/network/ranging/decide", data={"decision": "approve", "id": "1"}).status_code == 400  # no CSRF
    session.expire_all()
    assert [session.get(StoreRange, r.id).status for r in world["rows"][:2]] == ["proposed", "proposed"]


def test_the_page_shows_what_the_latest_plan_asks_of_a_store_because_of_its_range(client, session, world):
    from retail.services import ranging as ranging_service
    from retail.services import replenishment
    from tests.committing import inventory
    from tests.ranging.helpers import MONDAY, forecast

    a = world["a"]
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=3)
    none = proposal(session, a, world["case"], "none")
    ranging_service.decide_proposals(session, world["planner"], proposal_ids=[none.id], approve=True)
    forecast(session, [(a, world["glasses"], 1.0)])
    replenishment.plan(session, as_of=MONDAY)
    sign_in(client, world["admin"].email)
    page = client.get("/network/ranging/?store=S0001&status=approved").get_data(as_text=True)
    section = page[page.index('id="range-lines"'):]
    assert "Back to the warehouse" in section and "RK-CASE" in section
    assert "Send 3 unit(s) back to the warehouse" in section
    assert "Filter by a store" in client.get("/network/ranging/").get_data(as_text=True)
