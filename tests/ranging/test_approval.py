"""Planners' answers to range proposals (services/ranging.decide_proposals) on SQLite and PostgreSQL: the state
machine (proposed -> approved | rejected, once), effective dates (an approval closes the decision before it),
the decision in force on a day, access, bounds, and concurrent answers decided once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.db import make_engine, new_session
from retail.models import AuditLog, StoreRange
from retail.services import ranging
from tests.committing import inventory
from tests.ranging.helpers import MONDAY, proposal, range_world


@pytest.fixture
def world(session):
    return range_world(session)


def _audits(session, action):
    return session.execute(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).scalar_one()


def test_approve_reject_and_a_second_answer_changes_nothing(session, world):
    a = world["a"]
    first = proposal(session, a, world["glasses"], "show")
    second = proposal(session, a, world["station"], "none")
    done = ranging.decide_proposals(session, world["planner"], proposal_ids=[first.id], approve=True)
    assert (done.decided, done.already) == (1, 0)
    done = ranging.decide_proposals(session, world["planner"], proposal_ids=[second.id], approve=False)
    assert (done.decided, done.already) == (1, 0)
    session.expire_all()
    row = session.get(StoreRange, first.id)
    assert (row.status, row.decided_by, row.valid_from, row.valid_to) == ("approved", world["planner"].id, MONDAY, None)
    assert session.get(StoreRange, second.id).status == "rejected"
    # A second answer (a doubled click, another planner, the other way round): nothing changes.
    again = ranging.decide_proposals(session, world["planner2"], proposal_ids=[first.id, second.id], approve=False)
    assert (again.decided, again.already) == (0, 2)
    session.expire_all()
    assert session.get(StoreRange, first.id).status == "approved"
    assert session.get(StoreRange, first.id).decided_by == world["planner"].id
    assert session.get(StoreRange, second.id).status == "rejected"
    assert (_audits(session, "range.approved"), _audits(session, "range.rejected")) == (1, 1)


def test_an_approval_closes_the_decision_in_force_and_opens_the_new_one(session, world):
    a, glasses = world["a"], world["glasses"]
    inventory.receive_purchase(session, location_id=a.id, sku=glasses.sku, quantity=1, serials=["SN-R1"])
    week1, week2 = MONDAY, MONDAY + timedelta(weeks=1)
    assert ranging.decision_in_force(session, a.id, glasses.id, week1) == "stock"  # today's range: carried
    assert ranging.decision_in_force(session, world["b"].id, glasses.id, week1) == "none"  # not carried
    show = proposal(session, a, glasses, "show", week=week1)
    ranging.decide_proposals(session, world["planner"], proposal_ids=[show.id], approve=True)
    none = proposal(session, a, glasses, "none", week=week2, previous="show")
    assert ranging.decision_in_force(session, a.id, glasses.id, week2) == "show"  # proposed is not in force
    ranging.decide_proposals(session, world["admin"], proposal_ids=[none.id], approve=True)
    session.expire_all()
    assert session.get(StoreRange, show.id).valid_to == week2
    assert session.get(StoreRange, none.id).valid_to is None
    assert ranging.decision_in_force(session, a.id, glasses.id, week1 - timedelta(days=1)) == "stock"
    assert ranging.decision_in_force(session, a.id, glasses.id, week1) == "show"
    assert ranging.decision_in_force(session, a.id, glasses.id, week2 - timedelta(days=1)) == "show"
    assert ranging.decision_in_force(session, a.id, glasses.id, week2) == "none"
    cells = [(a.id, glasses.id), (world["b"].id, glasses.id), (a.id, world["case"].id)]
    assert ranging.decisions_in_force(session, day=week2, cells=cells) == {
        (a.id, glasses.id): "none", (world["b"].id, glasses.id): "none", (a.id, world["case"].id): "none"}
    frame = ranging.approved_in_force(session, day=week1)
    assert frame.to_dict("records") == [{"location_id": a.id, "product_id": glasses.id, "decision": "show"}]


def test_approving_an_older_week_after_a_newer_one_ends_where_the_newer_begins(session, world):
    a, glasses = world["a"], world["glasses"]
    week1, week2 = MONDAY, MONDAY + timedelta(weeks=1)
    newer = proposal(session, a, glasses, "none", week=week2)
    older = proposal(session, a, glasses, "show", week=week1)
    ranging.decide_proposals(session, world["planner"], proposal_ids=[newer.id, older.id], approve=True)
    session.expire_all()
    assert (session.get(StoreRange, older.id).valid_from, session.get(StoreRange, older.id).valid_to) == (week1, week2)
    assert session.get(StoreRange, newer.id).valid_to is None
    assert ranging.decision_in_force(session, a.id, glasses.id, week1) == "show"
    assert ranging.decision_in_force(session, a.id, glasses.id, week2 + timedelta(days=3)) == "none"


@pytest.mark.parametrize("who", ["manager", "partner", "gone_planner", None])
def test_only_active_planners_and_admins_answer(session, world, who):
    row = proposal(session, world["a"], world["glasses"], "show")
    with pytest.raises(errors.Forbidden):
        ranging.decide_proposals(session, world[who] if who else None, proposal_ids=[row.id], approve=True)
    session.expire_all()
    assert session.get(StoreRange, row.id).status == "proposed"
    assert _audits(session, "range.approved") == 0


def test_a_batch_is_bounded_and_an_unknown_id_changes_nothing(session, world):
    row = proposal(session, world["a"], world["glasses"], "show")
    with pytest.raises(errors.TooMany):
        ranging.decide_proposals(session, world["planner"], proposal_ids=list(range(1, ranging.MAX_BULK + 2)),
                                 approve=True)
    with pytest.raises(errors.NotFound):
        ranging.decide_proposals(session, world["planner"], proposal_ids=[row.id, 999_999], approve=True)
    for bad in ([], ["1"], [True], [0], [2**31]):
        with pytest.raises((errors.InvalidValue, errors.MissingValue)):
            ranging.decide_proposals(session, world["planner"], proposal_ids=bad, approve=True)
    session.expire_all()
    assert session.get(StoreRange, row.id).status == "proposed"  # the batch with the unknown id rolled back whole
    with pytest.raises(errors.TooMany):
        ranging.decisions_in_force(session, day=MONDAY, cells=[(1, i) for i in range(ranging.MAX_CELLS + 1)])


def test_concurrent_answers_decide_a_proposal_once(database_url, session, world):
    """Eight planners' requests (approve and reject mixed) on the same proposals at the same moment, each in its
    own connection: every proposal gets exactly one answer, one audit row, and an approval closes the previous
    decision once.

    Negative control, by reasoning: the claim is `UPDATE ... WHERE id = :id AND status = 'proposed'`. Without the
    status condition every request's UPDATE would match its row (rowcount 1), so all eight would count the
    proposal as theirs and write eight audit rows, and the last writer's answer would win: the assertions
    `sum(decided) == 3` and one audit row per proposal would fail. With a read-then-write (SELECT status, then
    UPDATE) the same happens on PostgreSQL under READ COMMITTED, since each thread reads `proposed` before any
    commits; only the conditional UPDATE makes the second writer wait for the first and then match nothing."""
    rows = [proposal(session, world["a"], p, "show") for p in (world["glasses"], world["station"], world["old"])]
    ids = [r.id for r in rows]
    engine = make_engine(database_url)
    barrier = threading.Barrier(8)
    results, failures = [], []

    def answer(i):
        with new_session(engine) as own:
            actor = own.get(type(world["planner"]), world["planner" if i % 2 else "planner2"].id)
            barrier.wait()
            try:
                results.append(ranging.decide_proposals(own, actor, proposal_ids=ids, approve=i % 3 != 0))
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(repr(exc))

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert failures == []
    assert sum(r.decided for r in results) == 3 and sum(r.already for r in results) == 8 * 3 - 3
    session.expire_all()
    statuses = [session.get(StoreRange, i).status for i in ids]
    assert all(s in ("approved", "rejected") for s in statuses)
    audits = session.execute(select(AuditLog.entity_id, func.count()).where(AuditLog.entity == "store_range")
                             .group_by(AuditLog.entity_id)).all()
    assert sorted(int(e) for e, n in audits if n == 1) == sorted(ids) and all(n == 1 for _, n in audits)


def test_negative_control_a_claim_without_the_status_condition_decides_twice(database_url, session, world):
    """The same eight concurrent requests with the claim's status condition removed (`UPDATE ... WHERE id = :id`):
    every request matches the row, so the proposal is 'decided' eight times. This is what the conditional UPDATE
    of `decide_proposals` prevents, and shows that the harness above sees a doubled decision when there is one."""
    from sqlalchemy import update

    from retail.models import utcnow

    row = proposal(session, world["a"], world["glasses"], "show")
    engine = make_engine(database_url)
    barrier = threading.Barrier(8)
    claimed = []

    def naive(i):
        with new_session(engine) as own:
            barrier.wait()
            with own.begin():
                count = own.execute(update(StoreRange).where(StoreRange.id == row.id).values(
                    status="approved" if i % 2 else "rejected", decided_at=utcnow())).rowcount
            claimed.append(count)

    threads = [threading.Thread(target=naive, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sum(claimed) == 8  # eight answers to one proposal: the bug the status condition prevents
