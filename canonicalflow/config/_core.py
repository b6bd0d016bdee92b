"""The Configuration: the second and last input of State, frozen, strict, and fingerprinted.

State = f(Event Stream, Configuration). Two runs compare only if their fingerprints match, so the
fingerprint is the SHA-256 of canonical JSON: sorted keys, no whitespace, integers as integers.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CoreConfig", "Instrument", "RateLimit"]


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


class CoreConfig(_Strict):
    """Everything besides the event stream that State depends on."""

    version: str = Field(min_length=1)
    instruments: tuple[Instrument, ...] = Field(min_length=1)
    rate_limits: tuple[RateLimit, ...] = ()
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
        raise KeyError(f"instrument {instrument_id} is not in configuration {self.version}")
