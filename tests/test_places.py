"""Province and city names in the reader's language (retail/places.py, data/provinces.csv)."""
from __future__ import annotations

import csv

import pytest

from retail import places
from retail.demo.catalogue import read_reference


@pytest.mark.parametrize(("language", "expected"), [
    ("zh_Hans", "广东"), ("zh_Hant", "廣東"), ("en", "Guangdong"), ("zh_Hant_HK", "廣東"), ("zh", "广东"),
    ("zh_HK", "廣東"), ("fr", "Guangdong")])
def test_a_province_in_each_language(language, expected):
    assert places.province_name("Guangdong", language) == expected


def test_unknown_empty_and_spelled_otherwise():
    assert places.province_name("Atlantis", "zh_Hans") == "Atlantis"
    assert places.province_name("", "zh_Hans") == "" and places.province_name(None, "en") == ""
    assert places.province_name(" hong kong ", "zh_Hant") == "香港"


def test_every_province_of_the_demo_world_is_named_as_its_cities_say():
    """The demo world's own Simplified names (data/cities.csv) agree with the table, and every one is there."""
    cities = read_reference("cities")
    for province, zh in set(zip(cities["province"], cities["province_zh"], strict=True)):
        assert places.province_name(province, "zh_Hans") == zh, province


def test_the_table_is_complete_and_unambiguous():
    with places.PROVINCES_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 34  # the province-level divisions, Hong Kong, Macau and Taiwan included
    assert len({r["province"].casefold() for r in rows}) == len({r["zh_Hans"] for r in rows}) == 34
    traditional = {r["province"]: places.province_name(r["province"], "zh_Hant") for r in rows}
    assert all(r["zh_Hans"] and traditional[r["province"]] for r in rows)
    assert (traditional["Liaoning"], traditional["Heilongjiang"], traditional["Taiwan"]) == ("遼寧", "黑龍江", "台灣")


@pytest.mark.parametrize(("language", "expected"), [("zh_Hans", "沈阳"), ("zh_Hant", "瀋陽"), ("en", "Shenyang")])
def test_a_city_in_each_language(language, expected):
    assert places.city_name("Shenyang", "沈阳", language) == expected
    assert places.city_name("Atlantis", "", language) == "Atlantis"  # no Chinese name: as stored
