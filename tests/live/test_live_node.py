"""The live node against the local exchange serving a real capture: it trades on the paper venue,
writes a run directory like a backtest's, and its session is proven by parity, replay and two
processes' digests. Every wait is bounded; the exchange runs as fast as the loop goes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from _local import BOUND_S, GRIDS, load

from canonicalflow.backtest import BacktestResult, rerun_decisions
from canonicalflow.errors import ConfigError, DataError
from canonicalflow.events import EventKind, StopReason
from canonicalflow.exchange import LocalExchange
from canonicalflow.journal import JournalReader
from canonicalflow.live import LiveNode, check_parity, load_live_config
from canonicalflow.live._parity import Parity

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "live-maker.toml"
MESSAGES = 6_000  # of the capture: a few thousand book updates, trades and tops of book


def _config(host: str, port: int, **live: Any) -> Any:
    """The example's live session, pointed at the local exchange; no heartbeat on loopback."""
    raw = load_live_config(EXAMPLE).model_dump(mode="json", by_alias=True)
    raw["live"]["feed"].update(
        ws_url=f"ws://{host}:{port}", rest_url=f"http://{host}:{port}", heartbeat_s=None
    )
    raw["live"].update(live)
    return load_live_config(raw)


def _exchange(shared_data: Path) -> LocalExchange:
    """The local exchange on the first MESSAGES of the USD-M capture, as fast as the loop goes."""
    grid = GRIDS[0]
    capture = load(shared_data, grid)
    capture = dataclasses.replace(capture, messages=capture.messages[:MESSAGES])
    return LocalExchange([capture], speed=0, grids={capture.symbol: (grid.tick_size, grid.lot_size)})


async def _live_session(
    shared_data: Path, run_dir: Path, **live: Any
) -> tuple[LiveNode, StopReason, LocalExchange]:
    """The example's session on the first MESSAGES of the USD-M capture, until every frame sent is in."""
    exchange = _exchange(shared_data)
    host, port = await exchange.start()
    try:
        node = LiveNode(_config(host, port, **live), run_dir)

        def everything() -> bool:
            return exchange.done.is_set() and node.feed.frames == exchange.sent

        reason = await asyncio.wait_for(node.run(until=everything), BOUND_S)
        return node, reason, exchange
    finally:
        await exchange.stop()


@pytest.fixture(scope="module")
def session(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LiveNode, StopReason]:
    run_dir = tmp_path_factory.mktemp("live") / "run"
    node, reason, _ = asyncio.run(_live_session(shared_data, run_dir))
    return run_dir, node, reason


def test_the_node_trades_on_the_paper_venue_and_writes_a_run_directory(session: tuple) -> None:
    run_dir, node, reason = session
    assert reason == StopReason.REQUESTED
    result = BacktestResult.open(run_dir)
    assert result.summary["live"]["frames"] == node.feed.frames > 0
    assert result.summary["live"]["stop_reason"] == "REQUESTED"
    fills = pq.read_table(run_dir / "fills.parquet")
    orders = pq.read_table(run_dir / "orders.parquet")
    assert orders.num_rows > 10 and fills.num_rows > 0  # it quoted and was filled on the paper venue
    assert (run_dir / "report.html").stat().st_size > 0
    captured = (run_dir / "captures" / "BTCUSDT.capture").read_bytes().count(b"\n")
    assert captured >= node.feed.frames  # every frame taken, and the snapshot, recorded
    events = list(JournalReader(run_dir / "journal").events())
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    assert events[-1].kind == EventKind.SESSION_STOP and events[-1].reason == StopReason.REQUESTED
    kinds = {e.kind for e in events}
    assert {EventKind.DISPATCH, EventKind.ACK, EventKind.FILL, EventKind.LEVEL_SET} <= kinds
    receive = [e.ts_receive for e in events]
    assert receive == sorted(receive)  # one clock, forward only


def test_parity_a_backtest_over_the_sessions_inputs_records_its_journal_again(session: tuple) -> None:
    run_dir, _, _ = session
    result = check_parity(run_dir)
    assert result.identical, result.cause()
    assert result.compared == JournalReader(run_dir / "journal").num_events
    assert pq.read_table(run_dir / "parity" / "fills.parquet").equals(
        pq.read_table(run_dir / "fills.parquet")
    )


def test_parity_names_the_first_difference(session: tuple, tmp_path: Path) -> None:
    """A session whose paper venue had been slower than its configuration says: parity finds where."""
    run_dir, _, _ = session
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", str(run_dir), str(copy)], check=True)
    backtest = copy / "backtest.json"
    backtest.write_text(backtest.read_text().replace('"entry_ns": 1000000', '"entry_ns": 1000001'))
    result = check_parity(copy)
    assert not result.identical
    assert result.live is not None and result.backtest is not None
    assert "differs" in result.cause() or "recorded" in result.cause()
    assert isinstance(result, Parity) and result.compared > 0


def test_replay_makes_every_decision_again_from_the_inputs(session: tuple) -> None:
    run_dir, _, _ = session
    compared, difference = rerun_decisions(run_dir)
    assert difference is None and compared == JournalReader(run_dir / "journal").num_events


