"""`EventLike`: what a hook is handed, an `Event` tuple or an `EventRow` read in place.

A runtime that folds market data in batches hands a strategy's book and trade hooks an `EventRow`
(one row of an Arrow batch, read in place); everywhere else hooks get the `Event` tuple. Both have
every Event field as a read-only int attribute and `record()` (the Event itself), which is all a
hook may rely on: this Protocol says so to the type checker, and
`tests/unit/events/test_event_like.py` holds its fields to `Event._fields`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from canonicalflow.events._record import Event

__all__ = ["EventLike"]


class EventLike(Protocol):
    """An event's fields, read-only; `record()` gives it as an `Event` (to keep, hash or compare)."""

    def record(self) -> Event: ...

    @property
    def position(self) -> int: ...

    @property
    def kind(self) -> int: ...

    @property
    def ts_exchange(self) -> int: ...

    @property
    def ts_receive(self) -> int: ...

    @property
    def instrument(self) -> int: ...

    @property
    def flags(self) -> int: ...

    @property
    def sequence(self) -> int: ...

    @property
    def order_id(self) -> int: ...

    @property
    def client_order_id(self) -> int: ...

    @property
    def intent_id(self) -> int: ...

    @property
    def side(self) -> int: ...

    @property
    def price(self) -> int: ...

    @property
    def qty(self) -> int: ...

    @property
    def bid_price(self) -> int: ...

    @property
    def bid_qty(self) -> int: ...

    @property
    def ask_price(self) -> int: ...

    @property
    def ask_qty(self) -> int: ...

    @property
    def trade_id(self) -> int: ...

    @property
    def liquidity(self) -> int: ...

    @property
    def fee(self) -> int: ...

    @property
    def reason(self) -> int: ...

    @property
    def command(self) -> int: ...

    @property
    def allowed(self) -> int: ...

    @property
    def scope(self) -> int: ...

    @property
    def tokens(self) -> int: ...

    @property
    def engaged(self) -> int: ...

    @property
    def config_id(self) -> int: ...

    @property
    def gap_to(self) -> int: ...

    @property
    def checkpoint_id(self) -> int: ...

    @property
    def due_ts(self) -> int: ...

    @property
    def order_type(self) -> int: ...

    @property
    def tif(self) -> int: ...

    @property
    def expire_ts(self) -> int: ...
