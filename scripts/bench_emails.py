"""Render and send every store email of a demo world to a local SMTP server (aiosmtpd), and time it.

    DATABASE_URL=sqlite:////tmp/bench.db python scripts/bench_emails.py [--week 2026-W48]

The world: `flask db upgrade && flask demo load && flask forecast run && flask replenish plan` on that
DATABASE_URL (3,000 stores by default). The week defaults to the latest forecast run's. The script first
deletes that week's store rows from the outbox (a bench database: it sends the whole batch each time),
then runs the real batch (`retail.emails.batch.send_weekly`: outbox, rendering, chart, SMTP) against an
aiosmtpd server on 127.0.0.1 that counts what it receives. Target: under 60 s (issue 14).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402

from retail import create_app  # noqa: E402
from retail.config import load_settings  # noqa: E402
from retail.db import new_session  # noqa: E402
from retail.emails.batch import send_weekly  # noqa: E402
from retail.models import EmailOutbox, ForecastRun  # noqa: E402
from retail.services import weekly_digest  # noqa: E402

TARGET_SECONDS = 60.0


class Counter:
    """Counts what the server accepted, in shared memory (the server runs in its own process, as a real
    SMTP server would: in the batch's process it would take the batch's CPU and GIL)."""

    def __init__(self, messages, size):
        self.messages, self.bytes = messages, size

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.messages.get_lock():
            self.messages.value += 1
            self.bytes.value += len(envelope.content)
        return "250 OK"


def serve(port: int, messages, size, ready, stop) -> None:
    controller = Controller(Counter(messages, size), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--week", help="ISO week (default: the latest forecast run's)")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    messages, size = multiprocessing.Value("q", 0), multiprocessing.Value("q", 0)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, messages, size, ready, stop), daemon=True)
    server.start()
    ready.wait(30)
    try:
        settings = load_settings(smtp_url=f"smtp://127.0.0.1:{port}", log_json=True,
                                 database_url=os.environ.get("DATABASE_URL", load_settings().database_url))
        app = create_app(settings)
        engine = app.extensions["engine"]
        with new_session(engine) as session:
            if args.week:
                week = weekly_digest.parse_week(args.week)
            else:
                week = session.execute(select(func.max(ForecastRun.start_week))).scalar()
                if week is None:
                    print("no forecast run: build the demo world first (see the docstring)")
                    return 2
            label = weekly_digest.week_label(week)
            stale = weekly_digest.stale_reason(session, step="emails", week=week)
            if stale:
                print(f"warning: {stale}")
            session.execute(delete(EmailOutbox).where(EmailOutbox.week == label, EmailOutbox.kind == "store"))
            session.commit()
        with app.app_context():
            began = time.perf_counter()
            report = send_weekly(engine, settings, week=week, kinds=["store"], progress=True)
            seconds = time.perf_counter() - began
    finally:
        stop.set()
        server.join(10)
    per = seconds / max(report.sent, 1) * 1000
    print(f"week {label}: {report.sent} store emails rendered and sent ({report.failed} failed, "
          f"{report.deferred} deferred), server received {messages.value} messages, "
          f"{size.value / max(messages.value, 1) / 1024:.1f} KB each")
    print(f"time: {seconds:.1f} s ({per:.1f} ms an email)   target: under {TARGET_SECONDS:.0f} s   "
          f"{'MET' if seconds < TARGET_SECONDS else 'MISSED'}")
    return 0 if report.sent == messages.value and seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
