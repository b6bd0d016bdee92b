"""The control domain: session and trading switches, the kill switch, the configuration version,
feed gaps and the last wake-up. Changed only by control events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from canonicalflow.events import Event, EventKind

__all__ = ["Control", "ControlState"]

Change = tuple[Any, ...]


class Control(NamedTuple):
    session_open: bool = False
    trading_enabled: bool = False
    kill_switch: bool = False
    config_id: int = 0
    last_wakeup: int = 0


_SWITCHES: dict[EventKind, Callable[[Control, Event], Control]] = {
    EventKind.SESSION_START: lambda c, ev: c._replace(session_open=True),
    EventKind.SESSION_STOP: lambda c, ev: c._replace(session_open=False),
    EventKind.TRADING_ENABLED: lambda c, ev: c._replace(trading_enabled=True),
    EventKind.TRADING_DISABLED: lambda c, ev: c._replace(trading_enabled=False),
    EventKind.KILL_SWITCH: lambda c, ev: c._replace(kill_switch=bool(ev.engaged)),
    EventKind.CONFIG_CHANGE: lambda c, ev: c._replace(config_id=ev.config_id),
    EventKind.WAKEUP: lambda c, ev: c._replace(last_wakeup=ev.due_ts),
}


class ControlState:
    """`switches` (a `Control`) and `feed_gaps`: instrument -> (first, last) missing sequence number."""

    def __init__(self) -> None:
        self.switches = Control()
        self.feed_gaps: dict[int, tuple[int, int]] = {}

    def handlers(self) -> dict[int, Callable[[Event, list[Change]], None]]:
        """The Core's handler for each control kind."""
        table: dict[int, Callable[[Event, list[Change]], None]] = {
            int(kind): self._switch(update) for kind, update in _SWITCHES.items()
        }
        table[int(EventKind.FEED_GAP)] = self._feed_gap
        return table

    def _switch(self, update: Callable[[Control, Event], Control]) -> Callable[[Event, list[Change]], None]:
        def handle(ev: Event, changes: list[Change]) -> None:
            self.switches = update(self.switches, ev)
            changes.append(("control", *self.switches))

        return handle

    def _feed_gap(self, ev: Event, changes: list[Change]) -> None:
        self.feed_gaps[ev.instrument] = (ev.sequence, ev.gap_to)
        changes.append(("feed_gap", ev.instrument, ev.sequence, ev.gap_to))

    def to_data(self) -> dict[str, Any]:
        return {
            "switches": list(self.switches),
            "feed_gaps": sorted([instrument, *gap] for instrument, gap in self.feed_gaps.items()),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.switches = Control(*data["switches"])
        self.feed_gaps = {instrument: (first, last) for instrument, first, last in data["feed_gaps"]}
