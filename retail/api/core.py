"""The conventions of the partner API, each in one place: who is calling (bearer keys), what they may do
(tenant and scope), how a refusal reads (RFC 9457 problem+json in the key's language), retries
(`Idempotency-Key`), rate limits per key, cursor pagination and the CSV representation of lists.

Views (retail/api/brand.py, store.py) stay thin: they parse with the pydantic models of their signature,
call `caller()`, one service function, and answer with `ok()`, `page()` or `write()`.
"""
from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, is_dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from flask import Response, current_app, g, request
from flask_babel import force_locale
from flask_openapi3 import APIBlueprint, Tag
from limits import parse as parse_limit
from limits.storage import RedisStorage, storage_from_string
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import HTTPException

from retail import changes, errors
from retail.db import new_session
from retail.messages import describe, message
from retail.models import ApiResponse, utcnow
from retail.request_db import db_session
from retail.services import api_keys, customer_orders
from retail.services.verbs import transaction

PROBLEM_TYPE = "/api/v1/problems/{code}"
PROBLEM_JSON = "application/problem+json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_PAGE = 500


# ---------------------------------------------------------------- models shared by every operation

class Problem(BaseModel):
    """RFC 9457 problem details. `code` is stable and machine-readable; `detail` is in the key's language."""

    type: str = Field(examples=["/api/v1/problems/insufficient_stock"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["Only 1 of RK-MAX2-BLK in stock at S0001; 2 requested."])
    code: str = Field(examples=["insufficient_stock"])
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per field or per row, when several.")


class Money(BaseModel):
    amount: str = Field(pattern=r"^-?\d{1,10}\.\d{2}$", examples=["1999.00"], description="A decimal string.")
    currency: Literal["CNY", "HKD"]


_QUERY_SCHEMAS: dict = {}


class PageQuery(BaseModel):
    """Paging of every list. Unknown query parameters are ignored (flask-openapi3 reads the declared ones)."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs):
        """Kept per class: flask-openapi3 asks for the query model's schema on every request (about 1 ms)."""
        key = (cls, args, tuple(sorted(kwargs.items(), key=lambda item: item[0])))
        schema = _QUERY_SCHEMAS.get(key)
        if schema is None:
            schema = _QUERY_SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(schema)

    cursor: Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z0-9_=-]*$",
                                 description="`next_cursor` of the previous page; empty for the first.")] = ""
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description="Items per page (1 to 500).")] = 50
    format: Annotated[Literal["json", "csv"], Field(description="`csv` for a spreadsheet (one page).")] = "json"


class WriteHeaders(BaseModel):
    idempotency_key: Annotated[str, Field(
        alias="Idempotency-Key", pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Any unique value (a UUID) per intended write: a retry with the same key and body gets the "
                    "first response again and changes nothing; the same key with another body is refused (422).",
    )] = ""


def _problem_response(description: str) -> dict:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema(ref_template="#/components/schemas/{model}")}}}


# Responses every operation may give (documented once, on each blueprint).
COMMON_RESPONSES = {
    "401": _problem_response("No key, an unknown key or a revoked one"),
    "403": _problem_response("The key's tenant or scope does not allow this"),
    "404": _problem_response("No such object for this key's brand or store"),
    "422": _problem_response("The request is invalid or refused by a business rule"),
    "429": _problem_response("Too many requests for this key: wait for Retry-After seconds"),
}
WRITE_RESPONSES = {
    "409": _problem_response("The object already exists (a reference or a serial number used before)"),
}


# ---------------------------------------------------------------- problems

STATUS_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed", 413: "Content Too Large",
                 415: "Unsupported Media Type", 422: "Unprocessable Content", 428: "Precondition Required",
                 429: "Too Many Requests", 500: "Internal Server Error"}
