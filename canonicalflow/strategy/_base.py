"""The strategy API: a class with one hook per kind of news, each returning what to do.

Hooks read a `View` and return actions (`New`, `Replace`, `Cancel`); they never change State.
Every event updates State whatever the hooks do: the cadence only decides which events a
strategy is asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import Event, EventLike
from canonicalflow.strategy._intents import Action
from canonicalflow.strategy._view import View

__all__ = ["HOOKS", "Cadence", "NoParams", "Strategy"]

HOOKS = ("book", "trade", "execution", "timer")


class Cadence(BaseModel):
    """When the strategy is asked: which hooks, how often, and after which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: tuple[str, ...] = Field(default=HOOKS, description="hooks called: book, trade, execution, timer")
    every: int = Field(default=1, ge=1, description="book and trade hooks: every Nth such event only")
    packet_end: bool = Field(
        default=False, description="book hook: only once the venue's packet is complete (LAST_IN_PACKET)"
    )
    timer_ms: int = Field(
        default=0, ge=0, description="the timer hook's period in ms of event time (0: none)"
    )

    def model_post_init(self, context: Any) -> None:
        unknown = sorted(set(self.on) - set(HOOKS))
        if unknown:
            raise ValueError(f"unknown hook {unknown[0]!r}; hooks are {', '.join(HOOKS)}")


class NoParams(BaseModel):
    """The parameters of a strategy that declares none: whatever the configuration gives, as
    attributes (`self.params.spread`), unchecked."""

    model_config = ConfigDict(extra="allow", frozen=True)


P = TypeVar("P", bound=BaseModel)


class Strategy(Generic[P]):
    """Subclass and override the hooks you need; each returns an iterable of actions (or None).

    `params` are the strategy's parameters from the configuration, validated by its `Params`
    model, so a typo in a parameter fails before the run starts. Name the model twice, for the
    type checker and for the run: `class Maker(Strategy[MakerParams]): Params = MakerParams`.
    """

    Params: type[BaseModel] = NoParams

    def __init__(self, **params: Any) -> None:
        self.params: P = cast(
            P, self.Params(**params)
        )  # `Params` is P's class: a class variable cannot say so

    def on_start(self, view: View) -> Iterable[Action] | None:
        """Once, on the first event of the run."""
        return None

    def on_book(self, view: View, ev: EventLike) -> Iterable[Action] | None:
        """A market event changed a book (a level, an order, a snapshot)."""
        return None

    def on_trade(self, view: View, ev: EventLike) -> Iterable[Action] | None:
        """A trade printed on the venue (ours or anyone's)."""
        return None

    def on_execution(self, view: View, ev: Event) -> Iterable[Action] | None:
        """A report about one of our orders: ack, fill, cancel, reject, expiry."""
        return None

    def on_timer(self, view: View, ts: int) -> Iterable[Action] | None:
        """The timer (`cadence.timer_ms`) fired at event time `ts`."""
        return None

    def wants(self, view: View, ev: EventLike) -> bool:
        """A state predicate: return False to skip this decision (State has been updated anyway)."""
        return True
