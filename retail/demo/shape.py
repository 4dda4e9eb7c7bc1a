"""Shape settings of the demo world: life cycles, promotions, regional taste, openings, holidays, stockouts.

    python -m retail.demo.generate --shape fast-fashion --export DIR
    generate_world(seed=7, n_stores=300, shape=PRESETS["regional"])

`Shape()` (the `default` preset) reproduces the world the generator made before the settings
existed, draw for draw: a setting at its default value draws nothing extra from the random
stream. The backtest can score a forecast against the world's true expected demand
(`truth.parquet` of the export), so a forecasting method can be tried on worlds shaped
unlike the one it was tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Shape:
    # Life cycle: life length (x the catalogue's life_months), ramp to the peak (x 56-84 days),
    # and the fall from the peak to end of life (0.75: end of life sells a quarter of the peak).
    life_scale: float = 1.0
    ramp_scale: float = 1.0
    decline: float = 0.75
    # Promotions: share of store x SKU cells with a one- or two-week promotion in each year,
    # and the range of the demand multiplier while it runs.
    promo_share: float = 0.22
    promo_uplift_low: float = 1.5
    promo_uplift_high: float = 2.5
    # Regional brand preference: sigma of a lognormal multiplier per province x brand (0: none).
    regional_preference: float = 0.0
    # Share of stores that open during the three years of history (the rest opened before).
    opening_share: float = 0.15
    # Holiday strength: exponent on every holiday, festival and gift-season multiplier
    # (1: as designed, 0: no holidays; weekends keep their pattern).
    holiday_strength: float = 1.0
    # Stockouts: share of store reorders that the DC fails to ship (on top of its own shortages).
    stockout: float = 0.0

    def validate(self) -> Shape:
        problems = []
        for name in ("life_scale", "ramp_scale", "promo_uplift_low", "promo_uplift_high"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        for name in ("decline", "promo_share", "opening_share", "stockout"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be within 0..1")
        if self.stockout >= 1:
            problems.append("stockout must be below 1 (at 1 no store is ever restocked)")
        if self.promo_uplift_high < self.promo_uplift_low:
            problems.append("promo_uplift_high must be at least promo_uplift_low")
        if self.regional_preference < 0 or self.holiday_strength < 0:
            problems.append("regional_preference and holiday_strength must be >= 0")
        if problems:
            raise ValueError("invalid demo world shape: " + "; ".join(problems))
        return self


PRESETS = {
    "default": Shape(),
    # Short steep life cycles (half the life, a three-to-four-week ramp, a deep fall) and
    # frequent strong promotions.
    "fast-fashion": Shape(life_scale=0.5, ramp_scale=0.35, decline=0.95, promo_share=0.5,
                          promo_uplift_low=2.5, promo_uplift_high=4.0),
    # Strong regional brand preference, many store openings, weak holidays, many stockouts.
    "regional": Shape(regional_preference=0.8, opening_share=0.4, holiday_strength=0.3, stockout=0.5),
}


def shape_from(name: str = "default", **overrides) -> Shape:
    """A preset with some settings overridden (None leaves a setting at the preset's value)."""
    if name not in PRESETS:
        raise ValueError(f"unknown shape {name!r}; choose one of {', '.join(PRESETS)}")
    known = {f.name for f in fields(Shape)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown shape settings: {', '.join(sorted(unknown))}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}).validate()
