"""`canonicalflow exchange serve`: the local exchange as a process, as a user starts it.

The test starts the real command on a free loopback port, waits for the line that says where it
listens (bounded, by the line arriving, not by sleeping), asks it over HTTP, and stops it with
SIGTERM, as an operator would."""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

CLI = shutil.which("canonicalflow") or "canonicalflow"
BOUND_S = 120


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines as they come, read on a thread so every wait can be bounded."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=BOUND_S) as response:
        return json.loads(response.read())


def test_serve_listens_answers_and_stops_on_sigterm(shared_data: Path) -> None:
    capture = shared_data / "hftbacktest_binance" / "spot_btcusdt_20240808.gz"
    process = subprocess.Popen(
        [
            CLI,
            "exchange",
            "serve",
            str(capture),
            "--port",
            "0",
            "--grid",
            "BTCUSDT=0.01,0.000001",
            "--fault",
            "chaos",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines(process)
        summary = lines.get(timeout=BOUND_S)
        assert re.match(
            r"BTCUSDT\s+spot\s+[\d,]+ messages\s+btcusdt@bookTicker, btcusdt@depth@100ms, btcusdt@trade",
            summary,
        )
        listening = lines.get(timeout=BOUND_S)
        base = re.match(r"serving on (http://127\.0\.0\.1:\d+)", listening)
        assert base, listening
        status = _get(f"{base[1]}/_local/status")
        assert status["started"] is False and status["sent"] == 0  # nobody subscribed: the replay waits
        assert status["faults"] == dict.fromkeys(("dropped", "gaps", "delayed", "disconnects", "stale"), 0)
        depth = _get(f"{base[1]}/api/v3/depth?symbol=BTCUSDT&limit=5")
        assert depth["lastUpdateId"] == status["update_ids"]["BTCUSDT"] and len(depth["bids"]) == 5
        info = _get(f"{base[1]}/api/v3/exchangeInfo")
        assert info["symbols"][0]["filters"][0]["tickSize"] == "0.01"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=BOUND_S) == 0
        assert lines.get(timeout=BOUND_S).startswith("stopped after 0 messages")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=BOUND_S)


def test_serve_refuses_an_unknown_fault_naming_the_ones_it_has(shared_data: Path) -> None:
    capture = shared_data / "hftbacktest_binance" / "spot_btcusdt_20240808.gz"
    done = subprocess.run(
        [CLI, "exchange", "serve", str(capture), "--fault", "flood=3"],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )
    assert done.returncode == 2 and "drop_every, gap_every, delay_every" in done.stderr


def test_serve_refuses_a_file_that_is_not_a_capture_naming_it(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("1723161255030314667 not json\n")
    done = subprocess.run(
        [CLI, "exchange", "serve", str(bogus)], capture_output=True, text=True, timeout=BOUND_S
    )
    assert done.returncode == 1
    assert re.fullmatch(rf"error: {re.escape(str(bogus))}:1: not a servable .*\n", done.stderr)
