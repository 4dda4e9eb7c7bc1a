"""Back-room work: receive a delivery line by line, count stock (large differences wait for a manager),
demo units in and out, transfer requests."""
from __future__ import annotations

from sqlalchemy import func, select

from retail.models import (
    AuditLog,
    SerialUnit,
    Shipment,
    ShipmentLine,
    StockBalance,
    StockCount,
    TransferRequest,
)
from tests.factories import on_the_mainland
from tests.web.factories import csrf_token, post, sign_in


def balance(session, world, store, product) -> StockBalance:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True)


def serials_in_stock(session, world, store, product) -> int:
    return session.execute(select(func.count()).select_from(SerialUnit).where(
        SerialUnit.location_id == world[store].id, SerialUnit.product_id == world[product].id,
        SerialUnit.state == "in_stock").execution_options(populate_existing=True)).scalar_one()


def assert_serial_ledger(session, world) -> None:
    """On hand of a serialised SKU equals its serial units in stock, at every location of the world."""
    for store in ("a", "b", "dc"):
        assert balance(session, world, store, "glasses").on_hand == serials_in_stock(session, world, store, "glasses")


def test_receive_a_delivery_with_one_short_line(client, world, session):
    sign_in(client, "staff@a.example.com")
    a, shipment = world["a"].id, world["delivery_a"]
    page = client.get(f"/stores/{a}/deliveries/{shipment.id}").get_data(as_text=True)
    assert 'name="received-RK-CASE" value="4"' in page and 'name="serials-RK-MAX2-BLK"' in page
    response = post(client, f"/stores/{a}/deliveries/{shipment.id}", {"serials-RK-MAX2-BLK": "SN-D2\nSN-D1",
                                                                      "received-RK-CASE": "3"})
    assert response.status_code == 302
    assert "发货 4，实收 3，差异已记录" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert session.get(Shipment, shipment.id, populate_existing=True).status == "received"
    lines = {line.product_id: line.received_quantity for line in session.execute(select(ShipmentLine).where(
        ShipmentLine.shipment_id == shipment.id)).scalars()}
    assert lines == {world["glasses"].id: 2, world["case"].id: 3}
    assert (balance(session, world, "a", "case").on_hand, balance(session, world, "a", "case").in_transit) == (8, 0)
    assert balance(session, world, "a", "glasses").on_hand == 5
    audit = session.execute(select(AuditLog).where(AuditLog.action == "shipment.discrepancy")).scalar_one()
    assert audit.detail == {"RK-CASE": {"shipped": 4, "received": 3}}
    assert_serial_ledger(session, world)
    again = post(client, f"/stores/{a}/deliveries/{shipment.id}", {"received-RK-CASE": "4"})
    assert again.status_code == 422 and "已签收过" in again.get_data(as_text=True)


def test_a_bad_received_quantity_keeps_the_form(client, world, session):
    sign_in(client, "staff@a.example.com")
    a, shipment = world["a"].id, world["delivery_a"]
    response = post(client, f"/stores/{a}/deliveries/{shipment.id}", {"received-RK-CASE": "three"})
    assert response.status_code == 422 and 'value="three"' in response.get_data(as_text=True)
    assert session.get(Shipment, shipment.id, populate_existing=True).status == "in_transit"


def test_receiving_a_trillion_units_is_refused_and_changes_nothing(client, world, session):
    """Issue 10 item 5: `received-<SKU>=1000000000000` on a delivery of one serialised unit was accepted."""
    sign_in(client, "staff@b.example.com")
    b, shipment = world["b"].id, world["delivery_b"]
    for value in ("1000000000000", "100001", "2"):
        response = post(client, f"/stores/{b}/deliveries/{shipment.id}", {"received-RK-MAX2-BLK": value,
                                                                          "serials-RK-MAX2-BLK": "SN-D3"})
        assert response.status_code == 422, value
        assert f'value="{value}"' in response.get_data(as_text=True)
    assert session.get(Shipment, shipment.id, populate_existing=True).status == "in_transit"
    assert (balance(session, world, "b", "glasses").on_hand, balance(session, world, "b", "glasses").in_transit) == (2, 1)
    assert_serial_ledger(session, world)


