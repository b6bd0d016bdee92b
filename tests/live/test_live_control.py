"""The operator's control API and the metrics endpoint of a live node, against the local exchange:
a bearer token compared in constant time and never echoed, refusals counted, every accepted
action a journaled input that replay and parity make again; the kill switch cancels every order
and blocks new ones; /metrics, /healthz and /readyz answer as Prometheus and a load balancer expect."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _local import BOUND_S, GRIDS, load
from prometheus_client.parser import text_string_to_metric_families

from canonicalflow.backtest import rerun_decisions
from canonicalflow.events import Command, ControlSource, EventKind, StopReason
from canonicalflow.exchange import LocalExchange
from canonicalflow.journal import JournalReader
from canonicalflow.live import LiveNode, check_parity, load_live_config
from canonicalflow.risk import RiskReason
from canonicalflow.state import Reader

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "live-maker.toml"
TOKEN = "s3cret-token-for-tests"


def _config(host: str, port: int, token_file: Path) -> Any:
    raw = load_live_config(EXAMPLE).model_dump(mode="json", by_alias=True)
    raw["live"]["feed"].update(
        ws_url=f"ws://{host}:{port}", rest_url=f"http://{host}:{port}", heartbeat_s=None
    )
    raw["live"]["control"] = {"host": "127.0.0.1", "port": 0, "token_file": str(token_file)}
    raw["live"]["metrics"] = {"host": "127.0.0.1", "port": 0}
    return load_live_config(raw)


async def _operate(
    node: LiveNode, quoting: asyncio.Event, cancelled: asyncio.Event, replies: dict[str, Any]
) -> None:
    """Once the node quotes on a synced book: the operator's requests, the bad ones first."""
    await quoting.wait()
    control, metrics = node.servers.endpoints["control"], node.servers.endpoints["metrics"]
    good = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            async with http.get(f"{control}/status", headers=headers) as response:
                replies.setdefault("refused", []).append((response.status, await response.text()))
        async with http.post(f"{control}/kill", headers={"Authorization": "Bearer nope"}) as response:
            replies.setdefault("refused", []).append((response.status, await response.text()))
        async with http.get(f"{control}/status", headers=good) as response:
            replies["status"] = (response.status, await response.json())
        async with http.post(f"{control}/trading/disable", headers=good) as response:
            replies["disable"] = await response.json()
        async with http.post(f"{control}/trading/enable", headers=good) as response:
            replies["enable"] = await response.json()
        async with http.post(f"{control}/kill", headers=good) as response:
            replies["kill"] = await response.json()
        await cancelled.wait()  # taken in its turn, after the inputs before it; then every order cancelled
        async with http.get(f"{metrics}/metrics") as response:
            replies["metrics"] = (response.status, response.headers["Content-Type"], await response.text())
        async with http.get(f"{metrics}/healthz") as response:
            replies["healthz"] = response.status
        async with http.get(f"{metrics}/readyz") as response:
            replies["readyz"] = (response.status, await response.json())
        async with http.get(f"{control}/status", headers=good) as response:
            replies["after"] = await response.json()
        async with http.post(f"{control}/stop", headers=good) as response:
            replies["stop"] = await response.json()


@pytest.fixture(scope="module")
def operated(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], StopReason]:
    base = tmp_path_factory.mktemp("control")
    token_file = base / "token"
    token_file.write_text(TOKEN + "\n")

    async def scenario() -> tuple[dict[str, Any], StopReason]:
        grid = GRIDS[0]
        capture = load(shared_data, grid)
        exchange = LocalExchange(
            [dataclasses.replace(capture, messages=capture.messages[:20_000])],
            speed=0,
            grids={capture.symbol: (grid.tick_size, grid.lot_size)},
        )
        host, port = await exchange.start()
        try:
            node = LiveNode(_config(host, port, token_file), base / "run")
            quoting, killed, replies = asyncio.Event(), asyncio.Event(), {}
            node.listeners.append(lambda ev: ev.kind == EventKind.ACK and node.ready and quoting.set())
            reader = Reader(node.session.core)
            node.listeners.append(
                lambda ev: reader.control.kill_switch and not reader.orders() and killed.set()
            )
            operator = _operate(node, quoting, killed, replies)
            reason, _ = await asyncio.wait_for(asyncio.gather(node.run(), operator), BOUND_S)
            return replies, reason
        finally:
            await exchange.stop()

    replies, reason = asyncio.run(scenario())
    return base / "run", replies, reason


def test_a_request_without_the_token_is_refused_counted_and_never_echoed(operated: tuple) -> None:
    run_dir, replies, _ = operated
    assert [status for status, _ in replies["refused"]] == [401, 401, 401, 401]
    assert all(TOKEN not in body for _, body in replies["refused"])
    assert replies["after"]["unauthorized"] == 4
    journal = list(JournalReader(run_dir / "journal").events())
    assert not [e for e in journal if e.kind == EventKind.KILL_SWITCH and e.reason != ControlSource.OPERATOR]
    assert TOKEN.encode() not in b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())


