"""Tardis.dev CSV (incremental_book_L2 and trades) to canonical events.

Both files have `exchange, symbol, timestamp, local_timestamp` (microseconds since the epoch) and
a header row. Prices and amounts are decimal strings, converted exactly to ticks and lots.

| file | row | canonical event |
|---|---|---|
| incremental_book_L2 | `is_snapshot, side (bid/ask), price, amount` | LEVEL_SET (amount 0 removes the level) |
| incremental_book_L2 | the first row of a run of snapshot rows | also BOOK_CLEAR and SNAPSHOT_BEGIN before it |
| incremental_book_L2 | the first row after a run of snapshot rows | SNAPSHOT_END before it |
| trades | `id, side (buy/sell/unknown), price, amount` | TRADE, side = the aggressor's |

Rows with the same `timestamp` and `local_timestamp` are one update: only its last LEVEL_SET is
flagged LAST_IN_PACKET. A trade id that is not an integer (BitMEX uses UUIDs) becomes the row
number, since canonical trade ids are integers.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

from canonicalflow.data.normalize._common import Quarantine, Quarantined, units_converter
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind, Flag

__all__ = ["read_tardis_book", "read_tardis_trades"]

_LAST, _SNAPSHOT = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT)
_BOOK_SIDE = {"bid": 1, "ask": -1}
_TRADE_SIDE = {"buy": 1, "sell": -1, "unknown": 0, "": 0}


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:
        reader = csv.DictReader(f)
        missing = [name for name in required if name not in (reader.fieldnames or ())]
        if missing:
            raise DataError(f"{path}: not a Tardis file of this kind: no column {', '.join(missing)}")
        yield from enumerate(reader, 2)


def _times(row: dict[str, str]) -> tuple[int, int]:
    return int(row["timestamp"]) * 1_000, int(row["local_timestamp"]) * 1_000


def read_tardis_book(
    path: Path, instrument: int, quarantine: Quarantine, *, tick_size: str, lot_size: str
) -> Iterator[Event]:
    """Canonical events for an incremental_book_L2 file, positions 1..n."""
    tick, lot = units_converter(tick_size), units_converter(lot_size)
    pending: list[Event] = []  # one update, held until the next row shows whether it ended
    in_snapshot = False
    position = 0

    def emit(kind: EventKind, ts: tuple[int, int], flags: int = 0, **fields: int) -> Event:
        nonlocal position
        position += 1
        return Event(
            position=position,
            kind=int(kind),
            ts_exchange=ts[0],
            ts_receive=ts[1],
            instrument=instrument,
            flags=flags,
            **fields,
        )

    for line, row in _rows(path, ("timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount")):
        try:
            ts = _times(row)
            side = _BOOK_SIDE[row["side"]]
            price, qty = tick(row["price"]), lot(row["amount"])
            snapshot = {"true": True, "false": False}[row["is_snapshot"]]
        except (KeyError, ValueError, TypeError) as error:  # TypeError: a short line's missing fields
            quarantine.add(_bad_row(path, line, row, error, tick, lot))
            continue
        if pending and (snapshot != in_snapshot or (pending[-1].ts_exchange, pending[-1].ts_receive) != ts):
            yield from _close(pending)
            pending = []
        if snapshot and not in_snapshot:
            yield emit(EventKind.BOOK_CLEAR, ts, _SNAPSHOT)
            yield emit(EventKind.SNAPSHOT_BEGIN, ts, _SNAPSHOT)
        elif in_snapshot and not snapshot:
            yield emit(EventKind.SNAPSHOT_END, ts, _LAST)
        in_snapshot = snapshot
        pending.append(
            emit(EventKind.LEVEL_SET, ts, _SNAPSHOT if snapshot else 0, side=side, price=price, qty=qty)
        )
    yield from _close(pending)
    if in_snapshot:
        yield emit(
            EventKind.SNAPSHOT_END,
            (pending[-1].ts_exchange, pending[-1].ts_receive) if pending else (0, 0),
            _LAST,
        )


def _close(update: list[Event]) -> Iterator[Event]:
    """An update's events, its last one flagged as completing it."""
    yield from update[:-1]
    if update:
        yield update[-1]._replace(flags=update[-1].flags | _LAST)


def _bad_row(
    path: Path,
    line: int,
    row: dict[str, str],
    error: Exception,
    tick: Callable[[str], int],
    lot: Callable[[str], int],
) -> Quarantined:
    """The quarantine record of a row that did not parse: its first bad field, and the raw line."""
    raw = ",".join(
        v or "" for v in row.values() if isinstance(v, str | None)
    )  # a long line's extras are a list
    return Quarantined(str(path), line, _bad_field(row, tick, lot), str(error) or "not a known value", raw)


def _bad_field(row: dict[str, str], tick: Callable[[str], int], lot: Callable[[str], int]) -> str:
    """The first field of a book or trade row that does not parse."""
    checks = [
        ("timestamp", lambda v: int(v)),
        ("local_timestamp", lambda v: int(v)),
        ("is_snapshot", lambda v: {"true": 1, "false": 0}[v]),
        ("side", lambda v: (_BOOK_SIDE | _TRADE_SIDE)[v]),
        ("price", tick),
        ("amount", lot),
    ]
    for name, parse in checks:
        if name in row:
            try:
                parse(row[name])
            except (KeyError, ValueError, TypeError):
                return name
    return "?"


def read_tardis_trades(
    path: Path, instrument: int, quarantine: Quarantine, *, tick_size: str, lot_size: str
) -> Iterator[Event]:
    """Canonical TRADE events for a trades file, positions 1..n."""
    tick, lot = units_converter(tick_size), units_converter(lot_size)
    position = 0
    for line, row in _rows(path, ("timestamp", "local_timestamp", "id", "side", "price", "amount")):
        try:
            ts = _times(row)
            side = _TRADE_SIDE[row["side"]]
            price, qty = tick(row["price"]), lot(row["amount"])
        except (KeyError, ValueError, TypeError) as error:  # TypeError: a short line's missing fields
            quarantine.add(_bad_row(path, line, row, error, tick, lot))
            continue
        position += 1
        trade_id = int(row["id"]) if row["id"].isdigit() else line
        yield Event(
            position=position,
            kind=int(EventKind.TRADE),
            ts_exchange=ts[0],
            ts_receive=ts[1],
            instrument=instrument,
            flags=_LAST,
            side=side,
            price=price,
            qty=qty,
            trade_id=trade_id,
        )
