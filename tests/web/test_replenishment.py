"""Replenishment review: the suggested order of the latest plan, edited and submitted by the store manager;
and the stored forecast with its band on the store home."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from retail.models import (
    ForecastRun,
    ForecastSeries,
    ReplenishmentOrder,
    ReplenishmentOrderLine,
    ReplenishmentRun,
    SuggestedLine,
)
from tests.web.factories import post, sign_in


@pytest.fixture
def plan(session, world):
    forecast = ForecastRun(start_week=date(2026, 11, 23), horizon=3, quantiles=[0.5, 0.8, 0.95])
    session.add(forecast)
    session.flush()
    session.add(ForecastSeries(run_id=forecast.id, location_id=world["a"].id, product_id=world["case"].id,
                               mean=[0.6, 0.8, 1.2], quantiles={"p50": [0, 1, 1], "p80": [1, 1, 2], "p95": [2, 3, 4]}))
    run = ReplenishmentRun(forecast_run_id=forecast.id, as_of=date(2026, 11, 23))
    session.add(run)
    session.flush()
    for product, quantity in ((world["glasses"], 2), (world["case"], 5)):
        session.add(SuggestedLine(run_id=run.id, location_id=world["a"].id, product_id=product.id,
                                  quantity=quantity, explanation={}, text=f"cover for {product.sku}"))
    session.commit()
    return run


def test_staff_sees_the_suggestion_but_cannot_submit(client, world, plan, session):
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}/replenishment").get_data(as_text=True)
    assert "建议：5" in page and "补货单由店长提交" in page and "提交补货单" not in page
    assert post(client, f"/stores/{world['a'].id}/replenishment", {}).status_code == 403
    assert session.execute(select(ReplenishmentOrder)).first() is None


def test_manager_edits_and_submits_the_order(client, world, plan, session):
    sign_in(client, "manager@a.example.com")
    a = world["a"].id
    bad = post(client, f"/stores/{a}/replenishment", {f"qty-{world['case'].id}": "-2",
                                                      f"qty-{world['glasses'].id}": "1"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "-2" in page and f'name="qty-{world["glasses"].id}" value="1"' in page
    assert session.execute(select(ReplenishmentOrder)).first() is None
    done = post(client, f"/stores/{a}/replenishment", {f"qty-{world['case'].id}": "３",
                                                       f"qty-{world['glasses'].id}": "0"})
    assert done.status_code == 302
    order = session.execute(select(ReplenishmentOrder)).scalar_one()
    assert (order.location_id, order.from_location_id, order.status, order.submitted_by) == (
        a, world["dc"].id, "submitted", world["manager"].id)
    lines = dict(session.execute(select(ReplenishmentOrderLine.product_id, ReplenishmentOrderLine.quantity)).all())
    assert lines == {world["case"].id: 3}  # 0 dropped the glasses
    assert "已提交" in client.get(f"/stores/{a}/replenishment").get_data(as_text=True)
    assert session.execute(select(SuggestedLine.order_id).where(SuggestedLine.run_id == plan.id)).scalars().all() \
        == [order.id, order.id]


def test_store_without_a_plan_says_so(client, world):
    sign_in(client, "manager@a.example.com")
    assert "暂无建议补货单" in client.get(f"/stores/{world['a'].id}/replenishment").get_data(as_text=True)


def test_home_shows_the_stored_forecast_with_its_band(client, world, plan):
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}?sku=RK-CASE").get_data(as_text=True)
    assert "第 50 至第 95 百分位" in page
    assert 'class="band"' in page and 'class="mean"' in page
