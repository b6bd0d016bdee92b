"""The Core's books, rebuilt independently at every position of random market streams.

`RefMarket` below is a small dict-based model of the documented book rules, written from
`canonicalflow.book` (`L2Book`, `L3Book`, `apply_l2`, `apply_l3`) and `canonicalflow.state._market`
without calling into them:

- L2 (price levels): a LEVEL_SET puts `qty` lots at (side, price), 0 removes the level; a side
  other than +1/-1 is refused "bad_side", a negative size "bad_size"; the SNAPSHOT and
  LAST_IN_PACKET flags change nothing in the levels themselves. BOOK_CLEAR empties the book. An
  order event is refused "order_event_on_level_book".
- L3 (orders): each level holds known orders in arrival order and *unattributed* lots (what a
  level set showed that no known order explains), which rest ahead of every known order.
  ORDER_ADD appends (refused "duplicate_order_id", then "bad_size" for qty <= 0, then "bad_side").
  ORDER_CANCEL / ORDER_FILL take `qty` off a known order wherever it rests ("overfill" if it holds
  less), or, for an order the book never saw, off the unattributed lots at (side, price)
  ("unknown_order" if there are fewer); qty <= 0 is "bad_size". ORDER_MODIFY of an unknown order
  is "unknown_order"; one that keeps its price and does not grow keeps its place, any other goes
  to the back of its new level. An incremental LEVEL_SET makes the level show `qty`, the part its
  known orders do not explain unattributed ("level_below_its_orders" when they hold more); a
  SNAPSHOT LEVEL_SET is authoritative: the level's known orders are forgotten and all `qty` lots
  are unattributed. A level showing 0 lots is gone.
- Both: a LEVEL_SET, BOOK_CLEAR or order event of an instrument the configuration does not know
  is refused "unknown_instrument"; TRADE and BBO move the instrument's quote (the Core keeps a
  quote for any instrument id it is given), never a book (nothing of ours rests here); FEED_GAP,
  SNAPSHOT_BEGIN/END move no book.

At every position the Core's book of every instrument, the changes its StepResult lists, the
quotes and what a strategy's `View` reads must equal the model's. L2 streams are also folded
through `Core.apply_columns` where `Core.foldable` allows, and every stream is snapshotted at a
random position, sent through JSON, restored and continued: the same digests at every later
position.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from canonicalflow.config import BookModel, CoreConfig, Instrument
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.state import Core
from canonicalflow.strategy import View

K = EventKind
BID, ASK = 1, -1
SIDES = (BID, ASK)
LAST, SNAP, BAD_TS = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT), int(Flag.BAD_RECEIVE_TS)
ORDER_KINDS = (K.ORDER_ADD, K.ORDER_MODIFY, K.ORDER_CANCEL, K.ORDER_FILL)
BOOK_KINDS = (K.LEVEL_SET, K.BOOK_CLEAR, *ORDER_KINDS)  # what an unknown instrument is refused for
UNKNOWN_INSTRUMENT = 9
PRICES = range(99, 104)  # few, shared by bids and asks: events keep meeting the same levels (books may cross)
T0 = 1_700_000_000_000_000_000


# ------------------------------------------------------------------ the reference
class RefL2:
    """Lots per (side, price)."""

    def __init__(self) -> None:
        self.lots: dict[tuple[int, int], int] = {}

    def apply(self, ev: Event) -> str | None:
        if ev.kind == K.LEVEL_SET:
            if ev.side not in SIDES:
                return "bad_side"
            if ev.qty < 0:
                return "bad_size"
            if ev.qty:
                self.lots[(ev.side, ev.price)] = ev.qty
            else:
                self.lots.pop((ev.side, ev.price), None)
        elif ev.kind == K.BOOK_CLEAR:
            self.lots.clear()
        elif ev.kind in ORDER_KINDS:
            return "order_event_on_level_book"
        return None

    def qty(self, side: int, price: int) -> int:
        return self.lots.get((side, price), 0)

    def levels(self, side: int) -> list[tuple[int, int]]:
        prices = sorted((p for s, p in self.lots if s == side), reverse=side == BID)
        return [(p, self.lots[(side, p)]) for p in prices]

    def count(self, side: int, price: int) -> int:
        return 0  # an L2 feed does not count orders

    def to_data(self) -> list[list[Any]]:
        return [[side, price, lots] for side in SIDES for price, lots in self.levels(side)]


class RefL3:
    """Per (side, price): [unattributed lots, {order id: lots} in arrival order]; order id -> (side, price)."""

    def __init__(self) -> None:
        self.at: dict[tuple[int, int], list[Any]] = {}
        self.where: dict[int, tuple[int, int]] = {}

    def qty(self, side: int, price: int) -> int:
        level = self.at.get((side, price))
        return level[0] + sum(level[1].values()) if level else 0

    def lots(self, order_id: int) -> int:
        where = self.where.get(order_id)
        return self.at[where][1][order_id] if where else 0

    def _level(self, side: int, price: int) -> list[Any]:
        return self.at.setdefault((side, price), [0, {}])

    def _tidy(self, side: int, price: int) -> None:
        if (side, price) in self.at and self.qty(side, price) == 0:
            del self.at[(side, price)]

    def _remove(self, order_id: int) -> None:
        side, price = self.where.pop(order_id)
        del self.at[(side, price)][1][order_id]
        self._tidy(side, price)

    def apply(self, ev: Event) -> str | None:
        kind, oid, side, price, qty = ev.kind, ev.order_id, ev.side, ev.price, ev.qty
        if kind == K.ORDER_ADD:
            if oid in self.where:
                return "duplicate_order_id"
            if qty <= 0:
                return "bad_size"
            if side not in SIDES:
                return "bad_side"
            self._level(side, price)[1][oid] = qty
            self.where[oid] = (side, price)
        elif kind in (K.ORDER_CANCEL, K.ORDER_FILL):
            if qty <= 0:
                return "bad_size"
            if oid in self.where:  # a known order is reduced where it rests, whatever the event says
                at = self.where[oid]
                held = self.at[at][1][oid]
                if qty > held:
                    return "overfill"
                if qty == held:
                    self._remove(oid)
                else:
                    self.at[at][1][oid] = held - qty
            else:  # an order the book never saw: the lots a snapshot left unattributed there
                level = self.at.get((side, price))
                if level is None or level[0] < qty:
                    return "unknown_order"
                level[0] -= qty
                self._tidy(side, price)
        elif kind == K.ORDER_MODIFY:
            if oid not in self.where:
                return "unknown_order"
            if qty <= 0:
                return "bad_size"
            if side not in SIDES:
                return "bad_side"
            at = self.where[oid]
            if at == (side, price) and qty <= self.at[at][1][oid]:
                self.at[at][1][oid] = qty  # keeps its place
            else:
                self._remove(oid)  # to the back of its (new) level
                self._level(side, price)[1][oid] = qty
                self.where[oid] = (side, price)
        elif kind == K.LEVEL_SET:
            if side not in SIDES:
                return "bad_side"
            if qty < 0:
                return "bad_size"
            if ev.flags & SNAP:  # authoritative: the orders known there are superseded
                for known in list(self.at.get((side, price), [0, {}])[1]):
                    del self.where[known]
                self.at.pop((side, price), None)
                if qty:
                    self.at[(side, price)] = [qty, {}]
            else:
                attributed = sum(self.at.get((side, price), [0, {}])[1].values())
                if qty < attributed:
                    return "level_below_its_orders"
                if qty or (side, price) in self.at:
                    self._level(side, price)[0] = qty - attributed
                self._tidy(side, price)
        elif kind == K.BOOK_CLEAR:
            self.at.clear()
            self.where.clear()
        return None

    def levels(self, side: int) -> list[tuple[int, int]]:
        prices = sorted((p for s, p in self.at if s == side), reverse=side == BID)
        return [(p, self.qty(side, p)) for p in prices]

    def count(self, side: int, price: int) -> int:
        """Orders at the level; unattributed lots count as one when there are any."""
        free, orders = self.at[(side, price)]
        return len(orders) + (1 if free else 0)

    def to_data(self) -> list[list[Any]]:
        return [
            [side, price, self.at[(side, price)][0], [[o, n] for o, n in self.at[(side, price)][1].items()]]
            for side in SIDES
            for price, _ in self.levels(side)
        ]


class RefMarket:
    """Every instrument's reference book and quote; `step` gives the changes the Core must list."""

    def __init__(self, config: CoreConfig) -> None:
        self.l3 = config.market.book == "l3"
        self.books: dict[int, RefL2 | RefL3] = {
            i.id: RefL3() if self.l3 else RefL2() for i in config.instruments
        }
        self.quotes: dict[int, tuple[int, ...]] = {}

    def step(self, ev: Event) -> tuple[tuple[Any, ...], ...]:
        kind, i = ev.kind, ev.instrument
        if kind in (K.BBO, K.TRADE):
            bp, bq, ap, aq, lp, lq = self.quotes.get(i, (0,) * 6)
            if kind == K.BBO:
                bp, bq, ap, aq = ev.bid_price, ev.bid_qty, ev.ask_price, ev.ask_qty
            else:
                lp, lq = ev.price, ev.qty
            self.quotes[i] = (bp, bq, ap, aq, lp, lq)
            return (("quote", i, *self.quotes[i]),)
        if kind == K.FEED_GAP:
            return (("feed_gap", i, ev.sequence, ev.gap_to),)
        if kind not in BOOK_KINDS:
            return ()  # snapshot bounds: their position is all they leave
        book = self.books.get(i)
        if book is None:
            return (("rejected", "book", i, "unknown_instrument"),)
        was = book.where.get(ev.order_id) if isinstance(book, RefL3) else None
        refused = book.apply(ev)
        if kind == K.LEVEL_SET:
            if refused:
                return (("rejected", "book", (i, ev.side, ev.price), refused),)
            return (("level", i, ev.side, ev.price, book.qty(ev.side, ev.price)),)
        if kind == K.BOOK_CLEAR:
            return (("book_clear", i),)
        if refused:
            return (("rejected", "book", ev.order_id, refused),)
        assert isinstance(book, RefL3)
        # the order's lots after the event, then the levels it touched: where it rested, and where
        # the event puts it (an add, a modify) or takes lots no known order holds (the event's level)
        touched = [was] if was else []
        if (was is None or kind in (K.ORDER_ADD, K.ORDER_MODIFY)) and (ev.side, ev.price) not in touched:
            touched.append((ev.side, ev.price))
        levels = tuple(("level", i, s, p, book.qty(s, p)) for s, p in touched)
        return (("book_order", i, ev.order_id, book.lots(ev.order_id)), *levels)


