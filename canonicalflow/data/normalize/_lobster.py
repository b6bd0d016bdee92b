"""LOBSTER message files to canonical events, streamed in Arrow batches.

A message row is `time, type, order_id, size, price, direction`: time in seconds after midnight
(exchange local time, up to nanoseconds), price in USD x 10,000, direction +1 for a buy limit
order and -1 for a sell. Prices stay in that unit (one tick = $0.0001), so nothing is rounded.

| type | meaning | canonical event |
|---|---|---|
| 1 | new limit order | ORDER_ADD |
| 2 | partial cancel | ORDER_CANCEL, qty = lots cancelled |
| 3 | delete | ORDER_CANCEL, qty = lots the order still had |
| 4 | execution of a visible order | ORDER_FILL, side = the resting order's |
| 5 | execution of a hidden order | TRADE, side = the aggressor's (opposite the hidden order) |
| 6 | cross trade (auction) | TRADE, side 0 |
| 7 | trading halt (price -1), quoting (0), resume (1) | TRADING_STATUS, reason 1, 2, 3 |

Every row is a complete update (the orderbook file has one row per message), so each event is
flagged LAST_IN_PACKET. LOBSTER has no receive time: it is set to the exchange time.
"""

from __future__ import annotations

import datetime
import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from canonicalflow.data.normalize._common import Quarantine, Quarantined, event_batch
from canonicalflow.errors import DataError
from canonicalflow.events import EventKind, Flag

__all__ = ["MESSAGE_COLUMNS", "lobster_date", "read_lobster_messages", "read_lobster_orderbook"]

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
_NAME = re.compile(
    r"(?P<ticker>[A-Za-z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+_(?:message|orderbook)_(?P<levels>\d+)"
)
_INT = r"^-?[0-9]{1,18}$"  # fits in int64
_TIME = r"^(?P<s>[0-9]+)(?:\.(?P<f>[0-9]{1,9}))?$"
_KIND_OF_TYPE = pa.array(
    [
        0,
        int(EventKind.ORDER_ADD),
        int(EventKind.ORDER_CANCEL),
        int(EventKind.ORDER_CANCEL),
        int(EventKind.ORDER_FILL),
        int(EventKind.TRADE),
        int(EventKind.TRADE),
        int(EventKind.TRADING_STATUS),
    ],
    pa.int16(),
)
_DUMMY_PRICE = 9_999_999_999  # LOBSTER fills empty levels with +-9999999999


def lobster_date(path: Path) -> tuple[str, datetime.date, int]:
    """(ticker, trading date, levels) from a LOBSTER file name such as AMZN_2012-06-21_..._message_1.csv."""
    match = _NAME.search(path.name)
    if not match:
        raise DataError(f"{path}: not a LOBSTER file name (TICKER_YYYY-MM-DD_start_end_message_N.csv)")
    return match["ticker"], datetime.date.fromisoformat(match["date"]), int(match["levels"])


def _midnight_ns(date: datetime.date, timezone: str) -> int:
    midnight = datetime.datetime(date.year, date.month, date.day, tzinfo=ZoneInfo(timezone))
    return int(midnight.timestamp()) * 1_000_000_000


def _open(path: Path, columns: list[str], block_size: int) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        pa.input_stream(str(path), compression="detect"),
        read_options=pacsv.ReadOptions(column_names=columns, block_size=block_size),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string())),
    )


