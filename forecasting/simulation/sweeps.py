"""The network replay end to end: min/max, ours and ranging on the same world and forecasts, the sweeps
over conversion and delivery cost, the reported point, its table and its plot.

The forecasts are made once (covers.rolling_covers) and reused by every run. The reported point of each
policy is at conversion 0.6 (`REPORT_CONVERSION`) and the lowest sweep point at or above the demand-served
target (`--served`, default 0.95); for min/max, the setting of its grid with the best turnover among those
reaching the target (min/max tuned).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from forecasting.simulation.covers import EVERY, rolling_covers
from forecasting.simulation.network import Costs, build_net, measure_network, run_network
from forecasting.simulation.world import WEEKS, build_world, load

REPORT_CONVERSION = 0.6
REPORT_SERVED = 0.95
TARGET_TURNOVER_RATIO = 3.0  # the must-show: ranging >= 3 x min/max turnover, with a higher margin
CONVERSIONS = (0.3, 0.45, 0.6, 0.75, 0.9)
DELIVERY_COSTS = (20.0, 40.0, 80.0)
# Ranging's knob: CNY added per unit of demand served (forecasting.ranging.RangeSettings.serve_value).
SERVE_VALUES = (3000.0, 8000.0, 20000.0, 200000.0)
RANGING_HOLD = 0.009  # calibration's hold for ranging: the cost-aware level of a stocked cell (may be 0)
NETWORK_HOLDS = (0.003, 0.0045, 0.006, 0.009, 0.012, 0.018, 0.025)
# Ranging's stock level is the cost-aware rule's, swept over the same holds as ours at conversion 0.6 and
# delivery 40 CNY; the other conversions and delivery costs at this hold.
RANGING_SIDE_HOLDS = (0.012,)
# Min/max settings on the network (min weeks, max weeks, floors): a subset of minmax.MINMAX_GRID spanning its
# fill rates, to keep the run short.
NETWORK_MINMAX = ((0.0, 4.0, (0, 1)), (0.0, 8.0, (0, 1)), (0.0, 13.0, (0, 1)), (0.0, 26.0, (0, 1)),
                  (0.0, 52.0, (0, 1)), (1.0, 8.0, (0, 1)), (0.0, 8.0, (0, 2)), (0.0, 26.0, (0, 2)),
                  (0.0, 8.0, (1, 2)))
KEYS = ("demand_served", "fill_rate", "turnover", "gross_margin", "avg_inventory_cost")


def lowest_reaching(rows: list[dict], served: float) -> dict:
    """The row with the lowest demand served at or above `served`, else the one serving the most."""
    reaching = [r for r in rows if r["demand_served"] >= served]
    if reaching:
        return min(reaching, key=lambda r: (r["demand_served"], -r["turnover"]))
    return max(rows, key=lambda r: r["demand_served"])


def best_reaching(rows: list[dict], served: float) -> dict:
    """Min/max tuned: the best turnover among the settings reaching `served`, else the one serving the most."""
    reaching = [r for r in rows if r["demand_served"] >= served]
    return max(reaching, key=lambda r: r["turnover"]) if reaching else max(rows, key=lambda r: r["demand_served"])


def prepare(data: Path, *, every: int = EVERY, workers: int = 2, progress: bool = False):
    """The world, its rolling forecasts (the expensive part, made once) and its network."""
    sales, products, stores = load(data) if not isinstance(data, tuple) else data
    world = build_world(sales, products, stores)
    covers = rolling_covers(sales, world, every=every, progress=progress, workers=workers)
    return world, covers, build_net(world)


def run_sweeps(world, covers, net, *, holds=NETWORK_HOLDS, serve_values=SERVE_VALUES, conversions=CONVERSIONS,
               delivery_costs=DELIVERY_COSTS, transfer_cost: float = 40.0, transfers: bool = True,
               ranging_holds=RANGING_SIDE_HOLDS, progress: bool = False, workers: int = 2) -> dict:
    jobs = [("minmax", {"minmax": mm}, Costs(transfer_cost=transfer_cost)) for mm in NETWORK_MINMAX]
    jobs += [("ours", {"hold": h, "transfers": transfers}, Costs(transfer_cost=transfer_cost)) for h in holds]
    for conv in conversions:
        for d in delivery_costs:
            if conv != REPORT_CONVERSION and d != Costs.delivery_cost:
                continue  # conversion swept at the default delivery cost, delivery cost at conversion 0.6
            main = conv == REPORT_CONVERSION and d == Costs.delivery_cost
            jobs += [("ranging", {"hold": h, "serve_value": v, "transfers": transfers},
                      Costs(conversion=conv, delivery_cost=d, transfer_cost=transfer_cost))
                     for h in (holds if main else ranging_holds) for v in serve_values]
    rows: dict[str, list[dict]] = {"minmax": [], "ours": [], "ranging": []}
    _SHARED.update(world=world, covers=covers, net=net)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
                done = list(tqdm(pool.map(_run_job, jobs), total=len(jobs), desc="network runs",
                                 disable=not progress, file=sys.stderr))
        else:
            done = [_run_job(j) for j in tqdm(jobs, desc="network runs", disable=not progress, file=sys.stderr)]
    finally:
        _SHARED.clear()
    for (policy, kw, costs), (row, decisions) in zip(jobs, done, strict=True):
        if policy == "minmax":
            mn, mx, floor = kw["minmax"]
            row.update(min_weeks=mn, max_weeks=mx, floor=f"{floor[0]}/{floor[1]}")
        elif policy == "ours":
            row.update(hold_per_kcny=kw["hold"], transfers=kw["transfers"])
        else:
            last = decisions[-1] if decisions else {}
            row.update(hold_per_kcny=kw["hold"], serve_value=kw["serve_value"], conversion=costs.conversion,
                       delivery=costs.delivery_cost, cells_stock=last.get("stock"), cells_show=last.get("show"),
                       cells_none=last.get("none"),
                       range_changes=int(sum(d["changed"] for d in decisions)))
        rows[policy].append(row)
    return rows


_SHARED: dict = {}  # world, covers and net for forked workers


def _run_job(job):
    policy, kw, costs = job
    world, covers, net = _SHARED["world"], _SHARED["covers"], _SHARED["net"]
    books = run_network(world, covers, net, policy=policy, costs=costs, **kw)
    return measure_network(world, net, books), books.decisions


def report_points(rows: dict, served: float) -> dict:
    ranging = [r for r in rows["ranging"] if r["conversion"] == REPORT_CONVERSION and r["delivery"] == Costs.delivery_cost]
    return {"minmax": best_reaching(rows["minmax"], served), "ours": lowest_reaching(rows["ours"], served),
            "ranging": best_reaching(ranging, served)}


def where_ranging_wins(rows: dict, served: float) -> list[dict]:
    """For every conversion x delivery cost: ranging's point at the target against min/max tuned and ours."""
    mm, ours = best_reaching(rows["minmax"], served), lowest_reaching(rows["ours"], served)
    out = []
    keys = sorted({(r["conversion"], r["delivery"]) for r in rows["ranging"]})
    for conv, d in keys:
        pts = [r for r in rows["ranging"] if r["conversion"] == conv and r["delivery"] == d]
        r = best_reaching(pts, served)
        out.append({"conversion": conv, "delivery": d, "serve_value": r["serve_value"], "hold": r["hold_per_kcny"],
                    "demand_served": r["demand_served"], "fill_rate": r["fill_rate"], "turnover": r["turnover"],
                    "gross_margin": r["gross_margin"], "reaches_target": r["demand_served"] >= served,
                    "turnover_vs_minmax": _ratio(r["turnover"], mm["turnover"]),
                    "turnover_vs_ours": _ratio(r["turnover"], ours["turnover"]),
                    "margin_vs_minmax": r["gross_margin"] - mm["gross_margin"],
                    "margin_vs_ours": r["gross_margin"] - ours["gross_margin"]})
    return out


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def plot_network(rows: dict, points: dict, path: Path, served: float) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    mm = rows["minmax"]
    ax.scatter([r["turnover"] for r in mm], [100 * r["demand_served"] for r in mm], marker="x", color="grey",
               label="min/max on today's ranges (grid), own DC policy")
    ours = sorted(rows["ours"], key=lambda r: r["demand_served"])
    ax.plot([r["turnover"] for r in ours], [100 * r["demand_served"] for r in ours], "o-", color="black",
            label="ours: cost-aware rule, today's ranges (hold sweep)")
    cmap = {0.3: "#d73027", 0.45: "#fc8d59", 0.6: "#1a9850", 0.75: "#4575b4", 0.9: "#313695"}
    for conv in sorted({r["conversion"] for r in rows["ranging"]}):
        pts = sorted((r for r in rows["ranging"] if r["conversion"] == conv and r["delivery"] == Costs.delivery_cost),
                     key=lambda r: r["demand_served"])
        ax.scatter([r["turnover"] for r in pts], [100 * r["demand_served"] for r in pts], marker="s", s=10,
                   color=cmap.get(conv), alpha=0.5)
        front = _frontier(pts)  # hold x serve value: the points no other beats on both axes
        ax.plot([r["turnover"] for r in front], [100 * r["demand_served"] for r in front], "s--", ms=4,
                color=cmap.get(conv), label=f"ranging + endless aisle, conversion {conv:g} (frontier; squares: all)")
    for p in points.values():
        ax.scatter([p["turnover"]], [100 * p["demand_served"]], s=110, facecolors="none", edgecolors="red")
    best_mm = points["minmax"]["turnover"]
    ax.axvline(3 * best_mm, color="red", lw=0.8, ls=":", label="3 x min/max tuned (target)")
    ax.axhline(100 * served, color="red", lw=0.8, ls="--")
    ax.set_xlabel("network turnover (COGS / average inventory at cost: stores, demo units, DCs, road; per year)")
    ax.set_ylabel("demand served (%)")
    lo = min(r["demand_served"] for rs in rows.values() for r in rs)
    ax.set_ylim(max(100 * lo - 1, 50), 100)
    ax.set_title("Demand served against network turnover, last year (circles: reported points)", fontsize=10)
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _frontier(rows: list[dict]) -> list[dict]:
    """The points with the best turnover at their demand served or above, by demand served."""
    out, best = [], -1.0
    for r in sorted(rows, key=lambda r: (-r["demand_served"], -r["turnover"])):
        if r["turnover"] > best:
            out.append(r)
            best = r["turnover"]
    return out[::-1]


