"""Rolling-origin backtest: `python -m forecasting.backtest --data DIR [--folds 4] [--horizon 13]`.

`--wide FILE` scores a wide CSV instead (one row per series, one column per period, e.g. the
carparts set), read as one store's weekly series with no product attributes; 2 folds by
default (`forecasting.wide`).

DIR holds sales, products and stores as Parquet or CSV (the demo export). For each fold the
origin moves back by one horizon; every method sees only the weeks before it. The evaluated
series of a fold are the store x SKU pairs ranged (with a row) in its test weeks, and each
level (store x SKU, SKU x province, SKU x network, brand x network) sums those same pairs.
Baselines (the `forecasting.methods` registry's BASELINE methods) are fitted on each level's
own series (their strongest form); ours is forecast at store x SKU with one of its MODEL
methods (`--method`) and summed with `forecasting.aggregate`. The holiday calendar is loaded
once and passed to every method.

When DIR also holds `truth` (store, sku, week, mean: each series' true expected demand, which the
demo generator exports), each level gets an `oracle` row (the true mean summed to the level, Poisson
quantiles: the generator's count distribution) and every method a `gap_closed_<metric>` column, the
share of the gap between the best baseline and the oracle it closes; and the SKUs launched inside
each test horizon are summed (forecast of ours and the oracle against what they sold).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from forecasting import calendar, methods
from forecasting.aggregate import aggregate
from forecasting.classify import demand_classes
from forecasting.core import forecast
from forecasting.panel import carried_rows, stocked_windows
from forecasting.scoring import ORACLE, OURS
from forecasting.scoring import baseline as _baseline
from forecasting.scoring import by_class as _by_class
from forecasting.scoring import gap_closed as _gap_closed
from forecasting.scoring import oracle as _oracle
from forecasting.scoring import score as _score
from forecasting.validation import (
    check_assortment,
    check_products,
    check_sales,
    check_stores,
    quantile_columns,
)

LEVELS = {"store_sku": ["store", "sku"], "sku_province": ["sku", "province"], "sku_network": ["sku"],
          "brand_network": ["brand"]}
CLASS_LEVELS = ("store_sku", "sku_network")  # scored by demand class too (backtest_classes.csv)


def read_table(data: Path, name: str) -> pd.DataFrame:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = data / f"{name}{suffix}"
        if path.exists():
            return reader(path)
    raise FileNotFoundError(f"{data} has no {name}.parquet or {name}.csv")


def load_world(data: str | Path):
    data = Path(data)
    sales = check_sales(read_table(data, "sales"))
    if any((data / f"assortment{suffix}").exists() for suffix in (".parquet", ".csv")):
        sales = carried_rows(sales, check_assortment(read_table(data, "assortment")))  # a row per carried week
    return sales, check_products(read_table(data, "products")), check_stores(read_table(data, "stores"))


def load_truth(data: str | Path) -> pd.DataFrame | None:
    """The true expected demand (store, sku, week, mean) of a generated world, or None without one."""
    data = Path(data)
    if not any((data / f"truth{suffix}").exists() for suffix in (".parquet", ".csv")):
        return None
    truth = read_table(data, "truth")
    missing = {"store", "sku", "week", "mean"} - set(truth.columns)
    if missing:
        raise ValueError(f"truth lacks columns {sorted(missing)}; expected store, sku, week, mean")
    return truth.assign(week=pd.to_datetime(truth["week"]))


def run(sales, products, stores, *, folds=4, horizon=13, quantiles=(0.5, 0.8, 0.95), progress=False,
        baseline_names=None, options=None, holidays=None, truth=None):
    """Score every method on every level; returns (table, table by demand class, examples for the plot).

    With `truth` (store, sku, week, mean), an `oracle` row per level, `gap_closed_<metric>` columns,
    `truth_bias` and `truth_rmse` (every method's mean against the true mean, `_against_truth`),
    and `table.attrs["launches"]`: per fold, the SKUs launched inside the horizon, summed.

    `baseline_names` limits the baselines (default: every available one in the registry);
    `options` go to `forecast`. `holidays`: the calendar frame (date, kind) given to every
    method, or a CSV path; default data/holidays.csv when present.
    """
    if not isinstance(holidays, pd.DataFrame):
        holidays = calendar.load_holidays(holidays)
    baselines = methods.methods(methods.BASELINE)
    if baseline_names is not None:
        baselines = {k: v for k, v in baselines.items() if k in baseline_names}
    rows, class_rows, examples, choices, launches = [], [], None, {}, []
    carried = stocked_windows(sales).set_index(["store", "sku"])
    for win in windows(sales, products, stores, folds=folds, horizon=horizon):
        fold, origin, weeks, sub = win.fold, win.origin, win.weeks, win.pairs
        hist, act, revenue = win.history, win.actual, win.revenue
        # The weeks every pair was carried (its first to last week with stock), this fold's pairs first.
        others = carried[~carried.index.isin(pd.MultiIndex.from_frame(sub[["store", "sku"]]))].reset_index()
        ours = forecast(sales, horizon, quantiles, products, stores, progress=progress, start=weeks[origin],
                        assortment=pd.concat([sub[["store", "sku"]].join(carried, on=["store", "sku"]), others]),
                        holidays=holidays, **(options or {})).iloc[: len(sub) * horizon]
        choices[str(weeks[origin].date())] = ours.attrs.get("choice")
        true_mean = None if truth is None else _true_mean(truth, sub, weeks[origin], horizon)
        if true_mean is not None:
            launches.append(_launches(fold, weeks[origin], horizon, sub, act, ours, true_mean, products))
        for level, keys in LEVELS.items():
            codes, labels = pd.MultiIndex.from_frame(sub[keys]).factorize()
            group = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                      shape=(len(labels), len(codes)))
            h, a, w = group @ hist, group @ act, group @ revenue
            scored = {OURS: _ours_at(ours, level, keys, labels, products, stores, quantiles, horizon)}
            if true_mean is not None:
                scored[ORACLE] = _oracle(group @ true_mean, quantiles)
            for name, method in baselines.items():
                if method.requires == "statsforecast" and len(labels) > 5000:
                    continue  # a per-series loop: only on the aggregate levels
                scored[name] = _baseline(method, h, weeks[:origin], horizon, quantiles, holidays)
            for name, (mean, qs) in scored.items():
                rows.append(_score(level, name, fold, h, a, w, mean, qs, quantiles))
                if true_mean is not None:
                    rows[-1].update(_against_truth(mean, group @ true_mean))
            if level in CLASS_LEVELS:
                kinds = demand_classes(h)
                for kind in np.unique(kinds[w > 0]):
                    k = kinds == kind
                    for name, (mean, qs) in scored.items():
                        row = _score(level, name, fold, h[k], a[k], w[k], mean[k], qs[k], quantiles)
                        class_rows.append({**row, "class": kind, "series": int(k.sum()), "weight": w[k].sum()})
            if level == "sku_network" and fold == 1:
                examples = (labels, weeks, h, a, *scored[OURS], origin)
    table = pd.DataFrame(rows).groupby(["level", "method"], sort=False).mean(numeric_only=True)
    table = table.drop(columns="fold").reset_index()
    if truth is not None:
        table = _gap_closed(table, baselines)
        table.attrs["launches"] = pd.DataFrame(launches)
    table.attrs["choices"] = choices  # per origin, the model choice ours recorded (print_choices)
    return table, _by_class(class_rows), examples


@dataclass(frozen=True)
class Window:
    """One fold: the store x SKU pairs ranged in its test weeks, their history and actuals."""

    fold: int
    origin: int            # index of the first test week in `weeks`
    weeks: pd.DatetimeIndex
    pairs: pd.DataFrame    # store, sku, brand, list_price, province
    history: np.ndarray    # pairs x weeks before the origin
    actual: np.ndarray     # pairs x horizon
    revenue: np.ndarray    # units x list price over the 13 weeks before the origin (the weights)


def windows(sales, products, stores, *, folds=4, horizon=13):
    """The rolling-origin folds, oldest first: fold k starts k horizons before the end."""
    weeks = pd.date_range(sales["week"].min(), sales["week"].max(), freq="7D")
    pairs = sales[["store", "sku"]].drop_duplicates().reset_index(drop=True)
    pair_index = pd.MultiIndex.from_frame(pairs)
    row_pair = pair_index.get_indexer(pd.MultiIndex.from_frame(sales[["store", "sku"]]))
    row_week = ((sales["week"] - weeks[0]) // pd.Timedelta(weeks=1)).to_numpy()
    dense = np.zeros((len(pairs), len(weeks)), dtype=np.float32)
    dense[row_pair, row_week] = sales["units"].to_numpy()
    stocked = ((sales["units"] > 0) | (sales["in_stock"] > 0)).to_numpy(float)  # ranged: weeks with stock
    present = sparse.csr_matrix((stocked, (row_pair, row_week)), shape=dense.shape)
    attrs = pairs.join(products[["brand", "list_price"]], on="sku").join(stores[["province"]], on="store")
    price = attrs["list_price"].fillna(attrs["list_price"].median()).to_numpy()
    for fold in range(folds, 0, -1):
        origin = len(weeks) - fold * horizon
        if origin < 52:
            continue
        ranged = np.asarray(present[:, origin : origin + horizon].sum(axis=1)).ravel() > 0
        hist = dense[ranged, :origin].astype(float)
        yield Window(
            fold=fold, origin=origin, weeks=weeks, pairs=attrs[ranged].reset_index(drop=True),
            history=hist, actual=dense[ranged, origin : origin + horizon].astype(float),
            revenue=hist[:, -13:].sum(axis=1) * price[ranged],
        )


def _true_mean(truth, pairs, start, horizon):
    """pairs x horizon: the true expected demand of each evaluated pair in the test weeks (0 if none)."""
    step = ((truth["week"] - start) // pd.Timedelta(weeks=1)).to_numpy()
    inside = (step >= 0) & (step < horizon)
    part = truth[inside]
    row = pd.MultiIndex.from_frame(pairs[["store", "sku"]]).get_indexer(pd.MultiIndex.from_frame(part[["store", "sku"]]))
    known = row >= 0
    out = np.zeros((len(pairs), horizon))
    np.add.at(out, (row[known], step[inside][known]), part["mean"].to_numpy(float)[known])
    return out


def _against_truth(mean, true):
    """The mean against the true mean (not against sales, which stockouts censor): `truth_bias`,
    sum(mean) / sum(true) - 1, and `truth_rmse`, sqrt(sum (mean - true)^2 / sum true^2) over the
    level's series and weeks."""
    total = float(true.sum())
    squares = float((true**2).sum())
    return {"truth_bias": float(mean.sum()) / total - 1 if total > 0 else np.nan,
            "truth_rmse": float(np.sqrt(((mean - true) ** 2).sum() / squares)) if squares > 0 else np.nan}


def _launches(fold, start, horizon, pairs, actual, ours, true_mean, products):
    """The SKUs launched inside the horizon: summed forecast of ours and the oracle against what they sold."""
    launch = pd.to_datetime(products["launch_date"])
    end = start + pd.Timedelta(weeks=horizon)
    new = set(launch.index[(launch >= start) & (launch < end)])
    rows = pairs["sku"].isin(new).to_numpy()
    ours_sum = float(ours.loc[ours["sku"].isin(new), "mean"].sum())
    sold = float(actual[rows].sum())
    out = {"fold": fold, "origin": str(start.date()), "skus": len(new),
           "skus_stocked": int(pairs.loc[rows, "sku"].nunique()),
           "actual": sold, OURS: ours_sum, ORACLE: float(true_mean[rows].sum())}
    for name in (OURS, ORACLE):
        out[f"{name}_error"] = (out[name] - sold) / sold if sold > 0 else np.nan
    return out


def _ours_at(frame, level, keys, labels, products, stores, quantiles, horizon):
    out = aggregate(frame, level, products=products, stores=stores)
    index = pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out[keys[0]])
    target = labels if len(keys) > 1 else pd.Index(labels.get_level_values(0))
    slot = target.get_indexer(index)
    step = ((out["week"] - out["week"].min()) // pd.Timedelta(weeks=1)).to_numpy()
    mean = np.zeros((len(labels), horizon))
    mean[slot, step] = out["mean"].to_numpy()
    qs = np.zeros((len(labels), horizon, len(quantiles)))
    for j, col in enumerate(quantile_columns(quantiles)):
        qs[slot, step, j] = out[col].to_numpy()
    return mean, qs


def plot(examples, path: Path, n: int = 4) -> None:
    """History, actuals, forecast mean and 80/95% bands of the top SKUs of the last fold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels, weeks, hist, act, mean, qs, origin = examples
    top = np.argsort(-hist[:, -26:].sum(axis=1))[:n]
    fig = Figure(figsize=(11, 2.6 * n))
    FigureCanvasAgg(fig)
    past, future = weeks[max(0, origin - 52) : origin], weeks[origin : origin + mean.shape[1]]
    for k, i in enumerate(top):
        ax = fig.add_subplot(n, 1, k + 1)
        ax.plot(past, hist[i, -len(past) :], color="0.4", label="history")
        ax.plot(future, act[i], color="black", marker=".", label="actual")
        ax.plot(future, mean[i], color="tab:blue", label="forecast mean")
        ax.fill_between(future, qs[i, :, 0], qs[i, :, -1], color="tab:blue", alpha=0.15,
                        label="lowest to highest quantile")
        ax.set_title(f"SKU {labels[i][0] if isinstance(labels[i], tuple) else labels[i]} x network", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="directory with sales, products, stores (.parquet or .csv)")
    source.add_argument("--wide", help="wide CSV: series name, then one column per period (read as weeks of one store)")
    parser.add_argument("--folds", type=int, default=None, help="rolling origins (default 4; 2 with --wide)")
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--quantiles", default="0.5,0.8,0.95")
    parser.add_argument("--out", default="out/backtest", help="directory for backtest.csv and backtest.png")
    parser.add_argument("--json", action="store_true", help="print the table as a JSON list of rows")
    parser.add_argument("--method", default=None, choices=sorted(methods.methods(methods.MODEL)),
                        help="SKU rate model of ours (a forecasting.methods MODEL; default lifecycle)")
    parser.add_argument("--holidays", default=None, help="holiday calendar CSV (date,kind); default data/holidays.csv")
    parser.add_argument("--no-baselines", action="store_true", help="score ours only (to compare methods)")
    args = parser.parse_args(argv)
    quantiles = tuple(float(q) for q in args.quantiles.split(","))
    if args.wide:
        return _main_wide(args, quantiles)
    args.folds = 4 if args.folds is None else args.folds
    sales, products, stores = load_world(args.data)
    table, by_class, examples = run(sales, products, stores, folds=args.folds, horizon=args.horizon,
                          quantiles=quantiles, progress=not args.json,
                          baseline_names=() if args.no_baselines else None,
                          options={"method": args.method} if args.method else None,
                          holidays=args.holidays, truth=load_truth(args.data))
    out = _write(args.out, table, by_class, examples)
    print_choices(table.attrs.get("choices", {}), sys.stderr if args.json else sys.stdout)
    launches = table.attrs.get("launches")
    if launches is not None and len(launches):
        launches.to_csv(out / "launches.csv", index=False)
        print_launches(launches, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(_json_rows(table, quantiles), indent=1))
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 3):
            for level, part in table.groupby("level", sort=False):
                print(f"\n== {level} ==")
                print(part.drop(columns="level").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(f"\nwrote {out / 'backtest.csv'}, {out / 'backtest_classes.csv'} and {out / 'backtest.png'}",
              file=sys.stderr)
    return 0


def print_choices(choices: dict, file) -> None:
    """One line per origin: the model ours used (method="auto": the pick per demand class)."""
    from forecasting.selection import summary

    for origin, choice in choices.items():
        print(f"model choice at {origin}: {summary(choice)}", file=file)


def print_launches(launches: pd.DataFrame, file) -> None:
    """The SKUs launched inside each horizon: summed forecast of ours and the oracle against sales."""
    print("\nnew launches (SKUs launched inside the horizon, summed over the horizon):", file=file)
    total = launches[["actual", OURS, ORACLE]].sum()
    for rec in [*launches.to_dict("records"), {"origin": "all folds", "skus": int(launches["skus"].sum()),
                                               "skus_stocked": int(launches["skus_stocked"].sum()), **total.to_dict()}]:
        sold = rec["actual"]
        err = {k: f"{(rec[k] - sold) / sold:+.0%}" if sold > 0 else "n/a" for k in (OURS, ORACLE)}
        print(f"  {rec['origin']}: {rec['skus']} SKUs ({rec['skus_stocked']} stocked) actual {sold:.0f}, "
              f"ours {rec[OURS]:.0f} ({err[OURS]}), oracle {rec[ORACLE]:.0f} ({err[ORACLE]})", file=file)


def _main_wide(args, quantiles) -> int:
    """`--wide FILE`: one store's series, levels store_sku and total (forecasting.wide)."""
    from forecasting import wide

    sales, dropped = wide.read_wide(args.wide)
    holidays = calendar.load_holidays(args.holidays) if args.holidays else wide.no_holidays()
    table, by_class, examples, choices = wide.run_wide(
        sales, folds=2 if args.folds is None else args.folds, horizon=args.horizon, quantiles=quantiles,
        baseline_names=() if args.no_baselines else None,
        options={"method": args.method} if args.method else None, holidays=holidays, progress=not args.json)
    out = _write(args.out, table, by_class, examples)
    print_choices(choices, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(_json_rows(table, quantiles), indent=1))
        return 0
    print(f"{args.wide}: {sales['sku'].nunique()} complete series of {sales['week'].nunique()} periods"
          f" ({len(dropped)} with missing periods left out)")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 3):
        for level, part in table.groupby("level", sort=False):
            print(f"\n== {level} ==")
            print(part.drop(columns="level").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\nwrote {out / 'backtest.csv'}, {out / 'backtest_classes.csv'} and {out / 'backtest.png'}", file=sys.stderr)
    return 0


def _write(folder, table, by_class, examples) -> Path:
    """backtest.csv, backtest_classes.csv and the plot of the top SKUs, in `folder`."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "backtest.csv", index=False)
    by_class.to_csv(out / "backtest_classes.csv", index=False)
    if examples is not None:
        plot(examples, out / "backtest.png")
    return out


def _json_rows(table, quantiles):
    rows = []
    for rec in table.to_dict("records"):
        row = {k: rec[k] for k in ("level", "method", "wrmsse", "wspl", "bias", "wmsse")}
        row.update({k: v for k, v in rec.items() if k.startswith(("gap_closed_", "truth_")) and pd.notna(v)})
        for col in quantile_columns(quantiles):
            row[col] = {"below": rec[f"{col}_below"], "at_or_below": rec[f"{col}_at_or_below"]}
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
