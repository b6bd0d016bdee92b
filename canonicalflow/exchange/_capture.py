"""A Binance capture made ready to serve: the messages after its snapshot, in receive order.

A capture line is `<receive time, ns> <JSON>`, the JSON a combined-stream frame
(`{"stream": ..., "data": ...}`) or the REST depth snapshot. The snapshot arrives after the first
diffs, so serving starts at the first diff that bridges it (the one a client would apply first),
with the book as the snapshot left it; the snapshot itself is never streamed, a client asks the
REST endpoint for one. Each message keeps its raw JSON text, so a client receives the venue's
bytes, not a re-encoding of them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canonicalflow._generated import book_sync_kernel as sync
from canonicalflow.errors import DataError

__all__ = ["Capture", "Message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One streamed message: when it was received, its stream, its raw JSON, and for a depth diff
    its update ids and levels (what the exchange's own book applies)."""

    ts: int
    stream: str
    raw: str
    first: int = 0  # U of a depth diff; 0 for anything else
    last: int = 0  # u
    previous: int = 0  # pu (futures); 0 for spot
    bids: tuple[tuple[str, str], ...] = ()
    asks: tuple[tuple[str, str], ...] = ()
    event_time: int = 0  # E (ms); 0 when the message has none

    @property
    def is_depth(self) -> bool:
        return self.last > 0


@dataclass(frozen=True)
class Capture:
    """One instrument's capture: its symbol, market, the snapshot and the messages served after it."""

    path: Path
    symbol: str  # as the venue spells it: BTCUSDT, BTCUSD_PERP
    market: str  # "usdm", "coinm" or "spot"
    snapshot: dict[str, Any]
    messages: tuple[Message, ...]

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(sorted({m.stream for m in self.messages}))

    @classmethod
    def load(cls, path: Path) -> Capture:
        """Read and check a capture; a DataError names the file and line of anything unservable."""
        messages: list[Message] = []
        snapshot: dict[str, Any] | None = None
        for number, line in enumerate(_lines(path), 1):
            stamp, _, body = line.strip().partition(" ")
            if not body:
                continue
            try:
                ts, decoded = int(stamp), json.loads(body)
                if isinstance(decoded, dict) and "lastUpdateId" in decoded:
                    snapshot = snapshot or decoded  # the first one; a client asks for its own later
                    continue
                messages.append(_message(ts, decoded["stream"], decoded["data"], _raw_data(body)))
            except (ValueError, KeyError, TypeError) as error:
                raise DataError(
                    f"{path}:{number}: not a servable `<receive ns> <JSON>` line: {error!r}"
                ) from None
        if snapshot is None:
            raise DataError(f"{path}: no depth snapshot (`lastUpdateId`): nothing to build a book from")
        depth = next((m for m in messages if m.is_depth), None)
        if depth is None:
            raise DataError(f"{path}: no depth diffs")
        first_diff = json.loads(depth.raw)
        spot = "pu" not in first_diff
        market = "coinm" if "pair" in snapshot else "spot" if spot else "usdm"
        symbol = first_diff["s"]
        start = _bridge(path, messages, snapshot["lastUpdateId"], spot)
        return cls(path, symbol, market, snapshot, tuple(messages[start:]))


def _lines(path: Path) -> Iterator[str]:
    """The capture's lines as text, gunzipped when it starts with the gzip magic number."""
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
    except OSError as error:
        raise DataError(f"{path}: cannot read the capture: {error}") from None
    with gzip.open(path, "rt", encoding="utf-8") if gzipped else open(path, encoding="utf-8") as lines:
        yield from lines


def _raw_data(body: str) -> str:
    """The `data` member's JSON text exactly as received (the frame is `{"stream":...,"data":...}`)."""
    start = body.index('"data":') + len('"data":')
    return body[start : body.rindex("}")].strip()


def _message(ts: int, stream: str, data: dict[str, Any], raw: str) -> Message:
    event_time = data.get("E", 0) if isinstance(data.get("E", 0), int) else 0
    if data.get("e") != "depthUpdate":
        return Message(ts, stream, raw, event_time=event_time)
    bids = tuple((str(p), str(q)) for p, q in data["b"])
    asks = tuple((str(p), str(q)) for p, q in data["a"])
    return Message(ts, stream, raw, data["U"], data["u"], data.get("pu", 0), bids, asks, event_time)


def _bridge(path: Path, messages: list[Message], last_update_id: int, spot: bool) -> int:
    """The index of the first depth diff the snapshot does not already hold (it may have been
    received before the snapshot line); serving starts there. The diffs are checked by the
    book-sync machine a client runs (spec/book_sync.cflow): they must bridge the snapshot and
    chain without a break, or the exchange's own book would be wrong, so a capture with a gap is
    refused, naming where."""
    state = sync.step(sync.initial(spot=spot), sync.E_SNAPSHOT, last_update_id)
    if not isinstance(state, sync.State):
        raise DataError(f"{path}: the snapshot's lastUpdateId {last_update_id} is refused ({state.reason})")
    start = None
    for i, m in enumerate(messages):
        if not m.is_depth:
            continue
        after = sync.step(state, sync.E_DIFF, m.first, m.last, m.previous)
        if after is sync.REJECTED_SUPERSEDED and start is None:
            continue  # the snapshot holds it already
        if not isinstance(after, sync.State) or after.state != sync.S_SYNCED:
            why = after.reason if isinstance(after, sync.Rejection) else "a gap"
            raise DataError(
                f"{path}: the depth diff U={m.first} u={m.last} does not continue update "
                f"{state.book} ({why}): a capture with a break cannot be served as one book"
            )
        state, start = after, i if start is None else start
    if start is None:
        raise DataError(f"{path}: no depth diff comes after the snapshot at update {last_update_id}")
    return start