def test_status_says_where_the_session_is(operated: tuple) -> None:
    _, replies, _ = operated
    status, body = replies["status"]
    assert status == 200 and body["session"] == "open" and body["trading_enabled"] and not body["kill_switch"]
    assert body["instruments"]["BTCUSDT"]["synced"] and body["position"] > 0 and len(body["digest"]) == 32
    assert replies["after"]["kill_switch"] and replies["after"]["position"] > body["position"]


def test_every_accepted_action_is_a_journaled_input_with_the_operator_as_its_source(operated: tuple) -> None:
    run_dir, replies, reason = operated
    assert reason == StopReason.OPERATOR
    assert (
        replies["disable"]["accepted"] == "TRADING_DISABLED" and replies["stop"]["accepted"] == "SESSION_STOP"
    )
    journal = list(JournalReader(run_dir / "journal").events())
    controls = [
        e
        for e in journal
        if e.kind in (EventKind.TRADING_DISABLED, EventKind.TRADING_ENABLED, EventKind.KILL_SWITCH)
    ]
    operator = [
        (EventKind(e.kind).name, e.ts_receive) for e in controls if e.reason == ControlSource.OPERATOR
    ]
    assert operator == [
        ("TRADING_DISABLED", replies["disable"]["ts"]),
        ("TRADING_ENABLED", replies["enable"]["ts"]),
        ("KILL_SWITCH", replies["kill"]["ts"]),
    ]
    assert journal[-1].kind == EventKind.SESSION_STOP and journal[-1].reason == StopReason.OPERATOR


def test_the_kill_switch_cancels_every_order_and_blocks_new_ones(operated: tuple) -> None:
    run_dir, _, _ = operated
    journal = list(JournalReader(run_dir / "journal").events())
    kill = next(i for i, e in enumerate(journal) if e.kind == EventKind.KILL_SWITCH)
    working = {e.client_order_id for e in journal[:kill] if e.kind == EventKind.ACK} - {
        e.client_order_id for e in journal[:kill] if e.kind in (EventKind.CANCEL_ACK, EventKind.EXPIRED)
    }
    working -= {
        e.client_order_id for e in journal[:kill] if e.kind == EventKind.FILL and e.qty
    }  # filled ones may be done
    cancels = {
        e.client_order_id
        for e in journal[kill:]
        if e.kind == EventKind.DISPATCH and e.command == Command.CANCEL
    }
    assert cancels and working <= cancels
    after = journal[kill:]
    assert not [
        e for e in after if e.kind == EventKind.DISPATCH and e.command == Command.NEW and not e.reason
    ]
    # the strategy sees trading is off (View.trading); whatever it still asks for, risk refuses
    denied = {e.reason for e in after if e.kind == EventKind.RISK_DECISION and not e.allowed}
    assert denied <= {RiskReason.KILL_SWITCH}


def test_metrics_health_and_readiness(operated: tuple) -> None:
    _, replies, _ = operated
    status, content_type, text = replies["metrics"]
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "canonicalflow_events",
        "canonicalflow_feed_lag_seconds",
        "canonicalflow_tick_to_decision_seconds",
        "canonicalflow_tick_to_order_seconds",
        "canonicalflow_journal_commit_seconds",
        "canonicalflow_open_orders",
        "canonicalflow_inventory_lots",
        "canonicalflow_pnl",
        "canonicalflow_risk_denials",
        "canonicalflow_reconnects",
        "canonicalflow_unauthorized",
        "canonicalflow_journal_bytes",
        "canonicalflow_ready",
        "canonicalflow_input_lag_seconds",
        "canonicalflow_input_queue",
        "canonicalflow_position",
        "canonicalflow_book_synced",
    ):
        assert name in families, name
    kinds = {
        s.labels["kind"]: s.value
        for s in families["canonicalflow_events"].samples
        if s.name.endswith("_total")
    }
    assert kinds["LEVEL_SET"] > 0 and kinds["DISPATCH"] > 0
    orders = [s for s in families["canonicalflow_tick_to_order_seconds"].samples if s.name.endswith("_count")]
    assert 0 < orders[0].value <= kinds["DISPATCH"]  # each request handed over; a withdrawn one is not
    assert replies["healthz"] == 200 and replies["readyz"] == (
        200,
        {"ready": True, "synced": {"BTCUSDT": True}},
    )


def test_replay_and_parity_make_the_operators_session_again(operated: tuple) -> None:
    run_dir, _, _ = operated
    assert rerun_decisions(run_dir)[1] is None
    result = check_parity(run_dir)
    assert result.identical, result.cause()