def simulate_network(data, *, served: float = REPORT_SERVED, every: int = EVERY, workers: int = 2,
                     out: Path | None = None, progress: bool = True, holds=NETWORK_HOLDS,
                     serve_values=SERVE_VALUES, conversions=CONVERSIONS, delivery_costs=DELIVERY_COSTS,
                     transfer_cost: float = 40.0, transfers: bool = True, prepared=None) -> dict:
    began = time.perf_counter()
    world, covers, net = prepared or prepare(data, every=every, workers=workers, progress=progress)
    rows = run_sweeps(world, covers, net, holds=holds, serve_values=serve_values, conversions=conversions,
                      delivery_costs=delivery_costs, transfer_cost=transfer_cost, transfers=transfers,
                      progress=progress, workers=workers)
    points = report_points(rows, served)
    wins = where_ranging_wins(rows, served)
    mm = points["minmax"]
    meta = {"cells": int(len(world.store)), "weeks": WEEKS, "uncensored_demand": int(world.demand.sum()),
            "forecast_origins": covers.origins, "forecast_seconds": round(covers.seconds, 1), "served_target": served,
            "conversion": REPORT_CONVERSION, "defaults": net.defaults,
            "turnover_ranging_vs_minmax": _ratio(points["ranging"]["turnover"], mm["turnover"]),
            "turnover_ours_vs_minmax": _ratio(points["ours"]["turnover"], mm["turnover"]),
            "turnover_ranging_vs_ours": _ratio(points["ranging"]["turnover"], points["ours"]["turnover"]),
            "target_ratio": TARGET_TURNOVER_RATIO}
    meta["target_met"] = bool(
        all(p["demand_served"] >= served for p in points.values())
        and (meta["turnover_ranging_vs_minmax"] or 0) >= TARGET_TURNOVER_RATIO
        and points["ranging"]["gross_margin"] > mm["gross_margin"])
    meta["seconds"] = round(time.perf_counter() - began, 1)
    result = {"points": points, "rows": rows, "wins": wins, "meta": meta}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, rs in rows.items():
            pd.DataFrame(rs).to_csv(out / f"network_{name}.csv", index=False)
        pd.DataFrame(wins).to_csv(out / "network_ranging_wins.csv", index=False)
        plot_network(rows, points, out / "network_ranging.png", served)
        meta["seconds"] = round(time.perf_counter() - began, 1)
        (out / "network.json").write_text(json.dumps({**points, "meta": meta, "wins": wins}, indent=2, default=str))
    return result


