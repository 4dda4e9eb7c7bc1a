"""Transfer requests answered on the transfers pages: the origin store ships (serials scanned) or
declines with a reason, the requesting store sees the status and may cancel, and receives the shipment
under its deliveries. Scoping and the concurrent decision run on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from retail.models import AuditLog, Location, Shipment, StockBalance, TransferRequest, User
from retail.services import transfers
from tests.factories import on_the_mainland
from tests.web.factories import csrf_token, password_hash, post, sign_in


@pytest.fixture
def database_url(both_backends) -> str:
    return both_backends


@pytest.fixture(autouse=True)
def b_on_the_mainland(session, world):
    """Store to store stays on one side of the border: here store B (Traditional Chinese staff) is mainland."""
    on_the_mainland(session, world["b"])


@pytest.fixture
def request_from_b(session, world) -> TransferRequest:
    """Store A (S0001) asks store B (S0002) for one pair of glasses, B's staff to ship it."""
    return transfers.request_transfer(session, world["staff"], store_id=world["a"].id, from_store_code="S0002", sku="RK-MAX2-BLK",
                                     quantity=1, note="customer waiting")


@pytest.fixture
def third_store(session, world) -> Location:
    c = Location(code="S0003", name="深圳南山店", city="Shenzhen", province="Guangdong", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    session.add(c)
    session.flush()
    session.add(User(email="staff@c.example.com", name="C staff", role="store_staff", store_id=c.id,
                     password_hash=password_hash()))
    session.commit()
    return c


def fresh(session, transfer) -> TransferRequest:
    return session.get(TransferRequest, transfer.id, populate_existing=True)


def on_hand(session, world, store, product) -> StockBalance:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True)


def test_origin_ships_with_serials_and_the_requester_receives_it(app, client, world, session, request_from_b):
    a, b, tid = world["a"].id, world["b"].id, request_from_b.id
    sign_in(client, "staff@b.example.com")  # B reads Traditional Chinese
    listing = client.get(f"/stores/{b}/transfers").get_data(as_text=True)
    assert f"/stores/{b}/transfers/{tid}" in listing and "待發貨或拒絕" in listing and "調往 S0001" in listing
    page = client.get(f"/stores/{b}/transfers/{tid}").get_data(as_text=True)
    assert "本店在庫：SN-B1, SN-B2" in page and "發貨 1 件至 S0001" in page and "customer waiting" in page
    assert f'action="/stores/{b}/transfers/{tid}/ship"' in page and 'name="csrf_token"' in page
    unscanned = post(client, f"/stores/{b}/transfers/{tid}/ship", {"serials": ""})
    assert unscanned.status_code == 422 and "應掃描 1 個" in unscanned.get_data(as_text=True)
    not_here = post(client, f"/stores/{b}/transfers/{tid}/ship", {"serials": "SN-A1"})
    assert not_here.status_code == 422 and "SN-A1" in not_here.get_data(as_text=True)
    assert 'SN-A1</textarea>' in not_here.get_data(as_text=True)  # what was scanned is kept
    shipped = post(client, f"/stores/{b}/transfers/{tid}/ship", {"serials": "ＳＮ-Ｂ2"})  # full-width scanner
    assert shipped.status_code == 302
    assert f"已發貨，單號 TR-{tid}" in client.get(shipped.headers["Location"]).get_data(as_text=True)
    again = post(client, f"/stores/{b}/transfers/{tid}/ship", {"serials": "SN-B1"})  # a retried submit
    assert again.status_code == 422 and f"調撥申請 {tid} 已無法更改：狀態為「已發貨」" in again.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(Shipment).where(
        Shipment.reference == f"TR-{tid}")).scalar_one() == 1
    assert on_hand(session, world, "b", "glasses").on_hand == 1
    # A sees the status and receives the shipment through its deliveries, like any delivery.
    requester = app.test_client()
    sign_in(requester, "staff@a.example.com")
    mine = requester.get(f"/stores/{a}/transfers").get_data(as_text=True)
    assert "来自 S0002" in mine and "已发货" in mine
    detail = requester.get(f"/stores/{a}/transfers/{tid}").get_data(as_text=True)
    shipment_id = fresh(session, request_from_b).shipment_id
    assert f"/stores/{a}/deliveries/{shipment_id}" in detail and "取消申请" not in detail
    deliveries = requester.get(f"/stores/{a}/deliveries").get_data(as_text=True)
    assert f"TR-{tid}" in deliveries and "来自 S0002" in deliveries
    received = post(requester, f"/stores/{a}/deliveries/{shipment_id}", {"received-RK-MAX2-BLK": "1",
                                                                                   "serials-RK-MAX2-BLK": "SN-B2"})
    assert received.status_code == 302
    assert on_hand(session, world, "a", "glasses").on_hand == 4
    assert "已签收" in requester.get(f"/stores/{a}/transfers/{tid}").get_data(as_text=True)


