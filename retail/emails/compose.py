"""One weekly email as a MIME message: HTML (inlined CSS, table layout) + plain text + the chart inline.

    multipart/alternative
        text/plain                       (the same figures, for clients that show no HTML)
        multipart/related
            text/html                    (CSS inlined by css_inline; the chart as <img src="cid:...">)
            image/png                    (Content-ID: the chart, `WeeklyChart`)

Everything the reader sees is in their language (`User.language`, Flask-Babel's `force_locale`) and money in
the currency of what it is about (a store's CNY or HKD; a brand's purchase costs in their cost currency).
No external image, font or stylesheet: mail clients block them. Needs an application context (templates
and translations are the app's).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from zoneinfo import ZoneInfo

import css_inline
from flask import render_template
from flask_babel import force_locale, format_currency, format_date, format_decimal, format_percent
from flask_babel import gettext as _

from retail.config import Settings
from retail.emails import tokens
from retail.emails.chart import WeeklyChart
from retail.models import EmailKind, utcnow
from retail.services.weekly_digest import BrandDigest, PlannerDigest, Recipient, StoreDigest

HTML_LANG = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}
CHART_CID = "weekly-chart"


class Format:
    """Numbers, money and dates in the current (forced) locale; used by the templates as `f`."""

    @staticmethod
    def money(amount, currency: str) -> str:
        return format_currency(round(float(amount or 0)), currency, format="¤#,##0", currency_digits=False)

    @staticmethod
    def units(value) -> str:
        return format_decimal(round(float(value or 0)), "#,##0")

    @staticmethod
    def rate(value) -> str:
        """A small expected quantity (0.02 units a week reads as such, not as 0)."""
        value = float(value or 0)
        return format_decimal(round(value, 2), "#,##0.0#") if value < 10 else format_decimal(round(value), "#,##0")

    @staticmethod
    def cover(value) -> str:
        return "∞" if value is None or value == float("inf") else format_decimal(round(float(value), 1), "#,##0.0")

    @staticmethod
    def pct(value) -> str:
        return "–" if value is None else format_percent(float(value), "#,##0%")

    @staticmethod
    def day(value: date) -> str:
        return format_date(value, "medium")

    @staticmethod
    def short(value: date) -> str:
        return value.strftime("%m-%d")

    @staticmethod
    def local_day(value: datetime | None, timezone: str) -> str:
        """A UTC time as the day it was in the store's time zone."""
        return "–" if value is None else format_date(value.astimezone(ZoneInfo(timezone)).date(), "medium")


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    png: bytes


class Composer:
    """Builds the messages of a batch; keeps one chart figure and one CSS inliner for all of them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base = settings.public_url.rstrip("/")
        self.chart = WeeklyChart()
        self.inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
        self.sender = settings.mail_from

    def links(self, recipient: Recipient, digest) -> dict:
        token = tokens.unsubscribe_token(self.settings.effective_secret_key, recipient.user_id)
        out = {"unsubscribe": f"{self.base}/emails/unsubscribe/{token}", "site": f"{self.base}/"}
        if recipient.kind == EmailKind.store:
            out["store"] = f"{self.base}/stores/{digest.store_id}"
            out["review"] = f"{self.base}/stores/{digest.store_id}/replenishment"
        elif recipient.kind == EmailKind.planner:
            out["stores"] = f"{self.base}/stores"
        return out

    def render(self, recipient: Recipient, digest: StoreDigest | BrandDigest | PlannerDigest) -> Rendered:
        kind = str(recipient.kind)
        links = self.links(recipient, digest)
        with force_locale(recipient.language):
            if kind == EmailKind.store:
                subject = _("%(store)s · week %(week)s: forecast and suggested order",
                            store=digest.name, week=digest.label)
            elif kind == EmailKind.brand:
                subject = _("%(brand)s · week %(week)s: sell-through, forecast and purchase needs",
                            brand=digest.name, week=digest.label)
            else:
                subject = _("Network · week %(week)s: at a glance and the biggest risks", week=digest.label)
            context = {"d": digest, "f": Format, "links": links, "recipient": recipient, "subject": subject,
                       "html_lang": HTML_LANG.get(recipient.language, "en"), "chart_cid": CHART_CID,
                       "week_end": date.fromordinal(digest.week.toordinal() + 6)}
            html = render_template(f"emails/{kind}.html", **context)
            text = render_template(f"emails/{kind}.txt", **context)
        png = self.chart.render(digest.history, digest.band)
        return Rendered(subject, self.inliner.inline(html), text, png)

    def message(self, recipient: Recipient, digest, *, message_id: str | None = None) -> EmailMessage:
        rendered = self.render(recipient, digest)
        return self.build(recipient, rendered, self.links(recipient, digest)["unsubscribe"], message_id)

    def build(self, recipient: Recipient, rendered: Rendered, unsubscribe: str,
              message_id: str | None = None) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = rendered.subject
        msg["From"] = self.sender
        msg["To"] = formataddr((recipient.name, recipient.email))
        msg["Date"] = rfc2822_date(utcnow())
        msg["Message-ID"] = message_id or f"<weekly.{recipient.user_id}@{self.domain}>"
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        msg.get_payload()[1].add_related(rendered.png, maintype="image", subtype="png", cid=f"<{CHART_CID}>",
                                         filename="chart.png", disposition="inline")
        msg["Content-Language"] = HTML_LANG.get(recipient.language, "en")  # after: make_alternative moves Content-*
        return msg

    @property
    def domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"

    def message_id(self, week: str, kind: str, outbox_id: int) -> str:
        """Stable per outbox row: a message sent again after a crash carries the same Message-ID."""
        return f"<weekly.{week}.{kind}.{outbox_id}@{self.domain}>"
