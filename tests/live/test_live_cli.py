"""The commands a newcomer runs, as processes: `canonicalflow live` against the local exchange,
`canonicalflow ctl` operating it, a real Prometheus server (the Debian package) scraping its
metrics, and `canonicalflow parity` proving the session afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from _local import BOUND_S, GRIDS, load

from canonicalflow.exchange import LocalExchange

REPO = Path(__file__).resolve().parents[2]
CLI = shutil.which("canonicalflow") or "canonicalflow"
PROMETHEUS = shutil.which("prometheus")


def _config(port: int, token: Path) -> str:
    text = (REPO / "examples" / "live-maker.toml").read_text()
    text = text.replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    return (
        text
        + f'heartbeat_s = 30.0\n\n[live.control]\nport = 0\ntoken_file = "{token}"\n\n[live.metrics]\nport = 0\n'
    )


async def _ctl(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        CLI, "ctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), BOUND_S)
    return process.returncode or 0, out.decode()


async def _endpoints(node: asyncio.subprocess.Process) -> dict[str, str]:
    """The addresses the node logs once it serves, read off its output line by line."""
    found: dict[str, str] = {}
    assert node.stderr is not None
    while len(found) < 2:
        line = (await asyncio.wait_for(node.stderr.readline(), BOUND_S)).decode()
        assert line, "the node ended before it served"
        if match := re.search(r"(control API|metrics) at (http://\S+)", line):
            found[match.group(1)] = match.group(2)
    return found


def _scraped(prometheus_url: str, query: str) -> list[dict]:
    url = f"{prometheus_url}/api/v1/query?query={urllib.parse.quote(query)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["data"]["result"]


async def _prometheus_sees(metrics_url: str, workdir: Path) -> dict[str, list[dict]]:
    """A Prometheus server of our own scraping the node every 200 ms, on loopback, until the node's
    series are in its database (a bounded wait on Prometheus's answer)."""
    assert PROMETHEUS is not None
    target = metrics_url.removeprefix("http://")
    (workdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: canonicalflow\n    static_configs:\n      - targets: ['{target}']\n"
    )
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        queries = (
            "up",
            "canonicalflow_events_total",
            "canonicalflow_tick_to_order_seconds_count",
            "canonicalflow_ready",
        )
        seen: dict[str, list[dict]] = {}
        for _ in range(600):  # bounded: Prometheus scrapes on its own clock; ask until it has them
            try:
                seen = {q: await asyncio.to_thread(_scraped, url, q) for q in queries}
            except OSError:
                seen = {}
            if seen and all(seen.values()) and seen["up"][0]["value"][1] == "1":
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(f"Prometheus never saw the node's series: {seen}")
    finally:
        server.terminate()
        await server.wait()


@pytest.mark.skipif(
    PROMETHEUS is None, reason="the Debian prometheus package is not installed (tools/system-packages)"
)
def test_live_ctl_prometheus_and_parity_as_commands(shared_data: Path, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("cli-token\n")

    async def scenario() -> dict:
        grid = GRIDS[0]
        capture = load(shared_data, grid)
        exchange = LocalExchange(
            [dataclasses.replace(capture, messages=capture.messages[:30_000])],
            speed=4,
            hold=True,
            grids={capture.symbol: (grid.tick_size, grid.lot_size)},
        )
        _, port = await exchange.start()
        config = tmp_path / "live.toml"
        config.write_text(_config(port, token))
        run_dir = tmp_path / "run"
        node = await asyncio.create_subprocess_exec(
            CLI,
            "live",
            str(config),
            "--out",
            str(run_dir),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            endpoints = await _endpoints(node)
            await asyncio.wait_for(exchange.delivered_at_least(500), BOUND_S)
            outcome = {"status": await _ctl("status", str(run_dir))}
            outcome["prometheus"] = await _prometheus_sees(endpoints["metrics"], tmp_path)
            outcome["disable"] = await _ctl("disable", str(run_dir))
            wrong = tmp_path / "wrong-token"
            wrong.write_text("not-the-token")
            control = ("--url", endpoints["control API"], "--token-file")
            outcome["refused"] = await _ctl("status", *control, str(wrong))
            outcome["unusable"] = await _ctl("status", *control, str(config))
            outcome["stop"] = await _ctl("stop", str(run_dir))
            out, err = await asyncio.wait_for(node.communicate(), BOUND_S)
            outcome["node"] = (node.returncode, out.decode(), err.decode())
            return outcome
        finally:
            if node.returncode is None:
                node.kill()
            await exchange.stop()

    outcome = asyncio.run(scenario())
    code, status = outcome["status"]
    assert code == 0 and "position" in status and "BTCUSDT" in status, status
    seen = outcome["prometheus"]
    assert seen["up"][0]["value"][1] == "1"
    assert {s["metric"]["kind"] for s in seen["canonicalflow_events_total"]} >= {"LEVEL_SET", "SESSION_START"}
    assert json.loads(outcome["disable"][1])["accepted"] == "TRADING_DISABLED"
    code, refused = outcome["refused"]
    assert code == 1 and "token was refused" in refused and "not-the-token" not in refused
    code, unusable = outcome["unusable"]
    assert code == 1 and "must hold the token alone" in unusable and "Traceback" not in unusable
    assert json.loads(outcome["stop"][1])["accepted"] == "SESSION_STOP"
    code, out, err = outcome["node"]
    assert code == 0, err
    assert "cli-token" not in out + err  # never logged
    assert "stopped        operator" in out and "final digest" in out
    parity = subprocess.run(
        [CLI, "parity", str(tmp_path / "run")], capture_output=True, text=True, timeout=BOUND_S
    )
    assert parity.returncode == 0 and parity.stdout.startswith("parity: identical"), (
        parity.stdout + parity.stderr
    )


def test_live_help_names_the_config_and_refuses_a_bad_one(tmp_path: Path) -> None:
    for command in (["live"], ["parity"], ["ctl"], ["exchange", "serve"]):
        shown = subprocess.run([CLI, *command, "--help"], capture_output=True, text=True, timeout=BOUND_S)
        assert shown.returncode == 0 and "Usage:" in shown.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (REPO / "examples" / "live-maker.toml").read_text().replace('market = "usdm"', 'market = "moon"')
    )
    refused = subprocess.run(
        [CLI, "live", str(bad), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )
    assert (
        refused.returncode == 1 and "live.feed.market" in refused.stderr and not (tmp_path / "run").exists()
    )
    missing = tmp_path / "no-token.toml"
    missing.write_text(
        (REPO / "examples" / "live-maker.toml").read_text() + '\n[live.control]\ntoken_file = "absent"\n'
    )
    refused = subprocess.run(
        [CLI, "live", str(missing), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )
    assert refused.returncode == 1 and "token_file" in refused.stderr and not (tmp_path / "run").exists()


def test_a_port_already_taken_is_named_before_anything_is_written(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "live.toml"
        config.write_text(
            (REPO / "examples" / "live-maker.toml").read_text() + f"\n[live.metrics]\nport = {port}\n"
        )
        refused = subprocess.run(
            [CLI, "live", str(config), "--out", str(tmp_path / "run")],
            capture_output=True,
            text=True,
            timeout=BOUND_S,
        )
    assert (
        refused.returncode == 1 and f"live.metrics.port: cannot listen on 127.0.0.1:{port}" in refused.stderr
    )
    assert "Traceback" not in refused.stderr and not (tmp_path / "run").exists()
