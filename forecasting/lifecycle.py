"""SKU-level demand rate: the dense series the store forecasts are cut from.

A SKU's network demand is modelled as a *rate per unit of store size in stock* times the
holiday factor of the week. The rate follows a product life cycle (ramp, peak, decline,
end of life), so the models here share one signature, `model(history, horizon, factor) -> array`
of future rates (SKU x week), `factor` being the holiday factor of the history weeks then the
future weeks (`forecasting.history.holiday_factor`), and differ in how they carry the rate
forward:

- `level`: exponentially weighted rate, flat (simple exponential smoothing on counts);
- `lifecycle`: the SKU's own scale times the life-cycle curve of its analogues (same brand
  and category, else category, else all SKUs) read at the SKU's age: a new SKU with no
  history gets its analogues' launch curve, a maturing one their decline; its scale is read
  from comparable recent launches (`forecasting.launches`).

`forecasting.methods` registers them (and `smoothing.ets`) as forecasting methods.
"""

from __future__ import annotations

import numpy as np

from forecasting.history import History, life_mask
from forecasting.launches import launch_prior

# Units (pooled over 5 ages) for which a group's own curve counts half against its parent's shape.
# Chosen on the six worlds of issue 11 (docs/forecasting.md, "Worlds with known truth"): against the
# true mean, 100 and 300 were each better than no shrinkage at every level of all six worlds, and 20
# and 1,000 on the 300-store ones (300-store `regional` SKU x network truth RMSE 0.310 -> 0.273,
# 0.240, 0.218, 0.205 at 20, 100, 300, 1,000); 300 keeps a brand's own shape where it has sold some
# 60 units an age, as the brands of the 3,000-store worlds have.
CURVE_PRIOR_UNITS = 300.0


def ages(history: History, weeks: np.ndarray, relative: bool) -> np.ndarray:
    """Age of each SKU at week indices `weeks` (sku x k), in weeks since launch.

    With `relative`, ages are stretched to a common life length: a product 70 weeks into a
    78-week life is as old as one 78 weeks into an 87-week life, so the decline before end
    of life lines up across analogues. Unknown lives count as the median life.
    """
    age = weeks[None, :] - history.launch[:, None]
    if not relative:
        return age
    life = (history.eol - history.launch + 1).astype(float)
    known = (history.eol < 10**8) & (life > 0)
    typical = float(np.median(life[known])) if known.any() else 86.0
    life = np.where(known, life, typical)
    return np.round(age * (typical / life)[:, None]).astype(np.int64)


def level(history: History, horizon: int, factor: np.ndarray, *, half_life: float = 6.0) -> np.ndarray:
    """Flat forecast of the recent deseasonalised rate (ratio of weighted counts)."""
    n_weeks = len(history.weeks)
    weights = 0.5 ** ((n_weeks - 1 - np.arange(n_weeks)) / half_life)
    base = history.exposure * factor[None, :n_weeks]
    rate = (history.units @ weights) / np.maximum(base @ weights, 1e-12)
    future = factor[n_weeks : n_weeks + horizon]
    return rate[:, None] * future[None, :] * life_mask(history, horizon)


def _curves(history: History, factor: np.ndarray, max_age: int, relative: bool, smooth: int = 5, rounds: int = 4,
            prior_units: float = 20.0):
    """Life-cycle curve by age for every analogue group: (rate, support, num, den) per grouping.

    A two-way multiplicative fit, units[s, t] ~ scale[s] x curve[group(s), age(s, t)] x
    exposure x holiday factor, by alternating ratios: pooling raw rates by age would mix a
    different set of SKUs at every age (old ages are seen only on old, differently popular
    products) and bend the shape. Weeks after end of life are left out.
    """
    n_sku, n_weeks = history.units.shape
    t = np.arange(n_weeks)[None, :]
    age = ages(history, np.arange(n_weeks), relative)
    ok = (age >= 0) & (age < max_age) & (history.exposure > 0) & (t <= history.eol[:, None])
    base = history.exposure * factor[None, :n_weeks]
    units = history.units
    kernel = np.ones(smooth)
    sold = np.where(ok, units, 0).sum(axis=1)
    out = []
    for codes in history.groups:
        n_groups = int(codes.max()) + 1 if len(codes) else 0
        g = np.broadcast_to(codes[:, None], age.shape)[ok]
        a = age[ok]
        scale = np.ones(n_sku)
        cnt = np.zeros((n_groups, max_age))
        np.add.at(cnt, (g, a), 1.0)
        for _ in range(rounds):
            num = np.zeros((n_groups, max_age))
            den = np.zeros((n_groups, max_age))
            np.add.at(num, (g, a), units[ok])
            np.add.at(den, (g, a), (base * scale[:, None])[ok])
            # Neighbouring ages pooled: a curve, not weekly noise.
            num = np.apply_along_axis(np.convolve, 1, num, kernel, "same") if n_groups else num
            den = np.apply_along_axis(np.convolve, 1, den, kernel, "same") if n_groups else den
            rate = num / np.maximum(den, 1e-12)
            expected = np.zeros(age.shape)
            expected[ok] = rate[g, a] * base[ok]
            scale = (sold + prior_units) / (expected.sum(axis=1) + prior_units)
        support = np.apply_along_axis(np.convolve, 1, cnt, kernel, "same") if n_groups else cnt
        out.append((rate, support, num, den))
    return out


