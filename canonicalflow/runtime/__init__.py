"""The runtime around the Core: replaying journals and proving that replays agree."""

from canonicalflow.runtime._determinism import Divergence, compare_processes, first_divergence
from canonicalflow.runtime._replay import CONFIG_FILE, describe, load_config, replay_journal

__all__ = [
    "CONFIG_FILE",
    "Divergence",
    "compare_processes",
    "describe",
    "first_divergence",
    "load_config",
    "replay_journal",
]
