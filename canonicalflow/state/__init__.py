"""State: the Core's fold of the event stream and the Configuration, with a chained digest of
every change, and the read-only `Reader` that strategies and risk decide on."""

from canonicalflow.state._control import Control
from canonicalflow.state._core import (
    RATE_LIMIT_WAKEUP,
    SNAPSHOT_FORMAT,
    TIMER_WAKEUP,
    Core,
    Obligation,
    StepResult,
    replay,
)
from canonicalflow.state._digest import GENESIS
from canonicalflow.state._execution import OrderTerms
from canonicalflow.state._market import Quote
from canonicalflow.state._reader import BookView, OwnOrder, Reader
from canonicalflow.state._snapshot_codec import decode_snapshot, encode_snapshot

__all__ = [
    "GENESIS",
    "RATE_LIMIT_WAKEUP",
    "SNAPSHOT_FORMAT",
    "TIMER_WAKEUP",
    "BookView",
    "Control",
    "Core",
    "Obligation",
    "OrderTerms",
    "OwnOrder",
    "Quote",
    "Reader",
    "StepResult",
    "decode_snapshot",
    "encode_snapshot",
    "replay",
]
