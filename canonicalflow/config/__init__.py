"""The Configuration: instruments and rules, frozen, strict, fingerprinted."""

from canonicalflow.config._core import CoreConfig, Instrument, RateLimit

__all__ = ["CoreConfig", "Instrument", "RateLimit"]
