"""Queue models: how much of a decrease at our price level was ahead of our order.

The venue (and the Core, for its estimate) drives the `queue_place` machine
(spec/queue_place.cflow) for each resting order;
a model only answers one question, asked when the displayed size at our price changes: of the
units that left, how many were ahead of us? The machine refuses an answer that breaks its
invariants, so a user's own model cannot corrupt a queue. Units are queue units (a millionth of a
lot), so the probabilistic models keep their fractions exactly as integers.

The formulas are hftbacktest's (`models/queue.rs`), with quantities measured in lots.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Protocol

from canonicalflow.errors import ConfigError

__all__ = [
    "QUEUE_MODELS",
    "UNITS_PER_LOT",
    "ConservativeQueue",
    "ProbabilisticQueue",
    "QueueModel",
    "queue_model",
]

UNITS_PER_LOT = 1_000_000  # queue units in one lot


class QueueModel(Protocol):
    """A user's own model implements this one method (and a name for reports)."""

    name: str

    def advance(self, ahead: int, prev: int, new: int, traded: int) -> int:
        """Units of the change `prev` -> `new` at our price that were ahead of us.

        `ahead` is our place before the change; `traded` is what trades at our price took since
        the last change (already taken off `ahead`, so a model must not count it twice). The
        answer must lie in 0..ahead and leave at most `new` ahead; the machine refuses others.
        """
        ...


class ConservativeQueue:
    """Cancels come from the back: we advance only by trades, or when the level shrinks below us."""

    name = "conservative"

    def advance(self, ahead: int, prev: int, new: int, traded: int) -> int:
        return max(0, ahead - new)


class ProbabilisticQueue:
    """A decrease comes from behind us with probability `p(front, back)` (front, back in lots).

    hftbacktest's ProbQueueModel: with chg = prev - new - traded,
    ahead' = min(ahead - (1 - p) chg + min(back - p chg, 0), new), where back = prev - ahead.
    """

    def __init__(self, name: str, probability: Callable[[float, float], float]) -> None:
        self.name = name
        self._probability = probability

    def advance(self, ahead: int, prev: int, new: int, traded: int) -> int:
        change = prev - new - traded
        if change < 0:  # the level grew: nothing ahead of us left
            return max(0, ahead - new)
        front, back, chg = ahead / UNITS_PER_LOT, (prev - ahead) / UNITS_PER_LOT, change / UNITS_PER_LOT
        try:
            p = self._probability(front, back)
        except ZeroDivisionError:
            p = math.nan
        if math.isinf(p):
            p = 1.0
        estimate = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
        if math.isnan(estimate):  # an empty level: 0/0; hftbacktest's min() keeps `new` then
            return max(0, ahead - new)
        remaining = min(round(estimate * UNITS_PER_LOT), new)
        return ahead - max(0, min(remaining, ahead))


def _user_model(path: str) -> QueueModel:
    module_name, _, attribute = path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"queue model {path!r} cannot be loaded: {error}") from None
    model = found() if isinstance(found, type) else found
    if not callable(getattr(model, "advance", None)) or not isinstance(getattr(model, "name", None), str):
        raise ConfigError(f"queue model {path!r} needs a `name` string and an `advance` method")
    return model


def _power(n: float) -> Callable[[float, float], float]:
    return lambda front, back: back**n / (back**n + front**n)


def _power2(n: float) -> Callable[[float, float], float]:
    return lambda front, back: back**n / (back + front) ** n


def _power3(n: float) -> Callable[[float, float], float]:
    return lambda front, back: 1.0 - (front / (front + back)) ** n


def _log(front: float, back: float) -> float:
    return math.log(1.0 + back) / (math.log(1.0 + back) + math.log(1.0 + front))  # as hftbacktest: ln(1 + x)


def _log2(front: float, back: float) -> float:
    return math.log(1.0 + back) / math.log(1.0 + back + front)


QUEUE_MODELS = ("conservative", "power", "power2", "power3", "log", "log2")


def queue_model(name: str, n: float = 3.0) -> QueueModel:
    """The model called `name`, or a user's own named `package.module:ClassOrObject`.

    `n` is the exponent of the power family. A user's class is instantiated without arguments;
    an object is used as it is. Either must have `name` and `advance`.
    """
    if ":" in name:
        return _user_model(name)
    if name == "conservative":
        return ConservativeQueue()
    families: dict[str, Callable[[float, float], float]] = {
        "power": _power(n),
        "power2": _power2(n),
        "power3": _power3(n),
        "log": _log,
        "log2": _log2,
    }
    if name not in families:
        raise ConfigError(f"unknown queue model {name!r}; choose one of {', '.join(QUEUE_MODELS)}")
    label = name if name.startswith("log") else f"{name}({n:g})"
    return ProbabilisticQueue(label, families[name])
