"""Sign-in and session attacks (issue 10, items 8-11): each test plays the attack and checks it is refused.

- open redirects through `?next=` on the sign-in and language forms;
- password guessing: spraying many accounts from one address, one account from many addresses,
  the password-change form, forged forwarding headers;
- sessions: a cookie copied before sign-out, an idle or too old session, the anonymous session's
  CSRF token after sign-in, a deactivated (then reactivated) person, people without a password;
- security headers on every response, and templates the Content Security Policy can serve.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from retail import create_app
from retail.config import Settings
from retail.models import User
from retail.web import access
from retail.web.security import safe_path
from tests.web.factories import PASSWORD, csrf_token, post, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "retail" / "templates"
EVIL = [
    "%2F%09%2Fevil.example",  # "/\t/evil.example": the browser drops the tab and goes to //evil.example
    "%2F%0A%2Fevil.example",  # a newline: was a 500
    "%2F%0D%0ASet-Cookie:%20x=1",
    "%2F%2Fevil.example",
    "%2F%5Cevil.example",  # "/\evil.example": browsers read the backslash as a slash
    "%5C%5Cevil.example",
    "https:%2F%2Fevil.example",
    "%2F%20%2Fevil.example",
    "javascript:alert(1)",
    "%2F%E2%80%8B%2Fevil.example",  # a zero-width space
    "evil.example",
]


def _login(client, email: str, password: str, query: str = "", **environ):
    return client.post(f"/login{query}", data={"email": email, "password": password,
                                               "csrf_token": csrf_token(client)}, environ_base=environ)


# --- item 8: open redirects ----------------------------------------------------------------------

@pytest.mark.parametrize("target", EVIL)
def test_sign_in_never_redirects_off_site(client, world, target):
    response = _login(client, "staff@a.example.com", PASSWORD, f"?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_keeps_a_next_page_on_this_site(client, world):
    response = _login(client, "staff@a.example.com", PASSWORD, f"?next=%2Fstores%2F{world['a'].id}%3Ftab%3Dx")
    assert response.headers["Location"] == f"/stores/{world['a'].id}?tab=x"


@pytest.mark.parametrize("target", EVIL)
def test_language_switch_never_redirects_off_site(client, world, target):
    response = client.post(f"/language?next={target}", data={"language": "en", "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize(("target", "safe"), [
    ("/", "/"), ("/stores/7?next=/x#top", "/stores/7?next=/x#top"), ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
    ("", None), (None, None), ("//evil.example", None), ("/\t/evil.example", None), ("/\n", None),
    ("/\\evil.example", None), ("\\/evil.example", None), ("http://evil.example/", None), ("/\x00", None),
    ("/\u2028", None), ("/\u00a0/evil", None), (" /", None), ("/" + "a" * 3000, None), ("///evil", None),
])
def test_safe_path(target, safe):
    assert safe_path(target) == safe


# --- item 9: password guessing ------------------------------------------------------------------

def test_spraying_many_accounts_from_one_address_is_throttled(client, world):
    codes = [_login(client, f"person{i}@a.example.com", "Spring2026!").status_code for i in range(20)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    # the limit is the address's: the right password from there waits too
    assert _login(client, "manager@a.example.com", PASSWORD).status_code == 429


def test_guessing_one_account_from_many_addresses_is_throttled(client, world):
    codes = [_login(client, "manager@a.example.com", f"guess{i}", REMOTE_ADDR=f"203.0.113.{i}").status_code
             for i in range(7)]
    assert codes == [401] * 5 + [429] * 2
    # the account's colleagues, and the same address for another account, are not locked out
    assert _login(client, "staff@a.example.com", PASSWORD, REMOTE_ADDR="203.0.113.4").status_code == 302


def test_password_change_form_is_throttled_too(client, world):
    sign_in(client, "staff@a.example.com")
    token = csrf_token(client, "/password")
    codes = [client.post("/password", data={"current": f"guess{i}", "new": "a-new-long-password",
                                            "csrf_token": token}).status_code for i in range(7)]
    assert codes == [422] * 4 + [429] * 3  # the sign-in counted as one guess at the account
    refused = client.post("/password", data={"current": PASSWORD, "new": "a-new-long-password", "csrf_token": token})
    assert refused.status_code == 429 and 'name="current"' in refused.get_data(as_text=True)


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(client, world):
    codes = [client.post("/login", data={"email": f"p{i}@a.example.com", "password": "x",
                                         "csrf_token": csrf_token(client)},
                         headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(12)]
    assert codes.count(429) == 2


def test_behind_a_trusted_proxy_each_client_counts_on_its_own(database_url, world):
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None, trusted_proxies=1))
    client = app.test_client()

    def attempt(i: int, address: str) -> int:
        return client.post("/login", data={"email": f"p{i}@a.example.com", "password": "x",
                                           "csrf_token": csrf_token(client)},
                           headers={"X-Forwarded-For": address}).status_code

    assert [attempt(i, "198.51.100.1") for i in range(11)] == [401] * 10 + [429]
    assert attempt(99, "198.51.100.2") == 401  # another shop behind the same load balancer
    app.extensions["engine"].dispose()


# --- item 10: sessions ----------------------------------------------------------------------------

def _copy_session(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, world):
    shop_device, attacker = app.test_client(), app.test_client()
    sign_in(shop_device, "staff@a.example.com")
    _copy_session(shop_device, attacker)
    page = f"/stores/{world['a'].id}"
    assert attacker.get(page).status_code == 200  # the copy works while the session lives...
    assert post(shop_device, "/logout", {}).status_code == 302
    assert attacker.get(page).status_code == 302  # ...and dies with it
    assert "/login" in attacker.get(page).headers["Location"]
    sign_in(shop_device, "staff@a.example.com")  # signing in again opens a new, working session
    assert shop_device.get(page).status_code == 200 and attacker.get(page).status_code == 302


def test_an_idle_session_ends(client, world, monkeypatch):
    import time

    sign_in(client, "staff@a.example.com")
    page = f"/stores/{world['a'].id}"
    start = time.time()
    monkeypatch.setattr(access, "_now", lambda: start + 7 * 3600)
    assert client.get(page).status_code == 200  # 7 hours idle: still signed in
    monkeypatch.setattr(access, "_now", lambda: start + 7 * 3600 + 8 * 3600 + 60)
    assert client.get(page).status_code == 302  # then 8 hours without a request: signed out


def test_a_busy_session_still_ends_after_its_lifetime(client, world, monkeypatch):
    import time

    sign_in(client, "staff@a.example.com")
    page, start = f"/stores/{world['a'].id}", time.time()
    for hours in (3, 6, 9, 11.9):
        monkeypatch.setattr(access, "_now", lambda h=hours: start + h * 3600)
        assert client.get(page).status_code == 200
    monkeypatch.setattr(access, "_now", lambda: start + 12 * 3600 + 60)
    assert client.get(page).status_code == 302


def test_idle_and_lifetime_come_from_the_settings(database_url, world, monkeypatch):
    import time

    app = create_app(Settings(env="test", database_url=database_url, redis_url=None, session_idle_minutes=5))
    client = app.test_client()
    sign_in(client, "staff@a.example.com")
    start = time.time()
    monkeypatch.setattr(access, "_now", lambda: start + 6 * 60)
    assert client.get(f"/stores/{world['a'].id}").status_code == 302
    app.extensions["engine"].dispose()


def test_sign_in_starts_a_new_session_with_a_new_csrf_token(client, world):
    planted = csrf_token(client)  # an attacker's token, planted with their cookie on a shared device
    sign_in(client, "staff@a.example.com")
    assert csrf_token(client, "/password") != planted
    response = client.post("/language", data={"language": "en", "csrf_token": planted})
    assert response.status_code == 400


def test_deactivation_revokes_sessions_for_good(app, world, session):
    staff, admin = app.test_client(), app.test_client()
    sign_in(staff, "staff@a.example.com")
    sign_in(admin, "admin@example.com")
    page = f"/stores/{world['a'].id}"
    assert staff.get(page).status_code == 200
    response = post(admin, f"/admin/users/{world['staff'].id}/deactivate", {})
    assert response.status_code == 302
    assert staff.get(page).status_code == 302
    user = session.execute(select(User).where(User.email == "staff@a.example.com")).scalar_one()
    session.refresh(user)
    user.active = True  # reactivated later: the old sessions stay dead
    session.commit()
    assert staff.get(page).status_code == 302


def test_people_without_a_password_do_not_share_a_session_fingerprint(app):
    with app.app_context():
        first, second = User(id=1, email="a@x", name="a", role="admin"), User(id=2, email="b@x", name="b", role="admin")
        assert access._fingerprint(first) != access._fingerprint(second)
        assert access.SignedIn(first).get_id() != access.SignedIn(second).get_id()


def test_a_forged_session_id_is_refused(app, world):
    client = app.test_client()
    with client.session_transaction() as cookie:  # a guessed fingerprint (only the secret key can sign one)
        cookie["_user_id"] = f"{world['staff'].id}:0:{'0' * 32}"
        cookie["signed_in_at"] = cookie["seen_at"] = 2**40
    assert client.get(f"/stores/{world['a'].id}").status_code == 302


# --- item 11: security headers --------------------------------------------------------------------

def test_every_page_carries_the_security_headers(client, world):
    for response in (client.get("/login"), client.get("/healthz"), client.get("/nowhere")):
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain http in development and test
    sign_in(client, "staff@a.example.com")
    assert client.get(f"/stores/{world['a'].id}").headers["Cache-Control"] == "no-store"


def test_production_adds_hsts(tmp_path):
    app = create_app(Settings(env="production", secret_key="s3cret", redis_url="redis://127.0.0.1:6379/15",
                              database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert app.test_client().get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_templates_need_no_inline_script_or_style():
    """The policy allows no inline script or style: a template that needs one must get a nonce first."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)
    found = {path.name: inline.findall(path.read_text()) for path in TEMPLATES.glob("*.html")}
    assert {name: hits for name, hits in found.items() if hits} == {}
