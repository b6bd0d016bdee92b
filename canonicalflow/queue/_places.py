"""The queue places of resting orders at one instrument, driven through the `queue_place` kernel.

Used twice, with the same code: by the simulated venue, where the places decide fills, and by the
Core, where they are the estimate a strategy reads (in Live as in Backtest). Every change goes
through the generated kernel, so a queue model that breaks an invariant is refused with the
reason, never silently applied.

On price-level (L2) data the model splits each decrease at our price. On order-level (L3) data
the place is exact: each resting order remembers which of the feed's orders were ahead of it when
it joined, and moves forward exactly when one of them is executed, reduced or canceled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from canonicalflow._generated import queue_place_kernel as qp
from canonicalflow.errors import InvariantViolation
from canonicalflow.queue._models import UNITS_PER_LOT, QueueModel

__all__ = ["Place", "QueuePlace", "RestingQueues"]


class QueuePlace(NamedTuple):
    """A resting order's place as a strategy reads it: lots ahead of it, and lots shown at its price."""

    ahead: float
    level: float


@dataclass(slots=True)
class Place:
    """One resting order's place: the kernel state, trades since the last depth change, L3 front."""

    side: int
    price: int
    state: qp.State
    traded: int = 0  # queue units traded at our price since the last depth change
    front: dict[int, int] = field(default_factory=dict)  # L3: feed order id -> its lots still ahead

    @property
    def lots(self) -> QueuePlace:
        """(lots ahead, lots shown), in lots."""
        return QueuePlace(self.state.ahead / UNITS_PER_LOT, self.state.level / UNITS_PER_LOT)


class RestingQueues:
    """Queue places of resting orders keyed by any int (client order id, venue order id).

    `changes`, when set to a list, hears ("place", key, *kernel state) for every step of a place:
    the Core points it at the changes of the event it applies, so places enter the digest.
    """

    def __init__(self, model: QueueModel) -> None:
        self.model = model
        self.places: dict[int, Place] = {}
        self._at: dict[tuple[int, int], list[int]] = {}  # (side, price) -> keys in join order
        self.changes: list[tuple[Any, ...]] | None = None

    def at(self, side: int, price: int) -> list[int]:
        """Keys resting at (side, price), first joined first."""
        return self._at.get((side, price), [])

    def prices(self, side: int) -> list[int]:
        """Prices where keys rest on `side`, best first (highest bid, lowest ask)."""
        return sorted((p for s, p in self._at if s == side), key=lambda p: -p * side)

    def join(
        self, key: int, side: int, price: int, displayed: int, front: dict[int, int] | None = None
    ) -> None:
        """`key` rests at the back of (side, price), behind `displayed` lots (and L3 orders `front`)."""
        state = self._step(key, qp.initial(), qp.E_JOIN, displayed * UNITS_PER_LOT)
        self.places[key] = Place(side, price, state, front=dict(front or {}))
        self._at.setdefault((side, price), []).append(key)

    def requeue(self, key: int, displayed: int, front: dict[int, int] | None = None) -> None:
        """Priority lost (a larger size): back of the queue, same price."""
        place = self.places[key]
        place.state = self._step(key, place.state, qp.E_REQUEUE, displayed * UNITS_PER_LOT)
        place.traded, place.front = 0, dict(front or {})
        keys = self._at[(place.side, place.price)]
        keys.remove(key)
        keys.append(key)

    def leave(self, key: int) -> None:
        place = self.places.pop(key)
        self._step(key, place.state, qp.E_LEAVE)
        keys = self._at[(place.side, place.price)]
        keys.remove(key)
        if not keys:
            del self._at[(place.side, place.price)]

    def traded(self, key: int, lots: int) -> int:
        """A trade of `lots` at the key's price reached its side; the units it went past us by."""
        place = self.places[key]
        units = lots * UNITS_PER_LOT
        excess = units - place.state.ahead
        place.state = self._step(key, place.state, qp.E_TRADE, units)
        place.traded += units
        return max(0, excess)

    def level_changed(self, side: int, price: int, new: int) -> None:
        """The displayed size at (side, price) is now `new` lots: the model splits the change.

        Each order's machine remembers the size it last saw (`level`), so a change across a
        cleared and rebuilt book is measured from the size before the clear.
        """
        for key in self.at(side, price):
            place = self.places[key]
            ahead = place.state.ahead
            advance = self.model.advance(ahead, place.state.level, new * UNITS_PER_LOT, place.traded)
            place.state = self._step(key, place.state, qp.E_DEPTH, new * UNITS_PER_LOT, advance)
            place.traded = 0

    def feed_order_reduced(self, side: int, price: int, order_id: int, lots: int, level_now: int) -> None:
        """L3: a feed order at (side, price) lost `lots` (canceled, executed or modified away).

        Each resting order ahead of which it stood moves forward by exactly those lots; the
        others only see the level shrink. Lots a level snapshot left unattributed cannot be placed
        exactly: they are taken to leave from the back, as the conservative model does, so an
        order moves only when the level shrinks below it.
        """
        units_now = level_now * UNITS_PER_LOT
        for key in self.at(side, price):
            place = self.places[key]
            advance = 0
            if order_id in place.front:
                advance = min(lots, place.front[order_id]) * UNITS_PER_LOT
                left = place.front[order_id] - lots
                if left > 0:
                    place.front[order_id] = left
                else:
                    del place.front[order_id]
            # lots a snapshot left unattributed leave from the back; a clamp never overshoots
            advance = min(max(advance, place.state.ahead - units_now), place.state.ahead)
            place.state = self._step(key, place.state, qp.E_DEPTH, units_now, advance)

    def passed(self, key: int, level_now: int) -> None:
        """L3: a feed order behind `key` executed, so everything ahead of it has gone."""
        place = self.places[key]
        place.front.clear()
        place.state = self._step(key, place.state, qp.E_DEPTH, level_now * UNITS_PER_LOT, place.state.ahead)

    # -------------------------------------------------------------- snapshots
    def to_data(self) -> list[list[Any]]:
        """Every place in join order per level, as plain lists: what a snapshot holds."""
        return [
            [key, p.side, p.price, list(p.state), p.traded, sorted(p.front.items())]
            for keys in self._at.values()
            for key in keys
            for p in (self.places[key],)
        ]

    def restore(self, data: list[list[Any]]) -> None:
        """The places `to_data` gave, in the same join order."""
        self.places.clear()
        self._at.clear()
        for key, side, price, state, traded, front in data:
            self.places[key] = Place(side, price, qp.State(*state), traded, dict(map(tuple, front)))
            self._at.setdefault((side, price), []).append(key)

    def _step(self, key: int, state: qp.State, event: int, a0: int = 0, a1: int = 0) -> qp.State:
        after = qp.step(state, event, a0, a1)
        if isinstance(after, qp.Rejection):
            raise InvariantViolation(
                None,
                None,
                f"queue_place.{after.reason}",
                f"order {key}: {state}",
                f"{qp.EVENT_NAMES[event]}({a0}, {a1}) from queue model {self.model.name}",
            )
        if self.changes is not None:
            self.changes.append(("place", key, *after))
        return after
