"""`canonicalflow journal inspect|tail|export`; a missing or corrupt journal is one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import Batches

from canonicalflow.cli import main
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, to_record_batch
from canonicalflow.journal import JournalWriter


def _run(*args: str):
    return CliRunner().invoke(main, ["journal", *args])


@pytest.fixture
def journal(tmp_path: Path, trades: Batches) -> Path:
    """Two segments: 20 trades, then a BBO and an ACK."""
    path = tmp_path / "j"
    with JournalWriter(path, segment_bytes=1) as writer:
        writer.append(trades(0, 20))
        writer.append(
            to_record_batch(
                [
                    Event(
                        position=20,
                        kind=int(EventKind.BBO),
                        bid_price=99,
                        bid_qty=4,
                        ask_price=101,
                        ask_qty=2,
                    ),
                    Event(position=21, kind=int(EventKind.ACK), client_order_id=7, order_id=12345),
                ]
            )
        )
    return path


def test_inspect_summarises_and_verifies(journal: Path) -> None:
    result = _run("inspect", str(journal))
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines())
    assert lines["segments"] == "2: segment-000001.cfj, segment-000002.cfj"
    assert (lines["frames"], lines["events"], lines["positions"]) == ("2", "22", "0 .. 21")
    assert lines["ts_exchange"].startswith("1970-01-01T00:00:00.000000000Z .. 2025-11-24T16:00:00.000019000Z")
    assert lines["checksums"] == "all 2 frames verified"


def test_tail_shows_only_the_fields_each_kind_uses(journal: Path) -> None:
    result = _run("tail", str(journal), "-n", "3")
    assert result.exit_code == 0, result.output
    header, trade, bbo, ack = (line.split() for line in result.output.splitlines())
    assert header[:6] == ["position", "kind", "ts_exchange", "ts_receive", "instrument", "flags"]
    trade_fields = {"sequence", "side", "price", "qty", "trade_id"}
    assert set(header[6:]) == trade_fields | {
        "order_id",
        "client_order_id",
        "bid_price",
        "bid_qty",
        "ask_price",
        "ask_qty",
    }
    assert trade[:2] == ["19", "TRADE"] and bbo[:2] == ["20", "BBO"] and ack[:2] == ["21", "ACK"]
    assert ack[6:] == ["12345", "7", "0", "0"]  # order_id, client_order_id, price, qty: nothing else shown
    assert bbo[6:] == ["0", "99", "4", "101", "2"]  # sequence (BBO uses it), then the book top
    lines = result.output.splitlines()
    assert lines[0].index("kind") == lines[1].index("TRADE") == lines[3].index("ACK")  # aligned


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_export_writes_what_pyarrow_reads_back(
    journal: Path, tmp_path: Path, trades: Batches, suffix: str
) -> None:
    out = tmp_path / f"events{suffix}"
    result = _run("export", str(journal), str(out), "--from", "5", "--to", "20")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported 16 events in 2 batches to {out}"
    if suffix == ".parquet":
        table = pq.read_table(out)
    else:
        options = pa_csv.ConvertOptions(column_types={f.name: f.type for f in EVENT_SCHEMA})
        table = pa_csv.read_csv(out, convert_options=options).cast(EVENT_SCHEMA)
    assert table.schema.equals(EVENT_SCHEMA)
    assert table.column("position").to_pylist() == list(range(5, 21))
    assert table.slice(0, 15).to_pylist() == trades(5, 15).to_pylist()
    assert table.slice(15).to_pylist()[0]["bid_qty"] == 4
    assert not list(tmp_path.glob("*.partial"))


def test_errors_are_one_line_and_exit_1(journal: Path, tmp_path: Path) -> None:
    for args in (
        ["inspect", str(tmp_path / "missing")],
        ["tail", str(tmp_path)],  # a directory without segments
        ["export", str(journal), str(tmp_path / "out.txt")],
    ):
        result = _run(*args)
        assert result.exit_code == 1, args
        assert result.output.count("\n") == 1 and result.output.startswith("error: "), result.output
    segment = journal / "segment-000001.cfj"
    data = bytearray(segment.read_bytes())
    data[-10] ^= 0xFF
    segment.write_bytes(bytes(data))
    for args in (["inspect", str(journal)], ["export", str(journal), str(tmp_path / "o.parquet")]):
        result = _run(*args)
        assert result.exit_code == 1
        assert result.output.startswith("error: ") and "fails its checksum" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_a_torn_tail_is_reported_as_a_warning(journal: Path) -> None:
    segment = journal / "segment-000002.cfj"
    segment.write_bytes(segment.read_bytes()[:-3])
    result = _run("inspect", str(journal))
    assert result.exit_code == 0
    assert result.output.startswith("warning: ") and "torn tail at byte" in result.output
    assert "events      20" in result.output
