"""Schemathesis, an independent property-based client from PyPI, against the API served by gunicorn:
every operation of /api/v1/openapi.json, with a valid key of the operation's kind (brand or store),
positive and negative cases. No 5xx, no status, content type, header or body outside the document, and
invalid input refused with a 4xx. Each operation must have been called at least 30 times with distinct
generated cases (an operation with no input at all has one possible request: it is called once)."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, create_engine

from tests.api.factories import api_world
from tests.api.live import copy_template, gunicorn

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
MIN_CASES = 30
CALLS: Counter = Counter()
INPUTLESS: set = set()


@pytest.fixture(scope="module")
def live_api(sqlite_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    url = copy_template(sqlite_template, folder / "api.db")
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        world = api_world(session)
    engine.dispose()
    # A high rate limit: the fuzzer sends thousands of requests with one key (the limit has its own test).
    with gunicorn(url, folder / "gunicorn.log", API_RATE_LIMIT="100000/minute") as base:
        yield base, world["keys"]


@pytest.fixture(scope="module")
def api_schema(live_api):
    base, _keys = live_api
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=45, deterministic=True,
                                    # the key is ours to send (below): not a parameter to mutate
                                    with_security_parameters=False)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


def _key_for(path: str, keys: dict) -> str:
    return keys["store"] if path.startswith("/api/v1/store") else keys["brand"]


@schema.parametrize()
@settings(max_examples=45, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_holds_to_its_document(case, live_api):
    base, keys = live_api
    operation = f"{case.method.upper()} {case.path}"
    if not case.operation.path_parameters and not case.operation.query and not case.operation.body \
            and not case.operation.headers:
        INPUTLESS.add(operation)
    headers = {"Authorization": f"Bearer {_key_for(case.path, keys)}"}
    case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
    CALLS[operation] += 1


def test_every_operation_was_called_at_least_30_times(api_schema):
    operations = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert len(operations) >= 1
    short = {op: CALLS[op] for op in operations if CALLS[op] < (1 if op in INPUTLESS else MIN_CASES)}
    print("schemathesis calls per operation:", dict(sorted(CALLS.items())))
    assert short == {}, f"operations called fewer than {MIN_CASES} times: {short}"
