"""A strategy a test drives by hand: it does nothing until told, then returns what it was told."""

from __future__ import annotations

from typing import Any

from canonicalflow.strategy import Action, Strategy, View

__all__ = ["Scripted"]


class Scripted(Strategy):
    """At its next hook (book, trade, execution or timer) it returns whatever the test left in `todo`."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.todo: list[Action] = []

    def _hand_over(self, view: View, *_: Any) -> list[Action]:
        todo, self.todo = self.todo, []
        return todo

    on_book = on_trade = on_execution = on_timer = _hand_over