def test_a_serialised_line_needs_the_scans_of_what_arrived(client, world, session):
    sign_in(client, "staff@a.example.com")
    a, shipment = world["a"].id, world["delivery_a"]
    path = f"/stores/{a}/deliveries/{shipment.id}"
    unscanned = post(client, path, {"received-RK-MAX2-BLK": "2"})  # a count alone does not say which arrived
    assert unscanned.status_code == 422 and "扫描" in unscanned.get_data(as_text=True)
    foreign = post(client, path, {"serials-RK-MAX2-BLK": "SN-D1 SN-A1"})  # SN-A1 was not on this delivery
    assert foreign.status_code == 422 and "SN-A1" in foreign.get_data(as_text=True)
    assert session.get(Shipment, shipment.id, populate_existing=True).status == "in_transit"
    response = post(client, path, {"serials-RK-MAX2-BLK": "SN-D2"})
    assert response.status_code == 302
    assert session.get(SerialUnit, "SN-D2", populate_existing=True).state == "in_stock"
    assert session.get(SerialUnit, "SN-D1", populate_existing=True).state == "in_transit"  # missing
    assert balance(session, world, "a", "glasses").on_hand == 4
    assert_serial_ledger(session, world)
    page = client.get(path).get_data(as_text=True)
    assert "SN-D1" in page  # the received delivery names the missing unit


def test_a_surplus_is_held_until_the_manager_accepts_it(client, world, session):
    sign_in(client, "staff@a.example.com")
    a, shipment = world["a"].id, world["delivery_a"]
    path = f"/stores/{a}/deliveries/{shipment.id}"
    response = post(client, path, {"serials-RK-MAX2-BLK": "SN-D1,SN-D2", "received-RK-CASE": "10"})
    assert response.status_code == 302
    assert "不计入库存" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert balance(session, world, "a", "case").on_hand == 5 + 4  # the 6 extra are held, not stock
    line = session.execute(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id,
                                                      ShipmentLine.product_id == world["case"].id)
                           .execution_options(populate_existing=True)).scalar_one()
    assert (line.received_quantity, line.surplus, line.surplus_status) == (4, 6, "held")
    assert "RK-CASE" in client.get(f"/stores/{a}/deliveries").get_data(as_text=True)
    refused = post(client, f"{path}/surplus", {"sku": "RK-CASE", "decision": "accept"})  # staff may not
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    sign_in(client, "manager@a.example.com")
    assert "RK-CASE" in client.get(path).get_data(as_text=True)
    accepted = post(client, f"{path}/surplus", {"sku": "RK-CASE", "decision": "accept"})
    assert accepted.status_code == 302
    assert balance(session, world, "a", "case").on_hand == 5 + 10
    twice = post(client, f"{path}/surplus", {"sku": "RK-CASE", "decision": "accept"})
    assert twice.status_code == 422
    assert balance(session, world, "a", "case").on_hand == 5 + 10
    assert_serial_ledger(session, world)


def test_small_count_difference_is_applied_at_once(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/count", {"counted-RK-CASE": "4", "counted-RK-MAX2-BLK": "",
                                                               "reason": "weekly count"})
    assert response.status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "applied" and count.counted_by == world["staff"].id
    assert balance(session, world, "a", "case").on_hand == 4 and balance(session, world, "a", "glasses").on_hand == 3


