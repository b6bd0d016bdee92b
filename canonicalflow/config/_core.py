"""The Configuration: the second and last input of State, frozen, strict, and fingerprinted.

State = f(Event Stream, Configuration). Two runs compare only if their fingerprints match, so the
fingerprint is the SHA-256 of canonical JSON: sorted keys, no whitespace, integers as integers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canonicalflow.errors import ConfigError
from canonicalflow.queue import QUEUE_MODELS, ConservativeQueue, QueueModel, queue_model

__all__ = ["BookModel", "CoreConfig", "Instrument", "RateLimit"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Instrument(_Strict):
    """One tradable instrument; prices and quantities in events are integers in its units."""

    id: int = Field(ge=0, description="the instrument id events carry")
    symbol: str = Field(min_length=1)
    tick_size: str = Field(description="price of one tick, as a decimal string (e.g. '0.01')")
    lot_size: str = Field(description="quantity of one lot, as a decimal string")
    multiplier: int = Field(default=1, gt=0, description="contract multiplier")
    currency_decimals: int = Field(
        default=2, ge=0, description="minimal currency units per unit: 10**decimals"
    )


class RateLimit(_Strict):
    """A token bucket: `capacity` tokens, one back every `refill_ns` nanoseconds of event time.

    Every request to an instrument the bucket covers (all of them when `instrument` is None)
    needs one of its tokens.
    """

    scope: int = Field(ge=0)
    capacity: int = Field(gt=0)
    refill_ns: int = Field(gt=0)
    instrument: int | None = None


class BookModel(_Strict):
    """What book the market data builds, and how the queue places of our resting orders move on it.

    The Core keeps its books and its queue estimate by these rules on the stream as we receive
    it; the simulated venue keeps its own by the same rules on the venue's clock (`VenueConfig`
    extends this), so a backtest's estimate runs exactly the venue's rules.
    """

    book: Literal["l2", "l3"] = Field(
        default="l2",
        description="l2: price levels, modelled queues; l3: order-level data (level sets too), exact FIFO",
    )
    fills: Literal["partial", "whole"] = Field(
        default="partial",
        description=(
            "partial: takers walk the displayed depth and resting orders fill by the trade's excess; "
            "whole: every fill is the order's whole quantity, as hftbacktest's NoPartialFillExchange"
        ),
    )
    queue_model: str = Field(
        default="conservative",
        description=f"L2 only: one of {', '.join(QUEUE_MODELS)}, or your own as 'package.module:Class'",
    )
    queue_exponent: float = Field(default=3.0, gt=0, description="n of the power models")

    @field_validator("queue_model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        queue_model(value)  # raises ConfigError, naming the choices, for an unknown or unloadable model
        return value

    def build_queue_model(self) -> QueueModel:
        """The model that moves places: the configured one on L2 data; on L3 data places are exact,
        and lots a level snapshot left unattributed leave from the back (the conservative model)."""
        if self.book == "l3":
            return ConservativeQueue()
        return queue_model(self.queue_model, self.queue_exponent)


class CoreConfig(_Strict):
    """Everything besides the event stream that State depends on."""

    version: str = Field(min_length=1)
    instruments: tuple[Instrument, ...] = Field(min_length=1)
    rate_limits: tuple[RateLimit, ...] = ()
    market: BookModel = Field(
        default=BookModel(), description="the books and queue estimate the Core keeps per instrument"
    )
    timer_ns: int = Field(
        default=0,
        ge=0,
        description="the strategy's timer: a WAKEUP on every multiple of this many ns of event time (0: none)",
    )
    retained_final_orders: int = Field(
        default=10_000,
        ge=0,
        description="final orders kept for late reports, busts and corrections before they are released",
    )

    digest_block: int = Field(
        default=1,
        ge=1,
        description=(
            "positions per link of the digest chain: 1 digests every position; a block of n hashes "
            "n positions' changes at once (every position's State stays derivable by replay)"
        ),
    )

    @model_validator(mode="after")
    def _ids_are_unique(self) -> CoreConfig:
        for what, ids in (
            ("instrument id", [i.id for i in self.instruments]),
            ("rate-limit scope", [r.scope for r in self.rate_limits]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{what} {duplicates[0]} appears more than once")
        return self

    def canonical_json(self) -> str:
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def instrument(self, instrument_id: int) -> Instrument:
        for instrument in self.instruments:
            if instrument.id == instrument_id:
                return instrument
        raise ConfigError(f"instruments: id {instrument_id} is not in configuration {self.version}")
