"""The vendor formats `canonicalflow data ingest` reads: how to find the files and which book checks them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from canonicalflow.data.normalize import (
    Quarantine,
    lobster_date,
    read_binance_batches,
    read_databento,
    read_lobster_messages,
    read_lobster_orderbook,
    with_lobster_window,
)
from canonicalflow.data.normalize._tardis import read_tardis_book, read_tardis_trades
from canonicalflow.errors import DataError
from canonicalflow.events import Event, iter_events, to_record_batch

__all__ = ["FORMATS", "Format", "Source", "batched"]

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Source:
    """What a normalizer needs besides the files."""

    paths: tuple[Path, ...]
    instrument_id: int
    tick_size: str
    lot_size: str


@dataclass(frozen=True)
class Format:
    name: str
    version: str  # of the normalizer: recorded in every manifest
    book_level: int  # 3: the checks rebuild an order-level book; 2: a price-level one
    help: str
    read: Callable[[Source, Quarantine], Iterator[pa.RecordBatch]]


def batched(events: Iterator[Event], rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Canonical batches of up to `rows` events."""
    chunk: list[Event] = []
    for ev in events:
        chunk.append(ev)
        if len(chunk) == rows:
            yield to_record_batch(chunk)
            chunk = []
    if chunk:
        yield to_record_batch(chunk)


def _read_lobster(source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
    messages = [p for p in source.paths if "_message_" in p.name]
    orderbooks = [p for p in source.paths if "_orderbook_" in p.name]
    if len(messages) != 1 or len(orderbooks) != 1:
        raise DataError(
            "lobster: give one message file and its orderbook file "
            f"(TICKER_DATE_start_end_message_N.csv and ..._orderbook_N.csv), got {[str(p) for p in source.paths]}"
        )
    _, _, levels = lobster_date(messages[0])
    events = (
        ev
        for batch in read_lobster_messages(messages[0], source.instrument_id, quarantine)
        for ev in iter_events(batch)
    )
    return batched(with_lobster_window(events, read_lobster_orderbook(orderbooks[0]), levels))


def _single(source: Source, fmt: str) -> Path:
    if len(source.paths) != 1:
        raise DataError(f"{fmt}: give exactly one file, got {len(source.paths)}")
    return source.paths[0]


def _read_tardis_book(source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
    path = _single(source, "tardis-book")
    return batched(
        read_tardis_book(
            path, source.instrument_id, quarantine, tick_size=source.tick_size, lot_size=source.lot_size
        )
    )


def _read_tardis_trades(source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
    path = _single(source, "tardis-trades")
    return batched(
        read_tardis_trades(
            path, source.instrument_id, quarantine, tick_size=source.tick_size, lot_size=source.lot_size
        )
    )


def _read_binance(source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
    path = _single(source, "binance")
    return read_binance_batches(
        path, source.instrument_id, quarantine, tick_size=source.tick_size, lot_size=source.lot_size
    )


def _read_databento(source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
    path = _single(source, "databento")
    return read_databento(path, source.tick_size, source.instrument_id, quarantine)


FORMATS: dict[str, Format] = {
    "lobster": Format(
        "lobster",
        "1",
        3,
        "LOBSTER message file plus its orderbook file (prices in USD x 10,000; tick 0.0001)",
        _read_lobster,
    ),
    "binance": Format(
        "binance",
        "1",
        2,
        "Binance raw websocket capture: '<receive ns> <json>' lines (depth snapshot, diffs, bookTicker, trades)",
        _read_binance,
    ),
    "databento-mbo": Format(
        "databento-mbo",
        "1",
        3,
        "Databento MBO: DBN (.dbn, .dbn.zst) or CSV (.csv, .csv.gz); F fills become the C that follows",
        _read_databento,
    ),
    "databento-mbp": Format(
        "databento-mbp",
        "1",
        2,
        "Databento MBP-1, TBBO or MBP-10 (DBN or CSV): level changes and trades",
        _read_databento,
    ),
    "tardis-book": Format(
        "tardis-book", "1", 2, "Tardis.dev incremental_book_L2 CSV (optionally gzipped)", _read_tardis_book
    ),
    "tardis-trades": Format(
        "tardis-trades", "1", 0, "Tardis.dev trades CSV (optionally gzipped)", _read_tardis_trades
    ),
}


def check_paths(paths: Sequence[Path]) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"no such file: {', '.join(missing)}")
