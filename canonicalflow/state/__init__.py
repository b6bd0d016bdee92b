"""The Core: State as a fold of the event stream and the Configuration, digested at every position."""

from canonicalflow.state._core import Control, Core, Quote, StepResult, replay
from canonicalflow.state._digest import GENESIS, chain

__all__ = ["GENESIS", "Control", "Core", "Quote", "StepResult", "chain", "replay"]
