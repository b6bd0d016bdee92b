"""The six example backtests in examples/ on real data: LOBSTER AMZN (L3) and Binance BTCUSDT (L2).

A module fixture ingests the data through `canonicalflow data ingest` into a temporary store;
each example config (read with tomllib, its store pointed there, `data.max_events` capped) runs
through `canonicalflow backtest` once, and the tests check what the run directory holds: the
journal replays to the summary's digest, the books balance (fills, orders, holdings, the Core,
the summary), makers make, takers take, no fill takes a position past `risk.max_inventory`, two
processes produce identical digests, and `canonicalflow report` renders the report again.

Time on 2 cores, measured with other work running: the whole module 57-68 s. Ingesting both files
takes ~10 s, the six capped runs ~30 s, replays and reports ~8 s, and the two verify-determinism
calls (four small runs in subprocesses) ~14 s.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from canonicalflow.cli import main
from canonicalflow.config import CoreConfig
from canonicalflow.journal import JournalReader
from canonicalflow.portfolio import Holding
from canonicalflow.runtime import CONFIG_FILE, replay_journal

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
LOBSTER = "lobster/AMZN_2012-06-21_34200000_57600000_{}_1.csv.gz"
BINANCE = "hftbacktest_binance/usdm_btcusdt_20240808.gz"
NAMES = [f"{data}-{role}" for data in ("lobster", "binance") for role in ("maker", "joiner", "taker")]
# Market events per run: the first 84 min of the AMZN day (74,716 events in all) and 42 s of the
# Binance capture (532,667); enough for every maker and joiner to fill, a few seconds a run.
CAP = {"lobster": 20_000, "binance": 60_000}
DETERMINISM_CAP = {"lobster": 8_000, "binance": 25_000}  # 33 min and 18 s; each runs twice
MAKER, TAKER = 1, 2
RUN_FILES = (
    "backtest.json",
    "summary.json",
    "report.html",
    *(f"{table}.parquet" for table in ("orders", "fills", "holdings", "equity", "queue")),
)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"canonicalflow {' '.join(args)}: {result.output}"
    return result.output


@pytest.fixture(scope="module")
def store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A canonical store holding nasdaq/AMZN/2012-06-21 and binance-usdm/BTCUSDT/2024-08-08."""
    root = tmp_path_factory.mktemp("real-data") / "store"
    lobster = [str(shared_data / LOBSTER.format(kind)) for kind in ("message", "orderbook")]
    binance = str(shared_data / BINANCE)
    for args in (
        ["lobster", *lobster, "--venue", "nasdaq", "--instrument", "AMZN", "--tick-size", "0.0001"],
        [
            "binance",
            binance,
            "--venue",
            "binance-usdm",
            "--instrument",
            "BTCUSDT",
            "--tick-size",
            "0.1",
            "--lot-size",
            "0.001",
        ],
    ):
        assert "lifecycle      Promoted" in _cli("data", "ingest", *args, "--store", str(root))
    listing = _cli("data", "ls", "--store", str(root))
    assert "nasdaq/AMZN/2012-06-21" in listing and "binance-usdm/BTCUSDT/2024-08-08" in listing
    return root


def _example(name: str, store: Path, max_events: int) -> dict[str, Any]:
    raw = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
    assert raw["data"]["store"] == "../store", f"{name}: the examples share one store beside examples/"
    raw["data"]["store"] = str(store)
    raw["data"]["max_events"] = max_events
    return raw


def _toml(raw: dict[str, Any]) -> str:
    """`raw` as TOML: one line per top-level key, tables inline (enough for a backtest config)."""
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in raw.items())


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def _write(raw: dict[str, Any], path: Path) -> Path:
    path.write_text(_toml(raw))
    assert tomllib.loads(path.read_text()) == raw
    return path


class Run:
    """One example's capped run: its config (as read), run directory, summary and tables."""

    def __init__(self, name: str, raw: dict[str, Any], run_dir: Path) -> None:
        self.name, self.raw, self.dir = name, raw, run_dir
        self.summary = json.loads((run_dir / "summary.json").read_text())
        self.orders, self.fills, self.holdings = (
            pq.read_table(run_dir / f"{table}.parquet").to_pylist()
            for table in ("orders", "fills", "holdings")
        )
        self.core_config = CoreConfig.model_validate_json((run_dir / "journal" / CONFIG_FILE).read_text())


