"""The weekly range proposal (services/ranging.propose) on SQLite and PostgreSQL: one row per changed cell with its
reason and figures, written once per cell and week, older open proposals superseded, the store's display slots
and currency respected."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import AuditLog, StoreRange
from retail.services import ranging, replenishment
from tests.committing import inventory
from tests.ranging.helpers import MONDAY, forecast, proposal, range_world


@pytest.fixture
def world(session):
    return range_world(session)


def _calibrate_ranging(session, *, serve_value: float) -> None:
    replenishment.record_calibration(session, target=0.95, value=serve_value, achieved=0.95, policy_name="ranging",
                                     parameter="serve_value")


def _rows(session, week=MONDAY):
    return {(r.location_id, r.product_id): r for r in session.execute(
        select(StoreRange).where(StoreRange.week == week)).scalars()}


def test_a_fast_mover_is_kept_and_a_model_that_does_not_sell_is_dropped_once(session, world):
    a, b = world["a"], world["b"]
    forecast(session, [(a, world["glasses"], 2.0), (a, world["station"], 0.0), (b, world["glasses"], 1.5)])
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=5)  # carried, no forecast
    done = ranging.propose(session, week=MONDAY)
    rows = _rows(session)
    assert (a.id, world["glasses"].id) not in rows and (b.id, world["glasses"].id) not in rows  # stock stays stock
    station, case = rows[(a.id, world["station"].id)], rows[(a.id, world["case"].id)]
    for row in (station, case):
        assert (row.previous, row.decision, row.reason, row.status) == ("stock", "none", "low_demand", "proposed")
        assert row.valid_from == MONDAY and row.valid_to is None and row.value_stock < 0
    assert done.cells == 4 and done.changed == done.written == 2 == len(rows)
    assert done.by_decision == {"none": 2}
    again = ranging.propose(session, week=MONDAY)
    assert (again.changed, again.written) == (2, 0)  # nothing written twice
    assert session.execute(select(func.count()).select_from(StoreRange)).scalar_one() == 2
    assert session.execute(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "ranging.propose")).scalar_one() == 2


def test_a_re_run_after_a_calibration_withdraws_what_it_no_longer_proposes_and_keeps_the_answered(session, world):
    """Proposed with no calibration (serve value 0), then a calibration that values each unit served: the open
    proposal to drop a slow model is withdrawn (keeping it is now worth it), an answered one stays as answered,
    a third run with the same inputs writes nothing, and a later calibration that makes the drop worth it
    again proposes it again (the same row: one per cell and week)."""
    a = world["a"]
    forecast(session, [(a, world["glasses"], 2.0), (a, world["station"], 0.01)])
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=5)  # carried, no forecast
    first = ranging.propose(session, week=MONDAY)
    rows = _rows(session)
    station, case = rows[(a.id, world["station"].id)], rows[(a.id, world["case"].id)]
    assert first.written == 2 and (station.decision, case.decision) == ("none", "none")
    ranging.decide_proposals(session, world["planner"], proposal_ids=[case.id], approve=False)
    _calibrate_ranging(session, serve_value=1_000.0)
    second = ranging.propose(session, week=MONDAY)
    assert (second.written, second.revised, second.withdrawn) == (0, 0, 1), second
    session.expire_all()
    assert session.get(StoreRange, station.id).status == "superseded"
    assert session.get(StoreRange, case.id).status == "rejected"  # answered: untouched
    assert ranging.decide_proposals(session, world["planner"], proposal_ids=[station.id], approve=True).decided == 0
    third = ranging.propose(session, week=MONDAY)
    assert (third.written, third.revised, third.withdrawn) == (0, 0, 0)  # same inputs: nothing written
    assert len(_rows(session)) == 2  # still one row per cell and week
    # a newer calibration that values serving at almost nothing: the withdrawn proposal is proposed again
    _calibrate_ranging(session, serve_value=0.001)
    fourth = ranging.propose(session, week=MONDAY)
    assert (fourth.written, fourth.revised, fourth.withdrawn) == (0, 1, 0), fourth
    session.expire_all()
    again = session.get(StoreRange, station.id)
    assert (again.status, again.decision, again.reason) == ("proposed", "none", "low_demand")
    assert session.get(StoreRange, case.id).status == "rejected"
    assert ranging.propose(session, week=MONDAY).revised == 0


def test_a_re_run_revises_an_open_proposal_whose_reason_moved(session, world):
    a = world["a"]
    forecast(session, [(a, world["glasses"], 2.0)])
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=5)  # carried, no forecast
    ranging.propose(session, week=MONDAY)
    case = _rows(session)[(a.id, world["case"].id)]
    assert (case.decision, case.reason) == ("none", "low_demand")
    world["case"].eol_date = MONDAY - timedelta(days=30)  # the brand ends it
    session.commit()
    again = ranging.propose(session, week=MONDAY)
    assert (again.written, again.revised, again.withdrawn) == (0, 1, 0), again
    session.expire_all()
    revised = session.get(StoreRange, case.id)
    assert (revised.decision, revised.reason, revised.status) == ("none", "end_of_life", "proposed")
    assert (ranging.propose(session, week=MONDAY).revised, len(_rows(session))) == (0, 1)


def test_figures_are_in_the_stores_currency_and_a_hong_kong_cell_is_valued_in_hkd(session, world):
    a, b = world["a"], world["b"]
    forecast(session, [(a, world["station"], 0.001), (b, world["station"], 0.001)])
    ranging.propose(session, week=MONDAY)
    rows = _rows(session)
    cny, hkd = rows[(a.id, world["station"].id)], rows[(b.id, world["station"].id)]
    assert (cny.currency, hkd.currency) == ("CNY", "HKD")
    assert hkd.value_stock != cny.value_stock  # HKD prices and costs, not the CNY figures relabelled


def test_a_store_at_display_capacity_drops_its_least_valuable_models(session, world):
    c = world["c"]  # size class S
    ranging.update_setting(session, world["planner"], key="slots", value={"S": 1, "M": 36, "L": 48, "default": 36})
    forecast(session, [(c, world["glasses"], 3.0), (c, world["station"], 0.5)])
    ranging.propose(session, week=MONDAY)
    rows = _rows(session)
    assert (c.id, world["glasses"].id) not in rows  # the better model keeps the one slot
    dropped = rows[(c.id, world["station"].id)]
    assert (dropped.decision, dropped.reason) == ("none", "display_capacity")


def test_a_new_week_supersedes_the_open_proposals_of_earlier_weeks(session, world):
    a = world["a"]
    old = proposal(session, a, world["glasses"], "show", week=MONDAY - timedelta(weeks=1))
    done_before = proposal(session, a, world["station"], "none", week=MONDAY - timedelta(weeks=1), status="approved")
    forecast(session, [(a, world["glasses"], 2.0)])
    summary = ranging.propose(session, week=MONDAY)
    assert summary.superseded == 1
    session.expire_all()
    assert session.get(StoreRange, old.id).status == "superseded"
    assert session.get(StoreRange, done_before.id).status == "approved"


def test_an_approved_decision_is_the_current_one_of_the_next_proposal(session, world):
    a = world["a"]
    forecast(session, [(a, world["glasses"], 2.0)])
    row = proposal(session, a, world["glasses"], "show", week=MONDAY - timedelta(weeks=1))
    ranging.decide_proposals(session, world["planner"], proposal_ids=[row.id], approve=True)
    ranging.propose(session, week=MONDAY)
    back = _rows(session)[(a.id, world["glasses"].id)]
    assert (back.previous, back.decision, back.reason) == ("show", "stock", "fast_mover")


def test_propose_without_a_forecast_is_refused(session, world):
    with pytest.raises(errors.NotFound):
        ranging.propose(session, week=MONDAY)


def test_settings_are_checked_and_audited(session, world):
    with pytest.raises(ranging.RangeSettingInvalid):
        ranging.update_setting(session, world["planner"], key="conversion", value={"CN": 1.5})
    with pytest.raises(ranging.RangeSettingInvalid):
        ranging.update_setting(session, world["planner"], key="economics", value={"holding_rate": -1})
    with pytest.raises(errors.Forbidden):
        ranging.update_setting(session, world["manager"], key="conversion", value={"CN": 0.5})
    conf = ranging.update_setting(session, world["planner"], key="conversion", value={"CN": 0.5, "CN:1": 0.7})
    assert conf.conversion() == {"CN": 0.5, ("CN", 1): 0.7}
    assert ranging.settings(session).values["slots"] == ranging.DEFAULTS["slots"]
    assert session.execute(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "range_setting.updated")).scalar_one() == 1


def test_a_calibrated_serve_value_is_read_by_the_proposal(session, world):
    """policy "ranging"'s calibrated parameter (CNY a served unit is worth): a model that does not pay for itself
    is kept on display once serving demand is worth enough (the network's value; a tier's overrides it)."""
    from retail.services import replenishment

    a = world["a"]
    forecast(session, [(a, world["station"], 0.001)])
    first = ranging.propose(session, week=MONDAY)
    assert first.by_reason == {"low_demand": 1}
    replenishment.record_calibration(session, target=0.96, value=100_000, achieved=0.96, parameter="serve_value",
                                     policy_name="ranging")
    nxt = MONDAY + timedelta(weeks=1)
    later = ranging.propose(session, week=nxt)
    assert later.changed == 0  # served demand now pays: stock stays (no change from today's range)
    replenishment.record_calibration(session, target=0.9, value=0.001, achieved=0.9, parameter="serve_value",
                                     scope="tier", scope_key="1", policy_name="ranging")
    again = ranging.propose(session, week=nxt + timedelta(weeks=1))
    assert again.by_reason == {"low_demand": 1}  # the tier's own (small) value wins over the network's
    assert [c.scope for c in ranging.latest_calibrations(session, parameter="serve_value")] == ["tier", "network"]
