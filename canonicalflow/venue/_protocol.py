"""The venue-adapter boundary: the one shape every venue has for the runtime, simulated or live."""

from __future__ import annotations

from typing import Protocol

from canonicalflow.events import Event

__all__ = ["VenueAdapter"]


class VenueAdapter(Protocol):
    """Requests out, reports in; nothing else crosses.

    `send` takes a DISPATCH exactly as the sequencer recorded it. Reports are canonical execution
    events (ACK, FILL, CANCEL_ACK, EXPIRED, ...) carrying the venue's time (`ts_exchange`) and the
    time we receive them (`ts_receive`); the runtime feeds each one to the sequencer, which gives
    it its place in the stream. A live adapter fills its reports from the wire; the simulated
    venue computes them.
    """

    def send(self, request: Event) -> None: ...

    def next_report_ts(self) -> int | None:
        """Receive time of the next report, None while none is waiting."""
        ...

    def pop_report(self) -> Event:
        """The next report, in the order we receive them."""
        ...