@pytest.fixture(scope="module", params=NAMES)
def run(request: pytest.FixtureRequest, store: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    name: str = request.param
    work = tmp_path_factory.mktemp(name)
    raw = _example(name, store, CAP[name.split("-")[0]])
    config = _write(raw, work / f"{name}.toml")
    out = _cli("backtest", str(config), "--out", str(work / "run"), "--no-progress")
    assert "final digest" in out
    return Run(name, raw, work / "run")


def test_the_run_directory_is_complete_and_its_journal_replays_to_the_summary(run: Run) -> None:
    missing = [f for f in RUN_FILES if not (run.dir / f).is_file()]
    assert not missing, f"{run.name}: no {missing}"
    journal = run.dir / "journal"
    assert (journal / CONFIG_FILE).is_file() and list(journal.glob("segment-*"))
    assert run.summary["name"] == run.name
    assert run.summary["market_events"] == run.raw["data"]["max_events"]
    ((core, _),) = deque(replay_journal(journal, run.core_config), maxlen=1)  # the Core after the last event
    assert core.position == run.summary["final_position"]
    assert core.current_digest().hex() == run.summary["final_digest"]
    # the accounting below also holds against the Core the journal rebuilds
    for p in run.holdings:
        held = core.portfolio.holdings.get(p["instrument"], Holding())
        assert p["inventory"] == held.qty, run.name
        assert sum(f["fee"] for f in run.fills if f["instrument"] == p["instrument"]) == held.fees
        assert p["fills"] == held.fills


def test_fills_orders_positions_and_summary_balance(run: Run) -> None:
    fills, orders, holdings = run.fills, run.orders, run.holdings
    by_instrument: dict[int, list[dict]] = defaultdict(list)
    for f in sorted(fills, key=lambda f: f["position"]):
        by_instrument[f["instrument"]].append(f)
    assert {p["instrument"] for p in holdings} >= set(by_instrument)
    for p in holdings:
        own = by_instrument[p["instrument"]]
        held = 0
        for f in own:  # inventory_after is the running sum of the signed fills
            held += f["side"] * f["qty"]
            assert f["inventory_after"] == held, f
        assert p["inventory"] == held
        assert p["fills"] == len(own)
        assert p["volume"] == sum(f["qty"] for f in own)
        fees = sum(f["fee"] for f in own)
        assert p["fees_value"] == pytest.approx(sum(f["fee_value"] for f in own), abs=1e-6)
        decimals = run.core_config.instrument(p["instrument"]).currency_decimals
        assert p["fees_value"] == pytest.approx(fees / 10**decimals, abs=1e-9)  # fee: minimal units
    filled: dict[int, int] = defaultdict(int)
    for f in fills:
        filled[f["client_order_id"]] += f["qty"]
    assert {o["client_order_id"] for o in orders} >= set(filled)
    for o in orders:
        assert o["filled"] == filled.get(o["client_order_id"], 0), o
        assert o["filled"] <= o["qty"]
    summary = run.summary
    assert summary["fills"] == len(fills) and summary["orders"] == len(orders)
    assert summary["pnl"] == pytest.approx(sum(p["pnl_value"] for p in holdings), abs=1e-6)
    assert summary["fees"] == pytest.approx(sum(p["fees_value"] for p in holdings), abs=1e-6)
    assert summary["volume"] == sum(p["volume"] for p in holdings)


def test_makers_make_and_takers_take(run: Run) -> None:
    liquidity = {f["liquidity"] for f in run.fills}
    assert run.fills, f"{run.name}: no fills in {run.raw['data']['max_events']:,} events"
    if run.name.endswith("taker"):
        assert liquidity == {TAKER}
        assert all(o["order_type"] == 1 for o in run.orders)  # market orders only
        assert run.summary["maker_share"] == 0.0
    else:
        assert liquidity == {MAKER}
        assert all(o["tif"] == 3 for o in run.orders)  # post-only: never takes
        assert run.summary["maker_share"] == 1.0


def test_no_fill_takes_a_position_past_the_risk_limit(run: Run) -> None:
    limit = run.raw["risk"]["max_inventory"]
    worst = max((abs(f["inventory_after"]) for f in run.fills), default=0)
    assert worst <= limit, f"{run.name}: held {worst} lots, max_inventory {limit}"
    assert max(abs(p["inventory"]) for p in run.holdings) <= limit
    params = run.raw["strategy"]["params"]
    assert max(o["qty"] - o["filled"] for o in run.orders) <= params["size"]


def test_report_renders_again(run: Run) -> None:
    report = run.dir / "report.html"
    report.unlink()
    assert "report written" in _cli("report", str(run.dir))
    html = report.read_text()
    assert html.startswith("<!") and run.name in html


@pytest.mark.parametrize("name", ["lobster-maker", "binance-joiner"])
def test_two_processes_produce_identical_digests(
    name: str, store: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp(f"determinism-{name}")
    raw = _example(name, store, DETERMINISM_CAP[name.split("-")[0]])
    out = _cli("verify-determinism", str(_write(raw, work / f"{name}.toml")))
    assert "identical digests" in out, out
    compared = int(re.search(r"at all ([\d,]+) positions", out)[1].replace(",", ""))
    assert compared > raw["data"]["max_events"]  # our own orders' events were compared too


def test_binance_runs_alike_folded_in_batches_or_event_by_event(run: Run, tmp_path: Path) -> None:
    """The Binance examples (L2) go through the columnar lane until they first act; the same run
    with `run.columnar = false` records the same journal and the same tables."""
    if not run.name.startswith("binance"):
        pytest.skip("L3 runs go event by event either way")
    raw = {**run.raw, "run": {**run.raw.get("run", {}), "columnar": False}}
    out = _cli(
        "backtest", str(_write(raw, tmp_path / "off.toml")), "--out", str(tmp_path / "off"), "--no-progress"
    )
    assert run.summary["final_digest"] in out
    journals = [list(JournalReader(d / "journal").events()) for d in (run.dir, tmp_path / "off")]
    assert journals[0] == journals[1]
    for table in ("orders", "fills", "holdings", "equity", "queue"):
        tables = [pq.read_table(d / f"{table}.parquet").to_pandas() for d in (run.dir, tmp_path / "off")]
        assert tables[0].equals(tables[1]), table