def agree(core: Core, view: View, ref: RefMarket) -> None:
    """The Core's books, quotes and the strategy's view equal the reference, instrument by instrument."""
    for i, rebuilt in ref.books.items():
        queued = core.market.books[i]
        assert queued.book.to_data() == rebuilt.to_data(), i
        book = view.book(i)
        quote = ref.quotes.get(i)
        for side in SIDES:
            levels = rebuilt.levels(side)
            assert list(queued.book.levels(side)) == levels
            assert book.levels(side, 100) == levels
            for price in PRICES:
                assert book.qty_at(side, price) == rebuilt.qty(side, price), (i, side, price)
            # the best of the book; with an empty side, the quote's (a BBO-only feed still has a touch)
            best = queued.book.best(side)
            if levels:
                assert best == (*levels[0], rebuilt.count(side, levels[0][0]))
                touch: tuple[int, int] | None = levels[0]
            else:
                assert best is None
                shown = (0, 0) if quote is None else quote[0:2] if side == BID else quote[2:4]
                touch = (shown[0], shown[1]) if shown[1] > 0 else None
            read = (book.best_bid(), book.bid_qty()) if side == BID else (book.best_ask(), book.ask_qty())
            assert read == (touch if touch else (None, 0)), (i, side)
    assert {i: tuple(q) for i, q in core.market.quotes.items()} == ref.quotes


