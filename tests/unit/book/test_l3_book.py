"""The L3 book: FIFO priority, the modify rules, unattributed lots, findings instead of crashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.book import ASK, BID, BookFinding, L2Book, L3Book, replay_books
from canonicalflow.events import Event, EventKind, Flag


def test_orders_queue_in_arrival_order_within_a_level() -> None:
    book = L3Book()
    for order_id, lots in ((1, 5), (2, 3), (3, 7)):
        assert book.add(order_id, BID, 100, lots) is None
    assert [book.queue_ahead(i) for i in (1, 2, 3)] == [0, 5, 8]
    assert book.best(BID) == (100, 15, 3)


def test_a_smaller_size_keeps_priority_a_larger_one_or_a_new_price_loses_it() -> None:
    book = L3Book()
    for order_id in (1, 2, 3):
        book.add(order_id, ASK, 200, 10)
    book.modify(1, ASK, 200, 4)  # reduced: stays first
    assert book.queue_ahead(1) == 0 and book.queue_ahead(2) == 4
    book.modify(2, ASK, 200, 11)  # grew: to the back
    assert book.queue_ahead(2) == 4 + 10
    book.modify(3, ASK, 199, 10)  # new price: its own level
    assert book.best(ASK) == (199, 10, 1) and book.top(ASK, 2)[1] == (200, 15, 2)


def test_bad_updates_are_findings_and_change_nothing() -> None:
    book = L3Book()
    book.add(1, BID, 100, 5)
    before = book.top(BID, 5)
    assert book.add(1, BID, 101, 1) == "duplicate_order_id"
    assert book.reduce(1, 6) == "overfill"
    assert book.reduce(9, 1, BID, 100) == "unknown_order"
    assert book.modify(9, BID, 100, 1) == "unknown_order"
    assert book.set_level(BID, 100, 4) == "level_below_its_orders"
    assert book.add(2, BID, 100, 0) == "bad_size"
    assert book.top(BID, 5) == before


def test_unattributed_lots_from_a_level_snapshot_absorb_orders_the_book_never_saw() -> None:
    book = L3Book()
    book.add(1, ASK, 300, 2)
    assert book.set_level(ASK, 300, 10) is None  # 8 lots rested before the data began
    assert book.best(ASK) == (300, 10, 2) and book.queue_ahead(1) == 8
    assert book.reduce(77, 8, ASK, 300) is None  # an unknown order at that level
    assert book.reduce(78, 1, ASK, 300) == "unknown_order"  # nothing unattributed is left
    assert book.best(ASK) == (300, 2, 1)


def test_forgetting_a_level_drops_its_orders() -> None:
    book = L3Book()
    book.add(1, BID, 100, 1)
    book.forget_level(BID, 100)
    assert book.best(BID) is None and book.reduce(1, 1) == "unknown_order"


def _ev(position: int, kind: EventKind, flags: int = Flag.LAST_IN_PACKET, **fields: int) -> Event:
    return Event(position=position, kind=int(kind), instrument=1, flags=int(flags), **fields)


def test_replay_records_findings_and_a_crossed_book_only_after_a_complete_update() -> None:
    events = [
        _ev(1, EventKind.ORDER_ADD, order_id=1, side=BID, price=101, qty=1),
        _ev(2, EventKind.ORDER_ADD, 0, order_id=2, side=ASK, price=100, qty=1),  # crossed, mid-packet
        _ev(3, EventKind.ORDER_CANCEL, order_id=1, side=BID, price=101, qty=1),  # uncrossed at the end
        _ev(4, EventKind.ORDER_FILL, order_id=5, side=BID, price=99, qty=1),
        _ev(5, EventKind.ORDER_ADD, order_id=3, side=BID, price=100, qty=1),
    ]
    findings: list[BookFinding] = []
    list(replay_books(events, findings=findings))
    assert findings == [BookFinding(4, 1, "unknown_order", 5), BookFinding(5, 1, "crossed_book")]


# -------------------------------------------------------------- differential
class _ReferenceBook:
    """A deliberately naive book: one list of (order id, side, price, lots) in arrival order."""

    def __init__(self) -> None:
        self.orders: list[list[int]] = []

    def find(self, order_id: int) -> int | None:
        return next((i for i, o in enumerate(self.orders) if o[0] == order_id), None)

    def apply(self, op: tuple) -> bool:
        name, order_id, side, price, lots = op
        at = self.find(order_id)
        if name == "add":
            if at is not None or lots <= 0:
                return False
            self.orders.append([order_id, side, price, lots])
        elif name == "reduce":
            if at is None or lots <= 0 or lots > self.orders[at][3]:
                return False
            self.orders[at][3] -= lots
            if not self.orders[at][3]:
                del self.orders[at]
        elif name == "modify":
            if at is None or lots <= 0:
                return False
            old = self.orders[at]
            if (old[1], old[2]) == (side, price) and lots <= old[3]:
                old[3] = lots
            else:
                del self.orders[at]
                self.orders.append([order_id, side, price, lots])
        return True

    def top(self, side: int) -> list[tuple[int, int, int]]:
        prices = sorted({o[2] for o in self.orders if o[1] == side}, reverse=side == BID)
        return [
            (
                p,
                sum(o[3] for o in self.orders if o[1] == side and o[2] == p),
                sum(1 for o in self.orders if o[1] == side and o[2] == p),
            )
            for p in prices
        ]

    def ahead(self, order_id: int) -> int:
        _, side, price, _ = self.orders[self.find(order_id)]  # type: ignore[index]
        queue = [o for o in self.orders if o[1] == side and o[2] == price]
        return sum(o[3] for o in queue[: [o[0] for o in queue].index(order_id)])


_OPS = st.lists(
    st.tuples(
        st.sampled_from(("add", "reduce", "modify")),
        st.integers(1, 12),
        st.sampled_from((BID, ASK)),
        st.integers(95, 105),
        st.integers(-1, 8),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_the_book_agrees_with_a_naive_reference_on_random_operations(ops: list[tuple]) -> None:
    book, reference = L3Book(), _ReferenceBook()
    for op in ops:
        name, order_id, side, price, lots = op
        if name == "add":
            finding = book.add(order_id, side, price, lots)
        elif name == "reduce":
            finding = book.reduce(order_id, lots) if order_id in book.orders else "unknown_order"
        else:
            finding = book.modify(order_id, side, price, lots)
        assert (finding is None) == reference.apply(op), op
        for s in (BID, ASK):
            assert book.top(s, 50) == reference.top(s)
        for order_id in book.orders:
            assert book.queue_ahead(order_id) == reference.ahead(order_id)


def test_an_l2_book_sets_and_removes_levels() -> None:
    book = L2Book()
    book.set_level(BID, 100, 5)
    book.set_level(BID, 101, 2)
    book.set_level(ASK, 103, 1)
    assert book.best(BID) == (101, 2, 0) and book.top(BID, 5) == [(101, 2, 0), (100, 5, 0)]
    book.set_level(BID, 101, 0)
    assert book.best(BID) == (100, 5, 0) and not book.crossed()
    assert book.set_level(BID, 100, -1) == "bad_size" and book.qty_at(BID, 100) == 5


def test_updates_with_a_bad_side_are_findings_that_change_nothing() -> None:
    book = L3Book()
    book.add(1, BID, 100, 5)
    assert book.modify(1, 0, 100, 10) == "bad_side" and book.best(BID) == (100, 5, 1)
    snapshot = _ev(2, EventKind.LEVEL_SET, Flag.SNAPSHOT | Flag.LAST_IN_PACKET, side=0, price=100, qty=3)
    findings: list[BookFinding] = []
    list(replay_books([snapshot], findings=findings))
    assert findings == [BookFinding(2, 1, "bad_side")]
