"""NautilusTrader 1.221.0 as a peer: the same canonical events replayed through its BacktestEngine.

The input is one Parquet file of CanonicalFlow canonical events. LEVEL_SET becomes an
`OrderBookDelta` (ADD for a new level, UPDATE for a known one, DELETE for quantity 0), TRADE a
`TradeTick` (aggressor from the side), BOOK_CLEAR a CLEAR delta; every delta is flagged F_LAST, so
the engine and a strategy see the book after every event. Other kinds are skipped and counted.
`ts_event` is the venue time (`ts_exchange`, or `ts_receive` when 0) and `ts_init` is
`ts_receive`; the data is sorted by `ts_init` (stable), the order Nautilus replays in. Nautilus
has no feed latency: its venue and its strategy both see an event at `ts_init`.

The venue: `book_type=L2_MBP`, NETTING margin account, a perpetual with the file's tick and lot as
its increments, zero fees, the default `FillModel`, `LatencyModel(base 1 ms)` (Nautilus delays
commands only; its responses arrive at once), the default `trade_execution=False` (trades set the
last price but fill nothing: resting orders fill when the book crosses them), the risk engine
bypassed (its default 100 orders/s throttle would deny the maker's orders), log level ERROR.
Every delta is F_LAST, so a strategy is called once per market event (`callbacks`).

Modes: `replay` runs the engine with no strategy; `noop` adds a Python Strategy subscribed to the
deltas (and trades, if any) whose handlers do nothing; `maker` quotes one post-only GTC lot at the
best bid and one at the best ask, cancelling a quote once the best moves away from it.

What is timed: `BacktestEngine.run()` alone, on a fresh engine each run. Reading the file, building
the Nautilus objects, constructing the engine, `add_instrument`, `add_strategy` and `add_data`
are not timed (`setup_s` is everything before the first timed run). The JSON line printed last
gives the median of the runs, the venue's own best bid and ask at the end (its matching engine's
book), and in maker mode the orders submitted and the fills seen.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from rss import peak_rss_mib

try:
    import nautilus_trader
    import numpy as np
    import pyarrow.parquet as pq
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import FillModel, LatencyModel, MakerTakerFeeModel
    from nautilus_trader.config import LoggingConfig, RiskEngineConfig, StrategyConfig
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas, TradeTick
    from nautilus_trader.model.enums import (
        AccountType,
        AggressorSide,
        BookAction,
        BookType,
        OmsType,
        OrderSide,
        OrderStatus,
        RecordFlag,
        TimeInForce,
    )
    from nautilus_trader.model.events import OrderFilled
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, TradeId, TraderId, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.model.orders import Order
    from nautilus_trader.trading.strategy import Strategy
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"peer_nautilus.py needs nautilus_trader==1.221.0 ({exc}): pip install -e '.[peers]'")

EXPECTED_VERSION = "1.221.0"
# canonicalflow.events.EventKind codes (stable: stored in every dataset)
BOOK_CLEAR, LEVEL_SET, TRADE = 5, 6, 9
LATENCY_NS = 1_000_000
QUEUE_MODEL = "none (1.221.0 has no queue model; default FillModel, prob_fill_on_limit=1)"
_VENUE = Venue("SIM")
_INSTRUMENT_ID = InstrumentId(Symbol("PEER"), _VENUE)
_COLUMNS = ["kind", "ts_exchange", "ts_receive", "side", "price", "qty", "trade_id", "sequence"]


# ------------------------------------------------------------------------------ the data
def _precision(step: str) -> int:
    """Decimal places of a tick or lot string: Nautilus requires every price and size at that precision."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def make_instrument(tick: str, lot: str) -> CryptoPerpetual:
    """A linear perpetual whose increments are the file's tick and lot, with no fees."""
    return CryptoPerpetual(
        instrument_id=_INSTRUMENT_ID,
        raw_symbol=_INSTRUMENT_ID.symbol,
        base_currency=USDT,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=_precision(tick),
        size_precision=_precision(lot),
        price_increment=Price.from_str(tick),
        size_increment=Quantity.from_str(lot),
        ts_event=0,
        ts_init=0,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
    )


def _rows(columns: list[np.ndarray], chunk: int = 100_000) -> Iterator[tuple[int, ...]]:
    """The rows as tuples of Python ints, converted a chunk at a time to bound the memory it takes."""
    for start in range(0, len(columns[0]), chunk):
        yield from zip(*(col[start : start + chunk].tolist() for col in columns), strict=True)