# ------------------------------------------------------------------ streams
def config_of(instruments: int, book: str, block: int) -> CoreConfig:
    return CoreConfig(
        version="rebuild",
        instruments=tuple(
            Instrument(id=n, symbol=f"I{n}", tick_size="0.01", lot_size="1")
            for n in range(1, instruments + 1)
        ),
        market=BookModel(book=book),  # type: ignore[arg-type]
        digest_block=block,
    )


_SIDE = st.sampled_from([BID, ASK, BID, ASK, BID, ASK, 0, 2])  # now and then no side at all
_QTY = st.sampled_from([0, 1, 2, 3, 4, 5, 8, -1])
_PRICE = st.sampled_from(PRICES)
_FLAGS = st.sampled_from([0, LAST, LAST, SNAP, BAD_TS | LAST])  # a lone SNAPSHOT row leaves a rebuild open
_UNSEEN = (100, 101)  # order ids the stream never adds: they can only draw on unattributed lots


class Hints:
    """What the stream has shown so far, roughly (it need not be right: the model decides), so
    order events keep meeting live orders and shown levels instead of missing them."""

    def __init__(self) -> None:
        self.orders: dict[int, tuple[int, int, int, int]] = {}  # order id -> instrument, side, price, lots
        self.levels: dict[tuple[int, int, int], int] = {}  # (instrument, side, price) -> lots shown

    def forget(self, gone: Callable[[tuple[int, int, int, int]], bool]) -> None:
        self.orders = {oid: hint for oid, hint in self.orders.items() if not gone(hint)}


