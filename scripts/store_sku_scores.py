"""What the store x SKU squared-error scores reward: `python scripts/store_sku_scores.py --data DIR`.

At store x SKU most series sell nothing in a 13-week window, and the root taken per series
in RMSSE makes the score of such a series grow like the forecast itself, not its square.
So WRMSSE there is lowest for a forecast of zero. This prints, per fold of the backtest
(same windows, weights and scales as `python -m forecasting.backtest`):

- WRMSSE and WMSSE (no root per series; its expectation is lowest at the mean) of our
  mean, of Croston SBA and of the zero forecast;
- the level of each on the weighted series (forecast units / units sold): only series
  that sold in the 13 weeks before the origin carry weight;
- an equal-level comparison: our forecast scaled to SBA's level on the weighted series,
  and SBA's scaled to ours, so that only how each spreads its units over series differs.

DIR is the demo export (`flask --app wsgi demo export DIR` or
`python -m retail.demo.generate --stores 3000 --seed 7 --export DIR`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting import calendar, forecast, methods, metrics  # noqa: E402
from forecasting.backtest import load_world, windows  # noqa: E402
from forecasting.history import History  # noqa: E402


def fold_scores(win, sales, products, stores, horizon: int, holidays: pd.DataFrame) -> dict:
    start = win.weeks[win.origin]
    ours = forecast(sales, horizon, (0.5,), products, stores, assortment=win.pairs[["store", "sku"]], start=start,
                    holidays=holidays)
    ours = ours["mean"].to_numpy().reshape(-1, horizon)
    history = History.from_frame(pd.DataFrame(win.history, columns=win.weeks[: win.origin]))
    sba = np.clip(methods.get("croston_sba")(history, horizon, holidays=holidays).to_numpy(), 0, None)
    zero = np.zeros_like(ours)
    h, a, w = win.history, win.actual, win.revenue
    weighted = w > 0
    sold = a[weighted].sum()
    level_ours, level_sba = ours[weighted].sum() / sold, sba[weighted].sum() / sold
    out = {"fold": win.fold, "origin": str(start.date()), "series": len(a), "weighted_series": int(weighted.sum())}
    for name, mean in (("ours", ours), ("croston_sba", sba), ("zero", zero)):
        out[f"wrmsse_{name}"] = metrics.wrmsse(h, a, mean, w)
        out[f"wmsse_{name}"] = metrics.wmsse(h, a, mean, w)
    out["level_ours"], out["level_croston_sba"] = level_ours, level_sba
    out["wrmsse_ours_at_sba_level"] = metrics.wrmsse(h, a, ours * level_sba / level_ours, w)
    out["wrmsse_sba_at_our_level"] = metrics.wrmsse(h, a, sba * level_ours / level_sba, w)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sales, products, stores = load_world(args.data)
    holidays = calendar.load_holidays()
    rows = [fold_scores(win, sales, products, stores, args.horizon, holidays)
            for win in windows(sales, products, stores, folds=args.folds, horizon=args.horizon)]
    table = pd.DataFrame(rows)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.set_index(["fold", "origin"]).T.to_string(float_format=lambda x: f"{x:.4f}"))
    mean = table.mean(numeric_only=True)
    print(f"\nmean of {len(table)} folds: WRMSSE ours {mean.wrmsse_ours:.4f}, Croston SBA {mean.wrmsse_croston_sba:.4f}, "
          f"zero {mean.wrmsse_zero:.4f}; WMSSE ours {mean.wmsse_ours:.4f}, SBA {mean.wmsse_croston_sba:.4f}, "
          f"zero {mean.wmsse_zero:.4f}")
    print(f"level on the weighted series (forecast / sold): ours {mean.level_ours:.2f}, SBA {mean.level_croston_sba:.2f}; "
          f"ours at SBA's level {mean.wrmsse_ours_at_sba_level:.4f} vs SBA {mean.wrmsse_croston_sba:.4f}; "
          f"SBA at our level {mean.wrmsse_sba_at_our_level:.4f} vs ours {mean.wrmsse_ours:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
