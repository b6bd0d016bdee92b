"""The CanonicalFlow side of the venue's differential test: the script replayed through our venue.

The scripted strategy sends each action once the stream reaches its local time (the actions sit
at feed receive times, so the request leaves exactly then, as in hftbacktest). The venue runs in
whole-fill mode with the same queue model and constant latency. Execution reports become the
same `ScriptedFill`s and final statuses the hftbacktest side reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from canonicalflow.backtest import simulate
from canonicalflow.config import CoreConfig
from canonicalflow.events import Event, EventKind, Intent, TimeInForce
from canonicalflow.state import Core, StepResult
from canonicalflow.venue import LatencyConfig, VenueConfig

from ._script import ScriptedFill, ScriptedOrder

__all__ = ["run_canonicalflow"]

_TIF = {"GTC": TimeInForce.GTC, "GTX": TimeInForce.POST_ONLY, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
# Our report that ends an order -> hftbacktest's status name (a refused post-only order EXPIREs there).
_FINAL = {EventKind.CANCEL_ACK: "CANCELED", EventKind.EXPIRED: "EXPIRED", EventKind.REJECT: "EXPIRED"}


def _scripted(script: Sequence[ScriptedOrder], instrument: int):
    actions = sorted(script, key=lambda a: a.local_ts)
    state = {"next": 0}

    def decide(core: Core, ev: Event, step: StepResult) -> Iterable[Intent]:
        intents = []
        while state["next"] < len(actions) and actions[state["next"]].local_ts <= core.now:
            a = actions[state["next"]]
            state["next"] += 1
            if a.action == "cancel":
                intents.append(Intent(state["next"], instrument, a.order_id, 3))
            else:
                tif = int(_TIF[a.tif])
                intents.append(
                    Intent(state["next"], instrument, a.order_id, 1, a.side, a.price, a.qty, tif=tif)
                )
        return intents

    return decide


def run_canonicalflow(
    events: Sequence[Event],
    config: CoreConfig,
    script: Sequence[ScriptedOrder],
    *,
    queue_model: str,
    entry_ns: int,
    response_ns: int,
) -> tuple[list[ScriptedFill], dict[int, str]]:
    """Our fills and each order's final status, named as hftbacktest names them."""
    name, _, exponent = queue_model.partition(":")
    venue = VenueConfig(
        fills="whole",
        queue_model=name,
        queue_exponent=float(exponent or 3),
        latency=LatencyConfig(entry_ns=entry_ns, response_ns=response_ns),
    )
    recorded: list[Event] = []
    instrument = config.instruments[0].id
    simulate(
        events,
        config.model_copy(update={"market": venue.book_model()}),
        venue,
        _scripted(script, instrument),
        record=recorded.append,
        digests=False,
    )
    fills: list[ScriptedFill] = []
    status = {a.order_id: "NEW" for a in script if a.action == "new"}
    for ev in recorded:
        if ev.kind == EventKind.FILL:
            fills.append(
                ScriptedFill(ev.client_order_id, ev.ts_exchange, ev.price, ev.qty, ev.liquidity == 1)
            )
            status[ev.client_order_id] = "FILLED"  # no partial fills: one fill is the whole order
        elif ev.kind in _FINAL:
            status[ev.client_order_id] = _FINAL[EventKind(ev.kind)]
    return fills, status
