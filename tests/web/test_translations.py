"""Every message of the pages is translated into both Chinese scripts, and the committed .mo files
are the compiled .po files (a fresh clone needs no compile step)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "retail" / "translations"


def extracted_ids() -> set[str]:
    method_map = [("retail/**.py", "python"), ("retail/templates/**.html", "jinja2")]  # as babel.cfg
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        if isinstance(message, tuple):
            found.add(message[0])
        elif message:
            found.add(message)
    return {m for m in found if m.strip()}


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated(language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    assert sorted(extracted_ids() - translated) == []


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
def test_committed_mo_matches_its_po(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), "run pybabel compile -d retail/translations"