def _shrink_curves(history: History, curves, prior_units: float):
    """Each analogue group's curve shrunk toward its parent's (the next, more general grouping, itself
    shrunk first), at the group's own level: with the parent's curve p(a) at age a and the group's
    level L = sum num / sum (den x p) over the ages both have seen,

        rate(a) = p(a) L (num(a) + k) / (den(a) p(a) L + k),   k = `prior_units`

    (num, den: units and scale-weighted exposure pooled over 5 neighbouring ages). A group-age with
    k units follows its own shape halfway; one never seen follows the parent's shape at the
    group's level. The most general group (all SKUs) is left as it is.
    """
    out = list(curves)
    for i in range(len(curves) - 2, -1, -1):
        codes, parent_codes = history.groups[i], history.groups[i + 1]
        rate, support, num, den = curves[i]
        prate = out[i + 1][0]
        n_groups = rate.shape[0]
        if n_groups == 0 or prate.shape[0] == 0:
            continue
        parent = np.zeros(n_groups, dtype=np.int64)
        parent[codes] = parent_codes
        p = prate[parent]  # (groups, ages)
        both = (den > 0) & (p > 0)
        level = np.where(both, num, 0).sum(1) / np.maximum(np.where(both, den * p, 0).sum(1), 1e-12)
        level = np.where(np.where(both, den * p, 0).sum(1) > 0, level, 1.0)[:, None]
        prior = p * level
        new = np.where(den > 0, prior * (num + prior_units) / np.maximum(den * prior + prior_units, 1e-12), prior)
        new = np.where(prior > 0, new, rate)
        out[i] = (new, support, new * den, den)  # the held level (`_held`) reads the shrunk curve too
    return out


def _held(rate_num, den, support, min_support, last_ages: int = 8) -> np.ndarray:
    """Per group: pooled rate over its last `last_ages` well-supported ages (NaN if none)."""
    out = np.full(len(rate_num), np.nan)
    for g in range(len(rate_num)):
        ok = np.nonzero(support[g] >= min_support)[0]
        tail = ok[-last_ages:] if len(ok) else np.nonzero(den[g] > 0)[0]
        if len(tail):
            out[g] = rate_num[g, tail].sum() / max(den[g, tail].sum(), 1e-12)
    return out