def load(path: Path, tick: str, lot: str) -> tuple[list[OrderBookDelta], list[TradeTick], int]:
    """Nautilus data for the file's market events, sorted by ts_init: (deltas, trades, skipped).

    Prices and sizes are built from raw fixed-point integers (ticks times the tick's raw value), so
    no float rounding can put one off the instrument's precision.
    """
    table = pq.read_table(path, columns=_COLUMNS)
    cols = {name: table.column(name).to_numpy() for name in _COLUMNS}
    keep = (cols["kind"] == LEVEL_SET) | (cols["kind"] == TRADE) | (cols["kind"] == BOOK_CLEAR)
    skipped = int(len(keep) - keep.sum())
    is_trade = cols["kind"][keep] == TRADE
    ts_init = cols["ts_receive"][keep]
    ties = np.intersect1d(ts_init[is_trade], ts_init[~is_trade]).size
    if ties:
        print(
            f"warning: {ties} receive times hold both trades and book events; Nautilus replays "
            "the book events first at equal ts_init, whatever the file order",
            file=sys.stderr,
        )
    order = ts_init.argsort(kind="stable")
    sorted_cols = [cols[name][keep][order] for name in _COLUMNS]
    del cols, table

    price_prec, size_prec = _precision(tick), _precision(lot)
    tick_raw, lot_raw = Price.from_str(tick).raw, Quantity.from_str(lot).raw
    iid = _INSTRUMENT_ID
    last = int(RecordFlag.F_LAST)
    add, update, delete, clear = BookAction.ADD, BookAction.UPDATE, BookAction.DELETE, BookAction.CLEAR
    buy, sell, no_side = OrderSide.BUY, OrderSide.SELL, OrderSide.NO_ORDER_SIDE
    aggressor = {1: AggressorSide.BUYER, -1: AggressorSide.SELLER, 0: AggressorSide.NO_AGGRESSOR}
    from_raw, trade_from_raw = OrderBookDelta.from_raw, TradeTick.from_raw
    levels: dict[int, set[int]] = {1: set(), -1: set()}  # prices present per side, for ADD vs UPDATE
    deltas: list[OrderBookDelta] = []
    trades: list[TradeTick] = []
    for i, (kind, ts_exch, ts_recv, side, price, qty, trade_id, seq) in enumerate(_rows(sorted_cols)):
        ts_event = ts_exch or ts_recv
        if kind == LEVEL_SET:
            present = levels[side]
            if qty == 0:
                action = delete
                present.discard(price)
            elif price in present:
                action = update
            else:
                action = add
                present.add(price)
            deltas.append(
                from_raw(
                    iid,
                    action,
                    buy if side > 0 else sell,
                    price * tick_raw,
                    price_prec,
                    qty * lot_raw,
                    size_prec,
                    0,
                    last,
                    seq,
                    ts_event,
                    ts_recv,
                )
            )
        elif kind == TRADE:
            trades.append(
                trade_from_raw(
                    iid,
                    price * tick_raw,
                    price_prec,
                    qty * lot_raw,
                    size_prec,
                    aggressor[side],
                    TradeId(str(trade_id or i + 1)),
                    ts_event,
                    ts_recv,
                )
            )
        else:
            levels[1].clear()
            levels[-1].clear()
            deltas.append(
                from_raw(iid, clear, no_side, 0, price_prec, 0, size_prec, 0, last, seq, ts_event, ts_recv)
            )
    return deltas, trades, skipped


# ------------------------------------------------------------------------------ strategies
class PeerConfig(StrategyConfig, frozen=True):
    """What the peer strategies need: the instrument, whether to subscribe to trades, the lot."""

    instrument_id: InstrumentId
    trades: bool
    lot: str


class NoopStrategy(Strategy):
    """Called on every market event and does nothing: the cost of the callback path alone."""

    def __init__(self, config: PeerConfig) -> None:
        super().__init__(config)
        self.orders_submitted = 0
        self.fills = 0

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id, book_type=BookType.L2_MBP)
        if self.config.trades:
            self.subscribe_trade_ticks(self.config.instrument_id)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        pass

    def on_trade_tick(self, tick: TradeTick) -> None:
        pass


class MakerStrategy(NoopStrategy):
    """One post-only lot resting at the best bid and one at the best ask, the same rules as the
    hftbacktest runner: on each market event and per side, submit when nothing is live or in
    flight; cancel a live quote whose price is no longer the best (the new one follows once the
    cancel is confirmed)."""

    def __init__(self, config: PeerConfig) -> None:
        super().__init__(config)
        self._qty = Quantity.from_str(config.lot)
        self._quotes: dict[OrderSide, Order | None] = {OrderSide.BUY: None, OrderSide.SELL: None}

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        self._quote()

    def on_trade_tick(self, tick: TradeTick) -> None:
        self._quote()

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills += 1

    def _quote(self) -> None:
        book = self.cache.order_book(self.config.instrument_id)
        if book is None:
            return
        self._side(OrderSide.BUY, book.best_bid_price())
        self._side(OrderSide.SELL, book.best_ask_price())

    def _side(self, side: OrderSide, best: Price | None) -> None:
        order = self._quotes[side]
        if order is not None:
            if order.is_closed:
                order = self._quotes[side] = None
            elif order.status == OrderStatus.ACCEPTED and (best is None or order.price != best):
                self.cancel_order(order)  # now PENDING_CANCEL: in flight until the venue answers
                return
            else:
                return  # SUBMITTED or PENDING_CANCEL: a request is in flight, or the quote is right
        if best is None:
            return
        order = self.order_factory.limit(
            instrument_id=self.config.instrument_id,
            order_side=side,
            quantity=self._qty,
            price=best,
            time_in_force=TimeInForce.GTC,
            post_only=True,
        )
        self._quotes[side] = order
        self.orders_submitted += 1
        self.submit_order(order)


