"""Languages, money and time for the pages: Simplified Chinese, Traditional Chinese and English.

The language is the one the person switched to (kept in their session and profile), else their
profile's language, else the store's market (Hong Kong reads Traditional Chinese), else the browser's.
Times are stored in UTC and shown in the store's time zone; money in the store's currency.
"""
from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import Babel, format_currency, format_datetime, format_decimal, get_locale
from flask_login import current_user

from retail import places

LANGUAGES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
_BROWSER = {"zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-hans": "zh_Hans", "zh": "zh_Hans",
            "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant", "zh-hant": "zh_Hant", "en": "en"}


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user.is_authenticated and current_user.record.language in LANGUAGES:
        return current_user.record.language
    store = g.get("store")
    if store is not None:
        return "zh_Hant" if store.market == "HK" else "zh_Hans"
    best = request.accept_languages.best_match(list(_BROWSER), default="zh")
    return _BROWSER[best.lower()]


def select_timezone() -> str:
    store = g.get("store")
    return store.timezone if store is not None else "Asia/Shanghai"


def money(amount, currency: str) -> str:
    return "" if amount is None else format_currency(amount, currency)


def local_time(value, style: str = "short") -> str:
    return "" if value is None else format_datetime(value, style)


def cover(weeks: float | None) -> str:
    return "∞" if weeks is None else format_decimal(round(weeks, 1), "#,##0.0")


def province(name: str | None) -> str:
    """A stored province name in the reader's language (`retail.places`)."""
    return places.province_name(name, str(get_locale() or "en"))


def city(name: str | None, name_zh: str | None = None) -> str:
    """A store's city in the reader's language (`retail.places`)."""
    return places.city_name(name, name_zh, str(get_locale() or "en"))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(money=money, local_time=local_time, cover=cover, province=province)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale, city_name=city)
    from retail.web import explanations  # the words of the replenishment reasons, a template global

    explanations.init_app(app)