def _curve_lookup(history: History, curves, past_age, future_age, min_support: float):
    """Each SKU's analogue curve at its past and future ages, read from one group per SKU.

    The group is the most specific one whose analogues have been seen at the SKU's last
    future age (a new SKU's own brand when that brand launched before; an ageing SKU's
    category when its brand has no older product). One group per SKU keeps the ratio
    future/past free of level differences between groups. Ages past the group's
    experience hold its latest level.
    """
    n_sku = len(past_age)
    chosen = np.full(n_sku, -1)
    last_future = np.clip(future_age[:, -1], 0, None)
    for level, (codes, (rate, support, _num, _den)) in enumerate(zip(history.groups, curves, strict=True)):
        if rate.shape[0] == 0:
            continue
        a = np.clip(last_future, 0, rate.shape[1] - 1)
        seen = (support[codes, a] >= min_support) & (last_future < rate.shape[1])
        chosen[(chosen < 0) & seen] = level
    chosen[chosen < 0] = len(history.groups) - 1
    out = []
    for ages in (past_age, future_age):
        result = np.zeros(ages.shape)
        for level, (codes, (rate, support, num, den)) in enumerate(zip(history.groups, curves, strict=True)):
            rows = chosen == level
            if not rows.any() or rate.shape[0] == 0:
                continue
            g = codes[rows][:, None]
            a = np.clip(ages[rows], 0, rate.shape[1] - 1)
            held = _held(num, den, support, min_support)[codes[rows]][:, None]
            beyond = (ages[rows] > _last_supported(support, min_support)[codes[rows]][:, None]) | (
                support[g, a] < min_support
            )
            value = np.where(beyond, held, rate[g, a])
            result[rows] = np.nan_to_num(np.where(ages[rows] >= 0, value, 0.0))
        out.append(result)
    return out


def _last_supported(support, min_support) -> np.ndarray:
    ok = support >= min_support
    return np.where(ok.any(axis=1), support.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), -1)


def lifecycle(
    history: History,
    horizon: int,
    factor: np.ndarray,
    *,
    half_life: float = 8.0,
    prior_units: float = 4.0,
    min_support: float = 3.0,
    max_age: int = 160,
    relative: bool = True,
    prior_scale: float | None = None,
    launch_window: int = 52,
    young_weeks: int = 0,
    curve_prior: float = CURVE_PRIOR_UNITS,
) -> np.ndarray:
    """Own scale x analogue life-cycle curve at the SKU's future ages.

    Each analogue group's curve is shrunk toward its parent group's shape with `curve_prior`
    units (`_shrink_curves`).

    `prior_scale` is the scale of a SKU without evidence (default: `typical_scale`; for a SKU
    launched inside the horizon, or in the last `young_weeks`, the scale of its analogue
    group's launches of the last `launch_window` weeks, `forecasting.launches.launch_prior`;
    `launch_window=0` turns that off).
    """
    n_sku, n_weeks = history.units.shape
    if n_sku == 0:
        return np.zeros((0, horizon))
    curves = _shrink_curves(history, _curves(history, factor, max_age, relative), curve_prior)
    past_age = ages(history, np.arange(n_weeks), relative)
    future_age = ages(history, n_weeks + np.arange(horizon), relative)
    curve_past, curve_future = _curve_lookup(history, curves, past_age, future_age, min_support)
    weights = 0.5 ** ((n_weeks - 1 - np.arange(n_weeks)) / half_life)
    expected = (curve_past * history.exposure * factor[None, :n_weeks] * (past_age >= 0)) @ weights
    observed = history.units @ weights
    # Shrink the scale toward the typical SKU's scale in proportion to the evidence. The
    # curves are fitted on pooled units, so their level is that of the widely ranged
    # best sellers (exposure-weighted mean scale 1); the typical SKU sells well below it
    # (mean scale about 0.6 on the demo world), and a new SKU with scale 1 was
    # forecast at about twice its launch sales in backtest.
    prior = typical_scale(observed, expected, prior_units) if prior_scale is None else prior_scale
    if prior_scale is None and launch_window > 0:
        # A SKU launched recently or inside the horizon: the scale of comparable recent launches.
        full = (curve_past * history.exposure * factor[None, :n_weeks] * (past_age >= 0)).sum(axis=1)
        young = history.launch >= n_weeks - young_weeks
        prior = np.where(young, launch_prior(history.units.sum(axis=1), full, history.launch, n_weeks,
                                             history.groups, prior, window=launch_window), prior)
    scale = (observed + prior_units * prior) / (expected + prior_units)
    scale = np.where(expected + observed > 0, scale, prior)
    future = factor[n_weeks : n_weeks + horizon]
    return scale[:, None] * curve_future * future[None, :] * life_mask(history, horizon)


def typical_scale(observed: np.ndarray, expected: np.ndarray, min_expected: float) -> float:
    """Mean scale of the SKUs with evidence (at least `min_expected` units expected): the
    prior for a SKU the curve has barely seen; 1 when no SKU has that much evidence."""
    seen = expected >= min_expected
    return float(np.mean(observed[seen] / expected[seen])) if seen.any() else 1.0
