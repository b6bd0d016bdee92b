"""Live Binance market data as canonical events: depth diffs, trades and book ticker, kept in sync.

One combined-stream WebSocket carries every instrument's streams. Each frame is stamped with its
receive time on arrival and handed, as a capture line (`<receive ns> <JSON>`), to the same
normalizer that reads recorded captures (`canonicalflow.data.normalize.BinanceLines`): the book
is synchronised by the `book_sync` machine (spec/book_sync.cflow), Binance's published
procedure, in one place for recorded and live data. While an instrument has no book (at the
start, and after a gap) its diffs are buffered and a REST depth snapshot is requested; the
answer is fed in arrival order between the frames, as a capture records it. Every line fed is
also written to `record_dir/<SYMBOL>.capture`, so a live session's market data is a capture that
reads back to exactly the events it produced.

Positions on the events are the feed's own (1..n per instrument); the live runtime gives each
input its stream position when it takes it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

from canonicalflow.data.normalize import BinanceLines, Quarantine
from canonicalflow.events import Event

__all__ = ["BinanceFeed", "FeedInstrument"]

_REST_DEPTH = {"usdm": "/fapi/v1/depth", "coinm": "/dapi/v1/depth", "spot": "/api/v3/depth"}
_DEPTH_SPEED = {"usdm": "0ms", "coinm": "0ms", "spot": "100ms"}
_BACKOFF_S = (0.05, 5.0)  # first and longest wait before connecting again


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
    """One instrument's normalizer, its recording, and whether a snapshot is on its way."""

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

    def feed(self, line: bytes) -> list[Event]:
        if self.record is not None:
            self.record.write(line + b"\n")
        return self.lines.feed(line)


Sink = Callable[[list[Event]], Awaitable[None] | None]


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
    ) -> None:
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
            if record_dir is not None:
                record = (record_dir / f"{spec.symbol}.capture").open("ab")
                self._records.append(record)
            state = _Instrument(spec, self.quarantine, record)
            self._by_symbol[spec.symbol] = state
            for stream in spec.streams():
                self._by_stream[stream] = state
        self.frames = 0
        self.connections = 0  # opened so far: 1 + the reconnects

    def update_id(self, symbol: str) -> int:
        """The last update id `symbol`'s book holds (0 while it has none)."""
        return self._by_symbol[symbol].lines.update_id

    def synced(self, symbol: str) -> bool:
        return not self._by_symbol[symbol].lines.needs_snapshot

    async def run(self, sink: Sink, stop: asyncio.Event, until: Callable[[], bool] | None = None) -> None:
        """Stream until `stop` is set or `until()` holds after a frame; hand each line's events to
        `sink` as they are made. A dropped or refused connection is opened again after a backoff
        (doubling from 50 ms to 5 s, reset by a frame): what was missed shows as a break in the
        update-id chain, which the book-sync machine turns into a FEED_GAP and a new snapshot."""
        streams = "/".join(self._by_stream)
        url = f"{self.ws_url}/stream?streams={streams}"
        backoff = _BACKOFF_S[0]
        async with aiohttp.ClientSession() as http:
            snapshots: set[asyncio.Task[None]] = set()
            stopping = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    try:
                        async with http.ws_connect(url, heartbeat=None) as ws:
                            self.connections += 1
                            while True:
                                receive = asyncio.ensure_future(ws.receive())
                                await asyncio.wait({receive, stopping}, return_when=asyncio.FIRST_COMPLETED)
                                if not receive.done():
                                    receive.cancel()
                                    return
                                msg = receive.result()
                                if msg.type != aiohttp.WSMsgType.TEXT:
                                    break  # closed, closing or an error: connect again
                                backoff = _BACKOFF_S[0]
                                await self._frame(msg.data, http, sink, snapshots)
                                if until is not None and until():
                                    return
                    except (aiohttp.ClientError, OSError):
                        pass  # refused or reset: the same as a close
                    await asyncio.wait({stopping}, timeout=backoff)  # a stop ends the wait at once
                    backoff = min(backoff * 2, _BACKOFF_S[1])
            finally:
                stopping.cancel()
                for task in snapshots:
                    task.cancel()
                for record in self._records:
                    record.flush()

    def close(self) -> None:
        for record in self._records:
            record.close()

    async def _frame(
        self, text: str, http: aiohttp.ClientSession, sink: Sink, snapshots: set[asyncio.Task[None]]
    ) -> None:
        ts = time.time_ns()
        self.frames += 1
        try:
            stream = json.loads(text).get("stream")
        except (ValueError, AttributeError):
            stream = None
        state = self._by_stream.get(stream) if isinstance(stream, str) else None
        if state is None:
            return  # a subscription answer, or a stream we did not ask for
        await _hand(sink, state.feed(b"%d %s" % (ts, text.encode())))
        if state.lines.needs_snapshot and not state.snapshot_pending and "@depth" in stream:
            state.snapshot_pending = True  # the stream is buffering: now the snapshot can bridge it
            task = asyncio.get_running_loop().create_task(self._snapshot(state, http, sink))
            snapshots.add(task)
            task.add_done_callback(snapshots.discard)

    async def _snapshot(self, state: _Instrument, http: aiohttp.ClientSession, sink: Sink) -> None:
        spec = state.spec
        url = f"{self.rest_url}{_REST_DEPTH[spec.market]}"
        try:
            async with http.get(url, params={"symbol": spec.symbol, "limit": "1000"}) as response:
                body = await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, OSError):
            ok = False  # the next depth frame asks again
        finally:
            state.snapshot_pending = False
        if ok:
            state.snapshots += 1
            await _hand(sink, state.feed(b"%d %s" % (time.time_ns(), body.strip())))


async def _hand(sink: Sink, events: list[Event]) -> None:
    if events:
        result = sink(events)
        if result is not None:
            await result
