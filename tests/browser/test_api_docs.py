"""The API's interactive documentation in Debian's Chromium: Swagger UI (vendored in a wheel) renders every
operation of the OpenAPI document, and the page asks nothing of any other host (no CDN)."""
from __future__ import annotations

from urllib.parse import urlsplit

import requests


def test_the_docs_page_renders_every_operation_from_this_server_only(browser, server):
    document = requests.get(f"{server}/api/v1/openapi.json", timeout=10).json()
    operations = sum(1 for item in document["paths"].values() for method in item if method in
                     ("get", "post", "put", "patch", "delete"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/api/v1/docs/swagger")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() == operations
    assert hosts == {urlsplit(server).netloc}, hosts
    assert errors == []
    context.close()
