"""A whole backtest on the shipped order flow: outputs, accounting, replay, cadence, config errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import ClassVar

import polars as pl
import pyarrow.compute as pc
import pytest

from canonicalflow.backtest import BacktestResult, load_config, run
from canonicalflow.backtest._rerun import rerun_decisions
from canonicalflow.errors import ConfigError, DataError
from canonicalflow.runtime import load_config as load_core_config
from canonicalflow.runtime import replay_journal
from canonicalflow.strategy import Strategy

MAKER = {
    "name": "maker",
    "data": {"generator": {"seed": 3, "events": 15_000}},
    "instruments": [{"id": 1, "symbol": "ZI", "tick_size": "0.01", "lot_size": "1"}],
    "venue": {"book": "l3", "fees": [{"instrument": 1, "maker": "-0.0001", "taker": "0.0003"}]},
    "risk": {"max_inventory": 6},
    "strategy": {
        "class": "canonicalflow.strategies:InventorySkewMaker",
        "params": {"size": 2, "max_inventory": 4},
    },
    "run": {"sample_ms": 500},
}


class Counting(Strategy):
    """Never trades; counts what it is asked, by hook."""

    calls: ClassVar[Counter] = Counter()

    def on_book(self, view, ev):
        Counting.calls["book"] += 1

    def on_trade(self, view, ev):
        Counting.calls["trade"] += 1

    def on_timer(self, view, ts):
        Counting.calls[("timer", ts % 250_000_000)] += 1


def _with(**changes) -> dict:
    config = json.loads(json.dumps(MAKER))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


@pytest.fixture(scope="module")
def maker(tmp_path_factory) -> BacktestResult:
    return run(MAKER, tmp_path_factory.mktemp("runs") / "maker", progress=False)


def test_a_run_writes_every_output(maker: BacktestResult) -> None:
    names = {p.name for p in maker.run_dir.iterdir()}
    assert {"journal", "backtest.json", "summary.json", "report.html"} <= names
    assert {f"{t}.parquet" for t in ("orders", "fills", "holdings", "equity", "queue")} <= names
    assert maker.summary["fills"] > 20 and maker.summary["market_events"] == 15_000
    again = BacktestResult.open(maker.run_dir)
    assert again.fills.equals(maker.fills) and again.summary == maker.summary


def test_the_tables_account_for_every_fill(maker: BacktestResult) -> None:
    fills, orders, holdings = maker.fills, maker.orders, maker.holdings
    signed = pc.sum(pc.multiply(fills["side"].cast("int64"), fills["qty"])).as_py()
    assert holdings["inventory"][0].as_py() == signed
    assert holdings["fills"][0].as_py() == fills.num_rows
    assert pc.sum(fills["fee"]).as_py() < 0  # all maker, all rebates
    per_order = Counter()
    for coid, qty in zip(fills["client_order_id"].to_pylist(), fills["qty"].to_pylist(), strict=True):
        per_order[coid] += qty
    assert {
        c: f
        for c, f in zip(orders["client_order_id"].to_pylist(), orders["filled"].to_pylist(), strict=True)
        if f
    } == dict(per_order)
    assert max(abs(p) for p in fills["inventory_after"].to_pylist()) <= 6  # risk.max_inventory
    assert maker.summary["pnl"] == pytest.approx(pc.sum(holdings["pnl_value"]).as_py())


def test_the_tables_convert_to_pandas_and_polars(maker: BacktestResult) -> None:
    frame = maker.fills.to_pandas()
    assert list(frame.columns) == maker.fills.column_names and len(frame) == maker.fills.num_rows
    assert pl.from_arrow(maker.equity).height == maker.equity.num_rows


def test_replaying_the_journal_reaches_the_final_digest(maker: BacktestResult) -> None:
    journal = maker.journal
    *_, (core, step) = replay_journal(journal, load_core_config(journal))
    assert step.position == maker.summary["final_position"]
    assert core.current_digest().hex() == maker.summary["final_digest"]


def test_rerunning_the_inputs_reproduces_every_decision(maker: BacktestResult) -> None:
    compared, difference = rerun_decisions(maker.run_dir)
    assert difference is None and compared == maker.summary["recorded_events"]


def test_a_different_strategy_on_the_same_inputs_is_caught(maker: BacktestResult, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "maker"
    shutil.copytree(maker.run_dir, copy)
    config = json.loads((copy / "backtest.json").read_text())
    config["strategy"]["params"]["size"] = 1
    (copy / "backtest.json").write_text(json.dumps(config))
    compared, difference = rerun_decisions(copy)
    assert difference is not None and 0 < compared < maker.summary["recorded_events"]


def test_the_cadence_skips_decisions_never_state_updates(tmp_path: Path) -> None:
    counting = {"class": "test_runner:Counting"}
    digests = {}
    for every in (1, 7):
        Counting.calls.clear()
        config = _with(strategy=dict(counting, cadence={"on": ["book"], "every": every}))
        digests[every] = run(config, tmp_path / str(every), progress=False, report=False).summary
        calls = dict(Counting.calls)
        assert set(calls) == {"book"}
        if every == 1:
            book_events = calls["book"]
    assert calls["book"] == book_events // 7
    assert digests[1]["final_digest"] == digests[7]["final_digest"]


def test_the_timer_fires_on_its_grid(tmp_path: Path) -> None:
    Counting.calls.clear()
    config = _with(strategy={"class": "test_runner:Counting", "cadence": {"on": ["timer"], "timer_ms": 250}})
    result = run(config, tmp_path / "timer", progress=False, report=False)
    assert set(Counting.calls) == {("timer", 0)}  # every call on a multiple of 250 ms
    span_s = (pc.max(result.equity["ts"]).as_py() - pc.min(result.equity["ts"]).as_py()) / 1e9
    assert abs(Counting.calls[("timer", 0)] - span_s * 4) <= 4


def test_unknown_keys_are_refused_with_their_place() -> None:
    with pytest.raises(ConfigError, match=r"risk\.max_postion"):
        load_config(_with(risk={"max_postion": 5}))
    with pytest.raises(ConfigError, match="name one source: a store"):
        load_config(_with(data={}))


def test_paths_in_a_file_resolve_from_the_file_so_a_run_replays_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "latency.csv").write_text("req_ts,exch_ts,resp_ts\n0,400000,900000\n")
    toml = tmp_path / "maker.toml"
    toml.write_text(
        'name = "maker"\n[data.generator]\nseed = 3\nevents = 100\n'
        '[[instruments]]\nid = 1\nsymbol = "ZI"\ntick_size = "0.01"\nlot_size = "1"\n'
        '[venue.latency]\nmodel = "empirical"\nfile = "latency.csv"\n'
        '[strategy]\nclass = "canonicalflow.strategies:InventorySkewMaker"\n'
    )
    monkeypatch.chdir(tmp_path.parent)  # not where the file is
    assert load_config(toml).venue.latency.file == tmp_path / "latency.csv"
    with pytest.raises(ConfigError, match=r"venue\.latency: .*missing\.csv: cannot read latency samples"):
        load_config(_with(venue={"latency": {"model": "empirical", "file": str(tmp_path / "missing.csv")}}))


def test_a_strategy_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere:Nothing"):
        run(_with(strategy={"class": "nowhere:Nothing"}), tmp_path / "x", progress=False)
    with pytest.raises(ConfigError, match="max_inventory"):
        run(_with(strategy__params={"max_inventory": 0}), tmp_path / "y", progress=False)


def test_a_run_directory_in_use_is_not_overwritten(maker: BacktestResult) -> None:
    before = sorted(p.name for p in maker.run_dir.iterdir())
    with pytest.raises(DataError, match="--force"):
        run(MAKER, maker.run_dir, progress=False)
    assert sorted(p.name for p in maker.run_dir.iterdir()) == before


def test_the_fingerprint_names_the_configuration() -> None:
    assert load_config(MAKER).fingerprint == load_config(json.loads(json.dumps(MAKER))).fingerprint
    assert load_config(_with(risk={"max_inventory": 7})).fingerprint != load_config(MAKER).fingerprint