# ------------------------------------------------------------------------------ the engine
def build_engine(
    instrument: CryptoPerpetual, deltas: list[OrderBookDelta], trades: list[TradeTick], mode: str, lot: str
) -> tuple[BacktestEngine, NoopStrategy | None]:
    """A fresh engine with the venue, the instrument, the mode's strategy and the data (untimed).

    Deltas and trades go in by separate `add_data` calls: the engine looks only at the first
    element of a call to learn that it has book data, and refuses an L2 venue without it.
    """
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("PEER-001"),
            logging=LoggingConfig(log_level="ERROR"),
            risk_engine=RiskEngineConfig(bypass=True),
        )
    )
    engine.add_venue(
        venue=_VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USDT,
        starting_balances=[Money(1_000_000_000, USDT)],
        fill_model=FillModel(),
        fee_model=MakerTakerFeeModel(),
        latency_model=LatencyModel(base_latency_nanos=LATENCY_NS),
        book_type=BookType.L2_MBP,
    )
    engine.add_instrument(instrument)
    strategy: NoopStrategy | None = None
    if mode != "replay":
        config = PeerConfig(instrument_id=instrument.id, trades=bool(trades), lot=lot)
        strategy = MakerStrategy(config) if mode == "maker" else NoopStrategy(config)
        engine.add_strategy(strategy)
    if deltas:
        engine.add_data(deltas)
    if trades:
        engine.add_data(trades)
    return engine, strategy


def venue_book(engine: BacktestEngine, instrument_id: InstrumentId) -> OrderBook:
    """The simulated venue's own order book. 1.221.0 keeps its exchanges in a private attribute,
    so it is found among the engine's referents (after the run, untimed)."""
    for ref in gc.get_referents(engine):
        if isinstance(ref, dict) and _VENUE in ref:
            return ref[_VENUE].get_book(instrument_id)
    raise RuntimeError("could not find the simulated exchange of the engine")


def _as_float(price: Price | None) -> float | None:
    return None if price is None else float(Decimal(str(price)))


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, convert the file once, run the mode `--repeat` times, print the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="canonical events (Parquet)")
    parser.add_argument("--tick", required=True, help="price of one tick, e.g. 0.01")
    parser.add_argument("--lot", required=True, help="size of one lot, e.g. 0.001")
    parser.add_argument("--mode", choices=("replay", "noop", "maker"), required=True)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs, each on a fresh engine (default 3)"
    )
    args = parser.parse_args(argv)
    if nautilus_trader.__version__ != EXPECTED_VERSION:
        print(
            f"warning: nautilus_trader {nautilus_trader.__version__}, not {EXPECTED_VERSION}", file=sys.stderr
        )

    start = time.perf_counter()
    instrument = make_instrument(args.tick, args.lot)
    deltas, trades, skipped = load(args.data, args.tick, args.lot)
    events = len(deltas) + len(trades)
    if not events:
        sys.exit(f"{args.data}: no LEVEL_SET, TRADE or BOOK_CLEAR events")
    runs: list[float] = []
    setup_s = 0.0
    final: tuple[float | None, float | None] = (None, None)
    orders = fills = 0
    for _ in range(args.repeat):
        engine, strategy = build_engine(instrument, deltas, trades, args.mode, args.lot)
        t0 = time.perf_counter()
        if not runs:
            setup_s = t0 - start
        engine.run()
        runs.append(time.perf_counter() - t0)
        book = venue_book(engine, instrument.id)
        run_final = (_as_float(book.best_bid_price()), _as_float(book.best_ask_price()))
        if strategy is not None:
            run_orders, run_fills = strategy.orders_submitted, strategy.fills
        else:
            run_orders = run_fills = 0
        if len(runs) > 1 and (run_final, run_orders, run_fills) != (final, orders, fills):
            raise RuntimeError(f"runs differ: {run_final, run_orders, run_fills} vs {final, orders, fills}")
        final, orders, fills = run_final, run_orders, run_fills
        engine.dispose()
        del engine, strategy
        gc.collect()

    seconds = statistics.median(runs)
    result = {
        "engine": "nautilus",
        "version": nautilus_trader.__version__,
        "mode": args.mode,
        "events": events,
        "skipped": skipped,
        "seconds": round(seconds, 6),
        "runs": [round(r, 6) for r in runs],
        "events_per_s": round(events / seconds, 1),
        "setup_s": round(setup_s, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "final_bid": final[0],
        "final_ask": final[1],
        "orders": orders,
        "fills": fills,
        "callbacks": 0 if args.mode == "replay" else events,  # every delta is F_LAST: one call each
        "queue_model": QUEUE_MODEL,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