def _level_row(draw: st.DrawFn, i: int, hints: Hints, flags: int) -> dict[str, Any]:
    side, price, qty = draw(_SIDE), draw(_PRICE), draw(_QTY)
    if side in SIDES and qty > 0:
        hints.levels[(i, side, price)] = qty
    if flags & SNAP:  # the orders known there are forgotten
        hints.forget(lambda o: o[:3] == (i, side, price))
    return dict(kind=K.LEVEL_SET, instrument=i, side=side, price=price, qty=qty, flags=flags)


def _order_row(draw: st.DrawFn, kind: EventKind, i: int, hints: Hints) -> dict[str, Any]:
    """An order event, mostly about an order or a level the stream has shown; now and then not."""
    side, price, qty = draw(_SIDE), draw(_PRICE), draw(_QTY)
    if kind == K.ORDER_ADD:
        oid = draw(st.sampled_from([*range(1, 7), *list(hints.orders)[-2:]]))  # now and then a duplicate
    else:
        known = [oid for oid, hint in hints.orders.items() if hint[0] == i]
        oid = draw(st.sampled_from([*known, *known, *known, *_UNSEEN]))
        if oid in hints.orders and draw(st.integers(0, 4)):  # mostly where it rests, with its size or less
            _, side, price, lots = hints.orders[oid]
            qty = draw(st.sampled_from([lots, lots, max(lots - 1, 1), lots + 1, 1]))
        elif oid in _UNSEEN and hints.levels and draw(st.integers(0, 4)):  # a level a snapshot showed
            (_, side, price), lots = draw(st.sampled_from(sorted(hints.levels.items())))
            qty = draw(st.sampled_from([lots, lots, 1, max(lots - 1, 1), lots + 1]))
        if kind == K.ORDER_MODIFY and draw(st.booleans()):  # a new price or size: priority may go
            price, qty = draw(st.sampled_from([price, price + 1, price - 1])), draw(_QTY)
    if kind in (K.ORDER_ADD, K.ORDER_MODIFY) and qty > 0:
        hints.orders[oid] = (i, side, price, qty)
    elif oid in hints.orders and hints.orders[oid][3] == qty:  # canceled or filled whole
        del hints.orders[oid]
    return dict(kind=kind, instrument=i, order_id=oid, side=side, price=price, qty=qty, flags=LAST)


def _rows(draw: st.DrawFn, instruments: int, l3: bool, hints: Hints) -> list[dict[str, Any]]:
    """One row, or a run of rows: a snapshot (perhaps after a clear, perhaps in markers)."""
    i = draw(st.sampled_from([*range(1, instruments + 1)] * 7 + [UNKNOWN_INSTRUMENT]))
    what = draw(
        st.sampled_from(
            ["level"] * 4
            + ["snapshot"] * 2
            + ["clear", "gap", "bbo", "trade", "marker"]
            + (["add"] * 5 + ["cancel"] * 3 + ["fill"] * 3 + ["modify"] * 3 if l3 else ["order"])
        )
    )
    if what == "level":
        return [_level_row(draw, i, hints, draw(_FLAGS))]
    if what == "snapshot":
        out = [dict(kind=K.BOOK_CLEAR, instrument=i)] if draw(st.booleans()) else []
        if out:
            hints.forget(lambda o: o[0] == i)
        n = draw(st.integers(1, 4))
        out += [_level_row(draw, i, hints, SNAP | (LAST if k == n - 1 else 0)) for k in range(n)]
        if draw(st.booleans()):
            out = [dict(kind=K.SNAPSHOT_BEGIN, instrument=i), *out, dict(kind=K.SNAPSHOT_END, instrument=i)]
        return out
    if what == "clear":
        hints.forget(lambda o: o[0] == i)
        return [dict(kind=K.BOOK_CLEAR, instrument=i, flags=draw(st.sampled_from([0, LAST])))]
    if what == "gap":
        first = draw(st.integers(1, 50))
        return [dict(kind=K.FEED_GAP, instrument=i, sequence=first, gap_to=first + draw(st.integers(0, 5)))]
    if what == "bbo":
        quote = dict(bid_price=draw(_PRICE), bid_qty=draw(_QTY), ask_price=draw(_PRICE), ask_qty=draw(_QTY))
        return [dict(kind=K.BBO, instrument=i, flags=draw(_FLAGS), **quote)]
    if what == "trade":
        side = draw(st.sampled_from([BID, ASK, 0]))
        return [
            dict(
                kind=K.TRADE, instrument=i, side=side, price=draw(_PRICE), qty=draw(_QTY), flags=draw(_FLAGS)
            )
        ]
    if what == "marker":
        return [dict(kind=draw(st.sampled_from([K.SNAPSHOT_BEGIN, K.SNAPSHOT_END])), instrument=i)]
    kinds = {"add": K.ORDER_ADD, "cancel": K.ORDER_CANCEL, "fill": K.ORDER_FILL, "modify": K.ORDER_MODIFY}
    kind = kinds[what] if what in kinds else draw(st.sampled_from(ORDER_KINDS))
    return [_order_row(draw, kind, i, hints)]


