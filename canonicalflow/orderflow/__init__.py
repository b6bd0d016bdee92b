"""Seeded synthetic order flow shipped with the package, so a backtest needs no third-party data."""

from canonicalflow.orderflow._zero_intelligence import ZeroIntelligence, zero_intelligence

__all__ = ["ZeroIntelligence", "zero_intelligence"]
