"""The simulation reads its market stream once, lazily, holding only the feed-latency window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canonicalflow.backtest import simulate
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind
from canonicalflow.venue import VenueConfig

CONFIG = CoreConfig(
    version="stream", instruments=(Instrument(id=1, symbol="X", tick_size="1", lot_size="1"),)
)
T = 1_700_000_000_000_000_000
MS = 1_000_000


def _levels(count: int, feed_ns: int, late: dict[int, int] | None = None) -> Iterator[Event]:
    """One level change per millisecond; `late` makes event i reach us that many ns after the venue acted."""
    for i in range(count):
        at_venue = T + i * MS
        delay = (late or {}).get(i, feed_ns)
        yield Event(
            position=i + 1,
            kind=int(EventKind.LEVEL_SET),
            ts_exchange=at_venue - delay + feed_ns if i in (late or {}) else at_venue,
            ts_receive=at_venue + feed_ns,
            instrument=1,
            side=1 if i % 2 else -1,
            price=100 if i % 2 else 101,
            qty=1 + i % 7,
            flags=1,
        )


def test_the_stream_is_read_only_one_latency_window_ahead() -> None:
    read = 0
    fed: list[int] = []

    def counted() -> Iterator[Event]:
        nonlocal read
        for ev in _levels(20_000, feed_ns=100_000):
            read += 1
            yield ev

    def record(ev: Event) -> None:
        fed.append(read - ev.position)  # how far ahead of this event the stream has been read

    simulate(counted(), CONFIG, VenueConfig(), lambda c, e, s: (), record=record, max_feed_latency_ns=50 * MS)
    assert len(fed) == 20_000
    assert max(fed) <= 52  # 50 ms of events at one per ms, and the one that proved it safe


def test_a_list_and_a_generator_give_the_same_record() -> None:
    a: list[Event] = []
    b: list[Event] = []
    simulate(list(_levels(3_000, 10_000)), CONFIG, VenueConfig(), lambda c, e, s: (), record=a.append)
    simulate(_levels(3_000, 10_000), CONFIG, VenueConfig(), lambda c, e, s: (), record=b.append)
    assert a == b


def test_an_event_later_than_the_bound_is_an_error_naming_it() -> None:
    stream = _levels(2_000, feed_ns=100_000, late={1_500: 80 * MS})
    with pytest.raises(DataError, match=r"position 1501 .* max_feed_latency_ns=50,000,000"):
        simulate(stream, CONFIG, VenueConfig(), lambda c, e, s: (), max_feed_latency_ns=50 * MS)
