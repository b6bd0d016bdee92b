"""Helpers for tests, benchmarks and determinism checks: seeded synthetic streams."""

from canonicalflow.testing._streams import synthetic_config, synthetic_stream

__all__ = ["synthetic_config", "synthetic_stream"]
