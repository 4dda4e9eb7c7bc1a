"""Add translations to the three catalogues and compile them: `python scripts/add_translations.py FILE.json`.

FILE holds {"msgid": {"zh_Hans": "...", "zh_Hant": "...", "en": "..."}}; "en" defaults to the msgid.
Entries already translated are replaced. The .mo files are compiled from the .po files (they are committed:
a fresh clone needs no compile step; tests/web/test_translations.py checks both).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

TRANSLATIONS = Path(__file__).resolve().parents[1] / "retail" / "translations"


def main(path: str) -> None:
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    for language in ("zh_Hans", "zh_Hant", "en"):
        folder = TRANSLATIONS / language / "LC_MESSAGES"
        with open(folder / "messages.po", "rb") as fh:
            catalog = read_po(fh, locale=language)
        for msgid, strings in entries.items():
            text = strings.get(language) or (msgid if language == "en" else None)
            if text is None:
                raise SystemExit(f"{language} missing for {msgid!r}")
            catalog.add(msgid, text)
        with open(folder / "messages.po", "wb") as fh:
            write_po(fh, catalog, width=110)
        with open(folder / "messages.mo", "wb") as fh:
            write_mo(fh, catalog)
        print(f"{language}: {len(entries)} entries")


if __name__ == "__main__":
    main(sys.argv[1])
