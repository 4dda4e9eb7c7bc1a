"""Issue 10, items 6, 7 (SQLite) and 14, as attacks on the services, on SQLite and PostgreSQL:

- a sale at a unit price of 0.00 (or any price outside the band around the list price) is refused by
  `sales.sell`, naming the list price, for the POS file as for any caller;
- a POS file that differs by one byte, or overlaps an earlier one, does not land its rows twice, also when
  two such files are confirmed at the same moment;
- on SQLite, a page read never waits for a writer (a long POS dry run), and a verb after a stale read
  still serialises with the other writers;
- a previewed file is staged server-side by store and hash, expires, and is confirmed by its hash only.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from retail import errors
from retail.db import new_session
from retail.models import Movement, PosImport, PosImportRow, PosStagedFile, StockBalance, User, utcnow
from retail.services import pos_import, sales
from retail.services.verbs import transaction
from tests.committing import inventory
from tests.factories import small_world

HEADER = b"date,sku,quantity,serials,unit_price,type,receipt\n"


@pytest.fixture
def world(session):
    world = small_world(session)
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN1", "SN2", "SN3"])
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=20)
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-CASE", quantity=5)
    return world


def on_hand(session, world, store="a", product="case") -> int:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True).on_hand


def movements(session) -> int:
    return session.execute(select(func.count()).select_from(Movement)).scalar_one()


def sale_rows(session) -> list[tuple]:
    return [tuple(r) for r in session.execute(select(Movement.reference, Movement.quantity).where(
        Movement.kind == "sale").order_by(Movement.reference))]


# -- item 6: prices ------------------------------------------------------------------------------------------

def test_a_pos_sale_at_zero_is_refused_naming_the_list_price(session, world):
    """The attack: a row selling a case at 0.00 was accepted silently. Now the row is refused, naming the
    list price and the band, and nothing of the file lands."""
    content = HEADER + b"2026-11-20 10:00,RK-CASE,1,,199,sale,R-1\n2026-11-20 11:00,RK-CASE,1,,0.00,sale,R-2\n"
    before = movements(session), on_hand(session, world)
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="zero.csv", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [(3, "price_out_of_band")]
    assert preview.errors[0].params == {"sku": "RK-CASE", "price": "0.00", "currency": "CNY", "list_price": "199.00",
                                        "minimum": "99.50", "maximum": "238.80"}
    with pytest.raises(pos_import.InvalidFile) as refused:
        pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="zero.csv", content=content)
    assert [e.code for e in refused.value.errors] == ["price_out_of_band"]
    assert (movements(session), on_hand(session, world)) == before


@pytest.mark.parametrize("store, price, accepted", [
    ("a", "99.50", True), ("a", "99.49", False), ("a", "179.10", True), ("a", "238.80", True), ("a", "238.81", False),
    ("a", "0", False), ("a", "0.01", False), ("a", "-5", False), ("a", "199000", False),
    ("b", "109.50", True), ("b", "109.49", False), ("b", "262.80", True), ("b", "262.81", False),  # HKD 219
])
def test_sell_accepts_a_discount_inside_the_band_and_refuses_outside(session, world, store, price, accepted):
    """`sales.sell` is the one home of the band: 50 % to 120 % of the list price in the store's currency."""
    actor = session.get(User, world["staff"].id)
    if store == "b":
        actor = User(email="staff@b.example.com", name="B", role="store_staff", store_id=world["b"].id)
        session.add(actor)
        session.commit()
    before = on_hand(session, world, store)
    if accepted:
        sale = sales.sell(session, actor, store_id=world[store].id, sku="RK-CASE", unit_price=Decimal(price))
        assert sale.unit_price == Decimal(price) and on_hand(session, world, store) == before - 1
    else:
        with pytest.raises(errors.PriceOutOfBand) as refused:
            sales.sell(session, actor, store_id=world[store].id, sku="RK-CASE", unit_price=Decimal(price))
        assert refused.value.params["list_price"] == ("199.00" if store == "a" else "219.00")
        assert refused.value.params["currency"] == ("CNY" if store == "a" else "HKD")
        assert on_hand(session, world, store) == before


