"""One backtest's pieces, wired: the Core, the strategy with its view, risk, the order log, the
recorder, the sequencer and the columnar lane."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canonicalflow.backtest._config import SessionConfig
from canonicalflow.backtest._lane import MarketLane
from canonicalflow.backtest._order_log import OrderLog
from canonicalflow.backtest._recorder import Recorder
from canonicalflow.config import CoreConfig, Instrument, RateLimit
from canonicalflow.errors import ConfigError
from canonicalflow.events import Event, EventKind
from canonicalflow.journal import JournalWriter
from canonicalflow.risk import RiskEngine
from canonicalflow.runtime import JournalSink, RequestSink, Sequencer, save_checkpoint
from canonicalflow.state import Core, Reader
from canonicalflow.strategy import Strategy, StrategyDriver, View

__all__ = ["Session", "build_strategy", "core_config_of"]


def _no_files(core: Core) -> None:
    """No journal directory: checkpoints mark the stream, nothing is written."""


def core_config_of(config: SessionConfig, instruments: tuple[Instrument, ...]) -> CoreConfig:
    """The Core's Configuration for this backtest: instruments, rate limits, timer, book rules."""
    limits: tuple[RateLimit, ...] = ()
    if (per_second := config.risk.max_orders_per_second) is not None:
        limits = (RateLimit(scope=0, capacity=per_second, refill_ns=1_000_000_000 // per_second),)
    return CoreConfig(
        version=f"backtest-{config.fingerprint[:16]}",
        instruments=instruments,
        rate_limits=limits,
        market=config.venue.book_model(),  # the Core's books and queue estimate follow the venue's rules
        timer_ns=config.strategy.cadence.timer_ms * 1_000_000,
        retained_final_orders=config.run.retained_final_orders,
        digest_block=config.run.digest_block,
    )


def build_strategy(config: SessionConfig) -> Strategy[Any]:
    target = config.strategy.class_
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(f"strategy.class {target!r} cannot be imported: {error}") from None
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"strategy.class {target!r} is not a Strategy subclass")
    try:
        return cls(**config.strategy.params)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"strategy.params for {target}: {error}") from None


class Session:
    """The pieces of one run, wired: Core, strategy, risk, order log, recorder, sequencer and lane.

    `tap` hears every recorded event too (after the recorder), for a rerun that compares them.
    """

    def __init__(
        self,
        config: SessionConfig,
        core_config: CoreConfig,
        send: RequestSink,
        journal: JournalWriter | None = None,
        digests: Callable[[int, bytes], None] | None = None,
        checkpoints: Path | None = None,
        tap: JournalSink | None = None,
    ) -> None:
        self.config, self.core_config = config, core_config
        self.core = Core(core_config)
        self.orders = OrderLog(self.core)
        increments = (config.risk.price_increment, config.risk.qty_increment)
        self.view = View(self.core, config.strategy.params, increments)
        self.risk = RiskEngine(config.risk, Reader(self.core))
        self.driver = StrategyDriver(build_strategy(config), self.view, config.strategy.cadence)
        self.recorder = Recorder(
            self.core,
            self.orders,
            Reader(self.core),
            self.risk,
            config.run.sample_ms * 1_000_000,
            journal,
            digests,
        )
        self._tap, self._checkpoints = tap, checkpoints
        record: JournalSink = self.recorder.record if tap is None else self._record_and_tap
        self.sequencer = Sequencer(
            self.core,
            record,
            self.risk,
            self.driver,
            send=send,
            checkpoint_every=config.run.checkpoint_every if checkpoints else 0,
            on_checkpoint=self._save_checkpoint if checkpoints else _no_files,
        )

        self.lane = MarketLane(
            self.core,
            self.sequencer,
            self.recorder,
            self.driver,
            self.view,
            checkpoint_every=config.run.checkpoint_every if checkpoints else 0,
        )

    def _save_checkpoint(self, core: Core) -> None:
        assert self._checkpoints is not None
        save_checkpoint(self._checkpoints, core)

    def _record_and_tap(self, ev: Event) -> None:
        self.recorder.record(ev)
        assert self._tap is not None
        self._tap(ev)

    def open_session(self, ts: int) -> None:
        """Trading is enabled (unless risk says otherwise) and the session starts, at the first event's time."""
        kinds = [EventKind.TRADING_ENABLED] if self.config.risk.trading_enabled else []
        for kind in [*kinds, EventKind.SESSION_START]:
            self.sequencer.feed(Event(kind=int(kind), ts_exchange=ts, ts_receive=ts))
