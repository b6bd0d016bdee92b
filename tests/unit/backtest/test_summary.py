"""`summarize`: each metric against an answer worked out by hand, on small tables built row by row."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pyarrow as pa
import pytest

from canonicalflow.backtest._summary import read_summary, summarize, write_summary
from canonicalflow.backtest._tables import EQUITY, FILLS, HOLDINGS, ORDERS, QUEUE, SCHEMAS

NAN = math.nan
SECOND = 1_000_000_000
META = {
    "name": "mm-demo",
    "fingerprint": "cafe01",
    "market_events": 1_000,
    "folded_events": 0,
    "recorded_events": 40,
    "elapsed_s": 4.0,
    "final_position": 3,
    "final_digest": "00ff",
    "sample_ns": SECOND,
}


def tables(**given: list[dict]) -> dict[str, pa.Table]:
    """The five tables, empty unless rows are given."""
    assert set(given) <= set(SCHEMAS), f"no such table: {sorted(set(given) - set(SCHEMAS))}"
    return {
        name: pa.Table.from_pylist(given.get(name, []), schema=schema) for name, schema in SCHEMAS.items()
    }


def equity_row(ts: int, pnl: float, instrument: int = 1, **values: object) -> dict:
    row = dict.fromkeys(EQUITY.names, 0.0) | {"ts": ts, "instrument": instrument, "symbol": f"S{instrument}"}
    return row | {"inventory": 0, "pnl_value": pnl, "realized_value": pnl, **values}


def fill_row(side: int, price: float, qty: int, liquidity: int, mid: float, ahead: float = NAN) -> dict:
    row = dict.fromkeys(FILLS.names, 0) | {"symbol": "S1", "instrument": 1, "side": side, "qty": qty}
    return row | {"price_value": price, "liquidity": liquidity, "mid_value": mid, "queue_ahead": ahead}


def order_row(qty: int, filled: int, status: str = "Filled", ahead_at_ack: float = NAN) -> dict:
    row = dict.fromkeys(ORDERS.names, 0) | {"symbol": "S1", "qty": qty, "filled": filled, "status": status}
    return row | {"price_value": 100.0, "queue_ahead_at_ack": ahead_at_ack}


def holding_row(instrument: int, realized: float, unrealized: float, fees: float, volume: int) -> dict:
    return dict.fromkeys(HOLDINGS.names, 0.0) | {
        "instrument": instrument,
        "symbol": f"S{instrument}",
        "inventory": instrument * 10,
        "realized_value": realized,
        "unrealized_value": unrealized,
        "fees_value": fees,
        "pnl_value": realized + unrealized - fees,
        "volume": volume,
        "traded_value": volume * 100.0,
        "fills": 1,
    }


def queue_row(ts: int, ahead: float) -> dict:
    return (
        dict.fromkeys(QUEUE.names, 0)
        | {"ts": ts, "instrument": 1, "side": 1, "ahead": ahead}
        | {
            "price_value": 100.0,
            "level": 50.0,
        }
    )


def curve_over_two_instruments(curve: list[float]) -> list[dict]:
    """The curve split unevenly over two instruments, rows newest first: only the sum per ts may matter."""
    rows = []
    for ts, total in enumerate(curve, start=1):
        share = 0.25 * ts
        rows += [equity_row(ts * SECOND, share, 1), equity_row(ts * SECOND, total - share, 2)]
    return rows[::-1]


def test_meta_is_copied_and_events_per_second_derived() -> None:
    summary = summarize(tables(), META)

    assert {key: summary[key] for key in META} == META
    assert summary["events_per_s"] == 250.0


def test_events_per_second_is_none_when_nothing_was_timed() -> None:
    assert summarize(tables(), META | {"elapsed_s": 0.0})["events_per_s"] is None


def test_a_missing_run_fact_is_an_error() -> None:
    meta = dict(META)
    del meta["final_digest"]
    with pytest.raises(KeyError, match="final_digest"):
        summarize(tables(), meta)


def test_empty_run_has_zero_totals_and_no_ratios() -> None:
    summary = summarize(tables(), META)

    assert {key: summary[key] for key in summary if key not in META} == {
        "events_per_s": 250.0,
        "pnl": 0.0,
        "realized": 0.0,
        "unrealized": 0.0,
        "fees": 0.0,
        "turnover": 0.0,
        "volume": 0,
        "per_instrument": [],
        "sharpe": None,
        "max_drawdown": None,
        "max_drawdown_start_ts": None,
        "max_drawdown_end_ts": None,
        "orders": 0,
        "fills": 0,
        "fill_ratio": None,
        "maker_share": None,
        "rejected": 0,
        "spread_captured": None,
        "queue": {
            "ahead_at_ack_mean": None,
            "ahead_at_ack_median": None,
            "filled_ahead_at_ack_mean": None,
            "filled_ahead_at_ack_median": None,
            "samples": 0,
        },
    }


def test_max_drawdown_of_the_total_curve_runs_from_its_peak_to_its_trough() -> None:
    summary = summarize(tables(equity=curve_over_two_instruments([0, 10, 5, 20, 8])), META)

    assert summary["max_drawdown"] == pytest.approx(12.0)
    assert (summary["max_drawdown_start_ts"], summary["max_drawdown_end_ts"]) == (4 * SECOND, 5 * SECOND)


def test_drawdown_starts_at_the_last_return_to_the_peak() -> None:
    summary = summarize(tables(equity=curve_over_two_instruments([0, 10, 5, 10, 2, 6])), META)

    assert summary["max_drawdown"] == pytest.approx(8.0)
    assert (summary["max_drawdown_start_ts"], summary["max_drawdown_end_ts"]) == (4 * SECOND, 5 * SECOND)


def test_a_curve_that_never_falls_has_zero_drawdown_and_no_span() -> None:
    summary = summarize(tables(equity=curve_over_two_instruments([0, 1, 1, 3])), META)

    assert summary["max_drawdown"] == 0.0
    assert summary["max_drawdown_start_ts"] is None
    assert summary["max_drawdown_end_ts"] is None


@pytest.mark.parametrize("sample_ns", [SECOND, 60 * SECOND])
def test_sharpe_annualises_the_pnl_increments_per_sample(sample_ns: int) -> None:
    summary = summarize(
        tables(equity=curve_over_two_instruments([0, 10, 5, 20, 8])), META | {"sample_ns": sample_ns}
    )

    increments = [10, -5, 15, -12]
    per_year = 365 * 86_400 * 1e9 / sample_ns
    expected = statistics.mean(increments) / statistics.stdev(increments) * math.sqrt(per_year)
    assert summary["sharpe"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "curve",
    [[0.0, 5.0], [0.0, 0.1, 0.2, 0.3, 0.4], [7.0, 7.0, 7.0]],
    ids=["one-increment", "equal-increments", "flat"],
)
def test_sharpe_is_none_without_two_increments_that_vary(curve: list[float]) -> None:
    assert summarize(tables(equity=curve_over_two_instruments(curve)), META)["sharpe"] is None


def test_a_sample_with_an_unmarked_instrument_is_left_out_of_the_curve() -> None:
    rows = curve_over_two_instruments([0, 10, 5, 20, 8])
    rows.append(equity_row(6 * SECOND, 1.0, 1))
    rows.append(equity_row(6 * SECOND, NAN, 2))  # a partial sum of 1.0 would deepen the drawdown to 19

    summary = summarize(tables(equity=rows), META)

    assert summary["max_drawdown"] == pytest.approx(12.0)
    assert summary["max_drawdown_end_ts"] == 5 * SECOND


def test_holdings_give_the_totals_and_one_entry_per_instrument_in_instrument_order() -> None:
    holdings = [holding_row(2, 30.0, -4.0, 1.5, 7), holding_row(1, 10.0, 2.5, 0.5, 3)]

    summary = summarize(tables(holdings=holdings), META)

    assert summary["pnl"] == pytest.approx(10.0 + 2.5 - 0.5 + 30.0 - 4.0 - 1.5)
    assert (summary["realized"], summary["unrealized"], summary["fees"]) == (40.0, -1.5, 2.0)
    assert (summary["turnover"], summary["volume"]) == (1000.0, 10)
    assert summary["per_instrument"] == [
        {
            "symbol": "S1",
            "inventory": 10,
            "pnl": 12.0,
            "realized": 10.0,
            "unrealized": 2.5,
            "fees": 0.5,
            "volume": 3,
            "traded": 300.0,
        },
        {
            "symbol": "S2",
            "inventory": 20,
            "pnl": 24.5,
            "realized": 30.0,
            "unrealized": -4.0,
            "fees": 1.5,
            "volume": 7,
            "traded": 700.0,
        },
    ]


def test_an_unmarked_holding_makes_its_values_and_the_totals_none_not_nan() -> None:
    holdings = [holding_row(1, 10.0, NAN, 0.5, 3), holding_row(2, 1.0, 1.0, 0.0, 1)]

    summary = summarize(tables(holdings=holdings), META)

    assert summary["unrealized"] is None and summary["pnl"] is None
    assert summary["realized"] == 11.0
    assert summary["per_instrument"][0]["unrealized"] is None
    json.dumps(summary, allow_nan=False)


def test_order_and_fill_counts_ratios_and_maker_share() -> None:
    orders = [
        order_row(10, 10),
        order_row(5, 2, "Cancelled"),
        order_row(5, 0, "Rejected"),
        order_row(4, 0, "Rejected"),
    ]
    fills = [fill_row(1, 99.0, 10, 1, NAN), fill_row(-1, 101.0, 2, 2, NAN)]

    summary = summarize(tables(orders=orders, fills=fills), META)

    assert (summary["orders"], summary["fills"], summary["rejected"]) == (4, 2, 2)
    assert summary["fill_ratio"] == pytest.approx(12 / 24)
    assert summary["maker_share"] == pytest.approx(10 / 12)
    assert summary["spread_captured"] is None  # no fill had a mid


def test_spread_captured_is_the_qty_weighted_edge_to_mid_of_fills_with_a_mid() -> None:
    fills = [
        fill_row(1, 99.5, 3, 1, 100.0),  # bought 0.5 below mid
        fill_row(-1, 100.25, 1, 1, 100.0),  # sold 0.25 above mid
        fill_row(1, 100.5, 2, 2, 100.0),  # paid 0.5 over mid
        fill_row(1, 50.0, 100, 2, NAN),  # no mid: left out
    ]

    summary = summarize(tables(fills=fills), META)

    assert summary["spread_captured"] == pytest.approx((3 * 0.5 + 1 * 0.25 + 2 * -0.5) / 6)


def test_queue_statistics_use_finite_values_and_maker_fills_only() -> None:
    orders = [order_row(1, 0, ahead_at_ack=a) for a in (4.0, NAN, 10.0, 1.0)]
    fills = [fill_row(1, 100.0, 1, 1, 100.0, ahead=a) for a in (2.0, 6.0, NAN)]
    fills.append(fill_row(1, 100.0, 1, 2, 100.0, ahead=500.0))  # a taker: never in the queue
    queue = [queue_row(ts, 3.0) for ts in range(5)]

    summary = summarize(tables(orders=orders, fills=fills, queue=queue), META)

    assert summary["queue"] == {
        "ahead_at_ack_mean": pytest.approx(5.0),
        "ahead_at_ack_median": 4.0,
        "filled_ahead_at_ack_mean": 4.0,
        "filled_ahead_at_ack_median": 4.0,
        "samples": 5,
    }


def test_write_and_read_round_trip_as_sorted_pretty_json(tmp_path: Path) -> None:
    summary = summarize(tables(equity=curve_over_two_instruments([0, 10, 5, 20, 8])), META)
    path = tmp_path / "summary.json"

    write_summary(path, summary)

    text = path.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "')
    keys = list(json.loads(text))
    assert keys == sorted(keys)
    assert read_summary(path) == summary


def test_write_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_summary(tmp_path / "summary.json", {"pnl": NAN})
