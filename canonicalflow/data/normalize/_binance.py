"""Binance raw websocket captures to canonical events, streamed, the order book kept in sync.

A capture line is `<local receive time, ns> <raw JSON>`; the JSON may be wrapped as
`{"stream": ..., "data": ...}`. Plain and gzip files are both read (detected from the content).
Prices and quantities are decimal strings; they become integer ticks and lots by exact decimal
arithmetic on the digits (never floats), and a value that is not a whole multiple of the tick or
lot size is quarantined, since rounding it would invent a price or a size.

| message | canonical events | sequence |
|---|---|---|
| REST depth snapshot (`lastUpdateId`, `bids`, `asks`) | BOOK_CLEAR, SNAPSHOT_BEGIN, one LEVEL_SET per level, SNAPSHOT_END; all flagged SNAPSHOT, the end also LAST_IN_PACKET | `lastUpdateId` |
| `depthUpdate` diff (`U`, `u`, futures also `pu`) | one LEVEL_SET per level it carries, bids first, qty 0 removes the level; only the last is LAST_IN_PACKET | `u` |
| `bookTicker` | BBO (bid_price, bid_qty, ask_price, ask_qty) | `u` |
| `trade` | TRADE, side = the aggressor: -1 when the buyer is the maker (`m` true), else +1 | trade id `t` (also `trade_id`) |
| a break in the diffs' update-id chain | FEED_GAP: `sequence` .. `gap_to` = the first .. last missing update id | |
| `{"canonicalflow": "disconnected"}`, written by the live feed when its socket dropped | FEED_GAP from the next update id, `gap_to` 0 (how much is missing is not known); the book waits for a new snapshot | |

Times: `ts_receive` is the capture's receive time. `ts_exchange` is the message's event time `E`
(a trade's `T`), ms -> ns. Spot `bookTicker` and the spot snapshot carry no event time: they get
the latest exchange time seen so far in the file, so the venue clock never appears to jump back
because of a missing stamp.

The book is synchronised on the update-id chain, as Binance documents it, by the `book_sync`
machine (spec/book_sync.cflow, the one rule the live feed client steps too). The snapshot arrives
after the first diffs, so diffs are buffered until a snapshot comes. Then the buffered diffs it
supersedes (futures `u < lastUpdateId`, spot `u <= lastUpdateId`) are quarantined with reason
"superseded by the snapshot" (kept, not lost), and the first diff that continues the snapshot is
applied: spot needs `U <= lastUpdateId + 1 <= u`; futures need `pu <= lastUpdateId <= u`, which
is Binance's `U <= lastUpdateId <= u` plus a snapshot taken between two diffs of this symbol
(futures update ids are shared by every symbol, so `pu` to `U` holds no change of this book).
After that every futures diff needs `pu` = the previous `u`, every spot diff `U` <= previous `u` + 1.
A diff released from the buffer is emitted after the snapshot with the snapshot's receive time:
it becomes usable only then, and receive times stay in order.

A break in the chain emits FEED_GAP (`sequence` = previous `u` + 1, `gap_to` = the last id the
venue says precedes the diff: futures `pu`, spot `U` - 1; `gap_to < sequence` when the chain
went backwards rather than lost something). The book is then unknown until a new snapshot: the
diffs are buffered again, and those the next snapshot supersedes (or all, if none comes) are
quarantined with reason "after a feed gap, before a new snapshot". A diff that cannot be read is
quarantined for its own reason; the next diff then breaks the chain, so the loss shows as a gap.

Every other bad line (malformed JSON, a missing or mistyped field, an unknown message type) is
quarantined with the file, its 1-based line number, the field and the reason.

`read_binance_batches` yields canonical Arrow batches for the store; `read_binance_stream` the same
events as flat records. Both build the output column by column, never event by event.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from canonicalflow._generated import book_sync_kernel as sync
from canonicalflow.data.normalize._common import (
    Quarantine,
    Quarantined,
    event_batch,
    units_converter,
)
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, Flag

__all__ = [
    "AFTER_GAP",
    "DISCONNECTED",
    "MARKETS",
    "NO_SNAPSHOT",
    "SUPERSEDED",
    "BinanceLines",
    "read_binance_batches",
    "read_binance_stream",
]

MARKETS = ("auto", "usdm", "coinm", "spot")
SUPERSEDED = "superseded by the snapshot"
AFTER_GAP = "after a feed gap, before a new snapshot"
NO_SNAPSHOT = "no snapshot came to apply it to"

_MS = 1_000_000
_BID, _ASK = 1, -1  # canonicalflow.book's BID and ASK
_LAST, _SNAP = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT)
_LEVEL_SET, _BBO, _TRADE = int(EventKind.LEVEL_SET), int(EventKind.BBO), int(EventKind.TRADE)
_BOOK_CLEAR, _SNAP_BEGIN = int(EventKind.BOOK_CLEAR), int(EventKind.SNAPSHOT_BEGIN)
_SNAP_END, _FEED_GAP = int(EventKind.SNAPSHOT_END), int(EventKind.FEED_GAP)
_JSON = json.JSONDecoder()
_SNAPSHOT, _DIFF, _LOST, _SYNCED = sync.E_SNAPSHOT, sync.E_DIFF, sync.E_LOST, sync.S_SYNCED
DISCONNECTED = b'{"canonicalflow":"disconnected"}'  # a capture line's JSON: the live socket dropped here


# ------------------------------------------------------------------ exact decimal conversion


# ----------------------------------------------------------------------------- the readers
def read_binance_batches(
    path: Path,
    instrument: int,
    quarantine: Quarantine,
    *,
    tick_size: str,
    lot_size: str,
    market: str = "auto",
    batch_size: int = 65_536,
    max_pending: int = 10_000,
) -> Iterator[pa.RecordBatch]:
    """Canonical event batches (`EVENT_SCHEMA`, `batch_size` rows, the last one shorter) for a capture.

    Positions run 1..n. Bad lines go to `quarantine`. `tick_size` and `lot_size` are decimal
    strings ("0.1", "0.001"). `market` is "usdm", "coinm" or "spot" (futures and spot chain their
    diffs differently), or "auto": spot diffs carry no `pu`. At most `max_pending` diffs wait for
    a snapshot; older ones are quarantined, so a file without snapshots cannot exhaust memory.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, not {batch_size}")
    columns = _Columns()
    for columns in _normalize(path, quarantine, tick_size, lot_size, market, max_pending):
        while len(columns.position) >= batch_size:
            yield columns.take(batch_size, instrument)
    if columns.position:
        yield columns.take(batch_size, instrument)