@st.composite
def streams(draw: st.DrawFn, l3: bool) -> tuple[CoreConfig, list[Event]]:
    instruments = draw(st.integers(1, 2))
    config = config_of(instruments, "l3" if l3 else "l2", draw(st.sampled_from([1, 1, 3])))
    hints = Hints()
    events: list[Event] = []
    position, clock = 0, T0
    for _ in range(draw(st.integers(1, 24))):
        for row in _rows(draw, instruments, l3, hints):
            position += draw(st.sampled_from([1, 1, 1, 2, 5]))  # positions skip now and then
            clock += draw(st.sampled_from([0, 1_000, 7_000, -3_000]))  # and the receive clock steps back
            events.append(Event(position=position, ts_exchange=clock, ts_receive=clock, **row))
    return config, events


# ------------------------------------------------------------------ the properties
def check_rebuild(config: CoreConfig, events: list[Event], cut: int) -> None:
    """Event by event, the Core equals the reference; a Core restored from a JSON snapshot taken
    after `cut` events continues with the very same digests."""
    core, ref = Core(config), RefMarket(config)
    view = View(core)
    restored: Core | None = None
    for n, ev in enumerate(events):
        if n == cut:
            assert json.loads(json.dumps(core.snapshot())) == core.snapshot()  # "survives JSON unchanged"
            snapshot = json.loads(json.dumps(core.snapshot()))
            restored = Core.restore(config, snapshot)
            assert restored.snapshot() == snapshot
            assert restored.current_digest() == core.current_digest() and restored.digest == core.digest
            agree(restored, View(restored), ref)
        step = core.apply(ev)
        rebuilt = ref.books.get(ev.instrument)
        whose = "known" if isinstance(rebuilt, RefL3) and ev.order_id in rebuilt.where else "unseen"
        expected = ref.step(ev)
        assert step.changes == expected, (n, ev)
        outcome = expected[0][3] if expected and expected[0][0] == "rejected" else "applied"
        event(f"{K(ev.kind).name}{' ' + whose if ev.kind in ORDER_KINDS[1:] else ''}: {outcome}")
        agree(core, view, ref)
        if restored is not None:
            again = restored.apply(ev)
            assert again == step, (n, ev)
            assert restored.current_digest() == core.current_digest(), (n, ev)
    if restored is not None:
        assert restored.snapshot() == core.snapshot()


@settings(max_examples=200, deadline=None)
@given(data=st.data(), stream=streams(l3=False))
def test_an_l2_core_book_is_its_rebuild_at_every_position(
    data: st.DataObject, stream: tuple[CoreConfig, list[Event]]
) -> None:
    config, events = stream
    check_rebuild(config, events, data.draw(st.integers(0, len(events)), label="snapshot at"))


@settings(max_examples=400, deadline=None)
@given(data=st.data(), stream=streams(l3=True))
def test_an_l3_core_book_is_its_rebuild_at_every_position(
    data: st.DataObject, stream: tuple[CoreConfig, list[Event]]
) -> None:
    config, events = stream
    check_rebuild(config, events, data.draw(st.integers(0, len(events)), label="snapshot at"))


def _columns(events: list[Event]) -> dict[str, np.ndarray]:
    return {name: np.array([getattr(ev, name) for ev in events], np.int64) for name in Event._fields}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), stream=streams(l3=False))
