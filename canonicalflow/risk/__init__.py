"""The risk gate: limits, stable reason codes, and the engine the sequencer asks."""

from canonicalflow.risk._config import RiskConfig
from canonicalflow.risk._engine import RiskEngine
from canonicalflow.risk._inputs import Quotes, RiskInputs
from canonicalflow.risk._reasons import RiskReason

__all__ = ["Quotes", "RiskConfig", "RiskEngine", "RiskInputs", "RiskReason"]
