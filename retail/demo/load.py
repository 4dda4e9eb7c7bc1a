"""Bulk load of a generated demo world into an empty database, keeping the ledger's invariants.

The service layer's verbs post one movement at a time; a three-year world has hundreds of
thousands, so this path inserts them in bulk, then derives the balances and serial units from
the very same movements. It checks before writing that no running balance ever goes below zero,
and it writes everything in one transaction: a crash leaves nothing half loaded.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text
from tqdm import tqdm

from retail.models import (
    Brand,
    Location,
    Movement,
    MovementSerial,
    Product,
    SerialUnit,
    Shipment,
    ShipmentLine,
    StockBalance,
    User,
)
from retail.services.accounts import hash_password

DEMO_PASSWORD = "demo-glasses-2026"  # the demo world only; a production start creates no account
CHUNK = 20_000


class AlreadyLoaded(Exception):
    pass


class InconsistentLedger(Exception):
    pass


@dataclass
class LoadReport:
    seconds: float
    movements: int
    serial_units: int
    shipments: int


def check_ledger(movements: pd.DataFrame) -> None:
    """Refuse a ledger whose running balance goes below zero anywhere."""
    ordered = movements.sort_values(["location", "sku", "ts"], kind="stable")
    running = ordered.groupby(["location", "sku"], sort=False)["quantity"].cumsum()
    if (running < 0).any():
        bad = ordered.loc[running[running < 0].index[0]]
        raise InconsistentLedger(f"stock of {bad['sku']} at {bad['location']} goes negative at {bad['ts']}")


def _insert_frame(connection, table, frame: pd.DataFrame, bar: tqdm | None = None) -> None:
    """Insert a large frame without per-row ORM work: values are turned into the database's own
    text forms column by column (UTC times as SQLAlchemy stores them on SQLite), then COPY on
    PostgreSQL or one executemany on SQLite."""
    if frame.empty:
        return
    postgres = connection.dialect.name == "postgresql"
    defaults = {c.name: (c.default.arg if c.default.is_scalar else c.default.arg(None))
                for c in table.columns if c.name not in frame.columns and c.default is not None}
    frame = frame.assign(**defaults) if defaults else frame
    out = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            text_form = column.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
            out[name] = (text_form + "+00:00") if postgres else text_form
        elif pd.api.types.is_bool_dtype(column):
            out[name] = column.astype(object) if postgres else column.astype(int)
        else:
            out[name] = column
    prepared = pd.DataFrame(out).astype(object)
    prepared = prepared.where(prepared.notna(), None)
    rows = list(prepared.itertuples(index=False, name=None))
    quoted = ", ".join(f'"{c}"' for c in prepared.columns)
    if postgres:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for start in range(0, len(rows), CHUNK):
                    for row in rows[start:start + CHUNK]:
                        copy.write_row(row)
                    if bar is not None:
                        bar.update(min(CHUNK, len(rows) - start))
        return
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(prepared.columns))})'
    cursor = connection.connection.driver_connection.cursor()
    for start in range(0, len(rows), CHUNK):
        cursor.executemany(sql, rows[start:start + CHUNK])
        if bar is not None:
            bar.update(min(CHUNK, len(rows) - start))
    cursor.close()


def load_world(engine: Engine, world, *, progress: bool = True) -> LoadReport:
    started = time.perf_counter()
    check_ledger(world.movements)
    with engine.begin() as connection:
        if connection.execute(select(Location.id).limit(1)).first() is not None:
            raise AlreadyLoaded("the database already holds locations")
        brand_ids = _load_brands(connection, world.brands)
        product_ids = _load_products(connection, world.products, brand_ids)
        location_ids = _load_locations(connection, world.dcs, world.stores)
        _load_users(connection, world.users, location_ids, brand_ids)
        counts = _load_ledger(connection, world, location_ids, product_ids, progress)
        if connection.dialect.name == "postgresql":
            for table in ("movement", "shipment", "shipment_line"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    return LoadReport(seconds=time.perf_counter() - started, **counts)


def _ids(connection, model, key: str) -> dict[str, int]:
    return dict(connection.execute(select(getattr(model, key), model.id)).all())


def _day(values: pd.Series) -> pd.Series:
    """Calendar dates as ISO text, the form both databases take for a DATE column."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def _load_brands(connection, brands: pd.DataFrame) -> dict[str, int]:
    _insert_frame(connection, Brand.__table__,
                  brands[["code", "name", "name_zh", "lead_time_days", "moq", "contact_email"]])
    return _ids(connection, Brand, "code")