def read_binance_stream(
    path: Path,
    instrument: int,
    quarantine: Quarantine,
    *,
    tick_size: str,
    lot_size: str,
    market: str = "auto",
    max_pending: int = 10_000,
) -> Iterator[Event]:
    """The events of `read_binance_batches` as flat records, built straight from the columns."""
    columns = _Columns()
    for columns in _normalize(path, quarantine, tick_size, lot_size, market, max_pending):
        if len(columns.position) >= 4_096:
            yield from columns.take_events(instrument)
    yield from columns.take_events(instrument)


class BinanceLines:
    """One capture line at a time to canonical events: what a live feed client hands over as each
    frame arrives, written as `<receive time, ns> <raw JSON>` like a capture's line. The rules are
    the readers' own (the same `_Normalizer`), so a live session's recorded lines, read back by
    `read_binance_stream`, give exactly the events it produced live. Positions run 1..n over the
    lines fed; bad lines go to `quarantine`.
    """

    def __init__(
        self,
        source: str,
        instrument: int,
        quarantine: Quarantine,
        *,
        tick_size: str,
        lot_size: str,
        market: str = "auto",
        max_pending: int = 10_000,
    ) -> None:
        if market not in MARKETS:
            raise ValueError(f"market {market!r} is not one of {', '.join(MARKETS)}")
        self.instrument = instrument
        self._columns = _Columns()
        price, qty = units_converter(tick_size), units_converter(lot_size)
        self._normalizer = _Normalizer(source, quarantine, price, qty, market, max_pending, self._columns)
        self._row = 0

    @property
    def needs_snapshot(self) -> bool:
        """No book: at the start, and after a gap until a snapshot comes (spec/book_sync.cflow)."""
        return self._normalizer.sync.state == sync.S_WAITING

    @property
    def synced(self) -> bool:
        """The book is current: a snapshot was bridged and the chain has held since."""
        return self._normalizer.sync.state == _SYNCED

    @property
    def update_id(self) -> int:
        """The last update id the book holds (0 when it holds none)."""
        return self._normalizer.sync.book

    def feed(self, line: bytes) -> list[Event]:
        """The events one line makes (none for a diff kept for a snapshot, or a bad line)."""
        self._row += 1
        self._normalizer.feed(self._row, line)
        return self._columns.take_events(self.instrument)

    def finish(self) -> list[Event]:
        """At the end: diffs still waiting for a snapshot are quarantined; nothing more is made."""
        self._normalizer.finish()
        return self._columns.take_events(self.instrument)