def test_the_cli_proves_the_session_replay_parity_and_two_processes(session: tuple) -> None:
    run_dir, _, _ = session
    command = [shutil.which("canonicalflow") or "canonicalflow"]
    replay = subprocess.run(
        [*command, "replay", str(run_dir)], capture_output=True, text=True, timeout=BOUND_S
    )
    assert replay.returncode == 0, replay.stderr
    assert "recorded events made again from the inputs alone" in replay.stdout
    parity = subprocess.run(
        [*command, "parity", str(run_dir)], capture_output=True, text=True, timeout=BOUND_S
    )
    assert parity.returncode == 0, parity.stderr
    assert parity.stdout.startswith("parity: identical")
    twice = subprocess.run(
        [*command, "verify-determinism", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )
    assert twice.returncode == 0, twice.stderr
    assert "identical digests" in twice.stdout


def test_an_engine_slower_than_its_feed_is_a_recorded_stop(shared_data: Path, tmp_path: Path) -> None:
    """The engine stops taking inputs after its first lines: the bounded queue fills, the session
    stops with INPUT_OVERFLOW in its journal, and what it did is still a run parity proves."""

    async def scenario() -> tuple[LiveNode, StopReason]:
        exchange = _exchange(shared_data)
        host, port = await exchange.start()
        try:
            node = LiveNode(_config(host, port, max_waiting=50), tmp_path / "run")
            take, stuck, taken = node._take, asyncio.Event(), [0]

            async def slow_engine(events: list) -> None:
                taken[0] += 1
                take(events)
                if taken[0] >= 20:
                    await stuck.wait()  # never set: the engine is busy from here on

            node._take = slow_engine  # type: ignore[method-assign]
            return node, await asyncio.wait_for(node.run(), BOUND_S)
        finally:
            await exchange.stop()

    _, reason = asyncio.run(scenario())
    assert reason == StopReason.INPUT_OVERFLOW
    last = JournalReader(tmp_path / "run" / "journal").tail(1)[0]
    assert last.kind == EventKind.SESSION_STOP and last.reason == StopReason.INPUT_OVERFLOW
    assert BacktestResult.open(tmp_path / "run").summary["live"]["stop_reason"] == "INPUT_OVERFLOW"
    assert check_parity(tmp_path / "run").identical


def test_a_stopped_session_or_another_configuration_is_not_resumed(session: tuple, tmp_path: Path) -> None:
    run_dir, _, _ = session
    recorded = json.loads((run_dir / "live.json").read_text())
    with pytest.raises(DataError, match="stopped at position"):
        LiveNode(load_live_config(recorded), run_dir, resume=True)
    recorded["strategy"]["params"]["size"] = 7
    with pytest.raises(ConfigError, match="another configuration"):
        LiveNode(load_live_config(recorded), run_dir, resume=True)
    with pytest.raises(DataError, match="no live session to resume"):
        LiveNode(load_live_config(recorded), tmp_path, resume=True)


def test_two_instruments_on_one_feed_trade_and_pass_parity(shared_data: Path, tmp_path: Path) -> None:
    """BTCUSDT and ETHUSDT on one combined stream, each with its own book, snapshot and quotes."""

    async def scenario() -> LiveNode:
        captures = [load(shared_data, grid) for grid in GRIDS[:2]]
        captures = [dataclasses.replace(c, messages=c.messages[: MESSAGES // 2]) for c in captures]
        grids = {c.symbol: (g.tick_size, g.lot_size) for c, g in zip(captures, GRIDS[:2], strict=True)}
        exchange = LocalExchange(captures, speed=0, grids=grids)
        host, port = await exchange.start()
        try:
            raw = load_live_config(EXAMPLE).model_dump(mode="json", by_alias=True)
            raw["instruments"].append(
                {"id": 2, "symbol": "ETHUSDT", "tick_size": "0.01", "lot_size": "0.001"}
            )
            raw["venue"]["fees"].append({"instrument": 2, "maker": "0.0002", "taker": "0.0005"})
            raw["live"]["feed"].update(
                ws_url=f"ws://{host}:{port}", rest_url=f"http://{host}:{port}", heartbeat_s=None
            )
            node = LiveNode(load_live_config(raw), tmp_path / "run")
            await asyncio.wait_for(
                node.run(until=lambda: exchange.done.is_set() and node.feed.frames == exchange.sent), BOUND_S
            )
            return node
        finally:
            await exchange.stop()

    node = asyncio.run(scenario())
    assert node.feed.snapshots("BTCUSDT") >= 1 and node.feed.snapshots("ETHUSDT") >= 1
    journal = list(JournalReader(tmp_path / "run" / "journal").events())
    assert {e.instrument for e in journal if e.kind == EventKind.LEVEL_SET} == {1, 2}
    assert {e.instrument for e in journal if e.kind == EventKind.DISPATCH} == {1, 2}
    assert check_parity(tmp_path / "run").identical


def test_a_strategy_that_raises_ends_the_session_recorded_and_closed(
    shared_data: Path, tmp_path: Path
) -> None:
    """The error reaches the caller; the journal keeps everything up to it and ends with a
    SESSION_STOP (FAILED), so the session is neither resumed nor vouched for by parity."""

    async def scenario() -> None:
        exchange = _exchange(shared_data)
        host, port = await exchange.start()
        try:
            raw = _config(host, port).model_dump(mode="json", by_alias=True)
            raw["strategy"]["class"] = "_failing:FailsOnce"
            node = LiveNode(load_live_config(raw), tmp_path / "run")
            await asyncio.wait_for(node.run(), BOUND_S)
        finally:
            await exchange.stop()

    with pytest.raises(RuntimeError, match="a bug in the strategy"):
        asyncio.run(scenario())
    last = JournalReader(tmp_path / "run" / "journal").tail(1)[0]
    assert last.kind == EventKind.SESSION_STOP and last.reason == StopReason.FAILED
    recorded = json.loads((tmp_path / "run" / "live.json").read_text())
    with pytest.raises(DataError, match="stopped at position"):
        LiveNode(load_live_config(recorded), tmp_path / "run", resume=True)
    with pytest.raises(DataError, match="the parity backtest failed: RuntimeError"):
        check_parity(tmp_path / "run")
