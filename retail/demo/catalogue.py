"""Brands, products and the sales calendar of the demo world, built from the CSV files in data/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[2] / "data"

BRAND_COLUMNS = ["code", "name", "name_zh", "lead_time_days", "moq", "contact_email"]
PRODUCT_COLUMNS = [
    "sku", "brand_code", "model", "variant", "category", "barcode", "list_price_cny",
    "list_price_hkd", "wholesale_cost_cny", "pack_size", "serialised", "launch_date", "eol_date",
]
HKD_PER_CNY = 1.09

VARIANT_CODES = {
    "Black": "BLK", "Grey": "GRY", "White": "WHT", "Silver": "SLV", "Blue": "BLU", "Brown": "BRN",
    "Tortoise": "TRT", "Titanium": "TTN", "Gunmetal": "GUN", "Pilot": "PLT", "Browline": "BRL",
    "Round": "RND", "Green": "GRN", "Red": "RED", "Clear": "CLR", "Station Bundle": "STB",
}


def read_reference(name: str) -> pd.DataFrame:
    """One of the reference tables in data/ (cities, brands, catalogue, holidays)."""
    return pd.read_csv(DATA_DIR / f"{name}.csv", keep_default_na=False)


def ean13_check_digit(first12: str) -> int:
    """The GS1 check digit: weights 1,3,1,3... from the left over the first 12 digits."""
    total = sum(int(ch) * (3 if i % 2 else 1) for i, ch in enumerate(first12))
    return (10 - total % 10) % 10


def build_brands(reference: pd.DataFrame) -> pd.DataFrame:
    brands = reference.copy()
    brands["contact_email"] = "partner@" + brands["code"].str.lower() + ".example.com"
    brands["lead_time_days"] = brands["lead_time_days"].astype(int)
    brands["moq"] = brands["moq"].astype(int)
    return brands


def build_products(
    catalogue: pd.DataFrame, brands: pd.DataFrame, rng: np.random.Generator, life_scale: float = 1.0,
) -> pd.DataFrame:
    """Expand the catalogue of models into one row per sellable variant (SKU).

    `life_scale` multiplies each model's life (launch to end of life, whole months, at least one).
    """
    by_code = brands.set_index("code")
    rows = []
    item_by_brand: dict[str, int] = {}
    for model in catalogue.itertuples(index=False):
        brand = by_code.loc[model.brand]
        launch = date.fromisoformat(model.launch_date)
        months = int(model.life_months) if life_scale == 1.0 else max(1, round(int(model.life_months) * life_scale))
        eol = (pd.Timestamp(launch) + pd.DateOffset(months=months)).date()
        for variant in model.variants.split("|"):
            item = item_by_brand.get(model.brand, 0) + 1
            item_by_brand[model.brand] = item
            first12 = f"69{int(brand.ean_company):05d}{item:05d}"
            rows.append({
                "sku": f"{brand.prefix}-{model.code}-{VARIANT_CODES[variant]}",
                "brand_code": model.brand,
                "model": model.model,
                "variant": variant,
                "category": model.category,
                "barcode": first12 + str(ean13_check_digit(first12)),
                "list_price_cny": int(model.list_price_cny),
                "launch_date": launch,
                "eol_date": eol,
            })
    products = pd.DataFrame(rows)
    n = len(products)
    products["list_price_hkd"] = (np.round(products["list_price_cny"] * HKD_PER_CNY / 10) * 10 - 1).astype(int)
    margin = rng.uniform(0.60, 0.75, n)
    products["wholesale_cost_cny"] = np.round(products["list_price_cny"] * margin).astype(int)
    products["pack_size"] = rng.choice([1, 2, 5], size=n, p=[0.86, 0.10, 0.04])
    products["serialised"] = rng.random(n) > 0.04
    # EOL dates beyond the catalogue horizon are not yet announced.
    return products[PRODUCT_COLUMNS]


def daily_seasonality(start: date, days: int, holidays: pd.DataFrame, strength: float = 1.0) -> np.ndarray:
    """Multiplier of demand per day: weekends, festivals, shopping seasons; mean about 1 over a year.

    `strength` is an exponent on every holiday multiplier (festivals, gift weeks, the two peaks):
    1 as designed, 0 none; the weekend pattern stays.
    """
    def strong(factor: float) -> float:
        return factor if strength == 1.0 else factor ** strength

    dates = pd.date_range(start, periods=days, freq="D")
    mult = np.ones(days)
    mult *= np.where(dates.day_of_week >= 5, 1.35, 0.93)
    kinds = holidays.assign(date=pd.to_datetime(holidays["date"]))
    uplift = {
        "cny": 0.55, "618": 1.45, "double11": 1.5, "national_day": 1.6, "back_to_school": 1.25,
        "labour_day": 1.3, "qingming": 1.05, "dragon_boat": 1.1, "mid_autumn": 1.15,
    }
    index = pd.Series(np.arange(days), index=dates)
    for kind, factor in uplift.items():
        kind_days = kinds.loc[kinds["kind"] == kind, "date"].drop_duplicates()
        pos = index.reindex(kind_days).dropna().to_numpy(dtype=int)
        mult[pos] *= strong(factor)
    # Gift season: the three weeks before the Spring Festival holiday.
    cny = kinds.loc[kinds["kind"] == "cny", "date"]
    first_days = cny[cny.diff().dt.days.fillna(99) > 1]
    for first in first_days:
        pos = index.reindex(pd.date_range(first - pd.Timedelta(days=21), first - pd.Timedelta(days=1))).dropna()
        mult[pos.to_numpy(dtype=int)] *= strong(1.4)
    # The two festival peaks themselves: 18 June and 11 November.
    peak = (dates.month == 6) & (dates.day == 18) | (dates.month == 11) & (dates.day == 11)
    mult[peak] *= strong(2.0)
    return mult


def launch_curve(
    days_since_launch: np.ndarray, life_days: np.ndarray, ramp_days: np.ndarray, decline: float = 0.75,
) -> np.ndarray:
    """Ramp up after launch, peak, decay towards end of life (by `decline` of the peak), nothing after it."""
    t = days_since_launch.astype(float)
    ramp = np.clip(t / ramp_days, 0.0, 1.0) ** 1.5
    after_peak = np.clip((t - ramp_days) / np.maximum(life_days - ramp_days, 1), 0.0, 1.0)
    decay = 1.0 - decline * after_peak
    return np.where((t >= 0) & (t < life_days), ramp * decay, 0.0)
