"""The local exchange: real Binance captures served over Binance's own public protocol.

One aiohttp server on loopback speaks what a Binance market-data client expects:

| path | what |
|---|---|
| `/ws`, `/ws/<stream>/...`, `/public/ws...`, `/market/ws...` | raw stream frames; `SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` requests |
| `/stream?streams=a/b/c`, `/public/stream`, `/market/stream` | combined frames `{"stream": ..., "data": ...}`; the same requests |
| `GET /fapi/v1/depth`, `/dapi/v1/depth`, `/api/v3/depth` `?symbol=&limit=` | the REST depth snapshot of the book as streamed so far |
| `GET /fapi/v1/ping`, `/fapi/v1/time` (and the `dapi`, `api/v3` twins) | liveness and the exchange's clock |
| `GET /fapi/v1/exchangeInfo`, `/dapi/v1/exchangeInfo`, `/api/v3/exchangeInfo` | the served symbols, with their tick and lot sizes |
| `GET /_local/status` | replay progress: messages sent, done, each symbol's last update id |

The captures replay on the wall clock (`speed` 1 is the pace they were recorded at, 0 as fast
as the loop goes) from the moment `wait_for` connections have subscribed, so a test sees the
whole capture; after an injected disconnect (`Faults`) it waits for them again, so what a client
loses is what was on its way, not the rest of the capture. The exchange is the only place here that paces by the clock; a client slower
than the stream is disconnected when its queue fills, as Binance drops slow consumers.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from canonicalflow.exchange._capture import Capture, Message
from canonicalflow.exchange._depth import DepthBook
from canonicalflow.exchange._faults import Faults
from canonicalflow.exchange._info import exchange_info

__all__ = ["LocalExchange", "Served"]

_REST_DEPTH = ("/fapi/v1/depth", "/dapi/v1/depth", "/api/v3/depth")
_REST_PREFIXES = {"/fapi/v1": "usdm", "/dapi/v1": "coinm", "/api/v3": "spot"}
_WS_PREFIXES = ("", "/public", "/market")
_FUTURES_LIMITS = (5, 10, 20, 50, 100, 500, 1000)  # what USD-M and COIN-M accept; spot takes 1..5000
_DEFAULT_LIMIT = {"usdm": 500, "coinm": 500, "spot": 100}


@dataclass(frozen=True)
class Served:
    """A depth snapshot the exchange answered: for whom, at which update id, and its deepest
    level a side (what a client that took it can know of the book)."""

    symbol: str
    update_id: int
    deepest_bid: list[list[str]]
    deepest_ask: list[list[str]]


@dataclass(eq=False)
class _Subscriber:
    """One WebSocket connection: its streams, and the frames waiting to be written to it."""

    ws: web.WebSocketResponse
    combined: bool
    queue: asyncio.Queue[str | None]
    streams: set[str] = field(default_factory=set)


class LocalExchange:
    """Serve `captures` (one per symbol) as Binance does; `start` binds and returns the address."""

    def __init__(
        self,
        captures: list[Capture],
        *,
        speed: float = 1.0,
        wait_for: int = 1,
        queue_limit: int = 1_000_000,
        grids: dict[str, tuple[str, str]] | None = None,
        faults: Faults | None = None,
        hold: bool = False,
    ) -> None:
        """`grids` gives a symbol's (tick size, lot size) for exchangeInfo; else they are read off
        the capture's decimal places, which Binance prints to a fixed precision. `hold`: the
        replay pauses while no client is subscribed (a client that restarts misses nothing)."""
        if speed < 0:
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        symbols = [c.symbol for c in captures]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"one capture per symbol; given {', '.join(symbols)}")
        self.captures = captures
        self.grids = grids or {}
        self.faults = faults or Faults()
        self.injected: dict[str, int] = dict.fromkeys(
            ("dropped", "gaps", "delayed", "disconnects", "stale"), 0
        )
        self._stale = {c.symbol: DepthBook(c) for c in captures}  # the books as serving began
        self._snapshot_requests = 0
        self.served: list[Served] = []
        self._faulty = self.faults.any  # false from the quiet tail on
        self.speed = speed
        self.wait_for = wait_for
        self.queue_limit = queue_limit
        self.books = {c.symbol: DepthBook(c) for c in captures}
        self.streams = {s for c in captures for s in c.streams}
        self.sent = 0
        self.delivered = 0  # frames written to a client's socket
        self.hold = hold
        self._present = asyncio.Event()  # some client is subscribed
        self._delivery_waits: list[tuple[int, asyncio.Event]] = []
        self.dropped_clients = 0
        self.done = asyncio.Event()
        self._subscribers: set[_Subscriber] = set()
        self._subscribed_once = 0
        self._ready = asyncio.Event()
        if wait_for <= 0:
            self._ready.set()  # no one to wait for: serve from the start
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.app = self._app()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Bind (port 0: any free port) and start the replay task; returns the bound address."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        self._spawn(self._replay())
        return bound[0], bound[1]

    async def delivered_at_least(self, frames: int) -> None:
        """Until `frames` frames in all have been written to clients' sockets."""
        if self.delivered < frames:
            reached = asyncio.Event()
            self._delivery_waits.append((frames, reached))
            self._delivery_waits.sort(key=lambda wait: wait[0])
            await reached.wait()

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for subscriber in list(self._subscribers):
            await subscriber.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def status(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "done": self.done.is_set(),
            "started": self._ready.is_set(),
            "subscribers": len(self._subscribers),
            "dropped_clients": self.dropped_clients,
            "update_ids": {symbol: book.update_id for symbol, book in sorted(self.books.items())},
            "faults": dict(self.injected),
            "streams": sorted(self.streams),
        }

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --------------------------------------------------------------------- replay
    def _merged(self) -> Iterator[tuple[int, int, int, Message]]:
        """Every capture's messages in receive order (ties: capture order, then file order)."""
        return heapq.merge(
            *(((m.ts, i, n, m) for n, m in enumerate(c.messages)) for i, c in enumerate(self.captures))
        )

    async def _replay(self) -> None:
        await self._ready.wait()
        loop = asyncio.get_running_loop()
        started, first_ts = loop.time(), None
        books = {c.symbol: self.books[c.symbol] for c in self.captures}
        symbols = [c.symbol for c in self.captures]
        faults = self.faults
        quiet_from = sum(len(c.messages) for c in self.captures) - faults.quiet_tail
        held: dict[str, Message] = {}  # a delayed message, by stream, sent after the next one
        depth_count = 0
        for count, (ts, i, _, message) in enumerate(self._merged()):
            first_ts = ts if first_ts is None else first_ts
            if self.hold and not self._subscribers:
                paused = loop.time()
                await self._present.wait()
                started += loop.time() - paused  # the replay's clock stood still meanwhile
            if self.speed > 0:
                delay = started + (ts - first_ts) / 1e9 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif count % 64 == 0:
                await asyncio.sleep(0)  # let the clients' writers run
            if message.is_depth:
                books[symbols[i]].apply(message)  # the venue moved, whatever reaches the clients
                depth_count += 1
            faulty = self._faulty = faults.any and count < quiet_from
            if faulty and faults.disconnect_every and count and count % faults.disconnect_every == 0:
                self.injected["disconnects"] += 1
                for subscriber in list(self._subscribers):
                    self._drop(subscriber, counted=False)
                if self.wait_for > 0:  # what was queued is lost; the rest waits for the clients to return
                    self._ready.clear()
                    self._subscribed_once = 0
                    await self._ready.wait()
            if faulty and faults.drop_every and count % faults.drop_every == faults.drop_every - 1:
                self.injected["dropped"] += 1
            elif faulty and message.is_depth and faults.gap_every and depth_count % faults.gap_every == 0:
                self.injected["gaps"] += 1
            elif (
                faulty
                and faults.delay_every
                and count % faults.delay_every == faults.delay_every - 1
                and message.stream not in held  # one held back a stream at a time: none is lost
            ):
                held[message.stream] = message
                self.injected["delayed"] += 1
            else:
                self._publish(message)
                if (late := held.pop(message.stream, None)) is not None:
                    self._publish(late)  # out of order, after the one that overtook it
        for late in held.values():
            self._publish(late)
        self.done.set()

    def _publish(self, message: Message) -> None:
        combined = None
        for subscriber in list(self._subscribers):
            if message.stream not in subscriber.streams:
                continue
            if subscriber.combined:
                combined = combined or f'{{"stream":"{message.stream}","data":{message.raw}}}'
                frame = combined
            else:
                frame = message.raw
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:  # a client slower than the stream: Binance disconnects it
                self._drop(subscriber)
        self.sent += 1

    def _drop(self, subscriber: _Subscriber, counted: bool = True) -> None:
        self._subscribers.discard(subscriber)
        self.dropped_clients += counted
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)  # the writer closes the socket

    # ------------------------------------------------------------------------ http
    def _app(self) -> web.Application:
        app = web.Application()
        for path in _REST_DEPTH:
            app.router.add_get(path, self._depth)
        for prefix, market in _REST_PREFIXES.items():
            app.router.add_get(f"{prefix}/ping", self._ping)
            app.router.add_get(f"{prefix}/time", self._time)
            app.router.add_get(f"{prefix}/exchangeInfo", self._info(market))
        for prefix in _WS_PREFIXES:
            app.router.add_get(f"{prefix}/ws", self._raw)
            app.router.add_get(prefix + "/ws/{names:.*}", self._raw)
            app.router.add_get(f"{prefix}/stream", self._combined)
        app.router.add_get("/_local/status", self._status)
        return app

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        if symbol not in self.books:
            return _error(400, -1121, "Invalid symbol.")
        book = self.books[symbol]
        try:
            limit = int(request.query.get("limit", _DEFAULT_LIMIT[book.market]))
        except ValueError:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'.")
        allowed = 1 <= limit <= 5000 if book.market == "spot" else limit in _FUTURES_LIMITS
        if not allowed:
            return _error(400, -1100, f"limit {limit} is not accepted for {book.market}.")
        self._snapshot_requests += 1
        stale = self.faults.stale_every and self._snapshot_requests % self.faults.stale_every == 0
        if stale and self._faulty:
            self.injected["stale"] += 1
            book = self._stale[symbol]
        body = book.snapshot(limit)
        self.served.append(Served(symbol, body["lastUpdateId"], body["bids"][-1:], body["asks"][-1:]))
        return web.json_response(body)

    def _info(self, market: str) -> Any:
        async def info(request: web.Request) -> web.Response:
            served = [c for c in self.captures if c.market == market]
            return web.json_response(exchange_info(market, served, self.grids, time.time_ns() // 1_000_000))

        return info

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": time.time_ns() // 1_000_000})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status())

    async def _raw(self, request: web.Request) -> web.WebSocketResponse:
        names = [n for n in request.match_info.get("names", "").split("/") if n]
        return await self._serve(request, combined=False, streams=names)

    async def _combined(self, request: web.Request) -> web.WebSocketResponse:
        names = [n for n in request.query.get("streams", "").split("/") if n]
        return await self._serve(request, combined=True, streams=names)

    async def _serve(self, request: web.Request, combined: bool, streams: list[str]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        subscriber = _Subscriber(ws, combined, asyncio.Queue(self.queue_limit))
        self._subscribers.add(subscriber)
        self._subscribe(subscriber, streams)
        writer = asyncio.get_running_loop().create_task(self._write(subscriber))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._request(subscriber, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._subscribers.discard(subscriber)
            if not self._subscribers:
                self._present.clear()
            writer.cancel()  # the client is gone: what waits for it goes with it
            await asyncio.gather(writer, return_exceptions=True)
        return ws

    async def _write(self, subscriber: _Subscriber) -> None:
        while (frame := await subscriber.queue.get()) is not None:
            try:
                await subscriber.ws.send_str(frame)
            except (ConnectionError, RuntimeError):  # the client went away mid-write
                break
            self.delivered += 1
            while self._delivery_waits and self._delivery_waits[0][0] <= self.delivered:
                self._delivery_waits.pop(0)[1].set()
        await subscriber.ws.close()

    def _subscribe(self, subscriber: _Subscriber, streams: list[str]) -> None:
        known = [s for s in streams if s in self.streams]
        if not known:
            return
        before = bool(subscriber.streams)
        subscriber.streams.update(known)
        self._present.set()
        if not before:
            self._subscribed_once += 1
            if self._subscribed_once >= self.wait_for:
                self._ready.set()

    async def _request(self, subscriber: _Subscriber, text: str) -> None:
        """A JSON request on the socket, answered as Binance answers it."""
        try:
            request = json.loads(text)
            method, ident = request["method"], request.get("id")
        except (ValueError, KeyError, TypeError):
            await subscriber.ws.send_str(
                json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            )
            return
        params = request.get("params") or []
        if method == "SUBSCRIBE":
            self._subscribe(subscriber, [str(p) for p in params])
            answer: dict[str, Any] = {"result": None, "id": ident}
        elif method == "UNSUBSCRIBE":
            subscriber.streams.difference_update(str(p) for p in params)
            answer = {"result": None, "id": ident}
        elif method == "LIST_SUBSCRIPTIONS":
            answer = {"result": sorted(subscriber.streams), "id": ident}
        else:
            answer = {"error": {"code": 1, "msg": f"Unknown method {method!r}"}, "id": ident}
        await subscriber.queue.put(json.dumps(answer))  # in order with the stream's frames


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "msg": message}, status=status)
