"""Each package's public surface is its `__all__`: pinned here, so a change to it is a decision
someone makes in review, not a side effect of moving code."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "canonicalflow"

EXPECTED_ALL: dict[str, list[str]] = {
    "backtest": [
        "BACKTEST_FILE",
        "BacktestConfig",
        "BacktestResult",
        "DEMO_CONFIG",
        "Session",
        "SessionConfig",
        "Simulation",
        "TABLES",
        "build_strategy",
        "core_config_of",
        "demo_config",
        "journal_inputs",
        "load_config",
        "prepare_run_dir",
        "read_config_file",
        "render_report",
        "rerun_decisions",
        "run",
        "simulate",
        "validated",
        "write_outputs",
    ],
    "book": [
        "ASK",
        "BID",
        "BookFinding",
        "L2Book",
        "L3Book",
        "Level",
        "apply_l2",
        "apply_l3",
        "last_of_each",
        "levels_by_instrument",
        "replay_books",
        "runs",
    ],
    "cli": ["main"],
    "config": ["BookModel", "CoreConfig", "Instrument", "RateLimit"],
    "data": [
        "DATA_FILE",
        "FORMATS",
        "IngestRequest",
        "IngestResult",
        "Manifest",
        "MergeOrder",
        "QualityGate",
        "QualityReport",
        "SourceFile",
        "Store",
        "feed",
        "feed_batches",
        "ingest",
    ],
    "live": [
        "ACTIONS",
        "BinanceFeed",
        "ControlConfig",
        "ControlRefused",
        "ENDPOINTS_FILE",
        "FeedConfig",
        "FeedInstrument",
        "FeedOverflow",
        "LIVE_FILE",
        "LiveConfig",
        "LiveNode",
        "LiveOptions",
        "MetricsConfig",
        "PARITY_DIR",
        "Parity",
        "WallClock",
        "check_parity",
        "control_request",
        "load_live_config",
        "parity_backtest",
        "read_token",
        "run_endpoint",
    ],
    "events": [
        "COMMON_FIELDS",
        "Category",
        "Command",
        "ControlSource",
        "EVENT_SCHEMA",
        "Event",
        "EventKind",
        "EventLike",
        "EventRow",
        "EventRows",
        "FIELDS",
        "FIELD_DOCS",
        "Flag",
        "Intent",
        "LazyEvents",
        "OrderType",
        "StopReason",
        "TimeInForce",
        "category_of",
        "check_batch",
        "events_of",
        "iter_events",
        "parse_event",
        "to_record_batch",
    ],
    "exchange": ["Capture", "DepthBook", "Faults", "LocalExchange", "Message"],
    "journal": ["DEFAULT_SEGMENT_BYTES", "FsyncPolicy", "JournalReader", "JournalWriter", "TornTailWarning"],
    "orderflow": ["ZeroIntelligence", "zero_intelligence"],
    "portfolio": ["Holding", "Money", "round_price", "trade"],
    "queue": [
        "ConservativeQueue",
        "Fills",
        "Place",
        "ProbabilisticQueue",
        "QUEUE_MODELS",
        "QueueModel",
        "QueuePlace",
        "QueuedBook",
        "RestingQueues",
        "UNITS_PER_LOT",
        "queue_model",
    ],
    "risk": ["Quotes", "RiskConfig", "RiskEngine", "RiskInputs", "RiskReason"],
    "runtime": [
        "CHECKPOINT_DIR",
        "CONFIG_FILE",
        "Decide",
        "Divergence",
        "JournalSink",
        "RequestSink",
        "RiskCheck",
        "SEQUENCER_KINDS",
        "Sequencer",
        "checkpoint_positions",
        "compare_backtests",
        "compare_processes",
        "describe",
        "first_divergence",
        "latest_checkpoint",
        "load_checkpoint",
        "load_config",
        "replay_journal",
        "save_checkpoint",
    ],
    "state": [
        "BookView",
        "Control",
        "Core",
        "GENESIS",
        "Obligation",
        "OrderTerms",
        "OwnOrder",
        "Quote",
        "RATE_LIMIT_WAKEUP",
        "Reader",
        "SNAPSHOT_FORMAT",
        "StepResult",
        "TIMER_WAKEUP",
        "decode_snapshot",
        "encode_snapshot",
        "replay",
    ],
    "strategies": ["ImbalanceTaker", "InventorySkewMaker", "QueueAwareJoiner"],
    "strategy": [
        "Action",
        "BUY",
        "BookView",
        "Cadence",
        "Cancel",
        "HOOKS",
        "New",
        "NoParams",
        "OwnOrder",
        "Replace",
        "SELL",
        "Strategy",
        "StrategyDriver",
        "View",
    ],
    "testing": [
        "L2_LEVELS",
        "L2_LOT_SIZE",
        "L2_TICK_SIZE",
        "NoOp",
        "Observer",
        "Scripted",
        "TouchMaker",
        "store_table",
        "synthetic_config",
        "synthetic_l2",
        "synthetic_stream",
    ],
    "venue": [
        "ConstantLatency",
        "EmpiricalLatency",
        "Fees",
        "LatencyConfig",
        "LatencySample",
        "OrderLatency",
        "SeededLatency",
        "SimulatedVenue",
        "VenueAdapter",
        "VenueConfig",
        "VenueReason",
        "read_latency_file",
        "venue_time",
        "venue_times",
    ],
}

# The columnar lane's machinery and the pre-State trackers: internal (or gone), never public.
LANE_INTERNALS = {
    "apply_market_columns",
    "foldable_rows",
    "foldable_runs",
    "COLUMNAR_KINDS",
    "MarketLane",
    "QueueTracker",
    "OwnOrders",
}


def _defines_all(init: Path) -> bool:
    return any(
        isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in getattr(node, "targets", [getattr(node, "target", None)])
        )
        for node in ast.parse(init.read_text()).body
    )


def _public_modules() -> list[str]:
    """Every module a user may import: no part of its dotted name starts with `_`."""
    names = {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in ROOT.rglob("*.py")
    }
    return sorted(n for n in names if not any(part.startswith("_") for part in n.split(".")))


def test_every_package_with_an_all_is_pinned() -> None:
    """A new package's surface gets pinned too, and a pinned package may not drop its `__all__`."""
    defining = {init.parent.name for init in ROOT.glob("*/__init__.py") if _defines_all(init)}
    assert defining == set(EXPECTED_ALL)


@pytest.mark.parametrize("package", sorted(EXPECTED_ALL))
def test_all_is_as_pinned_and_every_name_exists(package: str) -> None:
    """Adding or removing a public name is an API change: update EXPECTED_ALL on purpose. A name
    in `__all__` that the package lacks breaks `from package import *` and the docs."""
    module = importlib.import_module(f"canonicalflow.{package}")
    assert sorted(module.__all__) == EXPECTED_ALL[package]
    assert len(set(module.__all__)) == len(module.__all__), "a name is listed twice"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"canonicalflow.{package}.__all__ names what it lacks: {missing}"


def test_lane_internals_are_public_nowhere() -> None:
    """The lane folds columns straight into State under invariants only the Core and the backtest
    keep (`core.foldable`, `core.apply_columns`); a public name would invite calls that skip them."""
    leaks = []
    for name in _public_modules():
        module = importlib.import_module(name)
        exposed = set(getattr(module, "__all__", ())) | set(vars(module))
        leaks += [f"{name}.{internal}" for internal in sorted(LANE_INTERNALS & exposed)]
    assert not leaks, f"lane internals reachable from a public module: {leaks}"
