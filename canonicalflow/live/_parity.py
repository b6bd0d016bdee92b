"""Parity: a backtest over the inputs a live session recorded must record the live journal again.

The live journal holds every input the session took (market data, feed gaps, operator controls,
its stop) and everything the engine and the paper venue did about them. The backtest that
`backtest.json` in a live run directory names feeds the inputs alone to the same strategy, risk,
execution control and venue models; equal journals, event for event, mean equal State and digest
at every position, every decision and every fill made again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from canonicalflow.backtest import BACKTEST_FILE, load_config, run
from canonicalflow.errors import CanonicalFlowError, ConfigError, DataError
from canonicalflow.events import FIELDS, Event, EventKind
from canonicalflow.journal import JournalReader
from canonicalflow.live._node import LIVE_FILE

__all__ = ["PARITY_DIR", "Parity", "check_parity"]

PARITY_DIR = "parity"  # the parity backtest's run directory, inside the live run's


@dataclass(frozen=True)
class Parity:
    """How many events matched, and the first pair that did not (None, None: identical)."""

    compared: int
    live: Event | None = None
    backtest: Event | None = None
    before: Event | None = None  # the last event both recorded

    @property
    def identical(self) -> bool:
        return self.live is None and self.backtest is None

    def cause(self) -> str:
        """What differs, in words."""
        live, backtest = self.live, self.backtest
        where = (
            "" if self.before is None else f" (after {_name(self.before)} at position {self.before.position})"
        )
        if live is None:
            assert backtest is not None
            return f"the backtest recorded {_describe(backtest)} after the live journal ended{where}"
        if backtest is None:
            return f"the live session recorded {_describe(live)}; the backtest had ended{where}"
        if live.kind != backtest.kind:
            return f"the live session recorded {_describe(live)}, the backtest {_describe(backtest)}{where}"
        fields = [
            f"{name}: live {getattr(live, name)}, backtest {getattr(backtest, name)}"
            for name in live._fields
            if getattr(live, name) != getattr(backtest, name)
        ]
        return f"{_name(live)} at position {live.position} differs{where}: " + "; ".join(fields)


def check_parity(run_dir: Path, progress: bool = False) -> Parity:
    """Run the live session's parity backtest into `run_dir/parity` and compare the two journals."""
    if not (run_dir / LIVE_FILE).exists():
        raise DataError(f"{run_dir} is not a live session's run directory (no {LIVE_FILE})")
    recorded = run_dir / BACKTEST_FILE
    try:
        config = load_config(json.loads(recorded.read_text()))
    except (ConfigError, ValueError) as error:
        raise ConfigError(f"{recorded}: {error}") from None
    journal = run_dir / "journal"
    tail = JournalReader(journal).tail(1)
    if not tail or tail[0].kind != EventKind.SESSION_STOP:
        raise DataError(
            f"{run_dir}: its session did not stop cleanly (its journal ends without a SESSION_STOP); "
            "resume it (canonicalflow live CONFIG --out RUN_DIR --resume) and stop it, then check parity"
        )
    config = config.model_copy(update={"data": config.data.model_copy(update={"journal": journal.resolve()})})
    try:
        run(config, run_dir / PARITY_DIR, force=True, progress=progress, report=False)
    except CanonicalFlowError:
        raise
    except Exception as error:  # the strategy raised: in the backtest, as it may have live
        raise DataError(f"the parity backtest failed: {error!r} (see {run_dir / PARITY_DIR})") from error
    live = JournalReader(journal).events()
    again = JournalReader(run_dir / PARITY_DIR / "journal").events()
    compared, before = 0, None
    for made_live, made_again in zip_longest(live, again):
        if made_live != made_again:
            return Parity(compared, made_live, made_again, before)
        compared, before = compared + 1, made_live
    return Parity(compared)


def _name(ev: Event) -> str:
    return EventKind(ev.kind).name


def _describe(ev: Event) -> str:
    fields = ", ".join(f"{name}={getattr(ev, name)}" for name in FIELDS[EventKind(ev.kind)])
    return (
        f"{_name(ev)} at position {ev.position} ({fields})"
        if fields
        else f"{_name(ev)} at position {ev.position}"
    )
