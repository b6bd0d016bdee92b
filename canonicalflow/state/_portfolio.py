"""The portfolio domain: what we hold of each instrument, moved only by our fills (and their busts
and corrections), in integers (`canonicalflow.portfolio.Holding`)."""

from __future__ import annotations

from typing import Any

from canonicalflow.portfolio import Holding, trade

__all__ = ["PortfolioState"]

Change = tuple[Any, ...]
_FLAT = Holding()


class PortfolioState:
    """`holdings`: instrument -> `Holding`."""

    def __init__(self) -> None:
        self.holdings: dict[int, Holding] = {}

    def trade(self, fill: tuple[int, int, int, int, int], undo: bool, changes: list[Change]) -> None:
        """Our fill (lots, instrument, side, price, fee), or its bust (`undo`), moves the holding."""
        qty, instrument, side, price, fee = fill
        holding = trade(self.holdings.get(instrument, _FLAT), side, price, qty, fee, undo)
        self.holdings[instrument] = holding
        changes.append(("holding", instrument, *holding))

    def to_data(self) -> list[list[int]]:
        return sorted([instrument, *holding] for instrument, holding in self.holdings.items())

    def restore(self, data: list[list[int]]) -> None:
        self.holdings = {instrument: Holding(*fields) for instrument, *fields in data}
