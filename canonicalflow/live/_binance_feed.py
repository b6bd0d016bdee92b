"""Live Binance market data as canonical events: depth diffs, trades and book ticker, kept in sync.

One combined-stream WebSocket carries every instrument's streams. Each frame is stamped with its
receive time on arrival and queued as a capture line (`<receive ns> <JSON>`); REST depth
snapshots join the same queue when they arrive. One consumer takes the lines in that order and
hands each to the same normalizer that reads recorded captures
(`canonicalflow.data.normalize.BinanceLines`): the book is synchronised by the `book_sync`
machine (spec/book_sync.cflow), Binance's published procedure, in one place for recorded and live
data. So a slow sink never blocks the socket, and the sink sees events in exactly the order the
lines arrived. While an instrument has no book (at the start, after a gap, and after the socket
dropped, which gives the book up) its diffs are kept and a snapshot is requested (again after a backoff when one fails). Every line is also written to
`record_dir/<SYMBOL>.capture`, so a live session's market data is a capture that reads back to
exactly the events it produced.

Positions on the events are the feed's own (1..n per instrument); the live runtime gives each
input its stream position when it takes it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

from canonicalflow.data.normalize import DISCONNECTED, BinanceLines, Quarantine, Quarantined
from canonicalflow.errors import CanonicalFlowError
from canonicalflow.events import Event
from canonicalflow.live._clock import WallClock

__all__ = ["BinanceFeed", "FeedInstrument", "FeedOverflow"]

_REST_DEPTH = {"usdm": "/fapi/v1/depth", "coinm": "/dapi/v1/depth", "spot": "/api/v3/depth"}
_DEPTH_SPEED = {"usdm": "0ms", "coinm": "0ms", "spot": "100ms"}
_BACKOFF_S = (0.05, 5.0)  # first and longest wait before connecting, or asking for a snapshot, again
HEARTBEAT_S = 10.0  # by default a ping every 10 s; one unanswered closes a half-open socket
_REST_TIMEOUT = aiohttp.ClientTimeout(total=10.0)
_YIELD_EVERY = 64  # lines the consumer takes in a row, at most, before the socket reader's turn


@dataclass(frozen=True)
class FeedInstrument:
    """One instrument on the feed: our id for it, the venue's symbol, its grid and its market."""

    instrument: int
    symbol: str  # BTCUSDT, BTCUSD_PERP
    tick_size: str
    lot_size: str
    market: str = "usdm"  # "usdm", "coinm" or "spot"

    def streams(self) -> tuple[str, str, str]:
        name = self.symbol.lower()
        return (f"{name}@depth@{_DEPTH_SPEED[self.market]}", f"{name}@trade", f"{name}@bookTicker")


class _Instrument:
    """One instrument's normalizer, its recording, and its snapshot requests."""

    def __init__(self, spec: FeedInstrument, quarantine: Quarantine, record: IO[bytes] | None) -> None:
        self.spec = spec
        self.lines = BinanceLines(
            spec.symbol,
            spec.instrument,
            quarantine,
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            market=spec.market,
        )
        self.record = record
        self.snapshot_pending = False
        self.snapshots = 0
        self.snapshot_failures = 0  # in a row; the wait before the next request doubles with each

    def feed(self, line: bytes) -> list[Event]:
        if self.record is not None:
            self.record.write(line + b"\n")
        return self.lines.feed(line)


Sink = Callable[[list[Event]], Awaitable[None] | None]
_Line = tuple[int, _Instrument, bytes, str]  # stamp, whose, the line, what: depth, stream, snapshot, lost


class FeedOverflow(CanonicalFlowError):
    """More lines waited for the consumer than the feed may hold: the run stops, nothing is dropped."""


class _Lines:
    """Lines waiting for the consumer, oldest first; at most `bound` of them (0: no bound)."""

    def __init__(self, bound: int) -> None:
        self._lines: deque[_Line] = deque()
        self._ready = asyncio.Event()
        self._bound = bound
        self.overflow: FeedOverflow | None = None

    def __len__(self) -> int:
        return len(self._lines)

    def oldest_stamp(self) -> int | None:
        return self._lines[0][0] if self._lines else None

    def put(self, line: _Line) -> None:
        """One more line; past the bound, the overflow is raised here and to the consumer."""
        if self._bound and len(self._lines) >= self._bound:
            self.overflow = FeedOverflow(
                f"{len(self._lines):,} lines waited for the consumer, the most the feed may hold "
                "(live.max_waiting): the consumer is too slow for this feed"
            )
            self._ready.set()
            raise self.overflow
        self._lines.append(line)
        self._ready.set()

    async def get(self) -> _Line:
        while not self._lines or self.overflow is not None:
            if self.overflow is not None:
                raise self.overflow
            self._ready.clear()
            await self._ready.wait()
        return self._lines.popleft()