def _normalize(
    path: Path, quarantine: Quarantine, tick_size: str, lot_size: str, market: str, max_pending: int
) -> Iterator[_Columns]:
    """The output columns after each line and once more after the end; the caller empties them."""
    if market not in MARKETS:
        raise ValueError(f"market {market!r} is not one of {', '.join(MARKETS)}")
    price, qty = units_converter(tick_size), units_converter(lot_size)
    columns = _Columns()
    normalizer = _Normalizer(str(path), quarantine, price, qty, market, max_pending, columns)
    with _open(path) as lines:
        feed = normalizer.feed
        for row, line in enumerate(lines, 1):
            feed(row, line)
            yield columns
    normalizer.finish()
    yield columns


def _open(path: Path) -> io.BufferedIOBase:
    """The file's lines as bytes, gunzipped when it starts with the gzip magic number."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


class _Columns:
    """The output, column by column: the fields Binance events use, in lists of Python ints.

    Appending to a few lists (extending them by a whole diff at once) and converting each list to
    Arrow once per batch is far cheaper than building a 30-field tuple per event.
    """

    NAMES = (
        "position",
        "kind",
        "ts_exchange",
        "ts_receive",
        "flags",
        "sequence",
        "side",
        "price",
        "qty",
        "bid_price",
        "bid_qty",
        "ask_price",
        "ask_qty",
        "trade_id",
        "gap_to",
    )

    def __init__(self) -> None:
        self.lists: list[list[int]] = [[] for _ in self.NAMES]
        (
            self.position,
            self.kind,
            self.ts_exchange,
            self.ts_receive,
            self.flags,
            self.sequence,
            self.side,
            self.price,
            self.qty,
            self.bid_price,
            self.bid_qty,
            self.ask_price,
            self.ask_qty,
            self.trade_id,
            self.gap_to,
        ) = self.lists
        self.next_position = 1

    def add(
        self,
        kind: int,
        ts_exchange: int,
        ts_receive: int,
        flags: int,
        sequence: int,
        side: int = 0,
        price: int = 0,
        qty: int = 0,
        quote: tuple[int, int, int, int] = (0, 0, 0, 0),
        trade_id: int = 0,
        gap_to: int = 0,
    ) -> None:
        """One event; `quote` is a BBO's (bid_price, bid_qty, ask_price, ask_qty)."""
        self.position.append(self.next_position)
        self.next_position += 1
        self.kind.append(kind)
        self.ts_exchange.append(ts_exchange)
        self.ts_receive.append(ts_receive)
        self.flags.append(flags)
        self.sequence.append(sequence)
        self.side.append(side)
        self.price.append(price)
        self.qty.append(qty)
        self.bid_price.append(quote[0])
        self.bid_qty.append(quote[1])
        self.ask_price.append(quote[2])
        self.ask_qty.append(quote[3])
        self.trade_id.append(trade_id)
        self.gap_to.append(gap_to)

    def levels(
        self, levels: _Levels, ts_exchange: int, ts_receive: int, flags: int, sequence: int, last: bool
    ) -> None:
        """One LEVEL_SET per level; with `last`, the final one closes the packet (LAST_IN_PACKET)."""
        count = len(levels.prices)
        if not count:
            return
        start = self.next_position
        self.next_position += count
        self.position.extend(range(start, start + count))
        self.kind.extend(repeat(_LEVEL_SET, count))
        self.ts_exchange.extend(repeat(ts_exchange, count))
        self.ts_receive.extend(repeat(ts_receive, count))
        self.flags.extend(repeat(flags, count))
        self.sequence.extend(repeat(sequence, count))
        self.side.extend(levels.sides)
        self.price.extend(levels.prices)
        self.qty.extend(levels.lots)
        for column in self.lists[9:]:
            column.extend(repeat(0, count))
        if last:
            self.flags[-1] = flags | _LAST

    def take(self, count: int, instrument: int) -> pa.RecordBatch:
        """The first `count` events (or all, when fewer) as a canonical batch, removed from here."""
        count = min(count, len(self.position))
        arrays = {}
        for name, values in zip(self.NAMES, self.lists, strict=True):
            arrays[name] = pa.array(values[:count], EVENT_SCHEMA.field(name).type)
            del values[:count]
        arrays["instrument"] = pa.nulls(count, pa.int64()).fill_null(instrument)
        return event_batch(count, arrays)

    def take_events(self, instrument: int) -> list[Event]:
        """Every event held, as flat records (zipped at C speed), removed from here."""
        sources: dict[str, Iterable[int]] = dict(zip(self.NAMES, self.lists, strict=True))
        sources["instrument"] = repeat(instrument)
        zero = repeat(0)  # every unused field; zip reads it as often as it likes
        # The first column, position, is a list: zip ends with it, and the repeats never do.
        rows = zip(*(sources.get(name, zero) for name in Event._fields), strict=False)
        events = list(map(tuple.__new__, repeat(Event), rows))
        for values in self.lists:
            values.clear()
        return events


