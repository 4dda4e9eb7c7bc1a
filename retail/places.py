"""Place names in the reader's language. A store's province is stored once, in English as the admin form and the
demo world give it (`Location.province`: the key the dashboards, the API and the CSV exports group and filter by);
pages and emails show it in the reader's language from `data/provinces.csv` (the 34 province-level divisions:
English, Simplified and Traditional Chinese). A name not in the table is shown as stored."""
from __future__ import annotations

import csv
import functools
from pathlib import Path

PROVINCES_CSV = Path(__file__).resolve().parents[1] / "data" / "provinces.csv"
_LANGUAGES = ("zh_Hans", "zh_Hant")


@functools.cache
def _provinces() -> dict[str, dict[str, str]]:
    with PROVINCES_CSV.open(encoding="utf-8", newline="") as f:
        return {row["province"].casefold(): {lang: row[lang] for lang in _LANGUAGES} for row in csv.DictReader(f)}


def province_name(province: str | None, language: str) -> str:
    """`province` (as stored) in `language` (`zh_Hans`, `zh_Hant`, `en`, or a locale such as `zh_Hant_HK`)."""
    if not province:
        return ""
    language = "zh_Hant" if language.startswith("zh_Hant") or language in ("zh_HK", "zh_TW", "zh_MO") else \
        "zh_Hans" if language.startswith("zh") else "en"
    names = _provinces().get(province.strip().casefold())
    return names[language] if names and language in names else province