def test_origin_declines_with_a_reason_the_requester_reads_it(app, client, world, session, request_from_b):
    a, b, tid = world["a"].id, world["b"].id, request_from_b.id
    sign_in(client, "staff@b.example.com")
    no_reason = post(client, f"/stores/{b}/transfers/{tid}/decline", {"reason": " "})
    assert no_reason.status_code == 422 and "請填寫：原因" in no_reason.get_data(as_text=True)
    assert fresh(session, request_from_b).status == "requested"
    declined = post(client, f"/stores/{b}/transfers/{tid}/decline", {"reason": "只剩展示機"})
    assert declined.status_code == 302
    page = client.get(declined.headers["Location"]).get_data(as_text=True)
    assert f"已拒絕調撥申請 {tid}" in page and "原因：只剩展示機" in page and "/ship" not in page
    assert session.execute(select(AuditLog.detail).where(AuditLog.action == "transfer.declined")).scalar_one() == {
        "reason": "只剩展示機"}
    requester = app.test_client()
    sign_in(requester, "staff@a.example.com")
    mine = requester.get(f"/stores/{a}/transfers").get_data(as_text=True)
    assert "已拒绝" in mine and "只剩展示機" in mine


def test_requester_cancels_and_the_origin_can_no_longer_ship(app, client, world, session, request_from_b):
    a, b, tid = world["a"].id, world["b"].id, request_from_b.id
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{a}/transfers/{tid}").get_data(as_text=True)
    assert "等待 S0002 发货或拒绝" in page and f'action="/stores/{a}/transfers/{tid}/cancel"' in page
    assert "/ship" not in page and "/decline" not in page
    cancelled = post(client, f"/stores/{a}/transfers/{tid}/cancel", {})
    assert cancelled.status_code == 302
    assert f"调拨申请 {tid} 已取消" in client.get(cancelled.headers["Location"]).get_data(as_text=True)
    request = fresh(session, request_from_b)
    assert (request.status, request.acted_by) == ("cancelled", world["staff"].id)
    origin = app.test_client()
    sign_in(origin, "planner@example.com")  # English, acting for store B
    late = post(origin, f"/stores/{b}/transfers/{tid}/ship", {"serials": "SN-B1"})
    assert late.status_code == 422
    assert f"Transfer request {tid} can no longer be changed: it is cancelled." in late.get_data(as_text=True)
    assert on_hand(session, world, "b", "glasses").on_hand == 2


def test_times_are_shown_in_the_store_time_zone(client, world, session, request_from_b):
    request = fresh(session, request_from_b)
    request.requested_at = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai and Hong Kong
    session.commit()
    sign_in(client, "planner@example.com")
    page = client.get(f"/stores/{world['b'].id}/transfers/{request.id}").get_data(as_text=True)
    assert "Requested 3/2/26, 10:30\u202fAM" in page or "Requested 3/2/26, 10:30 AM" in page


