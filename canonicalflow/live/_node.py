"""The live node: the backtest's Core, strategy, risk and simulated venue, on a live feed and the
wall clock.

Nothing here decides anything the engine does not decide in a backtest. The feed stamps each
input on arrival (`WallClock`, strictly increasing); operator controls are stamped when they come
in. The node hands inputs to the same `Simulation` a backtest runs, which takes every step (our
inputs, wake-ups, the paper venue's work and reports) in the backtest's order, up to the horizon:
the time before which no input can still arrive. So a backtest over the inputs the journal
recorded takes the same steps in the same order, and `canonicalflow parity` shows it.

The journal is committed in groups: whenever the feed has nothing waiting (and at least every
`_COMMIT_EVERY` events), fsynced per `live.fsync`. A timer wakes the node when the next step falls
due with no input (a strategy's timer, a request reaching the paper venue, a report coming back).

Restarted on its run directory (`resume`), the node first runs the journal's inputs through a fresh
engine, checking that it records the journal again, then goes on where the journal ends: every
book given up (a FEED_GAP, the node was down) and synced again from a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from canonicalflow.backtest import (
    BACKTEST_FILE,
    BacktestConfig,
    Session,
    Simulation,
    core_config_of,
    journal_inputs,
    prepare_run_dir,
    write_outputs,
)
from canonicalflow.data.normalize import DISCONNECTED
from canonicalflow.errors import ConfigError, DataError
from canonicalflow.events import ControlSource, Event, EventKind, StopReason
from canonicalflow.journal import FsyncPolicy, JournalReader, JournalWriter
from canonicalflow.live._binance_feed import BinanceFeed, FeedInstrument, FeedOverflow
from canonicalflow.live._clock import WallClock
from canonicalflow.live._config import LiveConfig
from canonicalflow.live._http import NodeServers, check_free, read_token
from canonicalflow.runtime import CONFIG_FILE
from canonicalflow.state import Reader
from canonicalflow.venue import SimulatedVenue

__all__ = ["LIVE_FILE", "LiveNode", "parity_backtest"]

LIVE_FILE = "live.json"  # the live session's configuration, beside backtest.json (its parity backtest)
_COMMIT_EVERY = 1_024  # events: the journal is committed at least this often while inputs keep coming
_FSYNC = {"batch": FsyncPolicy.EVERY_BATCH, "never": FsyncPolicy.NEVER}
_SESSION_STOP = int(EventKind.SESSION_STOP)

log = logging.getLogger("canonicalflow.live")


class LiveNode:
    """One live session in `run_dir`: a journal, the captures it received, tables, summary, report.

    `resume`: go on with the session `run_dir` holds (after a crash), instead of starting one.
    """

    def __init__(
        self,
        config: LiveConfig,
        run_dir: Path,
        *,
        force: bool = False,
        resume: bool = False,
        clock: WallClock | None = None,
    ) -> None:
        self.config, self.run_dir = config, run_dir
        core_config = core_config_of(config, config.instruments)
        control, metrics = config.live.control, config.live.metrics
        if control is not None:  # before anything is written: a bad file or a taken port is named now
            read_token(control.token_file)
            check_free(control.host, control.port, "live.control.port")
        if metrics is not None:
            check_free(metrics.host, metrics.port, "live.metrics.port")
        journal_dir = run_dir / "journal"
        if resume:
            _check_resumable(config, run_dir)
        else:
            prepare_run_dir(run_dir, force)
            journal_dir.mkdir(parents=True)
            (journal_dir / CONFIG_FILE).write_text(core_config.model_dump_json(indent=2) + "\n")
            (run_dir / LIVE_FILE).write_text(config.model_dump_json(indent=2, by_alias=True) + "\n")
            parity = parity_backtest(config, journal_dir)
            (run_dir / BACKTEST_FILE).write_text(parity.model_dump_json(indent=2, by_alias=True) + "\n")
        self.clock = clock or WallClock()
        self.journal = JournalWriter(journal_dir, fsync=_FSYNC[config.live.fsync])  # a torn tail is cut
        self.paper = SimulatedVenue(core_config, config.venue)
        checkpoints = journal_dir if config.run.checkpoint_every else None
        self.session = Session(
            config, core_config, self._send, None, checkpoints=checkpoints, tap=self._heard
        )
        self.simulation = Simulation((), self.session.sequencer, self.paper)
        feed = config.live.feed
        self.feed = BinanceFeed(
            [
                FeedInstrument(i.id, i.symbol, i.tick_size, i.lot_size, feed.market)
                for i in config.instruments
            ],
            feed.ws_url,
            feed.rest_url,
            record_dir=run_dir / "captures",
            heartbeat_s=feed.heartbeat_s,
            clock=self.clock,
            max_waiting=config.live.max_waiting,
        )
        self.opened = False
        self.closing = False  # the session is being stopped: no more inputs
        self.stop_reason: StopReason | None = None
        self.listeners: list[Callable[[Event], None]] = []  # hear every recorded event (metrics)
        self.senders: list[Callable[[Event], None]] = []  # hear every request handed to the venue
        self.commits: list[Callable[[float], None]] = []  # hear how long each journal commit took
        self.unauthorized = 0  # control requests refused for their token
        self._controls: deque[Event] = deque()  # operator inputs, stamped, waiting for their turn
        self._committed = 0  # events recorded when the journal was last committed
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.resumed_at = (self.journal.last_position or 0) if resume else 0
        self.session.recorder.attach(self.journal, after=self.resumed_at)
        if resume:
            self._rebuild(journal_dir)
        self.servers = NodeServers(self)

    # ------------------------------------------------------------------ the session
    async def run(
        self,
        stop: asyncio.Event | None = None,
        duration_s: float | None = None,
        until: Callable[[], bool] | None = None,
    ) -> StopReason:
        """Trade until `stop` is set (a signal), `stop_session` is called (the operator),
        `duration_s` has passed or `until()` holds after an input; then stop the session and write
        the run directory's tables, summary and report. An error ends the run with it; the journal
        keeps everything up to it."""
        self._stop = stop = stop or asyncio.Event()
        self._loop = asyncio.get_running_loop()
        started = time.perf_counter()
        limit = None
        if duration_s is not None:
            limit = self._loop.call_later(duration_s, self.stop_session, StopReason.DURATION)
        if self.resumed_at:
            self._give_up_books()
        try:
            await self.servers.start()
            await self.feed.run(self._take, stop, until)
        except FeedOverflow as error:
            log.error("stopping: %s", error)
            self.stop_reason = StopReason.INPUT_OVERFLOW
        except BaseException as error:
            log.error("the session failed: %r; its journal keeps everything up to it", error)
            self.stop_reason = StopReason.FAILED
            raise
        finally:
            self.closing = True  # from here on nothing is taken but the stop
            await self.servers.stop()
            for handle in (limit, self._timer):
                if handle is not None:
                    handle.cancel()
            self.feed.close()
            try:
                self._stop_session(self.stop_reason or StopReason.REQUESTED)
            except Exception as error:  # the engine broke on the input before: no stop can follow it
                if self.stop_reason != StopReason.FAILED:
                    raise
                log.error("no SESSION_STOP recorded after the failure: %r", error)
            finally:
                self.session.recorder.finish()  # whatever happened, the journal keeps what was done
                self.journal.close()
        self.stop_reason = self.stop_reason or StopReason.REQUESTED
        elapsed = time.perf_counter() - started
        write_outputs(self.run_dir, self.config, self.session, elapsed, True, self._about())
        return self.stop_reason

    def stop_session(self, reason: StopReason = StopReason.OPERATOR) -> None:
        """Stop soon: the session ends after the input in hand, with `reason` in its SESSION_STOP."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if self._stop is not None:
            self._stop.set()

    def control(self, kind: EventKind, engaged: int = 0) -> Event:
        """An operator's control (trading on or off, the kill switch): an input like any other,
        stamped now, taken in its turn and journaled. Returns the event as stamped."""
        ts = self.clock()
        ev = Event(
            kind=int(kind),
            ts_exchange=ts,
            ts_receive=ts,
            engaged=engaged,
            reason=int(ControlSource.OPERATOR),
        )
        self._controls.append(ev)
        self._advance()
        return ev

    @property
    def ready(self) -> bool:
        """Every book is synced."""
        return all(self.feed.synced(i.symbol) for i in self.config.instruments)

    def status(self) -> dict[str, Any]:
        """What an operator asks first: where the session is, whether it trades, what it holds."""
        core, feed = self.session.core, self.feed
        reader = Reader(core)
        control = reader.control
        instruments = {}
        for i in self.config.instruments:
            pnl = reader.pnl(i.id)
            instruments[i.symbol] = {
                "synced": feed.synced(i.symbol),
                "update_id": feed.update_id(i.symbol),
                "inventory_lots": reader.inventory(i.id),
                "open_orders": len(reader.orders(i.id)),
                "pnl": None if pnl is None else float(pnl),
            }
        return {
            "name": self.config.name,
            "run_dir": str(self.run_dir),
            "position": core.position,
            "digest": core.current_digest().hex(),
            "session": "stopping"
            if self.stop_reason or self.simulation.stopped
            else "open"
            if self.opened
            else "waiting",
            "trading_enabled": bool(control.trading_enabled and self.config.risk.trading_enabled),
            "kill_switch": bool(control.kill_switch),
            "ready": self.ready,
            "decisions": self.session.driver.decisions,
            "instruments": instruments,
            "feed": {"frames": feed.frames, "connections": feed.connections, "waiting": feed.waiting},
            "unauthorized": self.unauthorized,
        }

    def journal_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.journal.path.glob("segment-*.cfj"))

    # ------------------------------------------------------------------ inputs and the clock
    def _take(self, events: list[Event]) -> None:
        """The feed's sink: one line's events, stamped on arrival, then every step now due."""
        self._controls_before(events[0].ts_receive)
        if not self.opened:
            self._open(events[0].ts_receive)
        for ev in events:
            self.simulation.push(ev)
        self._advance()

    def _controls_before(self, ts: int) -> None:
        """Operator inputs stamped before `ts` go in first: inputs are taken in the order they came."""
        controls = self._controls
        while controls and controls[0].ts_receive < ts:
            ev = controls.popleft()
            if not self.opened:
                self._open(ev.ts_receive)
            self.simulation.push(ev)

    def _open(self, ts: int) -> None:
        self.session.open_session(ts)  # as a backtest opens: at the first input's time
        self.opened = True

    def _advance(self) -> None:
        """Every step due by the horizon; the journal committed when the feed is idle."""
        if self.closing:
            return
        horizon = self.feed.horizon()
        self._controls_before(horizon + 1)
        self.simulation.advance(horizon)
        recorder = self.session.recorder
        if not self.feed.waiting or recorder.recorded - self._committed >= _COMMIT_EVERY:
            started = time.perf_counter()
            recorder.flush()
            self._committed = recorder.recorded
            for heard in self.commits:
                heard(time.perf_counter() - started)
        self._schedule()

    def _schedule(self) -> None:
        """Wake when the next step falls due with no input: a timer, a request, a report."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self.simulation.next_step()
        if self.feed.waiting:
            return  # the consumer takes the next line soon, and advances then
        if due is not None and self._loop is not None and not self.simulation.stopped:
            self._timer = self._loop.call_later(max(0.0, (due - self.clock()) / 1e9), self._advance)

    def _stop_session(self, reason: StopReason) -> None:
        """A SESSION_STOP now, after everything before it: a backtest over the journal stops there too."""
        ts = self.clock()
        self._controls_before(ts)
        if not self.opened:
            self._open(ts)
        self.simulation.push(Event(kind=_SESSION_STOP, ts_exchange=ts, ts_receive=ts, reason=int(reason)))
        self.simulation.advance(ts)

    def _send(self, request: Event) -> None:
        """A DISPATCH to the paper venue, and to whoever listens (the tick-to-order latency)."""
        self.paper.send(request)
        for sender in self.senders:
            sender(request)

    def _heard(self, ev: Event) -> None:
        for listener in self.listeners:
            listener(ev)

    # ------------------------------------------------------------------ a restart
    def _rebuild(self, journal_dir: Path) -> None:
        """The journal's inputs through the fresh engine, as the node took them: each input after
        every step before its time. The engine must record the journal again, event for event;
        what it records beyond the journal's end (the steps the crash cut off) is journaled now."""
        reader = JournalReader(journal_dir)
        recorded = reader.events()
        last = self.resumed_at
        mismatch: list[tuple[Event, Event | None]] = []

        def check(ev: Event) -> None:
            if ev.position <= last and not mismatch:
                was = next(recorded, None)
                if was != ev:
                    mismatch.append((ev, was))

        self.listeners.append(check)
        opening = next(iter(JournalReader(journal_dir).events()), None)
        if opening is not None:
            self._open(opening.ts_receive)
        for ev in journal_inputs(journal_dir):
            self.simulation.advance(ev.ts_receive - 1)
            self.simulation.push(ev)
        if opening is not None:
            end = reader.event_at(last).ts_receive
            self.simulation.advance(end)
            self.clock.not_before(end)
        self.listeners.remove(check)
        if mismatch:
            made, was = mismatch[0]
            raise DataError(
                f"{journal_dir}: the journal's inputs do not make the journal again "
                f"(made {made}, recorded {was}); it was not written by this configuration and code"
            )

    def _give_up_books(self) -> None:
        """After a restart every book is unknown until its snapshot: a FEED_GAP (extent unknown),
        in the journal and, as the DISCONNECTED line, in each capture."""
        ts = self.clock()
        for instrument in self.config.instruments:
            self.feed.record(instrument.symbol, b"%d %s" % (ts, DISCONNECTED))
            gap = Event(kind=int(EventKind.FEED_GAP), ts_exchange=ts, ts_receive=ts, instrument=instrument.id)
            self.simulation.push(gap)
        self._advance()

    def _about(self) -> dict[str, Any]:
        feed = self.feed
        return {
            "live": {
                "stop_reason": self.stop_reason.name if self.stop_reason else None,
                "resumed_after_position": self.resumed_at,
                "frames": feed.frames,
                "received": feed.received,
                "unrouted": feed.unrouted,
                "connections": feed.connections,
                "snapshots": {i.symbol: feed.snapshots(i.symbol) for i in self.config.instruments},
            }
        }


