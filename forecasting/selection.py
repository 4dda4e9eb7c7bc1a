"""Model choice by the data: `method="auto"` picks, per group of series, among candidate models
by a rolling-origin backtest on the history it is given (issue 11, item 3).

Candidates (`CANDIDATES`): the life-cycle model, the exponentially weighted level, TSB, Croston
SBA, the 13-week moving average, and blends (the mean of two). The units-only methods run on
each series' deseasonalised rate (units over exposure x holiday factor; for one store without
a calendar that is the units themselves), and their flat rate is put back through the holiday
factor and the known life (launch, end of life), as the models' are.

The check: at `INNER_ORIGINS` origins `horizon` weeks apart before the end of the history
(each with at least `MIN_WEEKS` weeks before it), every candidate forecasts the next `horizon`
weeks from the history before that origin only, and is scored like the backtest's WMSSE:
squared error of the units (rate x the exposure those weeks had) scaled by the series' mean
squared one-step naive error, weighted by its units over the `horizon` weeks before the
origin. Groups are the Syntetos-Boylan demand classes of the history (`classify.py`); a group
with fewer than `MIN_SERIES` weighted series takes the choice made on all series, and series
that never sold take the default (the life-cycle model reads launches from analogues). The
default is kept unless a candidate beats it by `MARGIN`, so noise does not move a choice
that the demo world's backtest made. Everything here reads only the history passed in, which
`forecast` cuts at its origin: the choice never sees the weeks it forecasts.

The result frame carries the choice in `attrs["choice"]`; `forecast` copies it to its output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import baselines, metrics
from forecasting.classify import demand_classes
from forecasting.history import History, holiday_factor, life_mask

DEFAULT = "lifecycle"
MODELS = ("lifecycle", "level")  # forecasting.methods MODEL methods (rate per unit of exposure)
UNITS_ONLY = {"tsb": baselines.tsb, "croston_sba": baselines.croston_sba, "moving_average": baselines.moving_average}
BLENDS = (("lifecycle", "tsb"), ("lifecycle", "level"), ("lifecycle", "moving_average"), ("level", "tsb"))
CANDIDATES = (*MODELS, *UNITS_ONLY, *(f"{a}+{b}" for a, b in BLENDS))
INNER_ORIGINS = 4
MIN_WEEKS = 12
MIN_SERIES = 20
MARGIN = 0.02


Models = dict  # name -> the registry's model method (forecasting.methods passes them in: no import cycle)


def candidate_rates(history: History, horizon: int, holidays: pd.DataFrame, models: Models) -> dict[str, np.ndarray]:
    """Every candidate's future rate (series x horizon, per unit of exposure)."""
    out = {name: models[name](history, horizon, holidays=holidays).to_numpy() for name in MODELS}
    n_weeks = len(history.weeks)
    factor = holiday_factor(history, holidays, horizon)
    base = history.exposure * factor[None, :n_weeks]
    rate = np.where(base > 0, history.units / np.maximum(base, 1e-12), 0.0)
    plain = History(history.series, history.weeks, rate, history.exposure, history.launch, history.eol,
                    history.groups)
    future = factor[n_weeks : n_weeks + horizon][None, :] * life_mask(history, horizon)
    for name, fn in UNITS_ONLY.items():
        out[name] = np.clip(fn(plain, horizon).to_numpy(), 0.0, None) * future
    for a, b in BLENDS:
        out[f"{a}+{b}"] = (out[a] + out[b]) / 2
    return out


