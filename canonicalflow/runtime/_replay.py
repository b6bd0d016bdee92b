"""Replay a journal through a fresh Core: the state and digest at any position, from the log alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.book import ASK, BID, L3Book
from canonicalflow.config import CoreConfig
from canonicalflow.errors import DataError
from canonicalflow.journal import JournalReader
from canonicalflow.runtime._checkpoints import checkpoint_positions, load_checkpoint
from canonicalflow.state import Core, StepResult

__all__ = ["CONFIG_FILE", "describe", "latest_checkpoint", "load_config", "replay_journal"]

CONFIG_FILE = "config.json"  # the Configuration a journal was written under, beside its segments


def load_config(journal: Path, config: Path | None = None) -> CoreConfig:
    """The Configuration given, or the one stored in the journal's directory."""
    path = config or journal / CONFIG_FILE
    if not path.exists():
        raise DataError(f"no configuration: {path} does not exist; pass --config FILE")
    try:
        return CoreConfig.model_validate_json(path.read_text())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise DataError(f"{path}: {where}: {first['msg']}") from None


def replay_journal(
    journal: Path, config: CoreConfig, to_position: int | None = None, start: Core | None = None
) -> Iterator[tuple[Core, StepResult]]:
    """Fold the journal's events into a Core, yielding it after every step, up to `to_position`.

    From a fresh Core, or from `start` (a restored checkpoint) onwards.
    """
    core = start or Core(config)
    for ev in JournalReader(journal).events(from_position=core.position + 1, to_position=to_position):
        yield core, core.apply(ev)


def latest_checkpoint(journal: Path, config: CoreConfig, at_or_before: int | None = None) -> Core | None:
    """The Core restored from the last checkpoint at or before `at_or_before`, or None."""
    positions = [p for p in checkpoint_positions(journal) if at_or_before is None or p <= at_or_before]
    return load_checkpoint(journal, positions[-1], config) if positions else None


def describe(core: Core) -> list[str]:
    """A readable summary of State: what a person checks first."""
    execution, market = core.execution, core.market
    orders = Counter(order.STATE_NAMES[s.state] for s in execution.orders.values())
    keys = Counter(ec.STATE_NAMES[s.state] for s in execution.keys.values())
    lines = [
        f"position      {core.position}",
        f"digest        {core.current_digest().hex()}",
        f"now           {core.now}",
        f"control       {core.control.switches._asdict()}",
        f"orders        {sum(orders.values())}: {dict(sorted(orders.items()))}",
        f"keys          {sum(keys.values())}: {dict(sorted(keys.items()))}",
        f"intents       {len(execution.intents)} open",
        f"buckets       {dict(sorted(execution.buckets.items()))}",
    ]
    for instrument, queued in sorted(market.books.items()):
        levels = sum(queued.book.depth(side) for side in (BID, ASK))
        resting = f"{len(queued.book.orders)} resting orders on " if isinstance(queued.book, L3Book) else ""
        lines.append(
            f"book {instrument:<8} {resting}{levels} price levels, {len(queued.queues.places)} of ours"
        )
    lines += [
        f"quote {instrument:<7} {quote._asdict()}" for instrument, quote in sorted(market.quotes.items())
    ]
    lines += [f"holding {i:<5} {h._asdict()}" for i, h in sorted(core.portfolio.holdings.items())]
    return lines
