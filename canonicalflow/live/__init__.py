"""The live runtime: the backtest's engine on a live feed and the wall clock.

The only code here with a wall clock, sockets and tasks. Frames are stamped on arrival and read by
the same normalizers as recorded captures, so live and recorded data make the same events; the
node takes its steps in a backtest's order, so a backtest over its journal's inputs records the
same journal (`check_parity`)."""

from canonicalflow.live._binance_feed import BinanceFeed, FeedInstrument, FeedOverflow
from canonicalflow.live._clock import WallClock
from canonicalflow.live._config import (
    ControlConfig,
    FeedConfig,
    LiveConfig,
    LiveOptions,
    MetricsConfig,
    load_live_config,
)
from canonicalflow.live._ctl import ACTIONS, ControlRefused, control_request, run_endpoint
from canonicalflow.live._http import ENDPOINTS_FILE, read_token
from canonicalflow.live._node import LIVE_FILE, LiveNode, parity_backtest
from canonicalflow.live._parity import PARITY_DIR, Parity, check_parity

__all__ = [
    "ACTIONS",
    "ENDPOINTS_FILE",
    "LIVE_FILE",
    "PARITY_DIR",
    "BinanceFeed",
    "ControlConfig",
    "ControlRefused",
    "FeedConfig",
    "FeedInstrument",
    "FeedOverflow",
    "LiveConfig",
    "LiveNode",
    "LiveOptions",
    "MetricsConfig",
    "Parity",
    "WallClock",
    "check_parity",
    "control_request",
    "load_live_config",
    "parity_backtest",
    "read_token",
    "run_endpoint",
]
