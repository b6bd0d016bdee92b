"""A backtest as one TOML file: data, instruments, venue, risk, strategy, run options.

Validated with pydantic, unknown keys refused at every level (a misspelt limit must not silently
be no limit), and fingerprinted: the SHA-256 of its canonical JSON names the run, so two runs
compare only when their fingerprints match.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from canonicalflow.config import Instrument
from canonicalflow.errors import ConfigError
from canonicalflow.orderflow import ZeroIntelligence
from canonicalflow.risk import RiskConfig
from canonicalflow.strategy import Cadence
from canonicalflow.venue import VenueConfig

__all__ = [
    "BacktestConfig",
    "DataConfig",
    "GeneratorConfig",
    "RunOptions",
    "SessionConfig",
    "StrategyConfig",
    "load_config",
    "read_config_file",
    "validated",
]


_Model = TypeVar("_Model", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneratorConfig(_Strict):
    """Seeded synthetic order flow shipped with the package: no third-party data needed."""

    kind: Literal["zero_intelligence"] = "zero_intelligence"
    seed: int = 1
    events: int = Field(default=100_000, gt=0)
    instrument: int = Field(default=1, ge=0)
    params: ZeroIntelligence = ZeroIntelligence()


class DataConfig(_Strict):
    """Where the market events come from: datasets of a canonical store, the generator, or a run's
    journal (a live session's market data and operator controls, as it received them)."""

    store: Path | None = Field(default=None, description="a canonical store's root (relative: to the file)")
    datasets: tuple[str, ...] = Field(
        default=(), description="dataset ids in the store, e.g. nasdaq/AMZN/2012-06-21"
    )
    generator: GeneratorConfig | None = None
    journal: Path | None = Field(
        default=None,
        description="a run's journal directory: its inputs are the stream (relative: to the file)",
    )
    max_events: int = Field(default=0, ge=0, description="stop after this many market events (0: all)")
    max_feed_latency_ns: int = Field(default=10_000_000_000, gt=0)
    feed_latency_ns: int | None = Field(
        default=None,
        ge=0,
        description="receive times as exchange time + this (for captures whose local clock is off)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if sum(source is not None for source in (self.generator, self.store, self.journal)) != 1:
            raise ValueError("name one source: a store with its datasets, a generator, or a journal")
        if self.store is not None and not self.datasets:
            raise ValueError("a store needs at least one dataset")
        return self


class StrategyConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    class_: str = Field(alias="class", description="'package.module:Class', a Strategy subclass")
    params: dict[str, Any] = Field(default_factory=dict)
    cadence: Cadence = Cadence()


class RunOptions(_Strict):
    sample_ms: int = Field(default=1_000, gt=0, description="equity and queue samples, ms of event time")
    checkpoint_every: int = Field(default=0, ge=0, description="a checkpoint every N positions (0: none)")
    retained_final_orders: int = Field(
        default=10_000, ge=1, description="at least 1: the orders table reads an order's end from the Core"
    )
    columnar: bool = Field(
        default=True,
        description=(
            "fold market data in Arrow batches while nothing of ours works at the venue (L2 datasets): "
            "the same results as one event at a time, faster"
        ),
    )
    digest_block: int = Field(
        default=4096, ge=1, description="positions per link of the State digest chain (1: every position)"
    )


class SessionConfig(_Strict):
    """What a run is, whatever feeds it: its instruments, venue models, risk, strategy and run
    options. A backtest adds where its market data comes from; a live session, its feed."""

    name: str = Field(min_length=1)
    instruments: tuple[Instrument, ...] = Field(
        default=(),
        description="with a store: optional overrides by id (multiplier, currency); required otherwise",
    )
    venue: VenueConfig = VenueConfig()
    risk: RiskConfig = RiskConfig()
    strategy: StrategyConfig
    run: RunOptions = RunOptions()

    def canonical_json(self) -> str:
        """The configuration as canonical JSON: sorted keys, no whitespace."""
        raw = self.model_dump(mode="json", by_alias=True)
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


class BacktestConfig(SessionConfig):
    data: DataConfig

    @model_validator(mode="before")
    @classmethod
    def _generator_defaults_to_l3(cls, raw: Any) -> Any:
        """The generator's flow is order-level: its venue book is L3 unless the file says otherwise."""
        if (
            isinstance(raw, dict)
            and isinstance(raw.get("data"), dict)
            and raw["data"].get("generator") is not None
        ):
            venue = raw.get("venue")
            if venue is None or (isinstance(venue, dict) and "book" not in venue):
                raw = {**raw, "venue": {**(venue or {}), "book": "l3"}}
        return raw

    @model_validator(mode="after")
    def _generator_is_order_level(self) -> BacktestConfig:
        if self.data.generator is not None and self.venue.book != "l3":
            raise ValueError('the generator\'s order flow is order-level: set venue.book = "l3"')
        return self

    def canonical_json(self) -> str:
        """The configuration as canonical JSON; the store's location is left out: where the data
        sits is not what the run is (the datasets' ids are in)."""
        raw = self.model_dump(mode="json", by_alias=True)
        raw["data"].pop("store", None)
        if raw["data"].get("journal") is None:
            raw["data"].pop("journal", None)  # a config from before journals were a source: unchanged
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def load_config(source: Path | str | dict[str, Any] | BacktestConfig) -> BacktestConfig:
    """A validated config from a TOML file's path, a dict, or a config; paths inside a file resolve from it."""
    if isinstance(source, BacktestConfig):
        return source
    if isinstance(source, dict):
        return _validate(source, "config")
    return _validate(read_config_file(Path(source)), str(source))


def read_config_file(path: Path) -> dict[str, Any]:
    """A run's TOML file as a dict, with the paths inside it (a store, a journal, a latency file)
    resolved from the file's directory, so the run works from anywhere."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    data = raw.get("data")
    for key in ("store", "journal"):
        if isinstance(data, dict) and isinstance(data.get(key), str):
            data[key] = str((path.parent / data[key]).resolve())
    latency = raw.get("venue", {}).get("latency") if isinstance(raw.get("venue"), dict) else None
    if isinstance(latency, dict) and isinstance(latency.get("file"), str):
        latency["file"] = str((path.parent / latency["file"]).resolve())
    return raw


def _validate(raw: dict[str, Any], where: str) -> BacktestConfig:
    return validated(BacktestConfig, raw, where, "backtest")


def validated(model: type[_Model], raw: dict[str, Any], where: str, what: str) -> _Model:
    """`raw` as a `model`, or a ConfigError naming `where` and every field that is wrong."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()
        ]
        raise ConfigError(f"{where}: invalid {what} configuration\n" + "\n".join(lines)) from None
