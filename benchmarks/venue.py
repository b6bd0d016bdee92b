"""Backtest throughput with the simulated venue: 0, 10 and 100 of our orders resting, per queue model.

    python benchmarks/venue.py [--orders 0,10,100] [--models conservative,power,...] [--spacing 5]

Market data: the real Binance USD-M BTCUSDT capture (L2, 532,667 events) for every L2 queue
model, and LOBSTER AMZN (L3) for exact FIFO, both from ../shared/data. A keeper strategy holds N
orders resting near the touch (half bids, half asks, the first pair at the best and each next
one `--spacing` ticks further back) and replaces each one the moment it is filled, so N stay
resting all run long. The whole loop is timed: sequencer, Core with digests, venue, queue
kernels and reports. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterable
from pathlib import Path

from canonicalflow.backtest import simulate
from canonicalflow.book import ASK, BID, L2Book, L3Book, apply_l2, apply_l3
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.data import FORMATS
from canonicalflow.data._formats import Source
from canonicalflow.data.normalize import Quarantine
from canonicalflow.events import Event, EventKind, Intent, iter_events
from canonicalflow.queue import QUEUE_MODELS
from canonicalflow.state import Core, StepResult
from canonicalflow.venue import VenueConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_ENDED = frozenset((EventKind.CANCEL_ACK, EventKind.EXPIRED, EventKind.REJECT))


class Keeper:
    """Keeps `count` orders resting: order i sits `spacing` x (i // 2) ticks behind the best on its side."""

    def __init__(self, count: int, l3: bool, spacing: int) -> None:
        self.count, self.spacing = count, spacing
        self.working: dict[int, tuple[int, int, int]] = {}  # coid -> (slot, qty, filled)
        self.free = list(range(count))
        self.next_coid = 0
        self.book, self.apply = (L3Book(), apply_l3) if l3 else (L2Book(), apply_l2)

    def __call__(self, core: Core, ev: Event, step: StepResult) -> Iterable[Intent]:
        kind = ev.kind
        if kind < 20:
            self.apply(self.book, ev)
            if not ev.flags & 1:  # act on whole packets only: the book is consistent after them
                return ()
        elif kind == EventKind.FILL and ev.client_order_id in self.working:
            slot, qty, filled = self.working[ev.client_order_id]
            if filled + ev.qty >= qty:
                del self.working[ev.client_order_id]
                self.free.append(slot)
            else:
                self.working[ev.client_order_id] = (slot, qty, filled + ev.qty)
        elif kind in _ENDED and ev.client_order_id in self.working:
            self.free.append(self.working.pop(ev.client_order_id)[0])
        bid, ask = self.book.best(BID), self.book.best(ASK)
        if not self.free or bid is None or ask is None or bid[0] >= ask[0]:
            return ()
        intents = []
        while self.free:
            slot = self.free.pop()
            side = BID if slot % 2 == 0 else ASK
            self.next_coid += 1
            price = (bid if side == BID else ask)[0] - side * self.spacing * (slot // 2)
            intents.append(
                Intent(self.next_coid, ev.instrument, self.next_coid, 1, side=side, price=price, qty=1)
            )
            self.working[self.next_coid] = (slot, 1, 0)
        return intents


def load(
    fmt: str, files: tuple[str, ...], symbol: str, tick: str, lot: str
) -> tuple[list[Event], CoreConfig]:
    """A sample's canonical events, through the same normalizer `canonicalflow data ingest` uses."""
    source = Source(tuple(DATA / f for f in files), 1, tick, lot)
    events = [ev for batch in FORMATS[fmt].read(source, Quarantine()) for ev in iter_events(batch)]
    instrument = Instrument(id=1, symbol=symbol, tick_size=tick, lot_size=lot)
    return events, CoreConfig(version="bench", instruments=(instrument,))


def binance() -> tuple[list[Event], CoreConfig]:
    return load("binance", ("hftbacktest_binance/usdm_btcusdt_20240808.gz",), "BTCUSDT", "0.1", "0.001")


def lobster() -> tuple[list[Event], CoreConfig]:
    files = (
        "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.gz",
        "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_1.csv.gz",
    )
    return load("lobster", files, "AMZN", "0.0001", "1")


def run(
    events: list[Event], config: CoreConfig, venue: VenueConfig, orders: int, spacing: int
) -> tuple[float, int, int]:
    """(market events/s, recorded events, fills) of one backtest."""
    recorded: list[Event] = []
    started = time.perf_counter()
    simulate(
        events,
        config.model_copy(update={"market": venue.book_model()}),
        venue,
        Keeper(orders, venue.book == "l3", spacing),
        record=recorded.append,
    )
    elapsed = time.perf_counter() - started
    fills = sum(1 for ev in recorded if ev.kind == EventKind.FILL)
    return len(events) / elapsed, len(recorded), fills


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", default="0,10,100", help="resting order counts, comma-separated")
    parser.add_argument("--models", default=",".join(QUEUE_MODELS) + ",l3-fifo", help="queue models")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N market events")
    parser.add_argument("--spacing", type=int, default=5, help="ticks between the keeper's orders on a side")
    args = parser.parse_args()
    counts = [int(n) for n in args.orders.split(",")]
    print(f"{'data':<10} {'queue model':<14} {'resting':>7} {'market ev/s':>12} {'recorded':>9} {'fills':>6}")
    for model in args.models.split(","):
        events, config = lobster() if model == "l3-fifo" else binance()
        if args.limit:
            events = events[: args.limit]
        venue = VenueConfig(book="l3") if model == "l3-fifo" else VenueConfig(queue_model=model)
        for count in counts:
            rate, recorded, fills = run(events, config, venue, count, args.spacing)
            data = "lobster" if model == "l3-fifo" else "binance"
            print(f"{data:<10} {model:<14} {count:>7} {rate:>12,.0f} {recorded:>9,} {fills:>6,}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
