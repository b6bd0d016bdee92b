"""A hand-fed backtest session: we play the market and the venue."""

from __future__ import annotations

from typing import Any

from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._session import Session, core_config_of
from canonicalflow.events import Event, EventKind
from canonicalflow.strategy import Action
from canonicalflow.testing import Scripted

K = EventKind
T0 = 1_700_000_000_000_000_000


class Hand:
    def __init__(self, risk: dict | None = None, run: dict | None = None, instruments=None) -> None:
        instruments = instruments or [{"id": 1, "symbol": "X", "tick_size": "0.01", "lot_size": "1"}]
        config = load_config(
            {
                "name": "hand",
                "data": {"generator": {"events": 1}},
                "instruments": instruments,
                "risk": risk or {},
                "strategy": {"class": "canonicalflow.testing:Scripted"},
                "run": {"sample_ms": 3_600_000, **(run or {})},
            }
        )
        self.sent: list[Event] = []
        self.recorded: list[Event] = []
        self.session = Session(
            config, core_config_of(config, config.instruments), self.sent.append, tap=self.recorded.append
        )
        self.core, self.view, self.orders = self.session.core, self.session.view, self.session.orders
        self.strategy: Scripted = self.session.driver.strategy  # type: ignore[assignment]
        self.now = T0
        self.session.open_session(T0)

    def feed(self, kind: EventKind, instrument: int = 1, **fields: Any) -> None:
        self.now += 1_000
        self.session.sequencer.feed(
            Event(kind=int(kind), ts_exchange=self.now, ts_receive=self.now, instrument=instrument, **fields)
        )

    def book(self, bid: int = 9_990, ask: int = 10_010, instrument: int = 1, qty: int = 10) -> None:
        for side, price in ((1, bid), (-1, ask)):
            self.feed(K.LEVEL_SET, instrument=instrument, side=side, price=price, qty=qty)

    def act(self, *actions: Action, instrument: int = 1) -> None:
        """Hand actions to the strategy and poke it with a book event."""
        self.strategy.todo = list(actions)
        self.feed(K.LEVEL_SET, instrument=instrument, side=1, price=1, qty=1)

    def last_sent(self) -> Event:
        return self.sent[-1]


def make_store(root, datasets):
    """A canonical store of seeded zero-intelligence datasets: (symbol, instrument id, seed, events, tick)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from canonicalflow.data import Store
    from canonicalflow.data._manifest import Manifest
    from canonicalflow.data._store import DATA_FILE
    from canonicalflow.events import to_record_batch
    from canonicalflow.orderflow import ZeroIntelligence, zero_intelligence

    store, ids = Store(root), []
    for symbol, iid, seed, n, tick in datasets:
        events = list(zero_intelligence(ZeroIntelligence(), seed, n, iid))
        staged = store.staging()
        pq.write_table(pa.Table.from_batches([to_record_batch(events)]), staged / DATA_FILE)
        dataset = Store.dataset_id("zi", symbol, "2023-11-14")
        manifest = Manifest(
            dataset=dataset,
            version=1,
            venue="zi",
            instrument=symbol,
            instrument_id=iid,
            date="2023-11-14",
            format="synthetic",
            normalizer_version="1",
            tick_size=tick,
            lot_size="1",
            sources=(),
            rows=len(events),
            first_ts=events[0].ts_exchange,
            last_ts=events[-1].ts_exchange,
            quality="passed",
            lifecycle=("Promoted",),
        )
        store.promote(staged, manifest)
        ids.append(dataset)
    return ids