def _load_products(connection, products: pd.DataFrame, brand_ids: dict[str, int]) -> dict[str, int]:
    rows = products.assign(brand_id=products["brand_code"].map(brand_ids), cost_currency="CNY",
                           serialised=products["serialised"].astype(bool), launch_date=_day(products["launch_date"]),
                           eol_date=_day(products["eol_date"])).rename(columns={"wholesale_cost_cny": "wholesale_cost"})
    _insert_frame(connection, Product.__table__, rows[[
        "sku", "brand_id", "model", "variant", "category", "barcode", "list_price_cny", "list_price_hkd",
        "wholesale_cost", "cost_currency", "pack_size", "serialised", "launch_date", "eol_date"]])
    return _ids(connection, Product, "sku")


def _load_locations(connection, dcs: pd.DataFrame, stores: pd.DataFrame) -> dict[str, int]:
    dc_rows = dcs.assign(kind="dc", status="active", city_tier=1)
    _insert_frame(connection, Location.__table__, dc_rows[["code", "kind", "name", "city", "market", "currency",
                                                           "timezone", "status", "city_tier"]])
    dc_ids = _ids(connection, Location, "code")
    rows = stores.assign(kind="store", dc_id=stores["dc_code"].map(dc_ids), opened_on=_day(stores["opened_on"]),
                         city_tier=stores["city_tier"].astype(int))
    _insert_frame(connection, Location.__table__, rows[[
        "code", "kind", "name", "city", "city_zh", "province", "city_tier", "market", "currency", "timezone",
        "partnership", "status", "opened_on", "size_class", "dc_id"]])
    return _ids(connection, Location, "code")


def _load_users(connection, users: pd.DataFrame, location_ids, brand_ids) -> None:
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every demo account: 0.1 s, not 15 min
    rows = users[["email", "name", "role", "language"]].assign(
        store_id=users["store_code"].map(location_ids).astype("Int64"),
        brand_id=users["brand_code"].map(brand_ids).astype("Int64"),
        password_hash=password_hash, active=True, created_at=pd.Timestamp.now("UTC"))
    _insert_frame(connection, User.__table__, rows)


def _load_ledger(connection, world, location_ids, product_ids, progress: bool) -> dict[str, int]:
    m = world.movements.reset_index(drop=True)
    frame = pd.DataFrame({
        "id": np.arange(1, len(m) + 1),
        "ts": pd.to_datetime(m["ts"], utc=True),
        "location_id": m["location"].map(location_ids).astype("int64"),
        "product_id": m["sku"].map(product_ids).astype("int64"),
        "kind": m["kind"].astype(str),
        "quantity": m["quantity"].astype("int64"),
        "unit_price": m["unit_price"].round(2),
        "currency": m["currency"],
        "reference": m["reference"],
    })
    bar = tqdm(total=len(frame), desc="movements", unit="row", disable=None if progress else True)
    priced = frame["unit_price"].notna()
    _insert_frame(connection, Movement.__table__, frame.assign(
        unit_price=frame["unit_price"].where(priced, None),
        currency=frame["currency"].where(priced, None),
        reference=frame["reference"].where(frame["reference"].map(lambda r: isinstance(r, str)), None)), bar)
    bar.close()

    shipments = _load_shipments(connection, world, frame, location_ids)
    balances = _balances(frame, shipments)
    _insert_frame(connection, StockBalance.__table__, balances)
    serials = _load_serials(connection, world, frame, balances, product_ids)
    return {"movements": len(frame), "serial_units": serials, "shipments": len(world.shipments)}


