"""The simulated venue against hftbacktest 2.4.4 on real Binance data: identical fills.

Both engines replay the same canonical events (usdm BTCUSDT, 2024-08-08, about 5 min 45 s) and
the same scripted order sequence, with the same constant order latency, no partial fills (our
whole-fill mode, hftbacktest's NoPartialFillExchange) and the same queue model. Every fill must
agree on order, exchange time, price, quantity and maker flag, and every order on its final
status. hftbacktest is an optional test dependency: without it these tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._binance import read_binance_stream
from canonicalflow.events import Event, EventKind

from ._canonicalflow_side import run_canonicalflow
from ._script import ScriptedFill, ScriptedOrder
from ._scripts import make_script

hftbacktest_side = pytest.importorskip(
    "tests.differential._hftbacktest_side", reason="hftbacktest is not installed"
)

ENTRY_NS = RESPONSE_NS = 1_000_000  # 1 ms each way, for both engines


@pytest.fixture(scope="module")
def btcusdt(shared_data: Path) -> tuple[list[Event], CoreConfig]:
    path = shared_data / "hftbacktest_binance" / "usdm_btcusdt_20240808.gz"
    events = list(read_binance_stream(path, 1, Quarantine(), tick_size="0.1", lot_size="0.001"))
    instrument = Instrument(id=1, symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    return events, CoreConfig(version="differential", instruments=(instrument,))


@pytest.mark.parametrize(
    ("variant", "seed", "queue_model"),
    [
        ("maker", 1, "conservative"),
        ("maker", 2, "conservative"),
        ("taker", 3, "conservative"),
        ("maker", 1, "power:3"),
        ("maker", 4, "power2:2"),
        ("maker", 6, "power3:3"),
    ],
)
def test_the_same_script_gives_the_same_fills(
    btcusdt: tuple[list[Event], CoreConfig], variant: str, seed: int, queue_model: str
) -> None:
    events, config = btcusdt
    script = make_script(
        events, seed=seed, orders=40, entry_ns=ENTRY_NS, response_ns=RESPONSE_NS, variant=variant
    )
    theirs = hftbacktest_side.run_hftbacktest(
        events, script, queue_model=queue_model, entry_ns=ENTRY_NS, response_ns=RESPONSE_NS
    )
    fills, status = run_canonicalflow(
        events, config, script, queue_model=queue_model, entry_ns=ENTRY_NS, response_ns=RESPONSE_NS
    )
    assert len(theirs.fills) >= 10, "a script that fills almost nothing compares almost nothing"
    assert sorted(fills) == sorted(theirs.fills)
    assert status == theirs.status


def test_a_log_model_estimate_below_zero_keeps_us_at_the_front_where_hftbacktest_sends_us_back() -> None:
    """The one divergence found, on purpose: hftbacktest's log models take ln(1 + front) of a negative front.

    A big drop at our level can take the log model's estimate below zero. hftbacktest keeps the
    negative front; at the next depth change ln(1 + front) is NaN, and Rust's f64::min then
    returns the new level size, so the order jumps to the back of the queue. Our queue machine
    clamps the estimate at 0 (nothing can be less than nothing ahead) and its step invariant
    forbids moving back without losing priority, so the order stays at the front and the next
    trade at its price fills it.
    """
    t = 1_000_000_000
    config = CoreConfig(
        version="log", instruments=(Instrument(id=1, symbol="X", tick_size="1", lot_size="1"),)
    )

    def market(at: int, kind: EventKind, side: int, price: int, qty: int) -> Event:
        return Event(
            kind=int(kind),
            ts_exchange=t + at,
            ts_receive=t + at,
            instrument=1,
            side=side,
            price=price,
            qty=qty,
            flags=1,
        )

    events = [
        market(0, EventKind.LEVEL_SET, 1, 99, 5),
        market(1, EventKind.LEVEL_SET, -1, 100, 10),
        market(1_000, EventKind.LEVEL_SET, -1, 101, 1),  # the moment the order is sent
        market(10_000, EventKind.LEVEL_SET, -1, 100, 60),  # 10 ahead of us, 50 behind
        market(20_000, EventKind.LEVEL_SET, -1, 100, 5),  # the estimate: 10 - 0.379 * 55 - 0 < 0
        market(30_000, EventKind.LEVEL_SET, -1, 100, 4),  # a further drop: hftbacktest's ln(1 + front) is NaN
        market(40_000, EventKind.TRADE, 1, 100, 1),  # a buyer takes 1 lot at our price
        market(50_000, EventKind.LEVEL_SET, 1, 99, 4),
    ]
    script = [ScriptedOrder(t + 1_000, "new", 1, side=-1, price=100, qty=1)]
    ours, status = run_canonicalflow(events, config, script, queue_model="log", entry_ns=100, response_ns=100)
    rows = hftbacktest_side.order_rows(hftbacktest_side.to_rows(events))
    theirs = hftbacktest_side.run_rows(rows, script, queue_model="log", entry_ns=100, response_ns=100)
    assert ours == [ScriptedFill(1, t + 40_000, 100, 1, True)] and status == {1: "FILLED"}
    assert theirs.fills == [] and theirs.status == {1: "NEW"}
