"""The simulated venue's Configuration: book and queue rules, latency, fees, order rules, seed.

Strict like the Core's: unknown keys are refused and values are checked where they enter, so a
typo in a backtest file is an error naming the key, not a silently different venue.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canonicalflow.config import BookModel
from canonicalflow.errors import DataError
from canonicalflow.venue._latency import (
    ConstantLatency,
    EmpiricalLatency,
    OrderLatency,
    SeededLatency,
    read_latency_file,
)

__all__ = ["Fees", "LatencyConfig", "VenueConfig"]

_REQUESTS = ("new", "modify", "cancel")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _per_request(value: int | dict[str, int]) -> dict[str, int]:
    """One number for every request type, or one per type (new, modify, cancel)."""
    per_type = dict.fromkeys(_REQUESTS, value) if isinstance(value, int) else dict(value)
    missing = set(_REQUESTS) - set(per_type)
    unknown = set(per_type) - set(_REQUESTS)
    if missing or unknown:
        raise ValueError(f"give new, modify and cancel; missing {sorted(missing)}, unknown {sorted(unknown)}")
    if any(v < 0 for v in per_type.values()):
        raise ValueError("a latency cannot be negative: nothing arrives before it was sent")
    return per_type


class LatencyConfig(_Strict):
    """Order entry and response latency, in nanoseconds, per request type (new, modify, cancel)."""

    model: Literal["constant", "empirical", "stochastic"] = "constant"
    entry_ns: int | dict[str, int] = Field(default=1_000_000, description="constant: request to venue")
    response_ns: int | dict[str, int] = Field(default=1_000_000, description="constant: venue to us")
    file: Path | None = Field(
        default=None, description="empirical: Parquet or CSV with req_ts, exch_ts, resp_ts"
    )
    floor_ns: int | dict[str, int] = Field(default=200_000, description="stochastic: the least it takes")
    median_ns: int | dict[str, int] = Field(
        default=800_000, description="stochastic: median delay above the floor"
    )
    sigma: float = Field(default=0.5, gt=0, description="stochastic: log-normal spread")

    @model_validator(mode="after")
    def _complete(self) -> LatencyConfig:
        for name in ("entry_ns", "response_ns", "floor_ns", "median_ns"):
            _per_request(getattr(self, name))
        if self.model == "empirical":
            if self.file is None:
                raise ValueError("an empirical latency needs `file`")
            try:  # read once here, so a bad file is a ConfigError before any run directory exists
                read_latency_file(self.file)
            except DataError as error:
                raise ValueError(str(error)) from error
        return self

    def build(self, seed: int) -> OrderLatency:
        if self.model == "constant":
            return ConstantLatency(_per_request(self.entry_ns), _per_request(self.response_ns))
        if self.model == "empirical":
            assert self.file is not None  # checked above
            return EmpiricalLatency(read_latency_file(self.file))
        return SeededLatency(_per_request(self.floor_ns), _per_request(self.median_ns), self.sigma, seed)


class Fees(_Strict):
    """Fee rates of one instrument as decimal fractions of the notional; a rebate is negative."""

    instrument: int = Field(ge=0)
    maker: str = Field(default="0", description="e.g. '0.0002' for 2 bps, '-0.00005' for a rebate")
    taker: str = Field(default="0")

    @field_validator("maker", "taker")
    @classmethod
    def _decimal(cls, value: str) -> str:
        try:
            Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        return value


class VenueConfig(BookModel):
    """Everything about the simulated venue that its fills depend on: the book and queue rules it
    shares with the Core's estimate (`BookModel`), and its own latency, fees, order rules and seed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    post_only: Literal["reject", "reprice"] = Field(
        default="reject", description="a post-only order that would take: rejected, or moved one tick back"
    )
    latency: LatencyConfig = LatencyConfig()
    fees: tuple[Fees, ...] = ()
    day_end_ns: int = Field(
        default=0, ge=0, lt=86_400_000_000_000, description="DAY orders expire at this time of day (UTC ns)"
    )
    seed: int = Field(default=0, description="seeds every random draw of the venue (stochastic latency)")
    market_clock: Literal["exchange", "receive"] = Field(
        default="exchange",
        description=(
            "when the venue acts on market data: at its exchange time (a backtest on recorded data), "
            "or when we receive it (a paper venue on a live feed, which sees only what we see)"
        ),
    )

    def book_model(self) -> BookModel:
        """The rules the Core's estimate must share with this venue."""
        return BookModel(**{name: getattr(self, name) for name in BookModel.model_fields})
