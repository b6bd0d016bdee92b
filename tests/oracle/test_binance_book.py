"""Binance: the L2 book rebuilt from the canonical events equals every bookTicker of the same update.

A bookTicker carries the update id `u` of the book state it shows. After each depth diff (its
last LEVEL_SET, flagged LAST_IN_PACKET, has sequence = the diff's `u`) the rebuilt book's best
bid and ask, price and quantity, must equal every bookTicker with that `u`. A bookTicker may come
before or after its diff in the file, so both sides are collected by `u` and compared at the
end. The counts are those ../shared/data/README.md section 5 reports (all matched there too).
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import pytest

from canonicalflow.book import ASK, BID, L2Book, apply_l2
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._binance import SUPERSEDED, read_binance_stream
from canonicalflow.events import EventKind, Flag


class Capture(NamedTuple):
    name: str
    tick_size: str
    lot_size: str
    diffs: int  # depthUpdate lines in the file
    bbos: int  # bookTicker lines
    trades: int  # trade lines
    checked: int  # bookTickers whose `u` is a diff's `u`


# Units: futures BTCUSDT 0.1 / 0.001 and ETHUSDT 0.01 / 0.001; coin-M BTCUSD_PERP 0.1 / 1 contract;
# spot BTCUSDT 0.01 / 0.000001 (the step is 0.00001, but a few deep levels show 6 decimals).
CAPTURES = [
    Capture("usdm_btcusdt", "0.1", "0.001", 6_551, 66_089, 21_313, 629),
    Capture("usdm_ethusdt", "0.01", "0.001", 6_586, 53_992, 14_076, 551),
    Capture("cm_btcusd_perp", "0.1", "1", 26_847, 19_136, 2_286, 1_124),
    Capture("spot_btcusdt", "0.01", "0.000001", 3_451, 28_040, 9_757, 564),
]
_LAST = int(Flag.LAST_IN_PACKET)
_LEVEL_SET, _BBO = int(EventKind.LEVEL_SET), int(EventKind.BBO)


_DIFF_IDS = re.compile(rb'"U":([0-9]+),"u":([0-9]+)(?:,"pu":([0-9]+))?')


def _raw_links(path: Path) -> dict[int, int]:
    """Each depth diff's `u` -> what must precede it: futures `pu`, spot `U` (previous `u` + 1)."""
    links = {}
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if b'"depthUpdate"' in line:
                match = _DIFF_IDS.search(line)
                assert match, line[:200]
                first, last, previous = match.groups()
                links[int(last)] = int(previous if previous is not None else first)
    return links


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda c: c.name)
def test_every_bookticker_equals_the_rebuilt_book(shared_data: Path, capture: Capture) -> None:
    path = shared_data / "hftbacktest_binance" / f"{capture.name}_20240808.gz"
    quarantine = Quarantine()
    book = L2Book()
    after_diff: dict[int, tuple[int, int, int, int]] = {}  # u -> best bid, lots, best ask, lots
    tickers: dict[int, list[tuple[int, int, int, int]]] = {}
    kinds: Counter[int] = Counter()
    applied: list[int] = []  # each applied diff's u, in order
    crossed = 0
    events = read_binance_stream(path, 1, quarantine, tick_size=capture.tick_size, lot_size=capture.lot_size)
    for position, ev in enumerate(events, 1):
        assert ev.position == position
        kind = ev.kind
        if kind == _LEVEL_SET:
            assert apply_l2(book, ev) is None, ev
            if ev.flags == _LAST:  # a diff is complete (a snapshot's levels are flagged SNAPSHOT)
                bid, ask = book.best(BID), book.best(ASK)
                assert bid is not None and ask is not None, ev
                after_diff[ev.sequence] = (bid[0], bid[1], ask[0], ask[1])
                applied.append(ev.sequence)
                crossed += bid[0] >= ask[0]
        elif kind == _BBO:
            tickers.setdefault(ev.sequence, []).append((ev.bid_price, ev.bid_qty, ev.ask_price, ev.ask_qty))
        else:
            kinds[kind] += 1
            assert apply_l2(book, ev) is None, ev

    # The chain: one snapshot, no gap; every diff either applied or superseded; each applied diff
    # continues the one before (futures `pu` = previous `u`, spot `U` = previous `u` + 1).
    assert kinds[EventKind.FEED_GAP] == 0
    assert kinds[EventKind.SNAPSHOT_BEGIN] == kinds[EventKind.SNAPSHOT_END] == 1
    assert {q.reason for q in quarantine.rows} <= {SUPERSEDED}, quarantine.rows[:3]
    assert len(applied) + len(quarantine.rows) == capture.diffs
    links = _raw_links(path)  # read from the file again, independently of the normalizer
    spot = capture.name.startswith("spot")
    assert all(links[b] == (a + 1 if spot else a) for a, b in pairwise(applied))
    assert sum(map(len, tickers.values())) == capture.bbos
    assert kinds[EventKind.TRADE] == capture.trades
    assert crossed == 0

    checked = mismatched = 0
    for update, quotes in tickers.items():
        state = after_diff.get(update)
        if state is None:
            continue
        for quote in quotes:
            checked += 1
            mismatched += quote != state
    print(f"{capture.name}: {checked} bookTickers checked, {mismatched} differ; {len(applied)} diffs applied")
    assert mismatched == 0
    assert checked == capture.checked
