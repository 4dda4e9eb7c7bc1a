"""The weekly emails against a real SMTP server (aiosmtpd) on a small generated world, SQLite and PostgreSQL:
who gets what, in which language, with the chart and the right links; once, however often the job runs or
dies; temporary refusals retried, permanent ones recorded without stopping the batch; a brand sees only
its own SKUs."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from retail import places
from retail.db import new_session
from retail.models import EmailOutbox, Location, Product, User
from retail.services import weekly_digest
from tests.emails.conftest import PUBLIC_URL, make_app, wait_for

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = {"zh_Hans": "预测与建议补货单", "zh_Hant": "預測與建議補貨單", "en": "forecast and suggested order"}


def label(info) -> str:
    return weekly_digest.week_label(info["week"])


def send(app, *args):
    return app.test_cli_runner().invoke(args=["emails", "send-weekly", *args])


def store_managers(engine) -> dict[str, tuple[int, str]]:
    """Active store managers of active stores: email -> (store id, language)."""
    with new_session(engine) as session:
        rows = session.execute(select(User.email, User.store_id, User.language)
                               .join(Location, Location.id == User.store_id)
                               .where(User.role == "store_manager", User.active.is_(True),
                                      Location.status == "active")).all()
    return {email: (store_id, language) for email, store_id, language in rows}


def test_every_active_store_manager_gets_one_store_email_in_their_language(world, smtp_server):
    url, info = world
    app = make_app(url, smtp_server.url)
    result = send(app, "--week", label(info), "--only", "store")
    assert result.exit_code == 0, result.output

    managers = store_managers(app.extensions["engine"])
    managers.pop(info["opted_out"])  # opted out on their account page: nothing
    assert info["suspended"] not in managers and info["inactive"] not in managers
    assert smtp_server.by_address() == {email: 1 for email in managers}
    assert len(managers) >= 5 and {lang for _, lang in managers.values()} == {"zh_Hans", "zh_Hant", "en"}
    with new_session(app.extensions["engine"]) as session:
        all_store_ids = set(session.execute(select(Location.id).where(Location.kind == "store")).scalars())
    valued = 0
    for email, (store_id, language) in managers.items():
        (message,) = smtp_server.to(email)
        assert SUBJECT[language] in message["Subject"], (language, message["Subject"])
        assert message["Content-Language"] == {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}[language]
        assert message["List-Unsubscribe"].startswith(f"<{PUBLIC_URL}/emails/unsubscribe/")
        parts = [p.get_content_type() for p in message.walk()]
        assert parts == ["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
        chart = next(p for p in message.walk() if p.get_content_type() == "image/png")
        assert chart["Content-ID"] == "<weekly-chart>" and chart.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        html = message.get_body(("html",)).get_content()
        assert 'src="cid:weekly-chart"' in html
        assert "<style" not in html and 'style="' in html  # CSS inlined
        assert "<link" not in html and 'src="http' not in html  # nothing fetched from outside
        symbols = set(re.findall(r"(HK\$|CN¥|¥)[0-9]", html))
        if symbols:  # a store with something to value: its own currency only
            assert symbols == ({"HK$"} if email == info["en"] else {"¥"} if language == "zh_Hans" else {"CN¥"}), symbols
        valued += bool(symbols)
        own = f"{PUBLIC_URL}/stores/{store_id}/replenishment"
        assert own in html and own in message.get_body(("plain",)).get_content()
        for other in all_store_ids - {store_id}:
            assert f"{PUBLIC_URL}/stores/{other}/" not in html and f"{PUBLIC_URL}/stores/{other}\"" not in html
    assert valued == len(managers)  # every store email carries amounts (the order, aging stock)
    assert "HK$" in smtp_server.to(info["en"])[0].get_body(("html",)).get_content()
    with new_session(app.extensions["engine"]) as session:
        rows = session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status)).all()
    assert dict(rows) == {"sent": len(managers)}


def test_a_second_run_sends_nothing(world, smtp_server):
    url, info = world
    app = make_app(url, smtp_server.url)
    first = send(app, "--week", label(info))
    assert first.exit_code == 0, first.output
    sent = len(smtp_server.messages)
    kinds = {m["Message-ID"].split(".")[2] for m in smtp_server.messages}
    assert kinds == {"store", "brand", "planner"} and sent >= 10
    again = send(app, "--week", label(info))
    assert again.exit_code == 0, again.output
    assert "0 new outbox rows, 0 to send: 0 sent" in again.output
    assert len(smtp_server.messages) == sent
    assert _one_per_kind(smtp_server)


def _one_per_kind(box) -> bool:
    seen = {}
    for m in box.messages:
        key = (m["To"].addresses[0].addr_spec, m["Message-ID"].split(".")[2])
        seen[key] = seen.get(key, 0) + 1
    return max(seen.values()) == 1


def _command(url: str, smtp_url: str, week: str) -> tuple[list[str], dict]:
    env = {**os.environ, "DATABASE_URL": url, "SMTP_URL": smtp_url, "APP_ENV": "test", "PUBLIC_URL": PUBLIC_URL,
           "REDIS_URL": "", "LOG_JSON": "true"}
    env.pop("REDIS_URL")
    return ([sys.executable, "-m", "flask", "--app", "wsgi", "emails", "send-weekly", "--week", week,
             "--reclaim-after", "0", "--only", "store"], env)


def test_a_run_killed_at_several_points_then_rerun_sends_everyone_exactly_once(world, smtp_server):
    """The job really dies (SIGKILL) while the server holds the 1st, then the 3rd, then the last email of the
    batch unacknowledged; each re-run resumes, and the last one finishes: one email per manager."""
    url, info = world
    app = make_app(url, smtp_server.url)
    managers = store_managers(app.extensions["engine"])
    managers.pop(info["opted_out"])
    total = len(managers)
    command, env = _command(url, smtp_server.url, label(info))
    acknowledged = 0
    for kill_at in (1, 3, total - 2):  # the n-th email this run would send
        smtp_server.hold_at = smtp_server.data_seen + kill_at
        smtp_server.holding.clear()
        smtp_server.release.clear()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_for(smtp_server.holding.is_set, timeout=120)
        finally:
            process.send_signal(signal.SIGKILL)
            output = process.communicate(timeout=30)[0].decode(errors="replace")
        smtp_server.release.set()
        assert process.returncode == -signal.SIGKILL, output
        acknowledged += kill_at - 1
        assert len(smtp_server.messages) == acknowledged  # what the dead runs got acknowledged
    smtp_server.hold_at = None
    last = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stdout + last.stderr
    assert smtp_server.by_address() == {email: 1 for email in managers}
    with new_session(app.extensions["engine"]) as session:
        statuses = dict(session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status)).all())
    assert statuses == {"sent": total}


def test_a_temporary_refusal_is_retried_and_a_permanent_one_recorded_without_stopping_the_batch(world, smtp_server):
    url, info = world
    app = make_app(url, smtp_server.url)
    managers = sorted(store_managers(app.extensions["engine"]))
    managers.remove(info["opted_out"])
    busy, gone = managers[0], managers[-1]
    smtp_server.temp_fail[busy] = 2  # greylisted twice, then accepted
    smtp_server.refuse[gone] = (550, "5.1.1 No such mailbox")
    result = send(app, "--week", label(info), "--only", "store", "--backoff", "0.01")
    assert result.exit_code == 1  # something failed: cron reports it
    assert f"store to {gone}: 550 5.1.1 No such mailbox" in result.output
    assert "1 failed, 0 deferred" in result.output and "2 retries" in result.output
    assert smtp_server.attempts[busy] == 3 and len(smtp_server.to(busy)) == 1
    assert smtp_server.to(gone) == []
    assert smtp_server.by_address() == {email: 1 for email in managers if email != gone}  # the batch went on
    with new_session(app.extensions["engine"]) as session:
        failed = session.execute(select(EmailOutbox).where(EmailOutbox.status == "failed")).scalars().all()
    assert [(r.address, r.last_error[:3]) for r in failed] == [(gone, "550")]
    again = send(app, "--week", label(info), "--only", "store")  # a failed address is not tried again
    assert again.exit_code == 0 and smtp_server.attempts[gone] == 1, again.output


def test_a_temporary_refusal_that_persists_is_deferred_to_the_next_run(sqlite_only_world, smtp_server):
    url, info = sqlite_only_world
    app = make_app(url, smtp_server.url)
    managers = sorted(store_managers(app.extensions["engine"]))
    busy = managers[0]
    smtp_server.temp_fail[busy] = 10
    result = send(app, "--week", label(info), "--only", "store", "--backoff", "0", "--retries", "2")
    assert result.exit_code == 1 and "1 deferred" in result.output and smtp_server.attempts[busy] == 3
    smtp_server.temp_fail[busy] = 0
    again = send(app, "--week", label(info), "--only", "store")
    assert again.exit_code == 0 and "1 to send: 1 sent" in again.output, again.output
    assert len(smtp_server.to(busy)) == 1


def test_a_brand_partner_email_holds_only_that_brands_skus(world, smtp_server):
    url, info = world
    app = make_app(url, smtp_server.url)
    result = send(app, "--week", label(info), "--only", "brand")
    assert result.exit_code == 0, result.output
    with new_session(app.extensions["engine"]) as session:
        partners = session.execute(select(User.email, User.brand_id, User.language).where(
            User.role == "brand_partner", User.active.is_(True))).all()
        skus = dict(session.execute(select(Product.sku, Product.brand_id)).all())
        provinces = set(session.execute(select(Location.province).where(Location.kind == "store")).scalars())
    assert len(partners) >= 10 and smtp_server.by_address() == {email: 1 for email, _, _ in partners}
    shown_somewhere, provinces_shown = 0, set()
    for email, brand_id, language in partners:
        (message,) = smtp_server.to(email)
        plain = message.get_body(("plain",)).get_content()
        body = message.get_body(("html",)).get_content() + plain
        shown = {sku for sku in skus if sku in body}
        assert all(skus[sku] == brand_id for sku in shown), (email, sorted(shown))
        shown_somewhere += len(shown)
        for province in provinces:  # each province line in the reader's language, never the stored English
            local = places.province_name(province, language)
            if local != province:
                assert f"- {province}:" not in plain, (email, language, province)
            if f"- {local}:" in plain:
                provinces_shown.add((language, local))
    assert shown_somewhere > len(partners)  # the emails do name SKUs: the check above has something to check
    assert {language for language, _ in provinces_shown} >= {"zh_Hans", "en"}, provinces_shown
    assert any(name not in provinces for _, name in provinces_shown), provinces_shown  # some were translated


def test_the_planner_email_and_the_network_figures(sqlite_only_world, smtp_server):
    url, info = sqlite_only_world
    app = make_app(url, smtp_server.url)
    assert send(app, "--week", label(info), "--only", "planner").exit_code == 0
    with new_session(app.extensions["engine"]) as session:
        planners = set(session.execute(select(User.email).where(User.role == "planner")).scalars())
    assert set(smtp_server.by_address()) == planners
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "Store turnover" in text or "门店周转率" in text


def test_stale_input_is_refused_with_the_reason(sqlite_only_world, smtp_server):
    url, info = sqlite_only_world
    app = make_app(url, smtp_server.url)
    later = weekly_digest.week_label(info["week"].replace(year=info["week"].year + 1))
    result = send(app, "--week", later)
    assert result.exit_code == 1 and "no forecast run starts on" in result.output
    assert smtp_server.messages == []
    dry = send(app, "--week", label(info), "--dry-run")
    assert dry.exit_code == 0 and "nothing sent or recorded" in dry.output and smtp_server.messages == []
    with new_session(app.extensions["engine"]) as session:
        assert session.execute(select(func.count()).select_from(EmailOutbox)).scalar_one() == 0
    runner = app.test_cli_runner()
    plan = runner.invoke(args=["replenish", "plan", "--week", later])
    assert plan.exit_code == 1 and "no forecast run starts on" in plan.output
    forecast = runner.invoke(args=["forecast", "run", "--week", later])
    assert forecast.exit_code == 1 and "have not arrived" in forecast.output
    fresh = runner.invoke(args=["replenish", "plan", "--week", label(info)])
    assert fresh.exit_code == 0, fresh.output


def test_smtp_authentication_works_and_the_password_is_never_shown(sqlite_only_world, capfd):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.emails.conftest import Handler, Mailbox, free_port

    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"s3cret-Pa55")
        return AuthResult(success=ok, handled=False)

    box, port = Mailbox(), free_port()
    controller = Controller(Handler(box), hostname="127.0.0.1", port=port, authenticator=check,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        url, info = sqlite_only_world
        wrong = make_app(url, f"smtp://mailer:wrong-Pa55@127.0.0.1:{port}?timeout=5")
        refused = send(wrong, "--week", label(info), "--only", "planner")
        assert refused.exit_code == 1 and "authentication refused by smtp://mailer:***@127.0.0.1" in refused.output
        assert box.messages == []
        right = make_app(url, f"smtp://mailer:s3cret-Pa55@127.0.0.1:{port}?timeout=5")
        sent = send(right, "--week", label(info), "--only", "planner")
        assert sent.exit_code == 0, sent.output
        assert box.messages and "0 failed" in sent.output
        captured = capfd.readouterr()
        everything = refused.output + sent.output + captured.out + captured.err
        assert "wrong-Pa55" not in everything and "s3cret" not in everything
    finally:
        controller.stop()


def test_unsubscribe_link_and_account_setting(sqlite_only_world, smtp_server):
    url, info = sqlite_only_world
    app = make_app(url, smtp_server.url)
    assert send(app, "--week", label(info), "--only", "planner").exit_code == 0
    message = smtp_server.messages[0]
    address = message["To"].addresses[0].addr_spec
    link = message["List-Unsubscribe"].strip().strip("<>").removeprefix(PUBLIC_URL)
    client = app.test_client()
    page = client.get(link)
    assert page.status_code == 200 and b'method="post"' in page.data
    assert client.get(link[:-3] + "xyz").status_code == 404  # a forged token
    one_click = client.post(link, data={"List-Unsubscribe": "One-Click"})  # RFC 8058: no CSRF token, no sign-in
    assert one_click.status_code == 200
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # twice is once
    smtp_server.messages.clear()
    next_week = weekly_digest.week_label(info["week"] + timedelta(weeks=1))
    send(app, "--week", next_week, "--only", "planner", "--allow-stale")
    assert address not in smtp_server.by_address() and smtp_server.messages


def test_admin_preview_of_any_recipient_and_week(sqlite_only_world):
    from tests.web.factories import PASSWORD, password_hash, sign_in

    url, info = sqlite_only_world
    app = make_app(url, None)
    with new_session(app.extensions["engine"]) as session:
        admin = session.execute(select(User).where(User.role == "admin")).scalars().first()
        manager = session.execute(select(User).where(User.email == info["en"])).scalars().one()
        admin.password_hash = manager.password_hash = password_hash()
        session.commit()
        admin_email, store_id = admin.email, manager.store_id
    client = app.test_client()
    sign_in(client, info["en"], PASSWORD)
    assert client.get(f"/admin/emails?user={info['en']}").status_code == 403
    client = app.test_client()
    sign_in(client, admin_email, PASSWORD)
    page = client.get(f"/admin/emails?user={info['en']}&week={label(info)}")
    assert page.status_code == 200 and b"forecast and suggested order" in page.data
    html = client.get(f"/admin/emails?user={info['en']}&week={label(info)}&part=html")
    assert html.status_code == 200 and b"data:image/png;base64," in html.data
    assert f"{PUBLIC_URL}/stores/{store_id}/replenishment".encode() in html.data
    assert "style-src 'unsafe-inline'" in html.headers["Content-Security-Policy"]
    assert client.get(f"/admin/emails?user={info['en']}&week=2026-W99").status_code == 422


def test_the_weekly_email_is_switched_off_and_on_on_the_account_page(sqlite_only_world):
    from retail.services import outbox
    from tests.web.factories import PASSWORD, csrf_token, password_hash, sign_in

    url, info = sqlite_only_world
    app = make_app(url, None)
    with new_session(app.extensions["engine"]) as session:
        manager = session.execute(select(User).where(User.email == info["en"])).scalars().one()
        manager.password_hash = password_hash()
        session.commit()
        user_id = manager.id
    client = app.test_client()
    sign_in(client, info["en"], PASSWORD)
    page = client.get("/account/emails")
    assert page.status_code == 200 and b'name="weekly"' in page.data and b"checked" in page.data
    off = client.post("/account/emails", data={"csrf_token": csrf_token(client, "/account/emails")})
    assert off.status_code == 302
    with new_session(app.extensions["engine"]) as session:
        assert outbox.opted_out(session, user_id=user_id)
        assert info["en"] not in {r.email for r in weekly_digest.recipients(session)}
    on = client.post("/account/emails", data={"weekly": "on", "csrf_token": csrf_token(client, "/account/emails")})
    assert on.status_code == 302
    with new_session(app.extensions["engine"]) as session:
        assert not outbox.opted_out(session, user_id=user_id)
    assert client.post("/account/emails", data={"weekly": "on"}).status_code == 400  # CSRF still guards it


def test_two_runs_at_once_send_each_email_once(world, smtp_server):
    """cron started twice (an overlapping manual run): each row is claimed by one of them only."""
    url, info = world
    app = make_app(url, smtp_server.url)
    managers = store_managers(app.extensions["engine"])
    managers.pop(info["opted_out"])
    command, env = _command(url, smtp_server.url, label(info))
    command = [c for c in command if c not in ("--reclaim-after", "0")]  # the default: a live run's claim holds
    smtp_server.delay = 0.4  # each batch takes seconds: the two overlap
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0].decode(errors="replace") for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert smtp_server.by_address() == {email: 1 for email in managers}
    sent = [int(o.split(" sent,")[0].rsplit(" ", 1)[1]) for o in outputs]
    assert sum(sent) == len(managers), outputs


def test_last_weeks_forecast_against_what_sold_and_the_accuracy_trend(sqlite_only_world, smtp_server):
    from retail.services import forecasts

    url, info = sqlite_only_world
    app = make_app(url, smtp_server.url)
    with new_session(app.extensions["engine"]) as session:  # the run a week earlier, as last Monday's job made it
        forecasts.run_forecast(session, start=info["week"] - timedelta(weeks=1), horizon=13)
        store_id = session.execute(select(User.store_id).where(User.email == info["en"])).scalar_one()
        sold = weekly_digest.store_digest(weekly_digest.load(session, week=info["week"], store_ids=[store_id]),
                                          store_id).last_week_sold
    assert send(app, "--week", label(info), "--only", "store", "--only", "planner").exit_code == 0
    (english,) = smtp_server.to(info["en"])
    text = english.get_body(("plain",)).get_content()
    assert f"units, sold {sold}." in text and "No forecast was made for last week" not in text
    (traditional,) = smtp_server.to(info["zh_Hant"])
    assert "實際售出" in traditional.get_body(("plain",)).get_content()
    planner = next(m for m in smtp_server.messages if ".planner." in m["Message-ID"])
    assert "WAPE" in planner.get_body(("plain",)).get_content()  # a row of the trend (any language)


def test_forecast_week_runs_once_last_weeks_sales_are_in(sqlite_only_world):
    """The forecast step's check lets a fresh ledger through (refused while it has no sale since last Monday,
    see test_stale_input_is_refused_with_the_reason; then the week's run, already made, is returned)."""
    from datetime import UTC, datetime, time

    from retail.models import Movement, SerialUnit, StockBalance
    from tests.committing import inventory

    url, info = sqlite_only_world
    app = make_app(url, None)
    runner = app.test_cli_runner()
    with new_session(app.extensions["engine"]) as session:
        last = session.execute(select(func.max(Movement.ts)).where(Movement.kind == "sale")).scalar_one()
    monday = info["week"]
    if last.replace(tzinfo=UTC) < datetime.combine(monday - timedelta(weeks=1), time.min, tzinfo=UTC):
        refused = runner.invoke(args=["forecast", "run", "--week", label(info)])
        assert refused.exit_code == 1 and "have not arrived" in refused.output
        with new_session(app.extensions["engine"]) as session:  # a till's sale of last Wednesday arrives
            balance = session.execute(select(StockBalance).join(Location, Location.id == StockBalance.location_id)
                                      .where(Location.kind == "store", StockBalance.on_hand > 0)).scalars().first()
            product = session.get(Product, balance.product_id)
            serials = list(session.execute(select(SerialUnit.serial).where(
                SerialUnit.location_id == balance.location_id, SerialUnit.product_id == product.id,
                SerialUnit.state == "in_stock").limit(1)).scalars()) if product.serialised else []
            inventory.record_sale(session, store_id=balance.location_id, sku=product.sku, serials=serials,
                                  at=datetime.combine(monday - timedelta(days=5), time(4), tzinfo=UTC))
    accepted = runner.invoke(args=["forecast", "run", "--week", label(info)])
    assert accepted.exit_code == 0 and f"from {monday}" in accepted.output, accepted.output