def test_sell_without_a_price_uses_the_list_price(session, world):
    """The sale form has no price field: it sells at the list price, as before."""
    sale = sales.sell(session, world["staff"], store_id=world["a"].id, sku="RK-CASE")
    assert sale.unit_price == Decimal("199") and sale.currency == "CNY"


# -- item 6: a file that differs by one byte -----------------------------------------------------------------

FILE = (HEADER + b"2026-11-20 10:00,RK-CASE,2,,199,sale,R-1\n"
        b"2026-11-20 11:00,RK-MAX2-BLK,1,SN1,2999,sale,R-2\n"
        b"2026-11-20 12:00,6970000000024,1,,189.05,sale,R-3\n")


def test_a_file_that_differs_by_one_byte_does_not_land_its_rows_again(session, world):
    """The attack: the same export with one byte changed (a space, a line ending, a renamed column) has
    another hash, and every row landed again: stock sold twice. Now each row is recognised by its
    fingerprint and skipped; nothing changes."""
    first = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="day.csv", content=FILE)
    assert (first.imported_rows, first.skipped_rows) == (3, 0)
    before = movements(session), on_hand(session, world), sale_rows(session)
    for changed in (FILE + b"\n", FILE.replace(b"\n", b"\r\n"), FILE.replace(b",189.05,", b", 189.05 ,"),
                    FILE.replace(b"6970000000024", b"RK-CASE"), FILE.replace(b"2026-11-20 10:00", b"2026/11/20 10:00")):
        preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="day2.csv",
                                     content=changed)
        assert preview.errors == [] and not preview.already_imported and preview.imported_before == [2, 3, 4]
        again = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="day2.csv", content=changed)
        assert (again.imported_rows, again.skipped_rows, again.already_imported) == (0, 3, False)
        assert (movements(session), on_hand(session, world), sale_rows(session)) == before


def test_an_overlapping_file_lands_only_its_new_rows(session, world):
    """Two daily exports that share a row: the second lands its new rows, reports the shared one, and a
    return of the shared sale in the second file finds its sale."""
    pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="mon.csv", content=FILE)
    tuesday = (HEADER + b"2026-11-20 12:00,RK-CASE,1,,189.05,sale,R-3\n"   # row 4 of Monday, the SKU for the barcode
               b"2026-11-21 09:00,RK-CASE,3,,199,sale,R-4\n"
               b"2026-11-21 10:00,RK-CASE,1,,199,return,R-3\n")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="tue.csv", content=tuesday)
    assert preview.errors == [] and preview.imported_before == [2]
    result = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="tue.csv", content=tuesday)
    assert (result.imported_rows, result.skipped_rows) == (2, 1)
    assert on_hand(session, world) == 20 - 2 - 1 - 3 + 1
    assert session.execute(select(PosImport.rows).order_by(PosImport.id)).scalars().all() == [3, 2]
    # the same return again, in yet another file, is skipped too: a return never lands twice either
    again = HEADER + b"2026-11-21 10:00,RK-CASE,1,,199,return,R-3\n"
    assert pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="r.csv",
                            content=again).skipped_rows == 1
    assert on_hand(session, world) == 20 - 2 - 1 - 3 + 1