def test_count_without_reason_is_refused_and_keeps_the_numbers(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/count", {"counted-RK-CASE": "4", "reason": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请填写：原因" in page and 'name="counted-RK-CASE" value="4"' in page
    assert session.execute(select(StockCount)).first() is None


def test_large_difference_waits_for_the_manager(app, client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    response = post(client, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": "SN-A3", "reason": "two pairs missing"})
    assert response.status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "pending_approval"
    assert balance(session, world, "a", "glasses").on_hand == 3  # nothing moves yet
    assert post(client, f"/stores/{a}/count/{count.id}", {"decision": "approve"}).status_code == 403
    post(client, f"/stores/{a}/sale", {"serials": "SN-A3"})  # a sale after the count is kept on approval
    manager = app.test_client()
    sign_in(manager, "manager@a.example.com")
    assert "批准并调整库存" in manager.get(f"/stores/{a}/count/{count.id}").get_data(as_text=True)
    assert post(manager, f"/stores/{a}/count/{count.id}", {"decision": "approve"}).status_code == 302
    session.refresh(count)
    assert (count.status, count.decided_by) == ("applied", world["manager"].id)
    assert balance(session, world, "a", "glasses").on_hand == 0  # 3 - 1 sold - 2 missing
    twice = post(manager, f"/stores/{a}/count/{count.id}", {"decision": "reject"})
    assert twice.status_code == 422 and "已审批过" in twice.get_data(as_text=True)


def test_manager_count_with_large_difference_applies_directly(client, world, session):
    sign_in(client, "manager@a.example.com")
    post(client, f"/stores/{world['a'].id}/count", {"counted-RK-CASE": "0", "reason": "flood"})
    assert session.execute(select(StockCount.status)).scalar_one() == "applied"
    assert balance(session, world, "a", "case").on_hand == 0


def test_demo_units_out_and_back(client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    assert post(client, f"/stores/{a}/demo", {"direction": "out", "sku": "RK-MAX2-BLK",
                                              "serials": "SN-A2"}).status_code == 302
    glasses = balance(session, world, "a", "glasses")
    assert (glasses.on_hand, glasses.demo) == (2, 1)
    refused = post(client, f"/stores/{a}/sale", {"serials": "SN-A2"})
    assert refused.status_code == 422
    assert post(client, f"/stores/{a}/demo", {"direction": "in", "sku": "RK-MAX2-BLK",
                                              "serials": "SN-A2"}).status_code == 302
    glasses = balance(session, world, "a", "glasses")
    assert (glasses.on_hand, glasses.demo) == (3, 0)


def test_transfer_request_to_a_store_with_stock(client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    holders = client.get(f"/stores/{a}/transfers?sku=RK-MAX2-BLK").get_data(as_text=True)
    assert 'data-store="S0002"' not in holders  # Hong Kong is across the border from a Shanghai store
    own = post(client, f"/stores/{a}/transfers", {"sku": "RK-MAX2-BLK", "from_store": "S0001", "quantity": "1"})
    assert own.status_code == 422 and "不能是本店" in own.get_data(as_text=True)
    across = post(client, f"/stores/{a}/transfers", {"sku": "RK-MAX2-BLK", "from_store": "s0002", "quantity": "1"})
    assert across.status_code == 422 and "分处内地与香港两地" in across.get_data(as_text=True)
    assert session.execute(select(TransferRequest)).first() is None
    on_the_mainland(session, world["b"])  # the same store on this side of the border: asked as usual
    too_many = post(client, f"/stores/{a}/transfers", {"sku": "RK-MAX2-BLK", "from_store": "s0002", "quantity": "3"})
    assert too_many.status_code == 422 and "仅剩 2 件" in too_many.get_data(as_text=True)
    assert post(client, f"/stores/{a}/transfers", {"sku": "RK-MAX2-BLK", "from_store": "s0002",
                                                   "quantity": "1", "note": "customer waiting"}).status_code == 302
    request = session.execute(select(TransferRequest)).scalar_one()
    assert (request.from_store_id, request.to_store_id, request.quantity, request.status) == (
        world["b"].id, a, 1, "requested")
