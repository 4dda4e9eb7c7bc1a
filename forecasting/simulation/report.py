"""One replay from start to finish: our sweep and the min/max grid on the same world, the
comparison at the reported fill rate, and its outputs (table, CSVs, JSON, trade-off plot)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecasting.simulation.covers import EVERY, rolling_covers
from forecasting.simulation.ledger import measure
from forecasting.simulation.minmax import compare, frontier_turnover, minmax_grid, tune_minmax
from forecasting.simulation.ours import DEFAULT_HOLD, run_ours
from forecasting.simulation.world import WEEKS, build_world, load

TARGET_FILL = 0.95  # the must-show threshold
# The reported point: the lowest sweep point at or above this fill rate. Min/max reaches about 96-97 % with
# one unit per stocked cell (its plateau); above it a policy must choose where second units go, which is
# where a forecast should matter. Every sweep point >= 95 % is printed with its ratio, the weak band
# between 95 % and 97.5 % included (see docs/replenishment.md).
REPORT_FILL = 0.975
TARGET_RATIO = 1.25


def plot(ours: list[dict], minmax: list[dict], path: Path, chosen: dict | None = None) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([r["turnover"] for r in ours], [100 * r["fill_rate"] for r in ours], "o-",
            label="ours: cost-aware rule (sweep of hold per 1,000 CNY)")
    for r in ours:
        ax.annotate(f"{r['hold_per_kcny']:g}", (r["turnover"], 100 * r["fill_rate"]), fontsize=7,
                    xytext=(4, -9), textcoords="offset points")
    ax.scatter([r["turnover"] for r in minmax], [100 * r["fill_rate"] for r in minmax], marker="x", color="grey",
               label="min/max (grid)")
    pts = sorted((r["fill_rate"], frontier_turnover(minmax, r["fill_rate"])) for r in minmax)
    ax.plot([tu for _, tu in pts], [100 * f for f, _ in pts], color="grey", lw=0.8, label="min/max frontier")
    ax.plot([TARGET_RATIO * tu for _, tu in pts], [100 * f for f, _ in pts], color="grey", lw=0.8, ls=":",
            label=f"{TARGET_RATIO:g} x min/max frontier (target)")
    if chosen is not None:
        ax.scatter([chosen["turnover"]], [100 * chosen["fill_rate"]], s=90, facecolors="none", edgecolors="red",
                   label="reported point")
    ax.axhline(100 * TARGET_FILL, color="red", lw=0.8, ls="--")
    ax.set_xlabel("inventory turnover (COGS / average store inventory at cost, per year)")
    ax.set_ylabel("unit fill rate (%)")
    ax.set_ylim(93, 100)
    ax.set_title("Fill rate against turnover, last year of the demo world")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def simulate(data: Path, *, holds=DEFAULT_HOLD, every: int = EVERY, transfer_cost: float | None = 40.0,
             fill: float = REPORT_FILL, out: Path | None = None, progress: bool = True, workers: int = 2) -> dict:
    began = time.perf_counter()
    sales, products, stores = load(data)
    world = build_world(sales, products, stores)
    covers = rolling_covers(sales, world, every=every, progress=progress, workers=workers)
    del sales
    sweep = []
    for hold in tqdm(sorted(holds, reverse=True), desc="our sweep", disable=not progress, file=sys.stderr):
        run = run_ours(world, covers, hold, transfer_cost=transfer_cost)
        sweep.append({**measure(world, run), "hold_per_kcny": hold, "transfers": transfer_cost is not None})
    grid = minmax_grid(world, progress=progress)
    reaching = [r for r in sweep if r["fill_rate"] >= fill]
    ours = min(reaching, key=lambda r: r["fill_rate"]) if reaching else max(sweep, key=lambda r: r["fill_rate"])
    alone = None
    if transfer_cost is not None:  # the reported point without transfers, to show what they add
        alone = {**measure(world, run_ours(world, covers, ours["hold_per_kcny"])),
                 "hold_per_kcny": ours["hold_per_kcny"], "transfers": False}
    minmax = tune_minmax(grid, ours["fill_rate"]) or max(grid, key=lambda r: r["fill_rate"])
    front = frontier_turnover(grid, ours["fill_rate"])
    result = {"ours": ours, "minmax": minmax, "ours_no_transfers": alone}
    meta = {"cells": int(len(world.store)), "weeks": WEEKS, "recorded_units": world.recorded_units,
            "uncensored_demand": int(world.demand.sum()), "forecast_origins": covers.origins, "every": every,
            "forecast_seconds": round(covers.seconds, 1), "target_fill": fill,
            "turnover_ratio": round(ours["turnover"] / minmax["turnover"], 3) if minmax["turnover"] else None,
            "minmax_frontier_turnover": round(front, 4) if front else None,
            "turnover_ratio_frontier": round(ours["turnover"] / front, 3) if front else None}
    comparison = compare(sweep, grid)
    meta["seconds"] = round(time.perf_counter() - began, 1)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(sweep).to_csv(out / "simulation_ours.csv", index=False)
        pd.DataFrame(grid).to_csv(out / "simulation_minmax.csv", index=False)
        pd.DataFrame(comparison).to_csv(out / "simulation_compare.csv", index=False)
        plot(sweep, grid, out / "simulation_tradeoff.png", chosen=ours)
        meta["seconds"] = round(time.perf_counter() - began, 1)
        (out / "simulation.json").write_text(json.dumps({**result, "meta": meta, "compare": comparison}, indent=2))
    return {**result, "sweep": sweep, "grid": grid, "compare": comparison, "meta": meta}


def table(result: dict) -> str:
    keys = ["fill_rate", "turnover", "avg_inventory_units", "avg_inventory_cost", "stockout_weeks",
            "units_transferred", "units_sold", "sell_through"]
    ours, mm = result["ours"], result["minmax"]
    lines = [f"| policy | {' | '.join(keys)} |", "|" + " --- |" * (len(keys) + 1)]
    for row in (ours, result.get("ours_no_transfers")):
        if row is not None:
            label = (f"ours (hold {row['hold_per_kcny']:g} per 1,000 CNY, "
                     f"{'same-city transfers' if row['transfers'] else 'no transfers'})")
            lines.append(f"| {label} | " + " | ".join(str(row[k]) for k in keys) + " |")
    lines.append(f"| min/max (min {mm['min_weeks']:g} w, max {mm['max_weeks']:g} w, floors {mm['floor']}) | "
                 + " | ".join(str(mm[k]) for k in keys) + " |")
    lines += ["", "| hold per 1,000 CNY | fill rate | turnover | min/max tuned: fill | turnover | ratio "
              "| min/max frontier at our fill | ratio |", "|" + " --- |" * 8]
    for c in result["compare"]:
        lines.append("| " + " | ".join(str(c[k]) for k in (
            "hold_per_kcny", "fill_rate", "turnover", "minmax_fill_rate", "minmax_turnover", "ratio_tuned",
            "minmax_frontier_turnover", "ratio_frontier")) + " |")
    m = result["meta"]
    above = [c for c in result["compare"] if c["fill_rate"] >= TARGET_FILL and c["ratio_frontier"] is not None]
    if above:
        worst = min(above, key=lambda c: min(c["ratio_frontier"], c["ratio_tuned"] or np.inf))
        held = sum(min(c["ratio_frontier"], c["ratio_tuned"] or np.inf) >= TARGET_RATIO for c in above)
        lines.append("")
        lines.append(f"at fill rates >= {TARGET_FILL}: ratio >= {TARGET_RATIO} (tuned and frontier) at {held} of "
                     f"{len(above)} sweep points; the lowest is {worst['ratio_tuned']} / {worst['ratio_frontier']} "
                     f"at fill {worst['fill_rate']}")
    lines.append("")
    lines.append(f"turnover ours / min/max tuned to our fill rate: {m['turnover_ratio']}, / min/max frontier at our "
                 f"fill rate: {m['turnover_ratio_frontier']} (target >= {TARGET_RATIO}); {m['cells']} store x SKU "
                 f"cells, {m['forecast_origins']} forecasts in {m['forecast_seconds']} s; whole run {m['seconds']} s "
                 "(target < 600 s)")
    return "\n".join(lines)

