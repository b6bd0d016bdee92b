"""The runtime around the Core: the sequencing loop, checkpoints, replay, and proof that replays agree."""

from canonicalflow.runtime._checkpoints import (
    CHECKPOINT_DIR,
    checkpoint_positions,
    load_checkpoint,
    save_checkpoint,
)
from canonicalflow.runtime._determinism import (
    Divergence,
    compare_backtests,
    compare_processes,
    first_divergence,
)
from canonicalflow.runtime._replay import (
    CONFIG_FILE,
    describe,
    latest_checkpoint,
    load_config,
    replay_journal,
)
from canonicalflow.runtime._sequencer import (
    SEQUENCER_KINDS,
    Decide,
    JournalSink,
    RequestSink,
    RiskCheck,
    Sequencer,
)

__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "SEQUENCER_KINDS",
    "Decide",
    "Divergence",
    "JournalSink",
    "RequestSink",
    "RiskCheck",
    "Sequencer",
    "checkpoint_positions",
    "compare_backtests",
    "compare_processes",
    "describe",
    "first_divergence",
    "latest_checkpoint",
    "load_checkpoint",
    "load_config",
    "replay_journal",
    "save_checkpoint",
]
