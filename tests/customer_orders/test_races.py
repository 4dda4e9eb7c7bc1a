"""Concurrent answers to one customer order, from two connections at the same moment (threads): a hand-over
racing a cancellation, two hand-overs, two ships; exactly one acts, and the ledger agrees afterwards. On
PostgreSQL (the second UPDATE waits for the first commit) and SQLite (writers queue on BEGIN IMMEDIATE); a
naive read-then-write of the state is the negative control."""
from __future__ import annotations

import time
from datetime import date, timedelta
from functools import partial

import pytest
from sqlalchemy import func, select, update

from retail.db import new_session
from retail.models import CustomerOrder, CustomerOrderEvent, Movement, StockBalance, TransferRequest, User
from retail.services import customer_orders as co
from retail.services import sales
from tests.committing import inventory
from tests.customer_orders.world import build
from tests.racing import race as _race

ROUNDS = 6
BOTH = [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"]


@pytest.fixture
def ids(engine):
    with new_session(engine) as s:
        world = build(s)
        inventory.receive_purchase(s, location_id=world["c"].id, sku="RK-CASE", quantity=ROUNDS * 3 + 1,
                                   reference="PO-CASES")
        return {k: v.id for k, v in world.items()}


def _arrived_order(engine, ids) -> int:
    """An order of one case at A, sourced from C, shipped and arrived (held at A)."""
    with new_session(engine) as s:
        staff, staff_c = s.get(User, ids["staff"]), s.get(User, ids["staff_c"])
        order = co.place(s, staff, store_id=ids["a"], sku="RK-CASE", quantity=1, deposit="50",
                         promised_date=date.today() + timedelta(days=2), customer_ref="RACE")
        assert order.source_location_id == ids["c"]
        co.ship(s, staff_c, store_id=ids["c"], order_id=order.id)
        co.arrive(s, staff, store_id=ids["a"], order_id=order.id)
        return order.id


def _ledger_agrees(engine, ids) -> dict:
    with new_session(engine) as s:
        out = {}
        for store in ("a", "c"):
            row = s.get(StockBalance, (ids[store], ids["case"]))
            moved = s.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
                Movement.location_id == ids[store], Movement.product_id == ids["case"])).scalar_one()
            assert row.on_hand == moved and row.reserved == 0 and row.in_transit == 0
            out[store] = row.on_hand
        handed = s.execute(select(func.count()).select_from(CustomerOrder).where(
            CustomerOrder.state == "handed_over")).scalar_one()
        sold = s.execute(select(func.coalesce(func.sum(-Movement.quantity), 0)).where(
            Movement.kind == "sale", Movement.reference.like("CO-%"))).scalar_one()
        assert sold == handed
        out["handed"] = handed
        return out


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_hand_over_racing_a_cancellation_exactly_one_wins(engine, ids):
    outcomes_seen = set()
    for _ in range(ROUNDS):
        order_id = _arrived_order(engine, ids)
        outcomes = _race(engine,
                         partial(co.hand_over, store_id=ids["a"], order_id=order_id, actor_id=ids["staff"]),
                         partial(co.cancel, store_id=ids["a"], order_id=order_id, actor_id=ids["staff"]))
        assert sorted(outcomes) == ["customer_order_closed", "ok"], outcomes
        outcomes_seen.add(tuple(outcomes))
        with new_session(engine) as s:
            order = s.get(CustomerOrder, order_id)
            events = list(s.execute(select(CustomerOrderEvent.to_state).where(
                CustomerOrderEvent.order_id == order_id).order_by(CustomerOrderEvent.id)).scalars())
            winner = "handed_over" if outcomes[0] == "ok" else "cancelled"
            assert order.state == winner and events[-1] == winner and events.count(winner) == 1
            assert (order.sale_movement_id is not None) == (winner == "handed_over")
            assert (order.refund is not None) == (winner == "cancelled")
            if winner == "cancelled":  # the unit went back to sellable stock: a walk-in buys it
                sales.sell(s, s.get(User, ids["staff"]), store_id=ids["a"], sku="RK-CASE")
    assert len(outcomes_seen) >= 1
    figures = _ledger_agrees(engine, ids)
    assert figures["a"] == 0
    assert figures["c"] == ROUNDS * 3 + 1 - ROUNDS


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_doubled_transitions_act_once(engine, ids):
    for _ in range(ROUNDS // 2):
        order_id = _arrived_order(engine, ids)
        hand = partial(co.hand_over, store_id=ids["a"], order_id=order_id, actor_id=ids["staff"])
        assert _race(engine, hand, hand) == ["ok", "ok"]  # the second finds it done and returns it
    for _ in range(ROUNDS // 2):
        with new_session(engine) as s:
            order = co.place(s, s.get(User, ids["staff"]), store_id=ids["a"], sku="RK-CASE",
                             promised_date=date.today(), customer_ref="TWICE")
            order_id = order.id
        ship = partial(co.ship, store_id=ids["c"], order_id=order_id, actor_id=ids["staff_c"])
        assert _race(engine, ship, ship) == ["ok", "ok"]
        with new_session(engine) as s:
            assert s.execute(select(func.count()).select_from(Movement).where(
                Movement.kind == "transfer_out", Movement.location_id == ids["c"],
                Movement.reference == f"TR-{s.get(CustomerOrder, order_id).transfer_id}")).scalar_one() == 1
            assert s.execute(select(func.count()).select_from(CustomerOrderEvent).where(
                CustomerOrderEvent.order_id == order_id, CustomerOrderEvent.to_state == "shipped")).scalar_one() == 1
            co.arrive(s, s.get(User, ids["staff"]), store_id=ids["a"], order_id=order_id)
            co.hand_over(s, s.get(User, ids["staff"]), store_id=ids["a"], order_id=order_id)
    figures = _ledger_agrees(engine, ids)
    assert figures["handed"] == 2 * (ROUNDS // 2) and figures["a"] == 0


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_negative_control_a_state_read_then_unconditional_write_lets_both_win(engine, ids):
    order_id = _arrived_order(engine, ids)

    def naive(state):
        def act(s):
            if s.get(CustomerOrder, order_id).state != "arrived":
                raise co.CustomerOrderClosed(reference=order_id, state="?", verb="?")
            time.sleep(0.05)
            s.execute(update(CustomerOrder).where(CustomerOrder.id == order_id).values(state=state))
            s.commit()
        return act

    assert _race(engine, naive("handed_over"), naive("cancelled")) == ["ok", "ok"]


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_ship_racing_a_cancellation_the_hold_is_given_back_once(engine, ids):
    """A cancellation may follow a shipment (the units then arrive as ordinary stock), not precede one: the
    cancellation first, the ship is refused; the ship first, the cancellation either finds the order shipped
    and cancels it, or (it had read `sourced` and waited on the row) is refused and changes nothing. Either
    way the origin's hold is given back exactly once and the units leave it at most once."""
    for _ in range(ROUNDS):
        with new_session(engine) as s:
            order_id = co.place(s, s.get(User, ids["staff"]), store_id=ids["a"], sku="RK-CASE",
                                promised_date=date.today(), customer_ref="SHIP-OR-CANCEL").id
        outcomes = _race(engine,
                         partial(co.ship, store_id=ids["c"], order_id=order_id, actor_id=ids["staff_c"]),
                         partial(co.cancel, store_id=ids["a"], order_id=order_id, actor_id=ids["staff"]))
        assert outcomes in (["ok", "ok"], ["customer_order_closed", "ok"], ["ok", "customer_order_closed"]), outcomes
        with new_session(engine) as s:
            order = s.get(CustomerOrder, order_id)
            transfer = s.get(TransferRequest, order.transfer_id)
            assert s.get(StockBalance, (ids["c"], ids["case"])).reserved == 0
            states = list(s.execute(select(CustomerOrderEvent.to_state).where(
                CustomerOrderEvent.order_id == order_id).order_by(CustomerOrderEvent.id)).scalars())
            if outcomes == ["ok", "ok"]:
                assert transfer.status == "shipped" and states == ["placed", "sourced", "shipped", "cancelled"]
            elif outcomes[0] == "ok":
                assert transfer.status == "shipped" and states == ["placed", "sourced", "shipped"]
            else:
                assert transfer.status == "cancelled" and order.shipment_id is None
                assert states == ["placed", "sourced", "cancelled"]
    with new_session(engine) as s:
        shipped = s.execute(select(func.count()).select_from(TransferRequest).where(
            TransferRequest.status == "shipped")).scalar_one()
        row = s.get(StockBalance, (ids["c"], ids["case"]))
        assert row.on_hand == ROUNDS * 3 + 1 - shipped and row.reserved == 0
        # No balance row at A until a first shipment reaches for it: every round may go to the cancellation.
        at_a = s.get(StockBalance, (ids["a"], ids["case"]))
        assert (at_a.in_transit if at_a is not None else 0) == shipped
