"""Replenishment follows the approved range (services/replenishment.plan) on SQLite and PostgreSQL: sellable lines
only for `stock` cells, one demo unit for a `show` cell (shipped, or put on display from the shelf), nothing for
a `none` cell and its stock sent back, demo units marked down at end of life, the DC buying for the stores plus
the pooled demand of `show` cells; without an approved range the plan is what it was; the calibrated parameter."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from retail.models import (
    Location,
    PurchaseProposal,
    RangeLine,
    ReplenishmentRun,
    SuggestedLine,
    TransferProposal,
)
from retail.services import ranging, replenishment
from tests.committing import inventory
from tests.ranging.helpers import MONDAY, forecast, proposal, range_world


@pytest.fixture
def world(session):
    w = range_world(session)
    a, b, c, dc = w["a"], w["b"], w["c"], w["dc"]
    inventory.receive_purchase(session, location_id=dc.id, sku="RK-MAX2-BLK", quantity=10,
                               serials=[f"SN-D{i}" for i in range(10)])
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=10)
    inventory.receive_purchase(session, location_id=a.id, sku="RK-AIR-OLD", quantity=1, serials=["SN-OLD1"])
    inventory.move_demo(session, store_id=a.id, sku="RK-AIR-OLD", quantity=1, to_display=True, serials=["SN-OLD1"])
    inventory.receive_purchase(session, location_id=c.id, sku="RK-MAX2-BLK", quantity=2, serials=["SN-C1", "SN-C2"])
    w["means"] = [(a, w["glasses"], 1.0), (a, w["station"], 0.3), (a, w["case"], 0.5), (a, w["old"], 0.05),
                  (b, w["station"], 0.3), (c, w["glasses"], 0.05)]
    w["run"] = forecast(session, w["means"])
    return w


def _approve(session, world, cells):
    rows = [proposal(session, store, product, decision) for store, product, decision in cells]
    ranging.decide_proposals(session, world["planner"], proposal_ids=[r.id for r in rows], approve=True)


def _lines(session, run):
    return {(ln.location_id, ln.product_id): ln for ln in session.execute(
        select(SuggestedLine).where(SuggestedLine.run_id == run.id)).scalars()}


def _range_lines(session, run):
    return {(r.location_id, r.product_id, r.kind): r for r in session.execute(
        select(RangeLine).where(RangeLine.run_id == run.id)).scalars()}


def test_lines_follow_stock_show_and_none_cells(session, world):
    a, c = world["a"], world["c"]
    glasses, station, case, old = world["glasses"], world["station"], world["case"], world["old"]
    _approve(session, world, [(a, station, "show"), (a, case, "none"), (a, old, "none"), (c, glasses, "show"),
                              (a, glasses, "stock")])
    run = replenishment.plan(session, as_of=MONDAY)
    lines, extra = _lines(session, run), _range_lines(session, run)
    # stock: a sellable line from the policy
    assert lines[(a.id, glasses.id)].quantity >= 1 and "order_up_to" in lines[(a.id, glasses.id)].explanation
    # show, nothing there: one demo unit, no sellable stock
    demo = lines[(a.id, station.id)]
    assert demo.quantity == 1 and demo.explanation["reason"] == "demo_unit"
    assert replenishment.line_reasons(demo) == [("demo_unit", {})]
    # show with two on the shelf and no demo unit: one goes on display, the other back (no sellable stock)
    assert (c.id, glasses.id) not in lines
    assert extra[(c.id, glasses.id, "display")].quantity == 1
    assert (extra[(c.id, glasses.id, "return")].quantity, extra[(c.id, glasses.id, "return")].reason) == (1, "range_show")
    # none: nothing ordered, its ten units proposed back
    assert (a.id, case.id) not in lines
    back = extra[(a.id, case.id, "return")]
    assert (back.quantity, back.reason) == (10, "range_none")
    # the demo unit of a model at its end of life: a markdown with its price
    mark = extra[(a.id, old.id, "markdown")]
    assert mark.quantity == 1 and mark.reason == "demo_end_of_life"
    assert mark.detail["price"] == pytest.approx(1999 * 0.7) and mark.detail["currency"] == "CNY"
    assert (a.id, old.id) not in lines
    assert run.config["ranged_cells"] == 5
    assert replenishment.range_lines(session, run_id=run.id, store_id=c.id) == [
        extra[(c.id, glasses.id, "display")], extra[(c.id, glasses.id, "return")]]


def test_the_dc_buys_for_the_stores_and_the_pooled_show_demand(session, world):
    a, b, station = world["a"], world["b"], world["station"]
    plain = replenishment.plan(session, as_of=MONDAY)
    _approve(session, world, [(a, station, "show")])
    again = forecast(session, world["means"])  # the same forecast again: a second plan for the same week
    ranged = replenishment.plan(session, as_of=MONDAY, forecast_run_id=again.id)

    def cover(run):
        return session.execute(select(PurchaseProposal.explanation).where(
            PurchaseProposal.run_id == run.id, PurchaseProposal.product_id == station.id)).scalar_one()["forecast_cover"]

    weeks = cover(plain) / (0.3 + 0.3)  # without a range both stores' demand, over the brand's lead time + review
    assert weeks == pytest.approx(3)
    assert cover(ranged) == pytest.approx(weeks * (0.3 + 0.6 * 0.3))  # B stocks; A's customers wait at 60 %
    assert b.market == "HK"


def test_without_an_approved_range_the_plan_is_the_same(session, world):
    a, glasses = world["a"], world["glasses"]
    before = replenishment.plan(session, as_of=MONDAY)
    proposal(session, a, glasses, "none")  # proposed, not approved
    rejected = proposal(session, a, world["case"], "none", week=MONDAY - timedelta(weeks=1))
    ranging.decide_proposals(session, world["planner"], proposal_ids=[rejected.id], approve=False)
    later = proposal(session, a, world["station"], "none", week=MONDAY + timedelta(weeks=1))
    ranging.decide_proposals(session, world["planner"], proposal_ids=[later.id], approve=True)  # not yet in force
    after = replenishment.plan(session, as_of=MONDAY, forecast_run_id=forecast(session, world["means"]).id)

    def shape(run):
        lines = sorted((ln.location_id, ln.product_id, ln.quantity, ln.text) for ln in _lines(session, run).values())
        buys = sorted(session.execute(select(PurchaseProposal.dc_id, PurchaseProposal.product_id,
                                             PurchaseProposal.quantity).where(PurchaseProposal.run_id == run.id)).all())
        moves = sorted(session.execute(select(TransferProposal.from_location_id, TransferProposal.to_location_id,
                                              TransferProposal.quantity).where(TransferProposal.run_id == run.id)).all())
        return lines, buys, moves, _range_lines(session, run)

    assert shape(after) == shape(before) and shape(before)[0]
    assert after.config["ranged_cells"] == 0


def test_the_plan_uses_the_latest_calibration_and_says_so(session, world, app):
    a, glasses = world["a"], world["glasses"]
    default = replenishment.plan(session, as_of=MONDAY)
    assert default.config["hold_per_kcny"] == replenishment.HOLD_PER_KCNY and default.config["target"] is None
    assert (a.id, glasses.id) in _lines(session, default)
    replenishment.record_calibration(session, target=0.9, value=0.002, achieved=0.91)
    cal = replenishment.record_calibration(session, target=0.96, value=0.9, achieved=0.962)  # the latest wins
    run = replenishment.plan(session, as_of=MONDAY, forecast_run_id=forecast(session, world["means"]).id)
    assert (run.config["hold_per_kcny"], run.config["target"], run.config["calibration_id"]) == (0.9, 0.96, cal.id)
    # at 0.9 per 1,000 CNY a 2,100 CNY unit is held only if it surely sells: the glasses are not ordered
    assert (a.id, glasses.id) not in _lines(session, run)
    assert replenishment.latest_run_config(session)["target"] == 0.96


def test_a_tier_calibration_applies_to_that_tier_only(session, world):
    a, b, station = world["a"], world["b"], world["station"]
    session.get(Location, b.id).city_tier = 2
    session.commit()
    replenishment.record_calibration(session, target=0.99, value=0.9, achieved=0.99, scope="tier", scope_key="1")
    run = replenishment.plan(session, as_of=MONDAY)
    lines = _lines(session, run)
    # the bar a unit must clear: parameter x unit cost (800 CNY) / 1,000
    assert lines[(a.id, station.id)].explanation["hold_bar"] == pytest.approx(0.9 * 0.8)  # tier 1: calibrated
    assert lines[(b.id, station.id)].explanation["hold_bar"] == pytest.approx(replenishment.HOLD_PER_KCNY * 0.8)
    assert lines[(a.id, station.id)].quantity < lines[(b.id, station.id)].quantity
    assert run.config["calibrations"][0]["scope"] == "tier"


def test_calibrations_are_bounded(session, world):
    from retail import errors

    for bad in ({"target": 1.2}, {"value": 0}, {"achieved": -0.1}, {"scope": "store"}):
        with pytest.raises(errors.InvalidValue):
            replenishment.record_calibration(session, **{"target": 0.96, "value": 0.004, "achieved": 0.96, **bad})


def test_commands_plan_and_propose(app, session, world):
    runner = app.test_cli_runner()
    replenishment.record_calibration(session, target=0.96, value=0.004, achieved=0.961)
    out = runner.invoke(args=["ranging", "propose", "--week", MONDAY.isoformat()])
    assert out.exit_code == 0, out.output
    assert "range proposal for week 2026-11-30" in out.output
    assert "new proposals" in runner.invoke(args=["ranging", "propose", "--week", MONDAY.isoformat()]).output
    out = runner.invoke(args=["replenish", "plan", "--as-of", MONDAY.isoformat()])
    assert out.exit_code == 0, out.output
    assert "hold_per_kcny 0.004 calibrated to demand served >= 96.0%" in out.output
    out = runner.invoke(args=["ranging", "settings"])
    assert '"slots"' in out.output
    assert session.execute(select(ReplenishmentRun)).first() is not None


def test_calibrate_if_needed_skips_a_stored_calibration_of_that_policy_and_target(app, session, world):
    """`make run` calibrates the range with --if-needed: a second `make run` does not replay the year again."""
    from retail.models import PolicyCalibration

    runner = app.test_cli_runner()
    replenishment.record_calibration(session, target=0.95, value=4665.0, achieved=0.954, policy_name="ranging",
                                     parameter="serve_value")
    ask = ["replenish", "calibrate", "--target", "0.95", "--policy", "ranging", "--if-needed"]
    out = runner.invoke(args=ask)
    assert out.exit_code == 0 and "stored already: nothing to do" in out.output, out.output
    assert len(session.execute(select(PolicyCalibration)).all()) == 1
    # another target, or the other policy, is not stored: it is calibrated (a replay of this small world's year)
    for n, other in enumerate((["--target", "0.96", "--policy", "ranging"], ["--target", "0.95", "--policy", "ours"])):
        out = runner.invoke(args=["replenish", "calibrate", *other, "--if-needed"])
        assert out.exit_code == 0 and "stored already" not in out.output, (other, out.output)
        session.rollback()  # a new snapshot: the command committed in its own session
        assert len(session.execute(select(PolicyCalibration)).all()) == 2 + n


def test_a_calibration_by_tier_is_stored_per_tier_and_read_by_the_plan(session, world):
    """forecasting.calibration's answer (its `Calibration`, one value per tier) stored as one PolicyCalibration per
    tier with that tier's demand served; the plan reads each tier's value."""
    calibration = pytest.importorskip("forecasting.calibration")
    a, b, station = world["a"], world["b"], world["station"]
    session.get(Location, b.id).city_tier = 2
    session.commit()
    result = calibration.Calibration(policy="ours", parameter="hold_per_kcny", target=0.96, by="tier",
                                     value={1: 0.9, 2: 0.002}, demand_served=0.961, reached=True, weeks=52,
                                     first_week="2025-11-24", last_week="2026-11-16", runs=9,
                                     served_by_group={1: 0.955, 2: 0.97})
    stored = [replenishment.record_calibration(session, target=0.96, scope="tier", **row)
              for row in replenishment._calibration_rows(result)]
    assert sorted((c.scope_key, c.value, c.achieved) for c in stored) == [("1", 0.9, 0.955), ("2", 0.002, 0.97)]
    assert stored[0].detail["runs"] == 9 and stored[0].detail["network_served"] == 0.961
    lines = _lines(session, replenishment.plan(session, as_of=MONDAY))
    assert lines[(a.id, station.id)].explanation["hold_bar"] == pytest.approx(0.9 * 0.8)
    assert lines[(b.id, station.id)].explanation["hold_bar"] == pytest.approx(0.002 * 0.8)


def test_calibrate_refuses_a_target_or_grouping_out_of_bounds(session, world):
    from retail import errors

    for bad in ({"target": 0.2}, {"target": True}, {"target": 0.96, "by": "store"}):
        with pytest.raises(errors.InvalidValue):
            replenishment.calibrate(session, **bad)