def inner_scores(history: History, horizon: int, holidays: pd.DataFrame, groups: np.ndarray, models: Models,
                 origins: int = INNER_ORIGINS, min_weeks: int = MIN_WEEKS):
    """Per inner origin (latest first): per candidate and group the weighted squared scaled
    error, and per group the weight; and the origins used (week indices). Reads `history` only."""
    n_weeks = len(history.weeks)
    labels = np.unique(groups)
    num, den, used = [], [], []
    for k in range(1, origins + 1):
        end = n_weeks - k * horizon
        if end < min_weeks:
            break
        used.append(end)
        past = history.until(end)
        rates = candidate_rates(past, horizon, holidays, models)
        actual = history.units[:, end : end + horizon]
        exposure = history.exposure[:, end : end + horizon]
        sq, _ = metrics.scales(past.units)
        weight = np.where(sq > 0, past.units[:, -horizon:].sum(axis=1), 0.0)
        scale = np.where(sq > 0, sq, 1.0)
        num.append({c: {} for c in CANDIDATES})
        den.append({})
        for g in labels:
            rows = groups == g
            den[-1][g] = float(weight[rows].sum())
            for c in CANDIDATES:
                err = ((actual[rows] - rates[c][rows] * exposure[rows]) ** 2).mean(axis=1) / scale[rows]
                num[-1][c][g] = float((weight[rows] * err).sum())
    return num, den, used


def _pick(num: list[dict], den: list[dict], keys, default: str = DEFAULT, margin: float = MARGIN):
    """The best candidate over the origins' pooled score, if it beats the default by `margin`
    overall and at more than half of the origins (with weight); else the default. Also the scores."""
    total = sum(d[g] for d in den for g in keys)
    if total <= 0:
        return default, None
    scores = {c: sum(n[c][g] for n in num for g in keys) / total for c in CANDIDATES}
    best = min(scores, key=scores.get)
    live = [i for i, d in enumerate(den) if sum(d[g] for g in keys) > 0]
    wins = sum(sum(num[i][best][g] for g in keys) < sum(num[i][default][g] for g in keys) for i in live)
    if scores[best] < (1.0 - margin) * scores[default] and 2 * wins > len(live):
        return best, scores
    return default, scores


def choose(history: History, horizon: int, holidays: pd.DataFrame, models: Models) -> tuple[np.ndarray, dict]:
    """The candidate for each series (array of names) and a record of the choice."""
    groups = demand_classes(history.units)
    num, den, used = inner_scores(history, horizon, holidays, groups, models)
    chosen = np.full(len(groups), DEFAULT, dtype=object)
    record = {"by": "demand class", "candidates": list(CANDIDATES), "default": DEFAULT,
              "origins": [str(history.weeks[e].date()) for e in used], "groups": {}}
    labels = [g for g in np.unique(groups) if g != "no_sales"]
    pooled, _ = _pick(num, den, labels) if used else (DEFAULT, None)
    record["pooled"] = pooled
    if not used:
        record["note"] = "too little history for a check origin: default kept"
    sq, _ = metrics.scales(history.units)
    weighted = (sq > 0) & (history.units[:, -horizon:].sum(axis=1) > 0)
    for g in np.unique(groups):
        rows = groups == g
        scores = None
        if g == "no_sales":
            pick = DEFAULT
        elif used and int((rows & weighted).sum()) >= MIN_SERIES:
            pick, scores = _pick(num, den, [g])
        else:
            pick = pooled
        chosen[rows] = pick
        entry = {"method": pick, "series": int(rows.sum())}
        if scores:
            entry["scores"] = {c: round(float(v), 4) for c, v in scores.items()}
        record["groups"][str(g)] = entry
    return chosen, record


def auto(history: History, horizon: int, holidays: pd.DataFrame, models: Models) -> pd.DataFrame:
    """Each series forecast by the candidate chosen for its group; `attrs["choice"]` records it. `models`:
    the registry's model methods by name (at least those in MODELS)."""
    chosen, record = choose(history, horizon, holidays, models)
    rates = candidate_rates(history, horizon, holidays, models)
    out = np.zeros((len(chosen), horizon))
    for name in np.unique(chosen):
        rows = chosen == name
        out[rows] = rates[name][rows]
    frame = history.forecast_frame(np.nan_to_num(np.clip(out, 0.0, None)), horizon)
    frame.attrs["choice"] = record
    return frame


def summary(record: dict | None) -> str:
    """One line: the method chosen per group (for the backtest's printout)."""
    if not record:
        return "-"
    if "groups" not in record or not record["groups"]:
        return record.get("method") or record.get("pooled") or "-"
    parts = [f"{g}: {v['method']} ({v['series']})" for g, v in record["groups"].items()]
    return f"pooled {record.get('pooled')}; " + ", ".join(parts)
