"""Kill a live node with SIGKILL at random moments, restart it on its run directory, and check
that nothing it had acknowledged is lost and that the whole session is still proven by parity.

    python tools/crash_recovery.py --kills 100 [--seed 1] [--workdir DIR]

The local exchange replays a real capture (holding its replay while no client is connected, so
the capture lasts); each `canonicalflow live --resume` runs until a seeded random number of frames
more has reached it, then is killed with SIGKILL. After the kills a last run is stopped with
SIGTERM. Checked: every journal prefix seen right after a kill is still the journal's prefix (nothing
acknowledged lost), positions run 1..n, no client order id is used twice, each restart is a
FEED_GAP and a new snapshot, the rebuilt engine recorded the journal again (or the restart
would have failed), `replay` makes every decision again and `parity` is identical.
`tests/live/test_crash_recovery.py` runs this with 20 kills.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from canonicalflow.backtest import rerun_decisions
from canonicalflow.events import Command, EventKind
from canonicalflow.exchange import Capture, LocalExchange
from canonicalflow.journal import JournalReader
from canonicalflow.live import check_parity

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO.parent / "shared" / "data" / "hftbacktest_binance" / "usdm_btcusdt_20240808.gz"
GRID = ("0.1", "0.001")
BOUND_S = 120.0  # any one wait; none comes near it


@dataclass
class Report:
    kills: int = 0
    restarts: int = 0
    events: int = 0
    prefixes: list[tuple[int, str]] = field(default_factory=list)  # (last position, digest) after each kill
    feed_gaps: int = 0
    snapshots: int = 0
    orders: int = 0
    parity: str = ""
    elapsed_s: float = 0.0


def _config_text(port: int) -> str:
    example = (REPO / "examples" / "live-maker.toml").read_text()
    example = example.replace("ws://127.0.0.1:8765", f"ws://127.0.0.1:{port}")
    example = example.replace("http://127.0.0.1:8765", f"http://127.0.0.1:{port}")
    return example + "heartbeat_s = 30.0\n"


def _digest(journal: Path, first: int, last: int) -> str:
    """A hash of the journal's events `first`..`last`: the kills' stretches tile the journal."""
    digest = hashlib.blake2b(digest_size=16)
    for ev in JournalReader(journal).events(from_position=first, to_position=last):
        digest.update(repr(ev).encode())
    return digest.hexdigest()


async def _delivered_or_done(exchange: LocalExchange, frames: int) -> None:
    """Until `frames` frames have reached clients, or the capture is through."""
    waits = [
        asyncio.ensure_future(exchange.delivered_at_least(frames)),
        asyncio.ensure_future(exchange.done.wait()),
    ]
    try:
        await asyncio.wait_for(asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED), BOUND_S)
    finally:
        for wait in waits:
            wait.cancel()


async def _session(workdir: Path, kills: int, seed: int, speed: float) -> Report:
    rng = random.Random(seed)
    capture = Capture.load(CAPTURE)
    exchange = LocalExchange([capture], speed=speed, hold=True, grids={capture.symbol: GRID})
    _, port = await exchange.start()
    config = workdir / "live.toml"
    config.write_text(_config_text(port))
    run_dir = workdir / "run"
    command = [shutil.which("canonicalflow") or "canonicalflow", "live", str(config), "--out", str(run_dir)]
    report = Report()
    started = time.perf_counter()
    try:
        for number in range(kills + 1):
            log = workdir / f"node-{number:03d}.log"
            with log.open("wb") as output:
                node = subprocess.Popen(
                    command + (["--resume"] if number else []), stdout=output, stderr=subprocess.STDOUT
                )
            report.restarts += bool(number)
            last_run = number == kills or exchange.done.is_set()
            try:  # the last run goes on for 2,000 frames more and stops cleanly; the others are killed
                await _delivered_or_done(
                    exchange, exchange.delivered + (2_000 if last_run else rng.randint(40, 400))
                )
                node.send_signal(signal.SIGTERM if last_run else signal.SIGKILL)
                returncode = await asyncio.wait_for(asyncio.to_thread(node.wait), BOUND_S)
            except TimeoutError:
                node.kill()
                raise RuntimeError(
                    f"run {number} made no progress; its output: {log.read_text()[-2000:]}"
                ) from None
            if last_run:
                if returncode != 0:
                    raise RuntimeError(f"the last run failed; its output: {log.read_text()[-2000:]}")
                break
            report.kills += 1
            first = report.prefixes[-1][0] + 1 if report.prefixes else 1
            last = JournalReader(run_dir / "journal").last_position or 0
            report.prefixes.append((last, _digest(run_dir / "journal", first, last)))
    finally:
        await exchange.stop()
    report.elapsed_s = time.perf_counter() - started
    _check(run_dir, report)
    return report


def _check(run_dir: Path, report: Report) -> None:
    journal = run_dir / "journal"
    events = list(JournalReader(journal).events())
    report.events = len(events)
    assert [e.position for e in events] == list(range(1, len(events) + 1)), "positions must run 1..n"
    first = 1
    for last, digest in report.prefixes:
        assert _digest(journal, first, last) == digest, f"the journal's positions {first}..{last} changed"
        first = last + 1
    news = [e.client_order_id for e in events if e.kind == EventKind.DISPATCH and e.command == Command.NEW]
    assert len(news) == len(set(news)), "a client order id was used twice"
    report.orders = len(news)
    report.feed_gaps = sum(e.kind == EventKind.FEED_GAP for e in events)
    report.snapshots = sum(e.kind == EventKind.SNAPSHOT_BEGIN for e in events)
    assert sum(e.kind == EventKind.SESSION_START for e in events) == 1, "one session, opened once"
    assert events[-1].kind == EventKind.SESSION_STOP
    compared, difference = rerun_decisions(run_dir)
    assert difference is None, f"replay differs after {compared} events: {difference}"
    parity = check_parity(run_dir)
    assert parity.identical, parity.cause()
    report.parity = f"identical over {parity.compared:,} events"


def run(kills: int, seed: int, workdir: Path, speed: float = 4.0) -> Report:
    """`kills` kills (fewer if the capture runs out first: the report says how many), then a last
    run of 2,000 frames stopped cleanly. The replay holds while no node is connected."""
    return asyncio.run(_session(workdir, kills, seed, speed))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--speed", type=float, default=2.0, help="the replay's pace (the capture lasts 345 s at 1)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the run here (default: a temporary directory)"
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crash-recovery-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = run(args.kills, args.seed, workdir, speed=args.speed)
    print(
        f"crash recovery: {report.kills} kills, {report.restarts} restarts, {report.events:,} events, "
        f"{report.orders} orders, {report.feed_gaps} feed gaps, {report.snapshots} snapshots; "
        f"every acknowledged prefix kept; parity {report.parity}; {report.elapsed_s:.0f} s ({workdir})"
    )


if __name__ == "__main__":
    sys.exit(main())
