"""Helpers for tests, benchmarks and determinism checks: seeded synthetic streams, a scripted strategy."""

from canonicalflow.testing._strategies import Scripted
from canonicalflow.testing._streams import synthetic_config, synthetic_stream

__all__ = ["Scripted", "synthetic_config", "synthetic_stream"]