def test_an_l2_stream_folds_in_columns_as_it_applies_one_event_at_a_time(
    data: st.DataObject, stream: tuple[CoreConfig, list[Event]]
) -> None:
    config, events = stream
    one, folded = Core(config), Core(config)
    after, current = [], []  # the digests after each event, one at a time
    for ev in events:
        one.apply(ev)
        after.append(one.digest)
        current.append(one.current_digest())
    columns = _columns(events)
    foldable = folded.foldable(columns)
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=4), label="cuts")
    edges = sorted({0, len(events), *cuts, *(np.flatnonzero(foldable[1:] != foldable[:-1]) + 1).tolist()})
    for start, end in itertools.pairwise(edges):
        if foldable[start]:
            before = folded.digest
            sealed = folded.apply_columns({name: column[start:end] for name, column in columns.items()})
            # what `digest` was after each row, as the sealed blocks tell it
            told, k = [], 0
            for row in range(end - start):
                while k < len(sealed) and sealed[k][0] <= row:
                    before = sealed[k][1]
                    k += 1
                told.append(before)
            assert told == after[start:end]
        else:
            for ev in events[start:end]:
                folded.apply(ev)
        assert (folded.digest, folded.current_digest()) == (after[end - 1], current[end - 1]), end
    assert folded.current_digest() == one.current_digest() and folded.digest == one.digest
    assert (folded.position, folded.now) == (one.position, one.now)
    assert folded.market.to_data() == one.market.to_data()  # books, quotes and any rebuild's mark
    assert folded.snapshot() == one.snapshot()
    ref = RefMarket(config)
    for ev in events:
        ref.step(ev)
    agree(folded, View(folded), ref)


# ------------------------------------------------------------------ found by the properties
def test_an_l3_order_event_with_no_side_is_refused_or_applied_never_raised() -> None:
    """The book's rules say what a row with a side other than +1/-1 does; the Core must follow
    them (a refusal is recorded, never raised): an add or modify is "bad_side", a cancel of a known
    order takes it off where it rests, a cancel of an unseen order finds no unattributed lots."""
    config = config_of(1, "l3", 1)
    core, ref = Core(config), RefMarket(config)
    rows = [
        dict(kind=K.LEVEL_SET, side=BID, price=100, qty=10, flags=SNAP | LAST),
        dict(kind=K.ORDER_ADD, order_id=5, side=BID, price=100, qty=3),
        dict(kind=K.ORDER_ADD, order_id=6, side=0, price=100, qty=3),
        dict(kind=K.ORDER_MODIFY, order_id=5, side=2, price=100, qty=2),
        dict(kind=K.ORDER_CANCEL, order_id=7, side=0, price=100, qty=1),
        dict(kind=K.ORDER_CANCEL, order_id=5, side=0, price=0, qty=1),
    ]
    for n, row in enumerate(rows, 1):
        ev = Event(position=n, instrument=1, flags=row.pop("flags", LAST), **row)
        assert core.apply(ev).changes == ref.step(ev), ev
        agree(core, View(core), ref)
    assert core.market.books[1].book.to_data() == [[BID, 100, 10, [[5, 2]]]]


def test_a_snapshot_taken_while_a_book_is_rebuilt_survives_json() -> None:
    """`Core.snapshot`: "a snapshot survives JSON unchanged", also between a BOOK_CLEAR (or a
    snapshot row not yet LAST_IN_PACKET) and the end of the rebuild, when the book keeps the best
    prices it is compared with afterwards."""
    core = Core(config_of(1, "l2", 1))
    core.apply(Event(position=1, kind=K.LEVEL_SET, instrument=1, side=BID, price=100, qty=4, flags=LAST))
    core.apply(Event(position=2, kind=K.BOOK_CLEAR, instrument=1))
    snapshot = core.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_a_position_after_a_skip_enters_its_block_digest() -> None:
    """Blocks of 3, positions 1, 2, 4, 5, 6: position 4 follows a skip past the first block's end,
    and its changes are in the digest like any other's, one event at a time or folded."""

    def digests(lots: int) -> tuple[bytes, bytes]:
        rows = [(1, 1), (2, 2), (4, lots), (5, 1), (6, 1)]
        events = [
            Event(position=p, kind=K.LEVEL_SET, instrument=1, side=BID, price=100, qty=q) for p, q in rows
        ]
        one, folded = Core(config_of(1, "l2", 3)), Core(config_of(1, "l2", 3))
        for ev in events:
            one.apply(ev)
        folded.apply_columns(_columns(events))
        assert folded.digest == one.digest and folded.current_digest() == one.current_digest()
        return one.digest, one.current_digest()

    assert digests(3) != digests(7)