def test_a_row_is_recognised_at_its_own_store_only(session, world):
    """The fingerprints are per store: store B's identical till row is its own sale."""
    row = HEADER + b"2026-11-20 10:00,RK-CASE,1,,199,sale,R-1\n"
    pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="a.csv", content=row)
    staff_b = User(email="staff@b.example.com", name="B", role="store_staff", store_id=world["b"].id)
    session.add(staff_b)
    session.commit()
    result = pos_import.apply(session, staff_b, store_id=world["b"].id, filename="b.csv",
                              content=row.replace(b"199,", b"219,"))
    assert (result.imported_rows, result.skipped_rows) == (1, 0)


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_overlapping_files_confirmed_at_once_land_the_shared_row_once(engine, database_url):
    """Two different files (different hashes: the file claim does not serialise them) sharing a row of 2
    cases, confirmed at the same moment from two connections: the shared row lands once."""
    with new_session(engine) as session:
        world = small_world(session)
        inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=20)
        ids = world["a"].id, world["staff"].id, world["case"].id
    shared = b"2026-11-20 10:00,RK-CASE,2,,199,sale,R-SHARED\n"
    files = [HEADER + shared + b"2026-11-20 11:00,RK-CASE,1,,199,sale,R-X\n",
             HEADER + b"2026-11-20 12:00,RK-CASE,1,,199,sale,R-Y\n" + shared]
    barrier, results = threading.Barrier(2), []

    def confirm(content):
        with new_session(engine) as session:
            actor = session.get(User, ids[1])
            barrier.wait()
            results.append(pos_import.apply(session, actor, store_id=ids[0], filename="f.csv", content=content))

    threads = [threading.Thread(target=confirm, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.imported_rows, r.skipped_rows) for r in results) == [(1, 1), (2, 0)]
    with new_session(engine) as session:
        assert session.get(StockBalance, (ids[0], ids[2])).on_hand == 20 - 2 - 1 - 1
        assert session.execute(select(func.count()).select_from(Movement).where(
            Movement.reference == "R-SHARED")).scalar_one() == 1


# -- item 7: SQLite reads begin DEFERRED, writes IMMEDIATE ---------------------------------------------------

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_page_read_does_not_wait_for_a_writer_on_sqlite(engine, world):
    """The attack: every transaction began with BEGIN IMMEDIATE, so while a POS file's dry run held the write
    lock (17-20 s), every page of every store waited for it. Now a read begins DEFERRED and reads its
    snapshot at once while a verb's transaction holds the write lock."""
    store_b, case = world["b"].id, world["case"].id
    read: dict = {}

    def page_read():
        began = time.perf_counter()
        with new_session(engine) as reader:
            read["on_hand"] = reader.get(StockBalance, (store_b, case)).on_hand
        read["seconds"] = time.perf_counter() - began

    with new_session(engine) as writer, transaction(writer):
        sales.sell(writer, writer.get(User, world["staff"].id), store_id=world["a"].id, sku="RK-CASE")
        reader = threading.Thread(target=page_read)
        reader.start()
        reader.join(timeout=3)
        finished_while_writing = not reader.is_alive()
    reader.join()
    assert finished_while_writing and read["on_hand"] == 5 and read["seconds"] < 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_verb_after_a_stale_read_still_serialises_on_sqlite(engine, world):
    """A request reads (a page, its actor) and then calls a verb, while another writer commits in between:
    the verb ends the stale read snapshot and begins again as a write, instead of failing with "database
    is locked" when it upgrades."""
    store_a, case, staff = world["a"].id, world["case"].id, world["staff"].id
    with new_session(engine) as request, new_session(engine) as other:
        actor = request.get(User, staff)
        assert request.get(StockBalance, (store_a, case)).on_hand == 20  # the snapshot of this read
        sales.sell(other, other.get(User, staff), store_id=store_a, sku="RK-CASE", quantity=2)
        sales.sell(request, actor, store_id=store_a, sku="RK-CASE", quantity=3)
    with new_session(engine) as check:
        assert check.get(StockBalance, (store_a, case)).on_hand == 15


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_job_that_reads_then_writes_is_not_broken_by_a_sale_meanwhile_on_sqlite(engine, world):
    """A batch job (the forecast) reads for a long time, then stores its result outside any verb. With reads
    DEFERRED, a sale committed meanwhile would make its first write fail at once ("database is locked");
    the first write ends the read snapshot and begins again as a write instead."""
    store_a, staff = world["a"].id, world["staff"].id
    with new_session(engine) as job, new_session(engine) as till:
        assert job.get(StockBalance, (store_a, world["case"].id)).on_hand == 20  # the job's long read
        sales.sell(till, till.get(User, staff), store_id=store_a, sku="RK-CASE")
        job.add(PosImport(store_id=store_a, file_sha256="f" * 64, filename="job.csv", rows=0))
        job.commit()
    with new_session(engine) as check:
        assert check.execute(select(func.count()).select_from(PosImport)).scalar_one() == 1


