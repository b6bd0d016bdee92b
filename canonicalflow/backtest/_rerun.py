"""Replay a run's decisions: its inputs again through the strategy, risk and execution control.

The journal holds everything: the inputs (market data, our reports, control events) and what the
engine did about them (risk decisions, dispatches, rate-limit draws, wake-ups, checkpoints). Feed
the inputs alone to a fresh session of the same configuration and every decision must come out
again, at the same position, field for field; no venue is needed, its answers are inputs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._runner import BACKTEST_FILE
from canonicalflow.backtest._session import Session
from canonicalflow.errors import ConfigError
from canonicalflow.events import Event
from canonicalflow.journal import JournalReader
from canonicalflow.runtime import SEQUENCER_KINDS
from canonicalflow.runtime import load_config as load_core_config

__all__ = ["rerun_decisions"]


def rerun_decisions(run_dir: Path) -> tuple[int, tuple[Event, Event | None] | None]:
    """(events compared, None) when the rerun records exactly the journal; else the first pair that differs."""
    recorded_config = run_dir / BACKTEST_FILE
    try:
        config = load_config(json.loads(recorded_config.read_text()))
    except ConfigError as error:  # written by another version, or edited since
        raise ConfigError(f"{recorded_config}: {error}") from None
    journal = run_dir / "journal"
    core_config = load_core_config(journal)  # as the run used it
    recorded: list[Event] = []
    with tempfile.TemporaryDirectory() as checkpoints:
        session = Session(
            config, core_config, send=lambda ev: None, checkpoints=Path(checkpoints), tap=recorded.append
        )
        compared, last = 0, 0
        original = JournalReader(journal).events()

        def settle() -> tuple[Event, Event | None] | None:
            """Compare what the rerun just recorded with the journal's next events."""
            nonlocal compared
            for made in recorded:
                was = next(original, None)
                if was != made:
                    return made, was
                compared += 1
            recorded.clear()
            return None

        for ev in JournalReader(journal).events():
            last = max(last, ev.ts_receive)
            if ev.kind in SEQUENCER_KINDS:
                continue
            session.sequencer.feed(ev)
            if (difference := settle()) is not None:
                return compared, difference
        session.sequencer.advance_to(last)  # wake-ups the run made after its last input
        if (difference := settle()) is not None:
            return compared, difference
        leftover = next(original, None)
    return compared, None if leftover is None else (leftover, None)
