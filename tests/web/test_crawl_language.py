"""Every page a store's staff member and its manager can reach, crawled in Simplified and Traditional Chinese:
no English sentence outside product names, codes and the people's and places' own names (issue 12)."""
from __future__ import annotations

import re
from collections import deque
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from retail.models import ForecastRun, ReplenishmentRun, SuggestedLine
from retail.services import counts, transfers
from tests.factories import on_the_mainland
from tests.web.factories import post, sign_in
from tests.web.test_clerk_day import EXPLANATION

MAX_PAGES = 120
SKIP = ("/logout", "/static/", "/api/", "/language")
# Two English words in a row are a sentence; names from the data and the language button are not.
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ \u00a0]+[A-Za-z][A-Za-z'’]*)+")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "svg", "title"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "aria-label", "title", "alt"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _allowed(world) -> set[str]:
    names = {"English", "A staff", "A manager", "B staff", "C staff", "SN", "POS"}
    for key in ("glasses", "case"):
        product = world[key]
        names |= {product.model, product.variant, f"{product.model} {product.variant}".strip(), product.sku}
    for key in ("a", "b", "dc"):
        names |= {world[key].city, world[key].name}
    names |= {world["brand"].name, f"{world['brand'].name} {world['brand'].name_zh}"}
    return {n for n in names if n}


def _english(text: str, allowed: set[str]) -> list[str]:
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, " ")
    return [m.group(0) for m in ENGLISH.finditer(text)]


def crawl(client, start: str, allowed: set[str]) -> tuple[dict, int]:
    seen, queue, found = {start}, deque([start]), {}
    while queue and len(seen) <= MAX_PAGES:
        path = queue.popleft()
        response = client.get(path)
        if response.status_code >= 300 or not response.content_type.startswith("text/html"):
            continue
        parser = _Text()
        parser.feed(response.get_data(as_text=True))
        english = [e for part in parser.parts for e in _english(part, allowed)]
        if english:
            found[path] = sorted(set(english))
        for href in parser.links:
            href = urldefrag(href)[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(SKIP) or href in seen:
                continue
            if href.endswith((".csv", ".pdf", ".xlsx")):
                continue
            seen.add(href)
            queue.append(href)
    return found, len(seen)


@pytest.fixture
def busy_world(world, session):
    """The store with something on every page: a plan with its reasons, a count waiting, transfer
    requests both ways."""
    forecast = ForecastRun(start_week=date(2026, 11, 23), horizon=3, quantiles=[0.5, 0.8, 0.95])
    session.add(forecast)
    session.flush()
    run = ReplenishmentRun(forecast_run_id=forecast.id, as_of=date(2026, 11, 23))
    session.add(run)
    session.flush()
    session.add(SuggestedLine(run_id=run.id, location_id=world["a"].id, product_id=world["case"].id, quantity=5,
                              explanation=EXPLANATION, text="Forecast 0.27 units; Suggest 5."))
    session.commit()
    counts.submit_count(session, world["staff"], store_id=world["a"].id, counted={"RK-CASE": 0}, reason="月度盘点")
    on_the_mainland(session, world["b"])  # store to store stays on one side of the border
    transfers.request_transfer(session, world["staff_b"], store_id=world["b"].id, from_store_code="S0001",
                               sku="RK-CASE", quantity=1, note="顾客在等")
    transfers.request_transfer(session, world["staff"], store_id=world["a"].id, from_store_code="S0002",
                               sku="RK-MAX2-BLK", quantity=1, note="顾客在等")
    return world


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
@pytest.mark.parametrize("who", ["staff@a.example.com", "manager@a.example.com"])
def test_no_english_on_a_chinese_page(client, busy_world, who, language):
    world = busy_world
    sign_in(client, who)
    post(client, "/language", {"language": language})
    found, pages = crawl(client, f"/stores/{world['a'].id}", _allowed(world))
    assert pages > 20  # the crawl reached the store's pages, not only the home
    assert found == {}, found


def test_the_crawl_finds_english_when_there_is_some(client, busy_world):
    """Negative control: the same crawl in English finds sentences on every page."""
    sign_in(client, "staff@a.example.com")
    post(client, "/language", {"language": "en"})
    found, pages = crawl(client, f"/stores/{busy_world['a'].id}", _allowed(busy_world))
    assert len(found) > 20, (len(found), pages)