def _malformed_line(path: Path, fields: int) -> str:
    """Where a file stops being CSV of `fields` fields: found again line by line, to name the line."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        for line, text in enumerate(f, 1):
            if text.count(",") != fields - 1:
                return f"{path}:{line}: {text.count(',') + 1} fields, not {fields} ({text.strip()[:80]!r})"
    return f"{path}: not a readable CSV file"


def read_lobster_messages(
    path: Path,
    instrument: int,
    quarantine: Quarantine,
    *,
    timezone: str = "America/New_York",
    block_size: int = 1 << 22,
) -> Iterator[pa.RecordBatch]:
    """Canonical events for every valid row of a message file; bad rows go to `quarantine`.

    Positions and sequence numbers are the 1-based row numbers of the file.
    """
    _, date, _ = lobster_date(path)
    midnight = _midnight_ns(date, timezone)
    row = 0
    try:
        reader = _open(path, list(MESSAGE_COLUMNS), block_size)
    except pa.ArrowInvalid:
        raise DataError(_malformed_line(path, len(MESSAGE_COLUMNS))) from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error}") from None
    while True:
        try:
            raw = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid:  # a line with the wrong number of fields: the file is not what it claims
            raise DataError(_malformed_line(path, len(MESSAGE_COLUMNS))) from None
        first_row = row + 1
        row += raw.num_rows
        yield from _convert(path, raw, first_row, instrument, midnight, quarantine)


def _convert(
    path: Path, raw: pa.RecordBatch, first_row: int, instrument: int, midnight: int, quarantine: Quarantine
) -> Iterator[pa.RecordBatch]:
    columns = {name: raw.column(name) for name in MESSAGE_COLUMNS}
    time = pc.extract_regex(columns["time"], _TIME)
    checks: list[tuple[str, str, pa.Array]] = [("time", "not seconds.nanoseconds", time.is_valid())]
    checks += [
        (name, "not an integer", pc.match_substring_regex(columns[name], _INT))
        for name in MESSAGE_COLUMNS[1:]
    ]
    good = _all(checks)
    ints = {name: pc.cast(pc.if_else(good, columns[name], "0"), pa.int64()) for name in MESSAGE_COLUMNS[1:]}
    kind_type, size, price, direction = ints["type"], ints["size"], ints["price"], ints["direction"]
    is_status = pc.equal(kind_type, 7)
    checks += [
        (
            "type",
            "not a LOBSTER event type (1-7)",
            pc.and_(pc.greater_equal(kind_type, 1), pc.less_equal(kind_type, 7)),
        ),
        ("direction", "not 1 or -1", pc.is_in(direction, pa.array([1, -1]))),
        ("size", "not positive", pc.or_(is_status, pc.greater(size, 0))),
        ("price", "not positive", pc.or_(is_status, pc.greater(price, 0))),
        (
            "price",
            "halt price not -1, 0 or 1",
            pc.or_(pc.invert(is_status), pc.is_in(price, pa.array([-1, 0, 1]))),
        ),
    ]
    good = _all(checks)
    if not pc.all(good).as_py():
        for index in pc.indices_nonzero(pc.invert(good)).to_pylist():
            field, reason = next((f, r) for f, r, ok in checks if not ok[index].as_py())
            values = ",".join(str(columns[name][index]) for name in MESSAGE_COLUMNS)
            quarantine.add(Quarantined(str(path), first_row + index, field, reason, values))
    rows = pa.array(range(first_row, first_row + raw.num_rows), pa.int64())
    keep = pc.indices_nonzero(good)
    if len(keep) == 0:
        return
    time, kind_type, size, price, direction, rows = (
        pc.take(a, keep) for a in (time, kind_type, size, price, direction, rows)
    )
    seconds = pc.cast(pc.struct_field(time, "s"), pa.int64())
    fraction = pc.cast(pc.utf8_rpad(pc.struct_field(time, "f"), 9, "0"), pa.int64())
    ts = pc.add(pc.add(pc.multiply(seconds, 1_000_000_000), fraction), midnight)
    hidden, cross, status = (pc.equal(kind_type, t) for t in (5, 6, 7))
    side = pc.if_else(hidden, pc.negate(direction), pc.if_else(pc.or_(cross, status), 0, direction))
    book_event = pc.less_equal(kind_type, 4)
    yield event_batch(
        len(keep),
        {
            "position": rows,
            "kind": pc.take(_KIND_OF_TYPE, kind_type),
            "ts_exchange": ts,
            "ts_receive": ts,
            "instrument": pa.array([instrument] * len(keep), pa.int64()),
            "flags": pa.array([int(Flag.LAST_IN_PACKET)] * len(keep), pa.int8()),
            "sequence": rows,
            "order_id": pc.if_else(book_event, pc.take(ints["order_id"], keep), 0),
            "side": side,
            "price": pc.if_else(status, 0, price),
            "qty": pc.if_else(status, 0, size),
            "reason": pc.if_else(status, pc.add(price, 2), 0),
        },
    )


def _all(checks: list[tuple[str, str, pa.Array]]) -> pa.Array:
    good = checks[0][2]
    for _, _, ok in checks[1:]:
        good = pc.and_(good, ok)
    return pc.fill_null(good, False)


def read_lobster_orderbook(path: Path) -> Iterator[list[tuple[int, int, int, int]]]:
    """Each orderbook row as [(ask_price, ask_size, bid_price, bid_size), ...] by level; dummy levels as 0, 0."""
    _, _, levels = lobster_date(path)
    names = [f"{what}{i}" for i in range(levels) for what in ("ap", "as", "bp", "bs")]
    reader = pacsv.open_csv(
        pa.input_stream(str(path), compression="detect"),
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.int64())),
    )
    for batch in reader:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            yield [
                tuple(0 if abs(v) == _DUMMY_PRICE else v for v in values[4 * i : 4 * i + 4])  # type: ignore[misc]
                for i in range(levels)
            ]