STATUS_BY_ERROR: list[tuple[type, int]] = [
    (errors.Unauthenticated, 401),
    (errors.ReadOnlyKey, 403), (errors.WrongTenant, 403), (errors.Forbidden, 403),
    (errors.UnknownProduct, 422), (errors.UnknownLocation, 422),
    (errors.NotFound, 404),
    (errors.VersionMismatch, 412), (errors.VersionRequired, 428),
    (errors.AlreadyExists, 409), (errors.DuplicateReference, 409), (errors.DuplicateSerial, 409),
    # the object is no longer in a state to do this (received, answered, decided): a conflict, not bad input
    (errors.ShipmentClosed, 409), (errors.TransferClosed, 409), (errors.CountClosed, 409),
    (errors.PurchaseLineClosed, 409),
    (customer_orders.CustomerOrderClosed, 409), (customer_orders.CustomerOrderTransferAnswered, 409),
]
CONFLICT_CODES = frozenset({"order_state_conflict"})  # raised by services/replenishment.py


def _language() -> str:
    found = g.get("caller")
    return found.language if found is not None else "en"


def problem(status: int, code: str, detail: str, *, extra_errors: list | None = None,
            headers: dict | None = None) -> Response:
    body = {"type": PROBLEM_TYPE.format(code=code), "title": STATUS_TITLES.get(status, "Error"), "status": status,
            "detail": detail, "code": code, "instance": request.path}
    if extra_errors:
        body["errors"] = extra_errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="retail-api"'
    return response


def status_of(exc: errors.DomainError) -> int:
    if exc.code in CONFLICT_CODES:
        return 409
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 422


def refusal(exc: errors.DomainError, *, extra_errors: list | None = None) -> Response:
    """A refused request as problem+json, its sentence in the caller's language."""
    with force_locale(_language()):
        detail = describe(exc)
    return problem(status_of(exc), exc.code, detail, extra_errors=extra_errors)


def coded(status: int, code: str, **params) -> Response:
    with force_locale(_language()):
        detail = message(code, params)
    return problem(status, code, detail)


def validation_problem(exc) -> Response:
    """flask-openapi3's hook for a request its pydantic models refuse: 422 with the fields at fault."""
    items = [{"field": ".".join(str(part) for part in error.get("loc", ())), "message": error.get("msg", "")}
             for error in exc.errors(include_url=False, include_input=False)][:50]
    with force_locale(_language()):
        detail = message("invalid_request", {"count": len(items)})
    return problem(422, "invalid_request", detail, extra_errors=items)


# ---------------------------------------------------------------- blueprints

def blueprint(name: str, url_prefix: str, tag: str, description: str = "") -> APIBlueprint:
    """An API blueprint with the conventions attached: key, scope and rate limit before every view;
    problems for every refusal; rate-limit headers on every answer."""
    bp = APIBlueprint(name, __name__, url_prefix=url_prefix, abp_tags=[Tag(name=tag, description=description)],
                      abp_security=[{"bearerAuth": []}], abp_responses=COMMON_RESPONSES)
    bp.before_request(_read_without_transaction)
    bp.before_request(authenticate_request)
    tenant = url_prefix.rstrip("/").rsplit("/", 1)[-1]
    if tenant in ("brand", "store"):  # the key's kind is checked before the request is read (403, not 422)
        bp.before_request(_require_brand if tenant == "brand" else _require_store)
    bp.after_request(add_rate_headers)
    bp.register_error_handler(errors.DomainError, refusal)
    bp.register_error_handler(RateLimited, too_many)
    bp.register_error_handler(HTTPException, http_problem)
    return bp


