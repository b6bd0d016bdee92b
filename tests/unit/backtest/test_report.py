"""`render_report`: one self-contained page per run, whatever the run holds: nothing, one instrument, several, many rows."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canonicalflow.backtest import BacktestResult
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._summary import summarize, write_summary
from canonicalflow.backtest._tables import SCHEMAS
from canonicalflow.errors import DataError

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000
META = {
    "name": "mm <demo> & co",
    "fingerprint": "f1ng3r",
    "market_events": 5_000,
    "folded_events": 0,
    "recorded_events": 120,
    "elapsed_s": 0.5,
    "final_position": 2,
    "final_digest": "abcd",
    "sample_ns": SECOND,
}
PNG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def equity(samples: int, instruments: tuple[int, ...]) -> pa.Table:
    rng = np.random.default_rng(1)
    ts = np.repeat(T0 + np.arange(samples, dtype=np.int64) * SECOND, len(instruments))
    instrument = np.tile(np.array(instruments, dtype=np.int32), samples)
    mid = 100.0 * instrument + np.cumsum(rng.normal(0, 0.05, len(ts)))
    pnl = np.cumsum(rng.normal(0, 1, len(ts)))
    return pa.table(
        {
            "ts": ts,
            "instrument": instrument,
            "symbol": pa.array([f"S{i}" for i in instrument]),
            "best_bid_value": mid - 0.5,
            "best_ask_value": mid + 0.5,
            "mid_value": mid,
            "inventory": np.zeros(len(ts), dtype=np.int64),
            "realized_value": pnl / 2,
            "unrealized_value": pnl / 2,
            "fees_value": np.zeros(len(ts)),
            "pnl_value": pnl,
        },
        schema=SCHEMAS["equity"],
    )


def fills(count: int, instruments: tuple[int, ...], mid: bool = True) -> pa.Table:
    rng = np.random.default_rng(2)
    instrument = np.resize(np.array(instruments, dtype=np.int32), count)
    side = np.resize(np.array([1, -1, 1], dtype=np.int8), count)
    qty = np.resize(np.array([2, 1, 3], dtype=np.int64), count)
    price = 100.0 * instrument - side * 0.5
    liquidity = np.resize(np.array([1, 2], dtype=np.int8), count)
    ts = T0 + np.sort(rng.integers(0, 50 * SECOND, count))
    return pa.table(
        {
            "position": np.arange(count, dtype=np.int64),
            "ts_exchange": ts - 1_000,
            "ts_receive": ts,
            "instrument": instrument,
            "symbol": pa.array([f"S{i}" for i in instrument]),
            "client_order_id": np.arange(count, dtype=np.int64),
            "trade_id": np.arange(count, dtype=np.int64),
            "side": side,
            "price": (price * 100).astype(np.int64),
            "price_value": price,
            "qty": qty,
            "qty_value": qty.astype(np.float64),
            "liquidity": liquidity,
            "fee": np.zeros(count, dtype=np.int64),
            "fee_value": np.zeros(count),
            "mid_value": 100.0 * instrument if mid else np.full(count, np.nan),
            "inventory_after": np.cumsum(side * qty),
            "queue_ahead": np.where(liquidity == 1, 5.0, np.nan),
        },
        schema=SCHEMAS["fills"],
    )


def queue(count: int, instruments: tuple[int, ...]) -> pa.Table:
    ts = T0 + np.arange(count, dtype=np.int64) * SECOND // 10
    return pa.table(
        {
            "ts": ts,
            "instrument": np.resize(np.array(instruments, dtype=np.int32), count),
            "client_order_id": np.arange(count, dtype=np.int64),
            "side": np.resize(np.array([1, -1], dtype=np.int8), count),
            "price": np.full(count, 10_000, dtype=np.int64),
            "price_value": np.full(count, 100.0),
            "ahead": np.arange(count, dtype=np.float64) % 40,
            "level": np.full(count, 50.0),
        },
        schema=SCHEMAS["queue"],
    )


def holdings(instruments: tuple[int, ...]) -> pa.Table:
    rows = [
        dict.fromkeys(SCHEMAS["holdings"].names, 1.0)
        | {"instrument": i, "symbol": f"S{i}", "inventory": 2, "volume": 6, "fills": 3}
        for i in instruments
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMAS["holdings"])


def write_run(run_dir: Path, **given: pa.Table) -> Path:
    """A run directory: the five tables (empty unless given) and the summary computed from them."""
    assert set(given) <= set(SCHEMAS), f"no such table: {sorted(set(given) - set(SCHEMAS))}"
    run_dir.mkdir()
    tables = {name: given.get(name, schema.empty_table()) for name, schema in SCHEMAS.items()}
    for name, table in tables.items():
        pq.write_table(table, run_dir / f"{name}.parquet")
    write_summary(run_dir / "summary.json", summarize(tables, META))
    return run_dir


def figures(page: str) -> list[bytes]:
    """The embedded images, decoded; each must be a PNG."""
    images = [base64.b64decode(data) for data in PNG.findall(page)]
    assert page.count("<img") == len(images)
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    return images


def test_two_instruments_give_price_and_inventory_per_instrument_and_one_of_each_other_figure(
    tmp_path: Path,
) -> None:
    both = (1, 2)
    run_dir = write_run(
        tmp_path / "run",
        equity=equity(60, both),
        fills=fills(30, both),
        queue=queue(200, both),
        holdings=holdings(both),
    )

    path = render_report(run_dir)

    assert path == run_dir / "report.html"
    page = path.read_text()
    assert len(figures(page)) == 2 * 2 + 3  # price and inventory per instrument; PnL, spread, queue
    assert "<h1>mm &lt;demo&gt; &amp; co</h1>" in page and "<demo>" not in page
    assert "f1ng3r" in page and "S1: mid price" not in page  # titles are in the images, captions in HTML
    assert page.count("<figcaption>S1:") == 2 and page.count("<figcaption>S2:") == 2
    assert "<th>PnL</th>" in page and "<th>maker share</th><td>50.0%</td>" in page
    assert "<th>fills</th><td>30</td>" in page and "<th>queue</th><td>200</td>" in page
    assert "<code>summary.json</code>" in page and "<code>equity.parquet</code>" in page


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", equity=equity(20, (1,)), fills=fills(5, (1,)))

    page = render_report(run_dir).read_text()

    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "<script" not in page and "<link" not in page and "http" not in page


def test_an_empty_run_renders_notes_instead_of_figures(tmp_path: Path) -> None:
    page = render_report(write_run(tmp_path / "run")).read_text()

    assert figures(page) == []
    assert "No fills in this run." in page
    assert "No equity samples with a finite PnL in this run." in page
    assert "No queue samples in this run" in page
    assert "<th>Sharpe (PnL increments, 365-day year)</th><td>n/a</td>" in page
    assert "<th>orders</th><td>0</td>" in page


def test_one_instrument_without_fills_or_queue_still_plots_its_prices_inventory_and_pnl(
    tmp_path: Path,
) -> None:
    run_dir = write_run(tmp_path / "run", equity=equity(30, (7,)), holdings=holdings((7,)))

    page = render_report(run_dir).read_text()

    assert len(figures(page)) == 3
    assert (
        "S7: our book&#x27;s mid at each equity sample; fills at the time they reached us. No fills in this run."
        in page
    )
    assert "from the inventory at each equity sample (no fills)" in page
    assert "No fills in this run." in page and "No queue samples in this run" in page


def test_fills_without_a_mid_get_a_note_instead_of_a_histogram(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", equity=equity(30, (1,)), fills=fills(4, (1,), mid=False))

    page = render_report(run_dir).read_text()

    assert len(figures(page)) == 3  # price, inventory, PnL
    assert "No fill in this run reached us with a mid price" in page


def test_a_missing_table_is_an_error_naming_it(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    (run_dir / "queue.parquet").unlink()

    with pytest.raises(DataError, match=r"no queue\.parquet: not a complete run directory$"):
        render_report(run_dir)


def test_a_run_written_before_the_holdings_rename_says_so(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    (run_dir / "holdings.parquet").rename(run_dir / "positions.parquet")
    for read in (render_report, BacktestResult.open):
        with pytest.raises(
            DataError, match=r"no holdings\.parquet.*positions\.parquet: written by an earlier"
        ):
            read(run_dir)


def test_large_tables_are_thinned_so_the_page_stays_small_and_fast(tmp_path: Path) -> None:
    both = (1, 2)
    run_dir = write_run(
        tmp_path / "run",
        equity=equity(30_000, both),
        fills=fills(50_000, both),
        queue=queue(25_000, both),
        holdings=holdings(both),
    )

    page = render_report(run_dir).read_text()

    assert len(figures(page)) == 7
    assert len(page.encode()) < 3_000_000
    lines = shown(page, "30,000 mid samples") + shown(page, "30,000 samples")  # mids per instrument, PnL
    assert len(lines) == 3 and all(2_500 <= n <= 5_000 for n in lines)
    markers = shown(page, "25,000 fills") + shown(page, "25,000 samples")  # per instrument, and the queue
    assert len(markers) == 3 and all(n <= 20_000 for n in markers)


def shown(page: str, what: str) -> list[int]:
    """How many of `what` each caption says it shows."""
    return [int(n.replace(",", "")) for n in re.findall(rf"([\d,]+) of {what}", page)]