def test_only_the_right_store_may_act_and_a_third_store_sees_nothing(app, client, world, session, request_from_b,
                                                                    third_store):
    a, b, c, tid = world["a"].id, world["b"].id, third_store.id, request_from_b.id
    sign_in(client, "staff@c.example.com")
    assert client.get(f"/stores/{c}/transfers/{tid}").status_code == 404
    assert f"#{tid}" not in client.get(f"/stores/{c}/transfers").get_data(as_text=True)
    for verb in ("ship", "decline", "cancel"):
        data = {"serials": "SN-B1", "reason": "x"}
        assert post(client, f"/stores/{c}/transfers/{tid}/{verb}", data).status_code == 404, verb
        for store in (a, b):
            assert post(client, f"/stores/{store}/transfers/{tid}/{verb}", data).status_code == 403, (verb, store)
            assert client.get(f"/stores/{store}/transfers/{tid}").status_code == 403
    requester = app.test_client()
    sign_in(requester, "staff@a.example.com")
    for verb in ("ship", "decline"):  # the requesting store may not answer its own request
        assert post(requester, f"/stores/{a}/transfers/{tid}/{verb}", {"serials": "SN-A1",
                                                                        "reason": "x"}).status_code == 403
    origin = app.test_client()
    sign_in(origin, "staff@b.example.com")
    assert post(origin, f"/stores/{b}/transfers/{tid}/cancel", {}).status_code == 403  # nor the origin cancel it
    assert origin.post(f"/stores/{b}/transfers/{tid}/ship", data={"serials": "SN-B1"}).status_code == 400  # no CSRF
    assert client.get(f"/stores/{a}/transfers/99999").status_code == 403
    assert origin.get(f"/stores/{b}/transfers/99999").status_code == 404
    request = fresh(session, request_from_b)
    assert (request.status, request.acted_by, request.shipment_id) == ("requested", None, None)
    assert session.execute(select(func.count()).select_from(AuditLog).where(
        AuditLog.entity == "transfer_request")).scalar_one() == 0


@pytest.mark.parametrize("both_backends", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_ship_and_cancel_submitted_at_once_one_wins_the_other_is_told(app, world, session, request_from_b):
    """B ships while A cancels (two connections, PostgreSQL): one 302, one 422 with the reason in the
    loser's language; the stock agrees with the winner."""
    a, b, tid = world["a"].id, world["b"].id, request_from_b.id
    clients = {"ship": app.test_client(), "cancel": app.test_client()}
    sign_in(clients["ship"], "staff@b.example.com")
    sign_in(clients["cancel"], "staff@a.example.com")
    tokens = {verb: csrf_token(c, "/password") for verb, c in clients.items()}
    paths = {"ship": f"/stores/{b}/transfers/{tid}/ship", "cancel": f"/stores/{a}/transfers/{tid}/cancel"}
    barrier, results = threading.Barrier(2), {}

    def act(verb):
        barrier.wait()
        results[verb] = clients[verb].post(paths[verb], data={"serials": "SN-B1", "csrf_token": tokens[verb]})

    threads = [threading.Thread(target=act, args=(verb,)) for verb in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results.values()) == [302, 422]
    loser = next(verb for verb, r in results.items() if r.status_code == 422)
    page = results[loser].get_data(as_text=True)
    request = fresh(session, request_from_b)
    if loser == "cancel":
        assert f"调拨申请 {tid} 已无法更改：状态为“已发货”" in page
        assert request.status == "shipped" and on_hand(session, world, "b", "glasses").on_hand == 1
    else:
        assert f"調撥申請 {tid} 已無法更改：狀態為「已取消」" in page
        assert request.status == "cancelled" and on_hand(session, world, "b", "glasses").on_hand == 2


def test_home_shows_the_origin_how_many_requests_wait_for_an_answer(client, world, session, request_from_b):
    b = world["b"].id
    sign_in(client, "staff@b.example.com")

    def transfers_button() -> str:
        home = client.get(f"/stores/{b}").get_data(as_text=True)
        start = home.index(f'class="button" href="/stores/{b}/transfers">')
        return home[start:home.index("</a>", start)]

    assert "調撥" in transfers_button() and '<span class="badge">1</span>' in transfers_button()
    staff_b = session.execute(select(User.id).where(User.email == "staff@b.example.com")).scalar_one()
    transfers.decline_transfer(session, session.get(User, staff_b), store_id=b, transfer_id=request_from_b.id, reason="display unit only")
    assert "調撥" in transfers_button() and "badge" not in transfers_button()
