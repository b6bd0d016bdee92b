"""Ingestion follows the dataset lifecycle; the store is immutable, versioned and readable by others."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from canonicalflow.data import IngestRequest, Store, ingest
from canonicalflow.data.normalize import Quarantine, read_lobster_messages
from canonicalflow.errors import DataError
from canonicalflow.events import EventKind, iter_events

DAY = "2012-06-21"
# A small, consistent LOBSTER level-2 pair: two bids and one ask, an execution, a cancel.
MESSAGES = [
    "34200.000000001,1,1,10,1000000,1",
    "34200.000000002,1,2,5,999900,1",
    "34200.000000003,1,3,7,1000100,-1",
    "34200.500000000,4,3,2,1000100,-1",
    "34201,3,2,5,999900,1",
    "34202.25,5,0,3,1000000,-1",
]
ORDERBOOK = [
    "9999999999,0,1000000,10,9999999999,0,-9999999999,0",
    "9999999999,0,1000000,10,9999999999,0,999900,5",
    "1000100,7,1000000,10,9999999999,0,999900,5",
    "1000100,5,1000000,10,9999999999,0,999900,5",
    "1000100,5,1000000,10,9999999999,0,-9999999999,0",
    "1000100,5,1000000,10,9999999999,0,-9999999999,0",
]


def _lobster_pair(
    directory: Path, messages: list[str] = MESSAGES, orderbook: list[str] = ORDERBOOK
) -> tuple[Path, Path]:
    stem = f"TEST_{DAY}_34200000_57600000"
    message_file = directory / f"{stem}_message_2.csv.gz"
    orderbook_file = directory / f"{stem}_orderbook_2.csv"
    with gzip.open(message_file, "wt") as f:
        f.write("\n".join(messages) + "\n")
    orderbook_file.write_text("\n".join(orderbook) + "\n")
    return message_file, orderbook_file


def _request(paths: tuple[Path, ...], **changes: object) -> IngestRequest:
    fields = {
        "format": "lobster",
        "paths": paths,
        "venue": "test",
        "instrument": "TEST",
        "tick_size": "0.0001",
    }
    return IngestRequest(**(fields | changes))  # type: ignore[arg-type]


def test_a_clean_dataset_is_promoted_with_its_manifest(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    result = ingest(store, _request(_lobster_pair(tmp_path)))
    assert (result.state, result.dataset, result.version) == ("Promoted", f"test/TEST/{DAY}", 1)
    manifest = store.manifest(result.dataset)
    assert manifest.rows == result.report.rows == 6 and manifest.quality == "passed"
    assert manifest.lifecycle == ("Discovered", "Validating", "Validated", "Normalized", "Promoted")
    message_file = tmp_path / f"TEST_{DAY}_34200000_57600000_message_2.csv.gz"
    assert manifest.sources[0].sha256 == hashlib.sha256(message_file.read_bytes()).hexdigest()
    events = list(iter_events(pq.read_table(store.data_file(result.dataset)).to_batches()[0]))
    assert [EventKind(e.kind).name for e in events][:3] == ["ORDER_ADD", "ORDER_ADD", "ORDER_ADD"]
    assert events[0].ts_exchange == 1340285400000000001  # 09:30 New York is 13:30 UTC in June


def test_a_correction_is_a_new_version_and_old_versions_stay(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    first = ingest(store, _request(_lobster_pair(tmp_path)))
    again = ingest(store, _request(_lobster_pair(tmp_path)))
    assert again.reused and again.version == 1  # the same sources: nothing new to store
    corrected = [*MESSAGES[:-1], "34202.25,5,0,4,1000000,-1"]
    second = ingest(store, _request(_lobster_pair(tmp_path, corrected)))
    assert (first.version, second.version) == (1, 2) and not second.reused
    assert store.manifest(second.dataset).supersedes == 1
    assert store.versions(first.dataset) == [1, 2]
    assert store.catalog(all_versions=True).num_rows == 2 and store.catalog().num_rows == 1
    mode = store.data_file(first.dataset, 1).stat().st_mode
    assert not mode & 0o222  # promoted files are read-only


def test_findings_hold_the_dataset_back_until_a_person_waives_them(tmp_path: Path) -> None:
    crossed = [*MESSAGES[:3], "34200.6,1,4,1,1000200,1"]  # a bid above the ask, left standing
    book = [*ORDERBOOK[:3], "1000100,7,1000200,1,9999999999,0,1000000,10"]
    paths = _lobster_pair(tmp_path, crossed, book)
    store = Store(tmp_path / "store")
    held = ingest(store, _request(paths))
    assert held.state == "Quarantined" and held.version is None
    assert held.report.counts == {"crossed_book": 1}
    assert (held.path / "held-events.parquet").exists() and json.loads(
        (held.path / "quality.json").read_text()
    )
    assert not store.catalog().num_rows
    waived = ingest(store, _request(paths, waive=True))
    manifest = store.manifest(waived.dataset)
    assert (waived.state, manifest.quality, manifest.findings) == ("Promoted", "waived", {"crossed_book": 1})
    assert "Quarantined" in manifest.lifecycle


def test_data_short_of_its_declared_window_is_incomplete(tmp_path: Path) -> None:
    start = 1340285400000000000
    result = ingest(
        store := Store(tmp_path / "s"),
        _request(_lobster_pair(tmp_path), declared=(start, start + 3_600 * 10**9)),
    )
    assert result.state == "Incomplete" and not store.catalog().num_rows


def test_bad_rows_are_quarantined_with_their_line_and_field(tmp_path: Path) -> None:
    messages = [*MESSAGES[:2], "34200.000000003,1,3,seven,1000100,-1", *MESSAGES[3:]]
    quarantine = Quarantine()
    message_file, _ = _lobster_pair(tmp_path, messages)
    events = [e for b in read_lobster_messages(message_file, 1, quarantine) for e in iter_events(b)]
    assert len(events) == 5
    assert [(q.row, q.field, q.reason) for q in quarantine.rows] == [(3, "size", "not an integer")]
    with pytest.raises(DataError, match=r"message_2\.csv\.gz:3: field 'size'"):
        list(read_lobster_messages(message_file, 1, Quarantine(strict=True)))


def test_duckdb_and_polars_read_the_store_directly(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ingest(store, _request(_lobster_pair(tmp_path)))
    glob = str(tmp_path / "store" / "**" / "part-*.parquet")
    rows = duckdb.sql(
        f"select venue, symbol, count(*) from read_parquet('{glob}', hive_partitioning=true) group by all"
    ).fetchall()
    assert rows == [("test", "TEST", 6)]
    frame = (
        pl.scan_parquet(glob, hive_partitioning=True)
        .filter(pl.col("kind") == int(EventKind.ORDER_ADD))
        .collect()
    )
    assert frame.height == 3 and set(frame["symbol"]) == {"TEST"}


def test_an_unknown_dataset_or_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no dataset"):
        Store(tmp_path).manifest("a/b/c")
    with pytest.raises(DataError, match="unknown format"):
        ingest(Store(tmp_path), _request((tmp_path,), format="nope"))


def test_a_quarantined_message_row_does_not_shift_the_orderbook_rows(tmp_path: Path) -> None:
    messages = [*MESSAGES[:3], "34200.500000000,4,3,two,1000100,-1", *MESSAGES[4:]]
    store = Store(tmp_path / "store")
    result = ingest(store, _request(_lobster_pair(tmp_path, messages), waive=True))
    assert result.state == "Promoted" and result.report.quarantined_rows == 1
    assert "book_unknown_order" not in result.report.counts and "crossed_book" not in result.report.counts
    assert not any((tmp_path / "store" / "_staging").iterdir())


def test_other_units_make_a_new_version_not_a_reuse(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    paths = _lobster_pair(tmp_path)
    first = ingest(store, _request(paths))
    other = ingest(store, _request(paths, tick_size="0.01"))
    assert not other.reused and other.version == first.version + 1


def test_a_line_with_the_wrong_number_of_fields_is_an_error_naming_the_line(tmp_path: Path) -> None:
    message_file, _ = _lobster_pair(tmp_path, [MESSAGES[0], "34200.2,1,2", *MESSAGES[2:]])
    with pytest.raises(DataError, match=r"message_2\.csv\.gz:2: 3 fields, not 6"):
        list(read_lobster_messages(message_file, 1, Quarantine()))


def test_names_that_cannot_be_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot name a directory"):
        ingest(Store(tmp_path / "s"), _request(_lobster_pair(tmp_path), instrument="XBT/USD"))
    assert not (tmp_path / "s").exists()  # refused before anything was written
