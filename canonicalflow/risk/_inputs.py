"""What the risk gate reads: a narrow window on State, not the strategy's view.

`canonicalflow.state.Reader` satisfies it, and so does anything else that answers these reads
from the same State (a live operator console, a test's fixture).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

from canonicalflow.portfolio import Money
from canonicalflow.state import Control, OwnOrder

__all__ = ["Quotes", "RiskInputs"]


class Quotes(Protocol):
    """One instrument's touch, in ticks."""

    def best_bid(self) -> int | None: ...

    def best_ask(self) -> int | None: ...

    def mid(self) -> Fraction | None: ...


class RiskInputs(Protocol):
    """The reads every gate is decided on."""

    instruments: tuple[int, ...]
    money: Money

    @property
    def now(self) -> int: ...

    @property
    def control(self) -> Control: ...

    def book(self, instrument: int | None = None) -> Quotes: ...

    def orders(self, instrument: int | None = None) -> list[OwnOrder]: ...

    def order(self, client_order_id: int) -> OwnOrder | None: ...

    def inventory(self, instrument: int | None = None) -> int: ...

    def mark(self, instrument: int | None = None) -> Fraction | None: ...

    def pnl(self, instrument: int | None = None) -> Fraction | None: ...
