"""A live node's metrics in Prometheus's format (prometheus-client), on a registry of its own.

Counters and histograms are fed as events are recorded and requests sent; gauges (open orders,
inventory, PnL, risk denials, the input queue, journal bytes) are read off the node when scraped,
so they cost nothing between scrapes. Latencies are wall-clock: from an input's arrival stamp to
the moment the engine recorded its decision, or handed the order to the venue adapter.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from canonicalflow.events import Event, EventKind
from canonicalflow.risk import RiskReason
from canonicalflow.state import Reader

if TYPE_CHECKING:
    from canonicalflow.live._node import LiveNode

__all__ = ["NodeMetrics"]

_LATENCY_BUCKETS = (50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 0.1, 0.25, 1.0)
_LAG_BUCKETS = (1e-3, 5e-3, 10e-3, 50e-3, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_NAMES = {int(kind): kind.name for kind in EventKind}
_RISK_DECISION, _FEED_GAP = int(EventKind.RISK_DECISION), int(EventKind.FEED_GAP)


class NodeMetrics:
    """The node's series; `exposition()` is the text a scrape gets."""

    def __init__(self, node: LiveNode) -> None:
        self.node = node
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.events = Counter("canonicalflow_events", "Events recorded, by kind", ["kind"], registry=registry)
        self.feed_lag = self._histogram(
            "feed_lag", "Market data: our receive time minus the exchange's event time", _LAG_BUCKETS
        )
        self.input_lag = self._histogram(
            "input_lag", "Market data: from its arrival to the engine applying it (its wait in the queue)"
        )
        self.tick_to_decision = self._histogram(
            "tick_to_decision",
            "From the arrival of the input a decision was made on to the decision recorded",
        )
        self.tick_to_order = self._histogram(
            "tick_to_order",
            "From the arrival of the input an order was sent on to its hand-over to the venue adapter",
        )
        self.commit = self._histogram(
            "journal_commit", "Writing (and, by the fsync policy, syncing) one group of events to the journal"
        )
        registry.register(_NodeGauges(node))
        node.listeners.append(self.heard)
        node.senders.append(self.sent)
        node.commits.append(self.commit.observe)

    def _histogram(self, name: str, doc: str, buckets: tuple[float, ...] = _LATENCY_BUCKETS) -> Histogram:
        return Histogram(f"canonicalflow_{name}_seconds", doc, buckets=buckets, registry=self.registry)

    def heard(self, ev: Event) -> None:
        kind = ev.kind
        self.events.labels(_NAMES.get(kind, str(kind))).inc()
        if kind < 20:
            if ev.ts_exchange > 0:
                self.feed_lag.observe(max(0, ev.ts_receive - ev.ts_exchange) / 1e9)
            self.input_lag.observe(max(0, time.time_ns() - ev.ts_receive) / 1e9)
        elif kind == _RISK_DECISION:
            self.tick_to_decision.observe(max(0, time.time_ns() - ev.ts_receive) / 1e9)

    def sent(self, request: Event) -> None:
        self.tick_to_order.observe(max(0, time.time_ns() - request.ts_receive) / 1e9)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _NodeGauges(Collector):
    """What the node holds now, read when scraped."""

    def __init__(self, node: LiveNode) -> None:
        self.node = node

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        node = self.node
        view, feed = (
            Reader(node.session.core),
            node.feed,
        )  # a reader of its own: the strategy's view is untouched
        symbols = {i.id: i.symbol for i in node.config.instruments}
        orders = GaugeMetricFamily("canonicalflow_open_orders", "Our open orders", labels=["symbol"])
        inventory = GaugeMetricFamily("canonicalflow_inventory_lots", "Inventory, in lots", labels=["symbol"])
        pnl = GaugeMetricFamily(
            "canonicalflow_pnl", "PnL after fees, in the instrument's currency", labels=["symbol"]
        )
        synced = GaugeMetricFamily(
            "canonicalflow_book_synced", "1 while the book is synced", labels=["symbol"]
        )
        for instrument, symbol in symbols.items():
            orders.add_metric([symbol], len(view.orders(instrument)))
            inventory.add_metric([symbol], view.inventory(instrument))
            if (value := view.pnl(instrument)) is not None:  # None: held, but not markable yet
                pnl.add_metric([symbol], float(value))
            synced.add_metric([symbol], int(feed.synced(symbol)))
        yield from (orders, inventory, pnl, synced)
        denials = CounterMetricFamily(
            "canonicalflow_risk_denials", "Intents risk refused, by reason", labels=["reason"]
        )
        for reason, count in sorted(node.session.risk.decided.items()):
            if reason:
                denials.add_metric([RiskReason(reason).name], count)
        yield denials
        yield CounterMetricFamily(
            "canonicalflow_reconnects", "Feed connections opened again", value=max(0, feed.connections - 1)
        )
        yield CounterMetricFamily(
            "canonicalflow_unauthorized", "Control requests refused for their token", value=node.unauthorized
        )
        yield GaugeMetricFamily(
            "canonicalflow_input_queue", "Inputs waiting for the engine", value=feed.waiting
        )
        yield GaugeMetricFamily(
            "canonicalflow_position",
            "The stream position the engine has reached",
            value=node.session.core.position,
        )
        yield GaugeMetricFamily(
            "canonicalflow_journal_bytes", "Bytes in the journal's segments", value=node.journal_bytes()
        )
        yield GaugeMetricFamily("canonicalflow_ready", "1 once every book is synced", value=int(node.ready))
