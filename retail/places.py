"""Place names in the reader's language. A store's province and city are stored in English as the admin form and
the demo world give them (`Location.province`, `Location.city`: the keys the dashboards, the API and the CSV
exports group and filter by), with the city's Chinese name beside it (`Location.city_zh`, Simplified). Pages and
emails show them in the reader's language: a province's Chinese name from `data/provinces.csv` (the 34
province-level divisions), Traditional Chinese converted from the Simplified by zhconv (Hong Kong usage, as
`services/products.py` already converts search words). A name not in the table is shown as stored."""
from __future__ import annotations

import csv
import functools
from pathlib import Path

import zhconv

PROVINCES_CSV = Path(__file__).resolve().parents[1] / "data" / "provinces.csv"


@functools.cache
def _provinces() -> dict[str, str]:
    with PROVINCES_CSV.open(encoding="utf-8", newline="") as f:
        return {row["province"].casefold(): row["zh_Hans"] for row in csv.DictReader(f)}


def _script(language: str) -> str:
    """`zh_Hant`, `zh_Hans` or `en` for a language or locale (`zh_Hant_HK`, `zh_HK`, `zh`, `fr`)."""
    if language.startswith("zh_Hant") or language in ("zh_HK", "zh_TW", "zh_MO"):
        return "zh_Hant"
    return "zh_Hans" if language.startswith("zh") else "en"


@functools.lru_cache(maxsize=4096)
def _in_script(simplified: str, script: str) -> str:
    return zhconv.convert(simplified, "zh-hk") if script == "zh_Hant" else simplified


def province_name(province: str | None, language: str) -> str:
    """`province` (as stored) in `language`."""
    if not province:
        return ""
    script = _script(language)
    simplified = _provinces().get(province.strip().casefold())
    return _in_script(simplified, script) if simplified and script != "en" else province


def city_name(city: str | None, city_zh: str | None, language: str) -> str:
    """A store's city in `language`: its Chinese name (in the reader's script) for a Chinese reader where it is
    known, else the stored name."""
    script = _script(language)
    if city_zh and script != "en":
        return _in_script(city_zh, script)
    return city or city_zh or ""