# -- item 14: staged files -----------------------------------------------------------------------------------

def staged(session) -> list[tuple]:
    return [tuple(r) for r in session.execute(select(PosStagedFile.store_id, PosStagedFile.file_sha256,
                                                     PosStagedFile.uploader_id).order_by(PosStagedFile.created_at))]


def test_a_previewed_file_is_staged_and_confirmed_by_its_hash(session, world):
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="day.csv", content=FILE,
                                 stage=True)
    assert preview.staged and staged(session) == [(world["a"].id, preview.file_sha256, world["staff"].id)]
    assert movements(session) == 3  # the purchases only: a preview lands nothing
    result = pos_import.confirm(session, world["staff"], store_id=world["a"].id, file_sha256=preview.file_sha256)
    assert (result.imported_rows, result.filename) == (3, "day.csv") and staged(session) == []
    again = pos_import.confirm(session, world["staff"], store_id=world["a"].id, file_sha256=preview.file_sha256)
    assert again.already_imported and movements(session) == 6


def test_a_file_with_errors_is_not_staged(session, world):
    content = HEADER + b"2026-11-20 10:00,RK-CASE,1,,0,sale,R-1\n"
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="bad.csv",
                                 content=content, stage=True)
    assert preview.errors and not preview.staged and staged(session) == []


@pytest.mark.parametrize("file_sha256", ["", "0" * 64, "not-a-hash", "A" * 64, pytest.param("x" * 10_000, id="10k"),
                                         None, 7])
def test_confirming_a_hash_that_is_not_staged_is_refused(session, world, file_sha256):
    with pytest.raises(errors.StagedFileMissing):
        pos_import.confirm(session, world["staff"], store_id=world["a"].id, file_sha256=file_sha256)


def test_a_staged_file_is_confirmed_only_at_its_store(session, world):
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="day.csv", content=FILE,
                                 stage=True)
    staff_b = User(email="staff@b.example.com", name="B", role="store_staff", store_id=world["b"].id)
    session.add(staff_b)
    session.commit()
    with pytest.raises(errors.StagedFileMissing):
        pos_import.confirm(session, staff_b, store_id=world["b"].id, file_sha256=preview.file_sha256)
    with pytest.raises(errors.Forbidden):
        pos_import.confirm(session, staff_b, store_id=world["a"].id, file_sha256=preview.file_sha256)
    assert movements(session) == 3


def test_staged_files_expire_and_are_cleaned_up(session, world):
    old = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="old.csv", content=FILE,
                             stage=True)
    session.execute(update(PosStagedFile).values(created_at=utcnow() - pos_import.STAGED_FOR - timedelta(minutes=1)))
    session.commit()
    with pytest.raises(errors.StagedFileMissing) as refused:
        pos_import.confirm(session, world["staff"], store_id=world["a"].id, file_sha256=old.file_sha256)
    assert refused.value.params == {"hours": 24}
    fresh = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="new.csv",
                               content=FILE + b"\n", stage=True)
    assert [digest for _, digest, _ in staged(session)] == [fresh.file_sha256]  # the expired one deleted
    session.execute(update(PosStagedFile).values(created_at=utcnow() - pos_import.STAGED_FOR - timedelta(minutes=1)))
    session.commit()
    for number in range(pos_import.MAX_STAGED_PER_STORE + 5):  # a store keeps its newest files only
        content = HEADER + f"2026-11-20 10:00,RK-CASE,1,,199,sale,R-{number}\n".encode()
        pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="f.csv", content=content,
                           stage=True)
    assert len(staged(session)) == pos_import.MAX_STAGED_PER_STORE
    assert session.execute(select(func.count()).select_from(PosImportRow)).scalar_one() == 0