def _load_shipments(connection, world, frame: pd.DataFrame, location_ids) -> pd.DataFrame:
    """Shipments and their lines, the lines taken from the transfer_out movements they caused."""
    ships = world.shipments.reset_index(drop=True)
    if ships.empty:
        return pd.DataFrame(columns=["id", "to_location_id", "product_id", "quantity", "open"])
    ships = ships.assign(id=np.arange(1, len(ships) + 1))
    received = pd.to_datetime(ships["received_at"], utc=True)
    rows = pd.DataFrame({
        "id": ships["id"], "reference": ships["reference"],
        "from_location_id": ships["from_location"].map(location_ids),
        "to_location_id": ships["to_location"].map(location_ids).astype("int64"),
        "status": np.where(received.isna(), "in_transit", "received"),
        "shipped_at": pd.to_datetime(ships["shipped_at"], utc=True),
        "expected_at": pd.to_datetime(ships["expected_at"], utc=True), "received_at": received,
    })
    _insert_frame(connection, Shipment.__table__, rows.assign(
        from_location_id=rows["from_location_id"].astype("Int64")))
    outs = frame[frame["kind"] == "transfer_out"]
    lines = (outs.assign(quantity=-outs["quantity"]).merge(
        ships[["reference", "id"]].rename(columns={"id": "shipment_id"}), on="reference")
        .groupby(["shipment_id", "product_id"], as_index=False)["quantity"].sum())
    ins = frame[frame["kind"] == "transfer_in"].groupby(["reference", "product_id"])["quantity"].sum()
    lines = lines.merge(ships[["id", "reference", "to_location"]], left_on="shipment_id", right_on="id")
    got = ins.reindex(pd.MultiIndex.from_frame(lines[["reference", "product_id"]])).to_numpy()
    lines["received_quantity"] = pd.array(np.where(np.isnan(got), np.nan, got)).astype("Int64")
    _insert_frame(connection, ShipmentLine.__table__, lines[["shipment_id", "product_id", "quantity",
                                                                "received_quantity"]])
    lines["to_location_id"] = lines["to_location"].map(location_ids)
    lines["open"] = lines["received_quantity"].isna().to_numpy()
    return lines


def _balances(frame: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    keys = ["location_id", "product_id"]
    demo = frame[frame["kind"].isin(["demo_in", "demo_out"])].assign(demo=lambda d: -d["quantity"])
    transit = lines[lines["open"]].rename(columns={"to_location_id": "location_id", "quantity": "in_transit"})
    out = (frame.groupby(keys)["quantity"].sum().rename("on_hand").to_frame()
           .join(demo.groupby(keys)["demo"].sum(), how="outer")
           .join(transit.groupby(keys)["in_transit"].sum(), how="outer")
           .fillna(0).astype("int64").reset_index())
    out["reserved"] = 0
    out["updated_at"] = pd.Timestamp.now("UTC")
    return out


def _load_serials(connection, world, frame, balances, product_ids) -> int:
    """Serial units for serialised SKUs: one per unit sold (linked to its sale) and one per unit held."""
    serialised = set(world.products.loc[world.products["serialised"].astype(bool), "sku"].map(product_ids))
    sales = frame[(frame["kind"] == "sale") & frame["product_id"].isin(serialised)]
    sold = pd.DataFrame({"movement_id": np.repeat(sales["id"].to_numpy(), -sales["quantity"].to_numpy()),
                         "product_id": np.repeat(sales["product_id"].to_numpy(), -sales["quantity"].to_numpy())})
    sold["location_id"], sold["state"] = None, "sold"
    held = balances[balances["product_id"].isin(serialised)]
    parts = [sold]
    for column, state in (("on_hand", "in_stock"), ("demo", "demo"), ("in_transit", "in_transit")):
        counts = held[column].clip(lower=0).to_numpy()
        parts.append(pd.DataFrame({"movement_id": None, "state": state,
                                   "product_id": np.repeat(held["product_id"].to_numpy(), counts),
                                   "location_id": np.repeat(held["location_id"].to_numpy(), counts)}))
    units = pd.concat(parts, ignore_index=True)
    number = units.groupby("product_id").cumcount() + 1
    units["serial"] = ("SN" + units["product_id"].astype(str).str.zfill(4) + "-"
                       + number.astype(str).str.zfill(7))
    units["updated_at"] = pd.Timestamp.now("UTC")
    units["location_id"] = units["location_id"].astype("Int64")
    _insert_frame(connection, SerialUnit.__table__, units[["serial", "product_id", "location_id", "state",
                                                           "updated_at"]])
    links = units.loc[units["state"] == "sold", ["movement_id", "serial"]]
    _insert_frame(connection, MovementSerial.__table__, links.astype({"movement_id": "int64"}))
    return len(units)