def network_json(result: dict) -> dict:
    return {name: {k: result["points"][name][k] for k in KEYS} for name in ("minmax", "ours", "ranging")}


def network_table(result: dict) -> str:
    pts, meta = result["points"], result["meta"]
    cols = ["demand_served", "fill_rate", "lost_demand", "turnover", "gross_margin", "avg_inventory_cost",
            "inventory_stores", "inventory_demo", "inventory_dc", "inventory_transit", "units_to_order",
            "units_same_city", "units_transferred", "units_returned"]
    lines = [f"| policy | {' | '.join(cols)} |", "|" + " --- |" * (len(cols) + 1)]
    mm = pts["minmax"]
    labels = {"minmax": f"min/max tuned (min {mm['min_weeks']:g} w, max {mm['max_weeks']:g} w, floors {mm['floor']})",
              "ours": f"ours (hold {pts['ours']['hold_per_kcny']:g}, same-city transfers)",
              "ranging": (f"ranging + endless aisle (conversion {pts['ranging']['conversion']:g}, serve value "
                          f"{pts['ranging']['serve_value']:g}, hold {pts['ranging']['hold_per_kcny']:g})")}
    for name in ("minmax", "ours", "ranging"):
        lines.append(f"| {labels[name]} | " + " | ".join(str(pts[name][c]) for c in cols) + " |")
    lines += ["", "Where ranging wins (each conversion x delivery cost: its lowest point at or above the target):", "",
              "| conversion | delivery CNY | serve value | demand served | fill rate | turnover | x min/max | x ours "
              "| gross margin | vs min/max | vs ours |", "|" + " --- |" * 11]
    for w in result["wins"]:
        lines.append("| " + " | ".join(str(w[k]) for k in (
            "conversion", "delivery", "serve_value", "demand_served", "fill_rate", "turnover", "turnover_vs_minmax",
            "turnover_vs_ours", "gross_margin", "margin_vs_minmax", "margin_vs_ours")) + " |")
    lines += ["", "All runs (ranging at conversion 0.6 and delivery 40 CNY; ours; min/max):", "",
              "| policy | parameter | demand served | fill rate | turnover | gross margin | inventory at cost |",
              "|" + " --- |" * 7]
    for r in sorted(result["rows"]["minmax"], key=lambda r: r["demand_served"]):
        lines.append(f"| min/max | {r['min_weeks']:g}/{r['max_weeks']:g} w, floors {r['floor']} | {r['demand_served']} "
                     f"| {r['fill_rate']} | {r['turnover']} | {r['gross_margin']} | {r['avg_inventory_cost']} |")
    for r in sorted(result["rows"]["ours"], key=lambda r: r["demand_served"]):
        lines.append(f"| ours | hold {r['hold_per_kcny']:g} | {r['demand_served']} | {r['fill_rate']} | {r['turnover']} "
                     f"| {r['gross_margin']} | {r['avg_inventory_cost']} |")
    for r in sorted((r for r in result["rows"]["ranging"] if r["conversion"] == REPORT_CONVERSION
                     and r["delivery"] == Costs.delivery_cost), key=lambda r: r["demand_served"]):
        lines.append(f"| ranging | serve value {r['serve_value']:g} | {r['demand_served']} | {r['fill_rate']} "
                     f"| {r['turnover']} | {r['gross_margin']} | {r['avg_inventory_cost']} |")
    lines += ["", f"turnover ranging / min/max tuned: {meta['turnover_ranging_vs_minmax']} (target >= "
              f"{TARGET_TURNOVER_RATIO:g}, with a higher gross margin); ours / min/max: {meta['turnover_ours_vs_minmax']}; "
              f"ranging / ours: {meta['turnover_ranging_vs_ours']}; target met: {meta['target_met']}; "
              f"{meta['cells']} store x SKU cells, {meta['forecast_origins']} forecasts in {meta['forecast_seconds']} s; "
              f"whole run {meta['seconds']} s (target < 600 s)"]
    if meta["defaults"]:
        lines.append("defaults used: " + "; ".join(meta["defaults"]))
    return "\n".join(lines)


__all__ = ["CONVERSIONS", "DELIVERY_COSTS", "REPORT_CONVERSION", "REPORT_SERVED", "SERVE_VALUES", "best_reaching",
           "lowest_reaching", "network_json", "network_table", "plot_network", "prepare", "report_points",
           "run_sweeps", "simulate_network", "where_ranging_wins"]