class BinanceFeed:
    """Subscribe `instruments` at `ws_url` (a combined-stream endpoint), snapshot from `rest_url`."""

    def __init__(
        self,
        instruments: list[FeedInstrument],
        ws_url: str,
        rest_url: str,
        *,
        record_dir: Path | None = None,
        quarantine: Quarantine | None = None,
        heartbeat_s: float | None = HEARTBEAT_S,
        clock: Callable[[], int] | None = None,
        max_waiting: int = 0,
    ) -> None:
        """`heartbeat_s` None: no pings, for a server on this machine whose socket cannot go
        half-open. `clock` stamps every line (default: a `WallClock`). `max_waiting` bounds the
        lines waiting for the consumer (0: no bound); one more ends the run with `FeedOverflow`."""
        self.heartbeat_s = heartbeat_s
        self.clock = clock or WallClock()
        self.max_waiting = max_waiting
        self._lines = _Lines(max_waiting)
        self.ws_url = ws_url.rstrip("/")
        self.rest_url = rest_url.rstrip("/")
        self.quarantine = quarantine or Quarantine()
        self._records: list[IO[bytes]] = []
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
        self._by_stream: dict[str, _Instrument] = {}
        self._by_symbol: dict[str, _Instrument] = {}
        for spec in instruments:
            record = None
            if record_dir is not None:  # appended to: a node restarted on its run directory goes on
                record = (record_dir / f"{spec.symbol}.capture").open("ab")
                self._records.append(record)
            state = _Instrument(spec, self.quarantine, record)
            self._by_symbol[spec.symbol] = state
            for stream in spec.streams():
                self._by_stream[stream] = state
        self.received = 0  # frames received, ours or not
        self.frames = 0  # frames of our streams handed on (fed, recorded, their events to the sink)
        self.unrouted = 0  # frames that were not JSON or named no stream of ours (quarantined)
        self.connections = 0  # opened so far: 1 + the reconnects
        self._snapshot_tasks: set[asyncio.Task[None]] = set()

    def update_id(self, symbol: str) -> int:
        """The last update id `symbol`'s book holds (0 while it has none)."""
        return self._by_symbol[symbol].lines.update_id

    def synced(self, symbol: str) -> bool:
        """`symbol`'s book is current: its snapshot bridged and the chain has held since."""
        return self._by_symbol[symbol].lines.synced

    def snapshots(self, symbol: str) -> int:
        return self._by_symbol[symbol].snapshots

    def record(self, symbol: str, line: bytes) -> None:
        """Write `line` to `symbol`'s capture without feeding it (what the node itself knows: it
        was down, so the stream was interrupted)."""
        record = self._by_symbol[symbol].record
        if record is not None:
            record.write(line + b"\n")

    def horizon(self) -> int:
        """A time no line yet to reach the sink can be stamped at or before: just before the oldest
        waiting line, else now (the clock only moves forward, so every later stamp is later)."""
        oldest = self._lines.oldest_stamp()
        return self.clock() if oldest is None else oldest - 1

    @property
    def waiting(self) -> int:
        """Lines received, not yet handed to the sink."""
        return len(self._lines)

    async def run(self, sink: Sink, stop: asyncio.Event, until: Callable[[], bool] | None = None) -> None:
        """Stream until `stop` is set or `until()` holds after a line; hand each line's events to
        `sink`, one line after another in arrival order. A dropped, refused or silent connection
        is opened again after a backoff (doubling from 50 ms to 5 s, reset by a frame); each book
        is given up when its socket drops (a FEED_GAP, recorded as a `DISCONNECTED` line) and
        rebuilt from a new snapshot. An error in `sink` ends the run with that error."""
        lines = self._lines
        async with aiohttp.ClientSession(timeout=_REST_TIMEOUT) as http:
            reader = asyncio.ensure_future(self._read(http, lines))
            consumer = asyncio.ensure_future(self._consume(http, lines, sink, until))
            stopping = asyncio.ensure_future(stop.wait())
            tasks: list[asyncio.Future[Any]] = [reader, consumer, stopping]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in (reader, consumer):
                    if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                        raise error
            finally:
                pending = [*tasks, *self._snapshot_tasks]
                for future in pending:
                    future.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for record in self._records:
                    record.flush()

    def close(self) -> None:
        for record in self._records:
            record.close()

    # ------------------------------------------------------------------ the socket
    async def _read(self, http: aiohttp.ClientSession, lines: _Lines) -> None:
        """Frames, stamped on arrival, into `lines`; connect again whenever the socket goes."""
        url = f"{self.ws_url}/stream?streams={'/'.join(self._by_stream)}"
        backoff = _BACKOFF_S[0]
        while True:
            opened = False
            try:
                async with http.ws_connect(url, heartbeat=self.heartbeat_s) as ws:
                    opened = True
                    self.connections += 1
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break  # an error frame: connect again
                        ts = self.clock()
                        self.received += 1
                        backoff = _BACKOFF_S[0]
                        self._route(ts, msg.data, lines)
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass  # refused, reset or silent: the same as a close
            if opened:  # every book is given up: a FEED_GAP now, a new snapshot after the reconnect
                ts = self.clock()
                lost = b"%d %s" % (ts, DISCONNECTED)
                for state in self._by_symbol.values():
                    lines.put((ts, state, lost, "lost"))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_S[1])

    def _route(self, ts: int, text: str, lines: _Lines) -> None:
        line = b"%d %s" % (ts, text.encode())
        try:
            stream = json.loads(text).get("stream")
        except (ValueError, AttributeError):
            stream = None
        state = self._by_stream.get(stream) if isinstance(stream, str) else None
        if state is not None:
            lines.put((ts, state, line, "depth" if "@depth" in stream else "stream"))
        elif not (text.startswith('{"result"') or text.startswith('{"id"')):  # not a request's answer
            self.unrouted += 1
            self.quarantine.add(Quarantined("feed", self.received, "stream", "no stream of ours", text))

    # ------------------------------------------------------------------ the consumer
    async def _consume(
        self,
        http: aiohttp.ClientSession,
        lines: _Lines,
        sink: Sink,
        until: Callable[[], bool] | None,
    ) -> None:
        taken = 0
        while True:
            _, state, line, what = await lines.get()
            self.frames += what in ("depth", "stream")
            if what == "snapshot":
                state.snapshot_pending = False  # taken: the book may ask again if it breaks
            events = state.feed(line)
            if events:
                handed = sink(events)
                if handed is not None:
                    await handed
            if what == "depth" and state.lines.needs_snapshot and not state.snapshot_pending:
                state.snapshot_pending = True  # the stream is being kept: a snapshot can bridge it now
                task = asyncio.ensure_future(self._snapshot(state, http, lines))
                self._snapshot_tasks.add(task)
                task.add_done_callback(self._snapshot_tasks.discard)
            if until is not None and until():
                return
            if not lines:
                for record in self._records:
                    record.flush()  # idle: what was recorded reaches the file
            taken += 1
            if taken % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the socket's turn: frames that came meanwhile are stamped now

    async def _snapshot(self, state: _Instrument, http: aiohttp.ClientSession, lines: _Lines) -> None:
        """Ask for a depth snapshot; its answer joins the lines in arrival order. After a failure
        (refused, rate limited, timed out) wait, doubling, before the next depth frame may ask."""
        spec = state.spec
        url = f"{self.rest_url}{_REST_DEPTH[spec.market]}"
        body, wait = b"", 0.0
        try:
            async with http.get(url, params={"symbol": spec.symbol, "limit": "1000"}) as response:
                body = await response.read()
                if response.status != 200:
                    retry = response.headers.get("Retry-After", "")
                    wait = float(retry) if retry.isdigit() else 0.0
                    body = b""
        except (TimeoutError, aiohttp.ClientError, OSError):
            body = b""
        if body:
            state.snapshots += 1
            state.snapshot_failures = 0
            ts = self.clock()
            lines.put((ts, state, b"%d %s" % (ts, body.strip()), "snapshot"))
            return  # still pending until the consumer takes it: no second request meanwhile
        state.snapshot_failures += 1
        backoff = min(_BACKOFF_S[0] * 2 ** (state.snapshot_failures - 1), _BACKOFF_S[1])
        await asyncio.sleep(max(wait, backoff))
        state.snapshot_pending = False
