"""Browser-facing hardening: safe redirect targets, security headers, and the proxy the app trusts.

- `safe_path` is the one check for a user-supplied redirect target (`?next=`): a path on this site or nothing.
- Every response carries a Content Security Policy (the templates have no inline script or style, so none
  is allowed), refuses framing, turns off MIME sniffing and keeps paths out of the Referer; production adds HSTS.
- `TRUSTED_PROXIES` (how many proxies stand in front of the app) applies werkzeug's ProxyFix, so the client
  address the rate limits count by is the client's, not the proxy's. With 0, forwarded headers are ignored:
  a client could otherwise forge its address and slip past the per-address limit.
"""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from retail.config import Settings

MAX_REDIRECT_LENGTH = 2048

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP level 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def safe_path(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/stores/7?tab=x"), else None.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\\t/evil.example" and
    "/\\\\evil.example" both reach another site; any control or invisible character, any backslash, a
    scheme, a host, or a second leading slash is refused rather than cleaned."""
    if not target or len(target) > MAX_REDIRECT_LENGTH or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(char.isspace() or unicodedata.category(char)[0] in "CZ" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def init_app(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    production = settings.env == "production"

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages carry store data and sit on shared shop devices: never kept in the browser's cache.
            response.headers["Cache-Control"] = "no-store"
        return response
