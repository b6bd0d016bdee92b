"""A live session as one TOML file: a backtest's shape (instruments, venue models, risk, strategy,
run options) and a `[live]` section for the feed, the paper venue and the journal.

Validated like a backtest's file (unknown keys refused) and fingerprinted the same way. The venue
section is the backtest's, with one difference that is not a choice: a paper venue on a live feed
sees the market when we do, so its market clock is `receive`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canonicalflow.backtest import SessionConfig, read_config_file, validated

__all__ = ["ControlConfig", "FeedConfig", "LiveConfig", "LiveOptions", "MetricsConfig", "load_live_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    """Where the market data comes from: a Binance-speaking venue (the local exchange in tests)."""

    venue: Literal["binance"] = "binance"
    market: Literal["usdm", "coinm", "spot"] = Field(
        default="usdm", description="USD-M or COIN-M futures, or spot: the streams and depth endpoint"
    )
    ws_url: str = Field(description="the WebSocket base, e.g. ws://127.0.0.1:8765 (the local exchange)")
    rest_url: str = Field(description="the REST base for depth snapshots, e.g. http://127.0.0.1:8765")
    heartbeat_s: float | None = Field(
        default=10.0, gt=0, description="a ping this often; an unanswered one closes the socket (none: off)"
    )


class ControlConfig(_Strict):
    """The operator's HTTP API: status, trading on and off, the kill switch, stop."""

    host: str = Field(
        default="127.0.0.1", description="the address to bind: loopback unless you mean otherwise"
    )
    port: int = Field(
        default=8770, ge=0, le=65_535, description="0: any free port (written to endpoints.json)"
    )
    token_file: Path = Field(
        description="a file holding the bearer token (a mounted secret; relative: to the file)"
    )


class MetricsConfig(_Strict):
    """Prometheus's /metrics, and /healthz and /readyz, without a token."""

    host: str = "127.0.0.1"
    port: int = Field(
        default=9464, ge=0, le=65_535, description="0: any free port (written to endpoints.json)"
    )


class LiveOptions(_Strict):
    feed: FeedConfig
    control: ControlConfig | None = None
    metrics: MetricsConfig | None = None
    venue: Literal["paper"] = Field(
        default="paper", description="paper: the simulated venue, on the wall clock, fed by the live feed"
    )
    fsync: Literal["batch", "never"] = Field(
        default="batch",
        description="batch: the journal is on disk after every batch of inputs handled; never: the OS decides",
    )
    max_waiting: int = Field(
        default=100_000, gt=0, description="inputs that may wait for the engine; one more stops the session"
    )


class LiveConfig(SessionConfig):
    live: LiveOptions

    @model_validator(mode="before")
    @classmethod
    def _paper_sees_what_we_see(cls, raw: Any) -> Any:
        """The paper venue acts on market data when we receive it: it has no other clock."""
        if isinstance(raw, dict) and isinstance(raw.get("venue", {}), dict):
            venue = dict(raw.get("venue") or {})
            if venue.setdefault("market_clock", "receive") != "receive":
                raise ValueError(
                    'venue.market_clock: a paper venue sees the live feed when we do; it must be "receive"'
                )
            raw = {**raw, "venue": venue}
        return raw

    @model_validator(mode="after")
    def _instruments_named(self) -> LiveConfig:
        if not self.instruments:
            raise ValueError(
                "instruments: a live session names each instrument it trades (id, symbol, sizes)"
            )
        if len({i.symbol for i in self.instruments}) != len(self.instruments):
            raise ValueError("instruments: each symbol once")
        return self


def load_live_config(source: Path | str | dict[str, Any] | LiveConfig) -> LiveConfig:
    """A validated live config from a TOML file's path, a dict, or a config; a latency file and
    the control token's file resolve from the file."""
    if isinstance(source, LiveConfig):
        return source
    if isinstance(source, dict):
        return validated(LiveConfig, source, "config", "live")
    path = Path(source)
    raw = read_config_file(path)
    control = raw.get("live", {}).get("control") if isinstance(raw.get("live"), dict) else None
    if isinstance(control, dict) and isinstance(control.get("token_file"), str):
        control["token_file"] = str((path.parent / control["token_file"]).resolve())
    return validated(LiveConfig, raw, str(path), "live")
