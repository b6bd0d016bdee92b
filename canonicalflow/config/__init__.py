"""The Configuration: instruments and rules, frozen, strict, fingerprinted."""

from canonicalflow.config._core import BookModel, CoreConfig, Instrument, RateLimit

__all__ = ["BookModel", "CoreConfig", "Instrument", "RateLimit"]