def http_problem(exc: HTTPException) -> Response:
    response = problem(exc.code or 500, f"http_{exc.code}", exc.description or exc.name)
    if exc.code == 405:  # keep werkzeug's Allow header
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def too_many(exc: RateLimited) -> Response:
    response = coded(429, "rate_limited", seconds=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return add_rate_headers(response)


# ---------------------------------------------------------------- the caller

def caller() -> api_keys.Caller:
    return g.caller


def brand_id() -> int:
    """The calling key's brand; a store key on a brand operation is refused (403)."""
    found = caller()
    if found.brand_id is None:
        raise errors.WrongTenant(needed="brand", actual="store")
    return found.brand_id


def _require_brand() -> None:
    brand_id()


def _require_store() -> None:
    store_id()


def store_id() -> int:
    found = caller()
    if found.store_id is None:
        raise errors.WrongTenant(needed="store", actual="brand")
    return found.store_id


READS = frozenset({"GET", "HEAD"})


def _read_without_transaction() -> None:
    """A read on PostgreSQL runs each statement in autocommit: no BEGIN and ROLLBACK around it (two round
    trips of the four a one-query read took). Nothing changes for what it sees: under READ COMMITTED each
    statement takes its own snapshot anyway. The request's session (retail/request_db.py) is opened here,
    bound to the same pool with that option; writes keep their transactions."""
    if request.method not in READS or "db" in g:
        return
    engine = current_app.extensions.get("api_read_engine")
    if engine is None:
        base = current_app.extensions["engine"]
        engine = base.execution_options(isolation_level="AUTOCOMMIT") if base.dialect.name == "postgresql" else base
        current_app.extensions["api_read_engine"] = engine
    if engine is not current_app.extensions["engine"]:
        g.db = new_session(engine)


def authenticate_request() -> None:
    """`before_request` of the API blueprints: the key, then its scope, then its rate limit."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated()
    g.caller, count, g.data_generations = current_app.extensions["api_callers"].caller(token.strip())
    _rate_limit(g.caller.prefix, count)
    if request.method in WRITE_METHODS and "write" not in g.caller.scopes:
        raise errors.ReadOnlyKey()


# ---------------------------------------------------------------- callers kept, rate limits

KEY_CACHE_SECONDS = 5.0  # an authenticated key is trusted this long without reading its row again
KEY_CACHE_SIZE = 10_000
GENERATION_KEY = "retail-api/key-generation"
# One round trip per request: count the request in its window, read the keys' generation and the data
# generations of the tables whose answers are kept (KEYS[3:]).
_HIT = """
local count = redis.call("incrby", KEYS[1], 1)
if count == 1 then redis.call("expire", KEYS[1], ARGV[1]) end
local out = {count, redis.call("get", KEYS[2]) or "0"}
for i = 3, #KEYS do out[i] = redis.call("get", KEYS[i]) or "0" end
return out
"""
# Answers kept by the data they were read from (`data_version`): a commit that writes one of these tables
# renews them (retail/changes.py, through Redis). Stock reads balances, movements (sales rates, last sale),
# products, brands and locations; forecasts read runs and their series.
STOCK_TABLES = ("stock_balance", "movement", "product", "brand", "location")
FORECAST_TABLES = ("forecast_run", "forecast_series", "product", "location")
KEPT_TABLES = tuple(dict.fromkeys(STOCK_TABLES + FORECAST_TABLES))
KEPT_SECONDS = 60  # and at most this long: writes no session saw (bulk loads, other programs), rolling windows


class RateLimited(Exception):  # noqa: N818 - answered as 429, not a business refusal
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class _Counters:
    """Rate counts per key and window, the generation of the keys (moved by every revocation or rotation,
    `api_keys.on_change`) and the data generations of KEPT_TABLES in this app's database (moved by every commit
    that writes one, `changes.on_commit`): in Redis when REDIS_URL is set (shared by every worker and by the
    command line), else the counts in this process's memory and no generations (nothing shared to renew
    kept answers by: `data_version` is None)."""

    def __init__(self, storage_uri: str, database: str = ""):
        self.storage = storage_from_string(storage_uri)
        self.redis = None
        if isinstance(self.storage, RedisStorage):
            self.redis = self.storage.get_connection()
            self._hit = self.redis.register_script(_HIT)
            self.generation_key = self.storage.prefixed_key(GENERATION_KEY)
            self.data_keys = [self._data_key(database, table) for table in KEPT_TABLES]
            api_keys.on_change(f"redis:{storage_uri}", self.move)
            changes.on_commit(f"redis:{storage_uri}", self.tables_changed)

    def _data_key(self, database: str, table: str) -> str:
        digest = hashlib.sha256(database.encode()).hexdigest()[:16]
        return self.storage.prefixed_key(f"retail-api/data/{digest}/{table}")

    def hit(self, key: str, expiry: int) -> tuple[int, int, tuple[int, ...] | None]:
        """Count one request under `key`; (the count in its window, the keys' shared generation, the data
        generations of KEPT_TABLES or None without Redis)."""
        if self.redis is None:
            return self.storage.incr(key, expiry), 0, None
        count, generation, *data = self._hit(keys=[self.storage.prefixed_key(key), self.generation_key,
                                                   *self.data_keys], args=[expiry])
        return int(count), int(generation), tuple(int(x) for x in data)

    def generation(self) -> int:
        return 0 if self.redis is None else int(self.redis.get(self.generation_key) or 0)

    def move(self) -> None:
        if self.redis is not None:
            self.redis.incr(self.generation_key)

    def tables_changed(self, database: str, tables: frozenset[str]) -> None:
        """After a commit in this process: move the data generations of the kept tables it wrote."""
        moved = [table for table in KEPT_TABLES if table in tables]
        if self.redis is not None and moved:
            with self.redis.pipeline(transaction=False) as pipe:
                for table in moved:
                    pipe.incr(self._data_key(database, table))
                pipe.execute()


@dataclass(frozen=True)
class _Kept:
    caller: api_keys.Caller
    until: float  # time.monotonic()
    local: int  # api_keys.generation() when it was read
    shared: int  # _Counters.generation() when it was read


class Callers:
    """The callers of the last KEY_CACHE_SECONDS, by a hash of their bearer token, so that the common call
    costs no query: a kept caller is used while it is young and no key was revoked or rotated since it was
    read (this process's generation, and the shared one read with the rate count). A revocation or rotation
    is refused at once; a change elsewhere (its tenant or account deactivated) within KEY_CACHE_SECONDS.
    Unknown and refused keys are never kept: they are read every time."""

    def __init__(self, counters: _Counters, limit, seconds: float = KEY_CACHE_SECONDS):
        self.counters, self.limit, self.seconds = counters, limit, seconds
        self._kept: dict[bytes, _Kept] = {}

    def window(self) -> tuple[int, int, int]:
        """(period, window number, seconds to its end) of the rate limit now."""
        period, now = self.limit.get_expiry(), time.time()
        window = int(now // period)
        return period, window, max(1, math.ceil((window + 1) * period - now))

    def caller(self, token: str) -> tuple[api_keys.Caller, int, tuple[int, ...] | None]:
        """The caller `token` names (or Unauthenticated), the count of its requests in this window, and the
        data generations read with it (`_Counters.hit`): read before anything the answer reads."""
        digest = hashlib.sha256(token.encode()).digest()
        kept, count, data = self._kept.get(digest), None, None
        if kept is not None and (kept.until < time.monotonic() or kept.local != api_keys.generation()):
            kept = None
        if kept is not None:
            period, window, _ = self.window()
            count, shared, data = self.counters.hit(f"retail-api/{kept.caller.prefix}/{window}", period)
            if shared != kept.shared:
                kept = None
        if kept is None:
            self._kept.pop(digest, None)
            local, shared = api_keys.generation(), self.counters.generation()  # before the row is read
            found = api_keys.authenticate(db_session(), token)
            kept = _Kept(caller=replace(found, session=None), until=time.monotonic() + self.seconds, local=local,
                         shared=shared)
            if len(self._kept) >= KEY_CACHE_SIZE:
                self._kept.clear()
            self._kept[digest] = kept
        if count is None:
            period, window, _ = self.window()
            count, _shared, data = self.counters.hit(f"retail-api/{kept.caller.prefix}/{window}", period)
        return replace(kept.caller, session=db_session()), count, data


def init_rate_limits(app, *, storage_uri: str, limit: str) -> None:
    """Per key, in Redis when REDIS_URL is set (shared by every worker), else in this process's memory."""
    database = app.extensions["api_database"] = changes.database_name(app.extensions["engine"].url)
    app.extensions["api_callers"] = Callers(_Counters(storage_uri, database), parse_limit(limit))


def _rate_limit(prefix: str, count: int) -> None:
    """A fixed window aligned to the clock (GitHub's kind): one INCR per request, counted with the key."""
    callers = current_app.extensions["api_callers"]
    _period, _window, reset = callers.window()
    amount = callers.limit.amount
    g.rate_headers = {"X-RateLimit-Limit": str(amount), "X-RateLimit-Remaining": str(max(0, amount - count)),
                      "X-RateLimit-Reset": str(reset)}
    if count > amount:
        raise RateLimited(retry_after=reset)


def add_rate_headers(response: Response) -> Response:
    for name, value in (g.get("rate_headers") or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- answers

def plain(value):
    """JSON-ready: dates and times in ISO 8601 (UTC times with Z), decimals as strings."""
    if isinstance(value, datetime):  # stored in UTC (SQLite gives them back without a zone)
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def money(amount: Decimal | None, currency: str | None) -> dict | None:
    if amount is None or currency is None:
        return None
    return {"amount": f"{Decimal(amount):.2f}", "currency": currency}


def _json_default(value):
    if isinstance(value, datetime | date | Decimal):
        return plain(value)
    if is_dataclass(value):  # a service's row: its fields, as they are (json walks the rest)
        return vars(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(body) -> str:
    """JSON of an answer: times in UTC ISO 8601 with Z, dates ISO, decimals as strings (see `plain`)."""
    return json.dumps(body, ensure_ascii=False, default=_json_default)


def ok(body, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class _Answers:
    """Answers kept whole, for lists whose data change only with a new version (a forecast run): the key
    names the version, so a new one is answered at once; the oldest go first beyond MAX_BYTES."""

    MAX_BYTES = 32 * 1024 * 1024

    def __init__(self):
        self._kept: dict[tuple, tuple[int, bytes, str, list]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Response | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        status, body, mimetype, headers = kept
        response = Response(body, status=status, mimetype=mimetype)
        for name, value in headers:
            response.headers[name] = value
        return response

    def put(self, key: tuple, response: Response) -> None:
        body = response.get_data()
        if response.status_code != 200 or len(body) > self.MAX_BYTES // 8:
            return
        with self._lock:
            if key in self._kept:
                return
            self._kept[key] = (200, body, response.mimetype, [(k, v) for k, v in response.headers.items()
                                                              if k not in ("Content-Type", "Content-Length")])
            self._bytes += len(body)
            while self._bytes > self.MAX_BYTES:
                self._bytes -= len(self._kept.pop(next(iter(self._kept)))[1])


_ANSWERS = _Answers()


def data_version(tables: Sequence[str]) -> tuple | None:
    """What names the data an answer reads from `tables` (KEPT_TABLES): this database, the tables' data
    generations read with the key (before the answer's own reads, so a kept answer is never older than its
    version says) and the KEPT_SECONDS window. None without Redis: no generation is shared between the
    workers and the command line, so nothing may be kept."""
    generations = g.get("data_generations")
    if generations is None:
        return None
    by_table = dict(zip(KEPT_TABLES, generations, strict=True))
    return ("data", current_app.extensions["api_database"], tuple(by_table[t] for t in tables),
            int(time.time() // KEPT_SECONDS))


def kept_answer(version: tuple | None, build: Callable[[], Response]) -> Response:
    """The answer to this very request (path and query string, key's tenant) for data at `version`, built
    once by `build` and kept; None as the version keeps nothing."""
    if version is None:
        return build()
    found = caller()
    key = (version, found.brand_id, found.store_id, request.path, request.query_string)
    response = _ANSWERS.get(key)
    if response is None:
        response = build()
        _ANSWERS.put(key, response)
    return response


def encode_cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(plain(list(values))).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int = 1) -> list | None:
    """The position a cursor names, or None for the first page; a cursor this API did not give is 422."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise errors.InvalidValue(field="cursor", value=cursor[:40]) from None
    if not isinstance(values, list) or len(values) != arity or not all(
            isinstance(v, int | str) and not isinstance(v, bool) for v in values):
        raise errors.InvalidValue(field="cursor", value=cursor[:40])
    return values


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        value = f"{value['amount']} {value['currency']}"
    elif isinstance(value, dict | list) or is_dataclass(value):
        value = dumps(value)
    if isinstance(value, bool | int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text  # a spreadsheet must not run a cell as a formula


def page(items: Sequence[dict], *, next_cursor: str | None, query: PageQuery,
         columns: Iterable[str] | None = None) -> Response:
    """A page of a list: JSON `{data, next_cursor}` with a `Link: rel="next"` header, or CSV."""
    headers = {}
    if next_cursor:
        args = request.args.to_dict()
        args["cursor"] = next_cursor
        # URL-encoded: a client's odd parameter (non-Latin-1, CR LF) must not break the header (a 500)
        headers["Link"] = f'<{request.path}?{urlencode(args)}>; rel="next"'
    if query.format == "csv":
        columns = list(columns or (items[0].keys() if items else []))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for item in items:
            writer.writerow([_cell(item.get(column)) for column in columns])
        response = Response(buffer.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = "attachment; filename=export.csv"
        if next_cursor:
            response.headers["X-Next-Cursor"] = next_cursor
        for name, value in headers.items():
            response.headers[name] = value
        return response
    return ok({"data": list(items), "next_cursor": next_cursor}, headers=headers)


def page_of(rows: list, query: PageQuery, position: Callable[[Any], tuple]) -> tuple[list, str | None]:
    """Cut `rows` (fetched with limit + 1) to the page and give the cursor of the next one."""
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[:query.limit]
    return rows, encode_cursor(*position(rows[-1]))


# ---------------------------------------------------------------- writes and retries

def _fingerprint() -> str:
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.query_string,
                 request.headers.get("If-Match", "").encode(), canonical):
        digest.update(part + b"\0")
    return digest.hexdigest()


class _Refused(Exception):  # noqa: N818 - carries a refusal answered by the view itself out of the transaction
    def __init__(self, response: Response):
        self.response = response


def _run(handler: Callable[[], Response]) -> Response:
    response = handler()
    if response.status_code >= 400:  # answered as a refusal: nothing of it may be committed
        raise _Refused(response)
    return response


def write(handler: Callable[[], Response]) -> Response:
    """Run a write in one transaction (the verbs it calls join it). With an `Idempotency-Key`, the key is
    taken first in the same transaction: a concurrent twin waits on the unique index, then finds it taken;
    a retry with the same body gets the first response again, unchanged ('Idempotent-Replayed: true'); the
    same key with another body is refused (422). A refused request (an exception, or an answer of status 400
    or more) rolls back and records nothing, key included: it may be retried."""
    session = db_session()
    key = request.headers.get("Idempotency-Key", "")
    if key and not KEY_PATTERN.fullmatch(key):
        raise errors.InvalidValue(field="Idempotency-Key", value=key[:64])
    try:
        if not key:
            with transaction(session):
                return _run(handler)
        return _write_once(session, key, handler)
    except _Refused as refused:
        return refused.response


def _write_once(session, key: str, handler: Callable[[], Response]) -> Response:
    user_id, fingerprint = caller().user_id, _fingerprint()
    with transaction(session):
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        table = ApiResponse.__table__
        taken = session.execute(insert(table).values(
            user_id=user_id, key=key, fingerprint=fingerprint, status=0, body=None, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(table.c.id)).scalar_one_or_none()
        if taken is None:
            first = session.execute(select(ApiResponse).where(ApiResponse.user_id == user_id,
                                                              ApiResponse.key == key)).scalar_one()
            if first.fingerprint != fingerprint:
                raise errors.IdempotencyKeyReused()
            replay = Response(first.body or "", status=first.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = _run(handler)
        session.execute(table.update().where(table.c.id == taken).values(
            status=response.status_code, body=response.get_data(as_text=True)))
    return response
