"""A maker whose strategy code raises once, on its 300th book event: a bug in a user's strategy."""

from __future__ import annotations

from canonicalflow.strategies import InventorySkewMaker


class FailsOnce(InventorySkewMaker):
    def on_book(self, view, ev):  # type: ignore[no-untyped-def]
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen == 300:
            raise RuntimeError("a bug in the strategy")
        return super().on_book(view, ev)
