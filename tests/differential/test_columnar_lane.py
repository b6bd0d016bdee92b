"""Folding market data in batches changes nothing: the same State, digests, journal, tables and
decisions as applying one event at a time.

Two implementations of the same fold are compared on an L2 stream with everything the lane must
step around: trades, tops of book, a book clear followed by a snapshot, a row whose receive time is
known to be bad. First the Core alone (`Core.apply_columns` against `Core.apply`, cut anywhere,
for several digest block sizes), then whole backtests with `run.columnar` on and off, for
strategies that are never asked, asked and do nothing, read the book at every event, act, and
wake on a timer.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.backtest import run
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.events import EVENT_SCHEMA, EventKind, Flag, events_of
from canonicalflow.journal import JournalReader
from canonicalflow.runtime import checkpoint_positions, load_checkpoint, load_config
from canonicalflow.state import Core
from canonicalflow.testing import Observer, store_table, synthetic_l2

EVENTS = 12_000
DATASET = "test/SYN/2000-01-01"
OTHER = "test/TWO/2000-01-01"
_K = EventKind


def _stream(n: int, seed: int) -> pa.Table:
    """`synthetic_l2` with trades, tops of book, a bad receive time, and a clear plus snapshot mid-way."""
    rng = random.Random(seed)
    rows = synthetic_l2(n, seed).to_pylist()
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        out.append(row)
        draw = rng.random()
        if draw < 0.04:
            side = rng.choice((1, -1, 0))
            out.append({**row, "kind": int(_K.TRADE), "side": side, "qty": rng.randint(1, 40), "trade_id": i})
        elif draw < 0.06:
            bbo = {"bid_price": row["price"] - 1, "bid_qty": 5, "ask_price": row["price"] + 1, "ask_qty": 7}
            out.append({**row, "kind": int(_K.BBO), "side": 0, "price": 0, "qty": 0, **bbo})
        elif draw < 0.061:
            bad = int(Flag.BAD_RECEIVE_TS | Flag.LAST_IN_PACKET)
            out.append({**row, "flags": bad, "ts_receive": row["ts_receive"] - 5_000_000})
        if i == n // 2:  # the venue resends its book: a clear, then a snapshot of the first 40 levels
            out.append({**row, "kind": int(_K.BOOK_CLEAR), "side": 0, "price": 0, "qty": 0})
            snapshot = [dict(r) for r in rows[:40]]
            for k, level in enumerate(snapshot):
                last = k == len(snapshot) - 1
                flags = int(Flag.SNAPSHOT | Flag.LAST_IN_PACKET) if last else int(Flag.SNAPSHOT)
                out.append(
                    {
                        **level,
                        "flags": flags,
                        "ts_exchange": row["ts_exchange"],
                        "ts_receive": row["ts_receive"],
                    }
                )
    for position, row in enumerate(out, 1):
        row["position"] = position
    return pa.Table.from_pylist(out, schema=EVENT_SCHEMA)


@pytest.fixture(scope="module")
def stream() -> pa.Table:
    return _stream(EVENTS, 11)


# ------------------------------------------------------------------ the Core alone
def _core(block: int) -> Core:
    instrument = Instrument(id=1, symbol="SYN", tick_size="0.01", lot_size="0.001")
    return Core(CoreConfig(version="columnar", instruments=(instrument,), digest_block=block))


def _fold(core: Core, table: pa.Table, cuts: list[int]) -> None:
    """Foldable runs in bulk (also cut at `cuts`), everything else one event at a time."""
    batch = table.combine_chunks().to_batches()[0]
    columns = {name: batch.column(name).to_numpy().astype(np.int64) for name in batch.schema.names}
    foldable = core.foldable(columns)
    edges = sorted({0, batch.num_rows, *cuts, *(np.flatnonzero(foldable[1:] != foldable[:-1]) + 1).tolist()})
    events = events_of(batch)
    for start, end in itertools.pairwise(edges):
        if foldable[start]:
            core.apply_columns({name: column[start:end] for name, column in columns.items()})
        else:
            for ev in events[start:end]:
                core.apply(ev)


@settings(max_examples=15, deadline=None)
@given(block=st.sampled_from([1, 7, 4096]), cuts=st.lists(st.integers(0, EVENTS), max_size=6))
def test_the_core_folds_a_batch_as_it_applies_its_events(
    stream: pa.Table, block: int, cuts: list[int]
) -> None:
    one_by_one, folded = _core(block), _core(block)
    for ev in events_of(stream.combine_chunks().to_batches()[0]):
        one_by_one.apply(ev)
    _fold(folded, stream, cuts)
    assert folded.current_digest() == one_by_one.current_digest()
    assert folded.digest == one_by_one.digest  # the same blocks sealed, the same records still open:
    assert b"".join(folded.chain.records) == b"".join(one_by_one.chain.records)
    assert (folded.position, folded.now) == (one_by_one.position, one_by_one.now)
    assert folded.market.to_data() == one_by_one.market.to_data()


def test_a_block_digest_is_the_hash_of_its_records() -> None:
    """With blocks of 4, the digest after position 8 links exactly two blocks, not eight positions."""
    one, four = _core(1), _core(4)
    table = synthetic_l2(10, 5)
    for ev in events_of(table.to_batches()[0]):
        one.apply(ev)
        four.apply(ev)
        if ev.position == 8:
            assert four.digest != one.digest and not four.chain.records
    assert len(four.chain.records) == 2  # positions 9 and 10 wait for their block to end
    assert four.current_digest() != four.digest


# ------------------------------------------------------------------ whole backtests
@pytest.fixture(scope="module")
def store(stream: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("columnar") / "store"
    store_table(stream, root, DATASET, "0.01", "0.001")
    # a second instrument on the same clock: its rows interleave with the first's, many at equal times
    other = _stream(EVENTS // 2, 12)
    other = other.set_column(4, EVENT_SCHEMA.field("instrument"), pa.array([2] * other.num_rows, pa.int64()))
    store_table(other, root, OTHER, "0.5", "1")
    return root


def _config(store: Path, name: str, strategy: str, cadence: dict[str, Any], params: dict[str, Any]) -> dict:
    return {
        "name": name,
        "data": {"store": str(store), "datasets": [DATASET]},
        "venue": {"book": "l2", "queue_model": "power", "queue_exponent": 2.0},
        "risk": {"max_inventory": 1_000, "max_order_qty": 10},
        "strategy": {"class": f"canonicalflow.testing:{strategy}", "params": params, "cadence": cadence},
        "run": {"sample_ms": 50},
    }


def _both_ways(configs: dict[bool, dict[str, Any]], tmp_path: Path) -> tuple[Any, Any]:
    """Each configuration run with `run.columnar` as its key says; (folded, one by one) once shown
    to agree on the journal, every digest reported, and the five tables."""
    results, digests = {}, {}
    for columnar, config in configs.items():
        config["run"]["columnar"] = columnar
        reported: list[tuple[int, bytes]] = []
        digests[columnar] = reported
        results[columnar] = run(
            config,
            tmp_path / config["name"],
            progress=False,
            report=False,
            digests=lambda p, d, reported=reported: reported.append((p, d)),
        )
    folded, one_by_one = results[True], results[False]
    assert list(JournalReader(folded.journal).events()) == list(JournalReader(one_by_one.journal).events())
    assert digests[True] == digests[False]  # what verify-determinism compares, position by position
    for table in ("orders", "fills", "holdings", "equity", "queue"):
        assert folded.table(table).to_pandas().equals(one_by_one.table(table).to_pandas()), table
    return folded, one_by_one


CASES = {
    "never asked": ("NoOp", {"on": []}, {}),
    "asked, does nothing": ("NoOp", {}, {}),
    "reads every event": ("Observer", {}, {"act_every": 0}),
    "reads every third packet end": ("Observer", {"every": 3, "packet_end": True}, {"act_every": 0}),
    "acts now and then": ("Observer", {}, {"act_every": 400, "cancel_after": 5}),
    "quotes the touch": ("TouchMaker", {}, {}),
    "a timer, does nothing": ("NoOp", {"timer_ms": 7}, {}),
    "reads on its timer only": ("Observer", {"on": ["timer"], "timer_ms": 3}, {"act_every": 0}),
    "acts on its timer and at events": ("Observer", {"timer_ms": 5}, {"act_every": 150, "cancel_after": 7}),
}


@pytest.mark.parametrize("case", CASES)
def test_a_backtest_folded_in_batches_is_the_backtest_run_event_by_event(
    store: Path, tmp_path: Path, case: str
) -> None:
    strategy, cadence, params = CASES[case]
    configs = {}
    for columnar in (True, False):
        name = f"{case} {columnar}".replace(" ", "-").replace(",", "")
        given = {"name": name, **params} if strategy == "Observer" else params
        configs[columnar] = _config(store, name, strategy, cadence, given)
    folded, one_by_one = _both_ways(configs, tmp_path)
    assert one_by_one.summary["folded_events"] == 0
    # a strategy that reads the book at every event has State brought to each: nothing is folded
    if strategy == "NoOp" or cadence.get("on") == ["timer"]:
        assert folded.summary["folded_events"] > EVENTS // 2, "the lane never engaged"
    ignored = {"name", "fingerprint", "elapsed_s", "events_per_s", "folded_events"}
    assert {k: v for k, v in folded.summary.items() if k not in ignored} == {
        k: v for k, v in one_by_one.summary.items() if k not in ignored
    }
    if strategy == "Observer":
        seen = [Observer.seen.pop(r.summary["name"]) for r in (folded, one_by_one)]
        assert seen[0] == seen[1] and len(seen[0]) > 100


@pytest.mark.parametrize("strategy, cadence", [("NoOp", {"on": []}), ("TouchMaker", {})])
def test_checkpoints_fall_where_they_fall_event_by_event(
    store: Path, tmp_path: Path, strategy: str, cadence: dict[str, Any]
) -> None:
    """With `run.checkpoint_every`, the lane hands each checkpoint's row to the sequencer: the same
    CHECKPOINT events at the same positions, and each checkpoint restores the same State."""
    configs = {}
    for columnar in (True, False):
        configs[columnar] = _config(store, f"checkpoints-{strategy}-{columnar}", strategy, cadence, {})
        configs[columnar]["run"]["checkpoint_every"] = 997
    folded, one_by_one = _both_ways(configs, tmp_path)
    if strategy == "NoOp":
        assert folded.summary["folded_events"] > EVENTS // 2, "the lane never engaged"
    positions = checkpoint_positions(folded.journal)
    assert len(positions) > 10 and positions == checkpoint_positions(one_by_one.journal)
    for position in positions:
        cores = [load_checkpoint(r.journal, position, load_config(r.journal)) for r in (folded, one_by_one)]
        assert cores[0].current_digest() == cores[1].current_digest()
        assert cores[0].snapshot() == cores[1].snapshot()  # all of State, books and places included


@pytest.mark.parametrize("strategy, cadence", [("NoOp", {"on": []}), ("NoOp", {}), ("TouchMaker", {})])
def test_several_datasets_merge_and_fold_as_event_by_event(
    store: Path, tmp_path: Path, strategy: str, cadence: dict[str, Any]
) -> None:
    """Two instruments' datasets, merged by receive time: folded in batches as one at a time."""
    configs = {}
    for columnar in (True, False):
        configs[columnar] = _config(store, f"two-{strategy}-{len(cadence)}-{columnar}", strategy, cadence, {})
        configs[columnar]["data"]["datasets"] = [DATASET, OTHER]
    folded, _ = _both_ways(configs, tmp_path)
    if strategy == "NoOp":
        assert folded.summary["folded_events"] > EVENTS, "the lane never engaged"
    assert {ev.instrument for ev in JournalReader(folded.journal).events() if ev.kind < 20} == {1, 2}
