"""One home per rule: every service verb checks its own scope, whatever calls it (issue 9).

The verbs are found by walking `retail.services`, not listed by hand: a public function that takes a
session and is not marked (verb, query, job or public) fails the first test, and every verb is called
directly, with no view in front, by actors outside its scope: it must refuse before it writes anything.
Objects named by id (a delivery, a count, a sale, an order, a transfer request) of another store are
NotFound to a store that is allowed to act in its own scope.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from sqlalchemy import func, select

import retail.services
from retail import errors
from retail.models import AuditLog, Brand, Movement, StockCount, TransferRequest, User
from retail.services import counts, deliveries, replenishment, returns, transfers
from retail.services.verbs import ADMIN, BRAND, NETWORK, SELF, STORE
from tests.committing import inventory, shipments
from tests.factories import on_the_mainland, small_world

# Modules used only from inside verbs (their own import-linter contract keeps adapters out).
INTERNAL = ("retail.services.ledger", "retail.services.audit", "retail.services.verbs", "retail.services.inventory")
KINDS = {"verb", "query", "job", "public"}


def service_functions():
    for info in pkgutil.walk_packages(retail.services.__path__, "retail.services."):
        if info.name.startswith(INTERNAL):
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            if list(inspect.signature(function).parameters)[:1] in (["session"], ["engine"]):
                yield f"{info.name.rsplit('.', 1)[1]}.{name}", function


VERBS = sorted((name, f) for name, f in service_functions() if getattr(f, "service_kind", None) == "verb")


def test_every_public_service_function_declares_its_kind():
    unmarked = [name for name, f in service_functions() if getattr(f, "service_kind", None) not in KINDS]
    assert unmarked == [], f"mark these @verb(scope), @query, @job or @public: {unmarked}"
    assert len(VERBS) >= 25, [name for name, _ in VERBS]  # the walk found the verbs (it can fail)


@pytest.fixture
def world(session):
    w = small_world(session)
    people = {
        "staff_b": User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=w["b"].id),
        "manager_b": User(email="manager@b.example.com", name="B manager", role="store_manager", store_id=w["b"].id),
        "manager_a": User(email="manager@a.example.com", name="A manager", role="store_manager", store_id=w["a"].id),
        "partner": User(email="partner@rokid.example.com", name="Rokid", role="brand_partner", brand_id=w["brand"].id),
        "gone_staff_a": User(email="gone@a.example.com", name="Left A", role="store_staff", store_id=w["a"].id,
                             active=False),
        "gone_planner": User(email="gone-planner@example.com", name="Left planner", role="planner", active=False),
        "gone_admin": User(email="gone-admin@example.com", name="Left admin", role="admin", active=False),
        "planner": User(email="planner@example.com", name="Planner", role="planner"),
        "integration_b": User(email="api.b@integrations.invalid", name="B's POS", role="integration",
                              store_id=w["b"].id),
    }
    other_brand = Brand(code="HW", name="Huawei", name_zh="华为")
    session.add(other_brand)
    session.flush()
    people["other_partner"] = User(email="partner@huawei.example.com", name="Huawei", role="brand_partner",
                                   brand_id=other_brand.id)
    people["other_integration"] = User(email="api.hw@integrations.invalid", name="Huawei ERP", role="integration",
                                       brand_id=other_brand.id)
    people["gone_partner"] = User(email="gone@rokid.example.com", name="Left Rokid", role="brand_partner",
                                  brand_id=w["brand"].id, active=False)
    session.add_all(people.values())
    session.commit()
    w.update(people)
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-MAX2-BLK", quantity=2, serials=["SN-A1", "SN-A2"])
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-CASE", quantity=5)
    inventory.receive_purchase(session, location_id=w["b"].id, sku="RK-CASE", quantity=5)
    return w


def outsiders(world, scope: str) -> dict[str, User | None]:
    """Who must be refused, for a verb acting on store A (or on the network, or in administration)."""
    nobody = {"no actor": None}
    if scope == STORE:
        return {**nobody, "staff of store B": world["staff_b"], "manager of store B": world["manager_b"],
                "brand partner": world["partner"], "deactivated staff of store A": world["gone_staff_a"],
                "deactivated planner": world["gone_planner"], "store B's integration": world["integration_b"],
                "a brand's integration": world["other_integration"]}
    if scope == BRAND:  # a verb acting for the world's brand (Rokid)
        return {**nobody, "another brand's partner": world["other_partner"],
                "another brand's integration": world["other_integration"], "store manager": world["manager_a"],
                "store's integration": world["integration_b"], "deactivated partner": world["gone_partner"],
                "deactivated planner": world["gone_planner"]}
    if scope == NETWORK:
        return {**nobody, "store staff": world["staff"], "store manager": world["manager_a"],
                "brand partner": world["partner"], "deactivated planner": world["gone_planner"],
                "store's integration": world["integration_b"], "brand's integration": world["other_integration"]}
    if scope == ADMIN:
        return {**nobody, "planner": world["planner"], "store manager": world["manager_a"],
                "brand partner": world["partner"], "deactivated admin": world["gone_admin"]}
    assert scope == SELF
    return {**nobody, "deactivated staff": world["gone_staff_a"]}


def placeholder_arguments(function, world) -> dict:
    """Values for every keyword the verb requires: the refusal must come before any of them is read."""
    values = {}
    for name, parameter in list(inspect.signature(function).parameters.items())[2:]:
        if name == "store_id":
            values[name] = world["a"].id
        elif name == "brand_id":
            values[name] = world["brand"].id
        elif parameter.default is inspect.Parameter.empty:
            values[name] = 1 if name.endswith("_id") else "x"
    return values


def _ledger_size(session) -> tuple[int, int]:
    return (session.execute(select(func.count()).select_from(Movement)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditLog)).scalar_one())


def test_every_verb_refuses_every_actor_outside_its_scope(session, world):
    before = _ledger_size(session)
    accepted = []
    for name, verb in VERBS:
        for who, actor in outsiders(world, verb.scope).items():
            try:
                verb(session, actor, **placeholder_arguments(verb, world))
            except errors.Forbidden:
                continue
            except Exception as exc:  # refused for another reason: the scope check did not come first
                accepted.append(f"{name} as {who}: {type(exc).__name__}")
            else:
                accepted.append(f"{name} as {who}: accepted")
    assert accepted == []
    assert _ledger_size(session) == before


def test_store_verbs_do_not_reach_another_stores_objects(session, world):
    """Store A's manager, acting in store A, names objects of store B by id: NotFound, nothing moves."""
    a, b, manager = world["a"].id, world["b"].id, world["manager_a"]
    inventory.receive_purchase(session, location_id=world["dc"].id, sku="RK-CASE", quantity=3)
    shipment = shipments.ship(session, from_location_id=world["dc"].id, to_location_id=b, reference="SH-B",
                              lines=[shipments.Line("RK-CASE", 1)])
    sale_b = inventory.record_sale(session, store_id=b, sku="RK-CASE", reference="R-B1")
    count_b = counts.submit_count(session, world["manager_b"], store_id=b, counted={"RK-CASE": 0}, reason="test")
    session.execute(StockCount.__table__.update().where(StockCount.id == count_b.id).values(status="pending_approval"))
    session.commit()
    on_the_mainland(session, world["b"])
    ask = transfers.request_transfer(session, world["staff_b"], store_id=b, from_store_code="S0001", sku="RK-CASE",
                                     quantity=1)
    before = _ledger_size(session)
    attempts = {
        "receive B's delivery": lambda: deliveries.receive(session, manager, store_id=a, shipment_id=shipment.id,
                                                           received={}),
        "decide B's count": lambda: counts.decide_count(session, manager, store_id=a, count_id=count_b.id,
                                                        approve=True),
        "return B's sale by number": lambda: returns.record_return(session, manager, store_id=a, sale_id=sale_b.id),
        "return B's sale by receipt": lambda: returns.record_return(session, manager, store_id=a, receipt="R-B1",
                                                                    sku="RK-CASE", quantity=1),
        "cancel B's request": lambda: transfers.cancel_transfer(session, manager, store_id=a, transfer_id=999_999),
        "receive B's order": lambda: replenishment.receive(session, manager, store_id=a, order_id=999_999),
    }
    for what, attempt in attempts.items():
        with pytest.raises(errors.NotFound):
            attempt()
        assert _ledger_size(session) == before, what
    assert session.get(TransferRequest, ask.id).status == "requested"
