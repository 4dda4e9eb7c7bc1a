"""Shape settings of the demo world (retail/demo/shape.py) and its true expected demand."""

import numpy as np
import pandas as pd
import pytest

from retail.demo import catalogue
from retail.demo.generate import HISTORY_END, HISTORY_START, build_world, generate_world, main
from retail.demo.shape import PRESETS, Shape, shape_from

SMALL = 40


def _build(shape: Shape, n_stores: int = SMALL, seed: int = 7):
    return build_world(seed=seed, n_stores=n_stores, start=HISTORY_START, end=HISTORY_END, progress=False,
                       shape=shape, truth=True)


@pytest.fixture(scope="module")
def default():
    return _build(Shape())


def test_default_shape_reproduces_the_world_made_before_the_settings(default):
    world, _ = default
    # Fingerprints of generate_world(seed=7, n_stores=40) on the code before retail/demo/shape.py existed.
    assert len(world.movements) == 13118
    assert int(-world.movements.loc[world.movements["kind"] == "sale", "quantity"].sum()) == 1126
    assert int(pd.util.hash_pandas_object(world.movements, index=False).sum() % 2**61) == 368695214886468939
    assert int(pd.util.hash_pandas_object(world.stores, index=False).sum() % 2**61) == 157941532950391005
    again = generate_world(seed=7, n_stores=SMALL, shape=PRESETS["default"])
    pd.testing.assert_frame_equal(world.movements, again.movements)


def test_fast_fashion_has_shorter_lives_and_more_promotions(default):
    world, _ = default
    fast, _ = _build(PRESETS["fast-fashion"])
    life = lambda p: (pd.to_datetime(p["eol_date"]) - pd.to_datetime(p["launch_date"])).dt.days  # noqa: E731
    ratio = life(fast.products) / life(world.products)
    assert ratio.between(0.4, 0.6).all()
    assert (fast.products["launch_date"] == world.products["launch_date"]).all()
    # Steeper: the ramp is a few weeks and end of life sells a twentieth of the peak.
    days = np.arange(400)
    steep = catalogue.launch_curve(days, np.full(400, 300), np.full(400, 20), decline=0.95)
    assert steep[20] == pytest.approx(1.0) and steep[299] < 0.06


def test_regional_preset_opens_more_stores_and_loses_more_to_stockouts(default):
    world, stats = default
    regional, rstats = _build(PRESETS["regional"], n_stores=120)
    base, bstats = _build(Shape(), n_stores=120)
    opened = lambda w: (pd.to_datetime(w.stores["opened_on"]) > pd.Timestamp(HISTORY_START)).mean()  # noqa: E731
    assert opened(regional) > opened(base) + 0.15
    assert rstats["lost_share"] > bstats["lost_share"] + 0.03
    # Regional taste: a brand's share of demand differs more between provinces.
    def spread(w, s):
        t = s["truth"].join(w.stores.set_index("code")["province"], on="store")
        t = t.join(w.products.set_index("sku")["brand_code"], on="sku")
        share = t.pivot_table(index="province", columns="brand_code", values="mean", aggfunc="sum", fill_value=0)
        big = share.sum(axis=1) > share.sum(axis=1).median()
        share = share[big].div(share[big].sum(axis=1), axis=0)
        return float(share.std().mean())
    assert spread(regional, rstats) > 1.3 * spread(base, bstats)


def test_holiday_strength_scales_the_festivals_only():
    holidays = catalogue.read_reference("holidays")
    full = catalogue.daily_seasonality(HISTORY_START, 1092, holidays)
    none = catalogue.daily_seasonality(HISTORY_START, 1092, holidays, strength=0.0)
    weak = catalogue.daily_seasonality(HISTORY_START, 1092, holidays, strength=0.3)
    assert set(np.round(none, 6)) == {0.93, 1.35}  # weekdays and weekends only
    assert np.allclose(weak, none * (full / none) ** 0.3)


def test_truth_is_the_mean_of_realised_demand(default):
    for shape_name, (world, stats) in (("default", default), ("regional", _build(PRESETS["regional"]))):
        truth = stats["truth"]
        assert list(truth.columns) == ["store", "sku", "week", "mean"]
        assert (truth["mean"] > 0).all() and not truth.duplicated(["store", "sku", "week"]).any()
        assert (truth["week"].dt.day_of_week == 0).all()
        assert set(truth["store"]) <= set(world.stores["code"]) and set(truth["sku"]) <= set(world.products["sku"])
        # Law of large numbers over all cells: expected and drawn demand agree within 4 sd (Poisson).
        expected, drawn = truth["mean"].sum(), stats["demand_units"]
        assert abs(drawn - expected) < 4 * np.sqrt(expected), shape_name
        # Sales never exceed demand: summed per week, sales stay below the mean plus noise.
        sold = -world.movements.loc[world.movements["kind"] == "sale", "quantity"].sum()
        assert sold < expected


def test_shape_settings_are_validated_and_the_cli_exports_truth(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown shape"):
        shape_from("nope")
    with pytest.raises(ValueError, match="stockout"):
        shape_from("default", stockout=1.0)
    assert shape_from("regional", holiday_strength=1.0).holiday_strength == 1.0
    main(["--stores", "12", "--seed", "3", "--export", str(tmp_path), "--no-progress",
          "--shape", "fast-fashion", "--stockout", "0.2"])
    assert '"shape": "fast-fashion"' in capsys.readouterr().out
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    sales = pd.read_parquet(tmp_path / "sales.parquet")
    assert len(truth) and set(sales["sku"]) <= set(truth["sku"])