def parity_backtest(config: LiveConfig, journal: Path) -> BacktestConfig:
    """The backtest that reproduces a live session: its configuration, the journal's inputs as data."""
    raw = config.model_dump(mode="json", by_alias=True)
    raw.pop("live")
    raw["data"] = {"journal": str(journal.resolve())}
    return BacktestConfig.model_validate(raw)


def _check_resumable(config: LiveConfig, run_dir: Path) -> None:
    """`run_dir` holds this configuration's session, and it has not stopped."""
    recorded = run_dir / LIVE_FILE
    if not recorded.exists():
        raise DataError(f"{run_dir} holds no live session to resume (no {LIVE_FILE})")
    try:
        earlier = LiveConfig.model_validate(json.loads(recorded.read_text()))
    except (ValueError, ValidationError) as error:
        raise ConfigError(f"{recorded}: not a live configuration this version reads: {error}") from None
    if earlier.fingerprint != config.fingerprint:
        raise ConfigError(
            f"{run_dir} holds a session of another configuration ({earlier.fingerprint[:16]}, "
            f"not {config.fingerprint[:16]}); resume it with the configuration it started with"
        )
    tail = JournalReader(run_dir / "journal").tail(1)
    if tail and tail[0].kind == _SESSION_STOP:
        raise DataError(
            f"{run_dir}: its session stopped at position {tail[0].position}; start a new one (--out)"
        )