class _Bad(Exception):
    """A line that cannot become events: which field, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


class _Levels(NamedTuple):
    """Price levels as columns: side, price in ticks, lots."""

    sides: list[int]
    prices: list[int]
    lots: list[int]


class _Diff(NamedTuple):
    """A depth diff read and converted, kept until it can be applied (or quarantined)."""

    row: int
    raw: bytes
    ts_receive: int
    ts_exchange: int
    first: int  # U
    last: int  # u
    previous: int  # pu; 0 for spot, which has none
    after_gap: bool  # received while the book was unknown after a feed gap
    levels: _Levels


def _int(message: dict[str, Any], key: str) -> int:
    value = message.get(key)
    if type(value) is not int:
        raise _Bad(key, "missing" if key not in message else f"not an integer: {value!r}")
    if value < 0:
        raise _Bad(key, f"negative: {value}")
    return value


def _why(convert: Callable[[str], int], value: object) -> str:
    """Why `convert` refused `value`: its ValueError's message, or a word on the value's type."""
    if not isinstance(value, str):
        return f"not a decimal string: {value!r}"
    try:
        convert(value)
    except ValueError as error:
        return str(error)
    return "refused"  # pragma: no cover - called only after convert refused it


class _Normalizer:
    """The state of one capture: book synchronisation and the diffs awaiting a snapshot."""

    def __init__(
        self,
        file: str,
        quarantine: Quarantine,
        price: Callable[[str], int],
        qty: Callable[[str], int],
        market: str,
        max_pending: int,
        out: _Columns,
    ) -> None:
        self.file = file
        self.quarantine = quarantine
        self.price = price
        self.qty = qty
        self.spot: bool | None = None if market == "auto" else market == "spot"
        self.max_pending = max_pending
        self.out = out
        self.exchange_time = 0  # the latest event time seen, for messages that carry none
        self.sync = sync.initial(spot=bool(self.spot))  # spec/book_sync.cflow; `_diff` settles "auto"
        self.pending: deque[_Diff] = deque()

    # ------------------------------------------------------------------ lines
    def feed(self, row: int, line: bytes) -> None:
        """Turn one line into events; a bad line is quarantined instead."""
        text = line.rstrip(b"\r\n")
        try:
            stamp, separator, body = text.partition(b" ")
            if not separator or not stamp.isdigit():
                if not text.strip():
                    return  # a blank line holds nothing to keep
                raise _Bad("ts_receive", "not `<receive time, ns> <JSON>`")
            ts_receive = int(stamp)
            try:
                decoded = body.decode()
                message, end = _JSON.raw_decode(decoded)
                if decoded[end:].strip():
                    raise _Bad("json", f"malformed JSON: extra data at column {end + 1}")
            except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
                raise _Bad("json", f"malformed JSON: {error}") from None
            if type(message) is dict and "stream" in message and "data" in message:
                message = message["data"]
            if type(message) is not dict:
                raise _Bad("json", "not a JSON object")
            self._message(row, text, ts_receive, message)
        except _Bad as bad:
            self._quarantine(row, bad.field, bad.reason, text)

    def finish(self) -> None:
        """At the end of the file: diffs still waiting for a snapshot are quarantined."""
        while self.pending:
            diff = self.pending.popleft()
            self._quarantine(diff.row, "u", AFTER_GAP if diff.after_gap else NO_SNAPSHOT, diff.raw)

    def _message(self, row: int, raw: bytes, ts_receive: int, message: dict[str, Any]) -> None:
        if message.get("canonicalflow") == "disconnected":
            return self._lost(ts_receive)
        if "lastUpdateId" in message:
            return self._snapshot(ts_receive, message)
        kind = message.get("e")
        if kind == "depthUpdate":
            return self._diff(row, raw, ts_receive, message)
        if kind == "bookTicker" or (kind is None and {"u", "b", "B", "a", "A"} <= message.keys()):
            return self._bbo(ts_receive, message)  # spot bookTicker has no "e"
        if kind == "trade":
            return self._trade(ts_receive, message)
        raise _Bad("e", "missing" if kind is None else f"unsupported message type {kind!r}")

    # ----------------------------------------------------------------- fields
    def _time(self, message: dict[str, Any], key: str, required: bool) -> int:
        """The message's `key` time (ms) in ns; the latest seen when it has none and may lack it."""
        if key not in message and not required:
            return self.exchange_time
        ts = _int(message, key) * _MS
        if ts > self.exchange_time:
            self.exchange_time = ts
        return ts

    def _value(self, convert: Callable[[str], int], message: dict[str, Any], key: str) -> int:
        if key not in message:
            raise _Bad(key, "missing")
        try:
            return convert(message[key])
        except (ValueError, TypeError):  # TypeError: an unhashable value such as a list
            raise _Bad(key, _why(convert, message[key])) from None

    def _book(self, message: dict[str, Any], bids: str, asks: str) -> _Levels:
        """The bid levels under key `bids`, then the ask levels under `asks`."""
        bid_prices, bid_lots = self._side(message, bids)
        ask_prices, ask_lots = self._side(message, asks)
        sides = [_BID] * len(bid_prices) + [_ASK] * len(ask_prices)
        return _Levels(sides, bid_prices + ask_prices, bid_lots + ask_lots)

    def _side(self, message: dict[str, Any], key: str) -> tuple[list[int], list[int]]:
        """One side's `[[price, quantity], ...]` as (prices in ticks, lots)."""
        levels = message.get(key)
        if type(levels) is not list:
            raise _Bad(key, "missing" if key not in message else "not a list of [price, quantity]")
        price, qty = self.price, self.qty
        if not levels:
            return [], []
        try:  # the fast way, at C speed; ValueError when a level is not a pair
            if set(map(type, levels)) == {list}:
                prices, lots = zip(*levels, strict=True)
                return list(map(price, prices)), list(map(qty, lots))
        except (ValueError, TypeError):  # TypeError: an unhashable value such as a list
            pass
        for i, level in enumerate(levels):  # the slow way, to name the bad value
            if type(level) is not list or len(level) != 2:
                raise _Bad(f"{key}[{i}]", "not a [price, quantity] pair")
            for j, (name, convert) in enumerate((("price", price), ("qty", qty))):
                try:
                    convert(level[j])
                except (ValueError, TypeError):
                    raise _Bad(f"{key}[{i}].{name}", _why(convert, level[j])) from None
        raise AssertionError("a level failed once and passed the second time")  # pragma: no cover

    # --------------------------------------------------------------- messages
    def _bbo(self, ts_receive: int, m: dict[str, Any]) -> None:
        update = _int(m, "u")
        ts_exchange = self._time(m, "E", required=False)
        price, qty = self.price, self.qty
        quote = (
            self._value(price, m, "b"),
            self._value(qty, m, "B"),
            self._value(price, m, "a"),
            self._value(qty, m, "A"),
        )
        self.out.add(_BBO, ts_exchange, ts_receive, _LAST, update, quote=quote)

    def _trade(self, ts_receive: int, m: dict[str, Any]) -> None:
        trade_id = _int(m, "t")
        ts_exchange = self._time(m, "T", required=True)
        price, qty = self._value(self.price, m, "p"), self._value(self.qty, m, "q")
        maker = m.get("m")
        if type(maker) is not bool:
            raise _Bad("m", "missing" if "m" not in m else f"not true or false: {maker!r}")
        origin = m.get("X", "MARKET")
        if origin != "MARKET":  # futures: an insurance-fund or ADL fill did not trade on the book
            raise _Bad("X", f"not an order-book trade: {origin!r}")
        side = -1 if maker else 1  # the aggressor: the seller when the buyer was the maker
        self.out.add(_TRADE, ts_exchange, ts_receive, _LAST, trade_id, side, price, qty, trade_id=trade_id)

    def _snapshot(self, ts_receive: int, m: dict[str, Any]) -> None:
        update = _int(m, "lastUpdateId")
        ts_exchange = self._time(m, "E", required=False)
        levels = self._book(m, "bids", "asks")
        after = sync.step(self.sync, _SNAPSHOT, update)
        if after is sync.REJECTED_OLDER_THAN_BOOK:
            raise _Bad("lastUpdateId", f"older than the book already built (update {self.sync.book})")
        if isinstance(after, sync.Rejection):
            raise _Bad("lastUpdateId", f"refused by book_sync: {after.reason}")
        out = self.out
        out.add(_BOOK_CLEAR, ts_exchange, ts_receive, _SNAP, update)
        out.add(_SNAP_BEGIN, ts_exchange, ts_receive, _SNAP, update)
        out.levels(levels, ts_exchange, ts_receive, _SNAP, update, last=False)
        out.add(_SNAP_END, ts_exchange, ts_receive, _SNAP | _LAST, update)
        self.sync = after
        waiting, self.pending = self.pending, deque()
        for diff in waiting:  # usable from now on: the snapshot's receive time
            self._offer(diff, max(diff.ts_receive, ts_receive))

    def _lost(self, ts_receive: int) -> None:
        """The stream dropped: a book in hand is given up (FEED_GAP) and rebuilt from a snapshot."""
        after = sync.step(self.sync, _LOST)
        assert isinstance(after, sync.State)  # `lost` has a row in every state and refuses nothing
        if after is not self.sync:  # without a book (Waiting) there is nothing to give up
            self.out.add(_FEED_GAP, self.exchange_time, ts_receive, 0, after.gap_from, gap_to=after.gap_to)
        self.sync = after

    def _diff(self, row: int, raw: bytes, ts_receive: int, m: dict[str, Any]) -> None:
        if self.spot is None:
            self.spot = "pu" not in m
            if self.spot != self.sync.spot:  # "auto" learns the market now: the snapshot again, on its rules
                fresh = sync.initial(spot=self.spot)
                if self.sync.state != sync.S_WAITING:
                    replayed = sync.step(fresh, _SNAPSHOT, self.sync.book)
                    assert isinstance(replayed, sync.State)  # a snapshot is never refused without a book
                    fresh = replayed
                self.sync = fresh
        ts_exchange = self._time(m, "E", required=True)
        first, last = _int(m, "U"), _int(m, "u")
        previous = 0 if self.spot else _int(m, "pu")
        levels = self._book(m, "b", "a")
        diff = _Diff(row, raw, ts_receive, ts_exchange, first, last, previous, self.sync.after_gap, levels)
        self._offer(diff, ts_receive)

    def _offer(self, diff: _Diff, ts_receive: int) -> None:
        """Step the book_sync machine with the diff and do what its answer says: apply the diff,
        keep it for a snapshot, quarantine it, or record the gap it reveals and keep it."""
        before = self.sync
        after = sync.step(before, _DIFF, diff.first, diff.last, diff.previous)
        if isinstance(after, sync.State):
            self.sync = after
            if after.state == _SYNCED:
                self.out.levels(diff.levels, diff.ts_exchange, ts_receive, 0, diff.last, last=True)
                return
            self.out.add(_FEED_GAP, diff.ts_exchange, ts_receive, 0, after.gap_from, gap_to=after.gap_to)
            self.pending.append(diff._replace(after_gap=True))
            return
        if after is sync.REJECTED_NO_BOOK:
            self.pending.append(diff)
            if len(self.pending) > self.max_pending:
                old = self.pending.popleft()
                self._quarantine(old.row, "u", AFTER_GAP if old.after_gap else NO_SNAPSHOT, old.raw)
        elif after is sync.REJECTED_SUPERSEDED:
            self._quarantine(diff.row, "u", AFTER_GAP if diff.after_gap else SUPERSEDED, diff.raw)
        elif after is sync.REJECTED_STALE:
            self._quarantine(
                diff.row, "u", f"older than the book already built (u <= {before.book})", diff.raw
            )
        elif after is sync.REJECTED_INVERTED:  # only a diff just read: a kept one was offered before
            raise _Bad("u", f"u {diff.last} before U {diff.first}")
        else:
            raise _Bad("U", f"refused by book_sync: {after.reason}")

    def _quarantine(self, row: int, field: str, reason: str, raw: bytes) -> None:
        self.quarantine.add(Quarantined(self.file, row, field, reason, raw.decode("utf-8", "replace")))
