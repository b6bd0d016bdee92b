"""The data-quality checks a dataset must pass before it may be promoted.

They run over canonical event batches in one streaming pass: the order of positions and
timestamps, feed gaps, the book rebuilt from the data (every reference resolves, never crossed
after a complete update), trades against the book they hit, and coverage of the declared window.
Each problem is a finding with its position; the verdict maps onto the dataset-lifecycle machine's
events (`passed`, `failed`, `uncovered`, `unreadable`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from canonicalflow.book import ASK, BID, BookFinding, L2Book, L3Book, apply_l2, apply_l3
from canonicalflow.errors import InvalidEvent
from canonicalflow.events import Event, EventKind, Flag, check_batch, iter_events

__all__ = ["QualityGate", "QualityReport"]

_EXAMPLES = 20  # findings kept per check, for the report; every one is counted
_LAST_IN_PACKET = int(Flag.LAST_IN_PACKET)
_SNAPSHOT = int(Flag.SNAPSHOT)
_FIRST_EXECUTION_KIND = int(EventKind.ACK)  # kinds below it are market data
_ORDER_EVENTS = frozenset(
    int(k)
    for k in (EventKind.ORDER_ADD, EventKind.ORDER_MODIFY, EventKind.ORDER_CANCEL, EventKind.ORDER_FILL)
)


@dataclass
class QualityReport:
    """What the checks found; `verdict` is the dataset-lifecycle event it leads to."""

    rows: int = 0
    first_ts: int = 0
    last_ts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    quarantined_rows: int = 0
    declared_start: int | None = None
    declared_end: int | None = None
    verdict: str = "passed"

    @property
    def errors(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """A readable report, one line per fact."""
        out = [
            f"verdict        {self.verdict}",
            f"rows           {self.rows:,}",
            f"time range     {self.first_ts} .. {self.last_ts} (ts_exchange, ns)",
            f"quarantined    {self.quarantined_rows:,} source rows",
        ]
        if self.declared_start is not None:
            out.append(f"declared       {self.declared_start} .. {self.declared_end}")
        for check, count in sorted(self.counts.items()):
            first = ", ".join(f"@{p} {d}".strip() for p, d in self.examples.get(check, [])[:3])
            out.append(f"finding        {check}: {count:,} (first: {first})")
        return out


class QualityGate:
    """Feed it every batch of a dataset in order, then ask for the report.

    `book_level` 3 rebuilds an order-level book, 2 a price-level one, 0 none (trades only).
    A trade more than `trade_band_bps` basis points outside the best bid and offer it met is
    implausible. Bad source rows beyond `max_bad_row_fraction` of the rows fail the dataset.
    """

    def __init__(
        self,
        book_level: int = 3,
        declared: tuple[int, int] | None = None,
        *,
        coverage_tolerance_ns: int = 60_000_000_000,
        trade_band_bps: int = 100,
        max_bad_row_fraction: float = 0.001,
    ) -> None:
        self._level = book_level
        self._declared = declared
        self._tolerance = coverage_tolerance_ns
        self._band = trade_band_bps
        self._max_bad = max_bad_row_fraction
        self._books: dict[int, L3Book | L2Book] = {}
        self._last_exchange: dict[tuple[int, int, int], int] = {}  # channel -> latest ts_exchange
        self._last_receive: dict[int, int] = {}  # instrument -> latest ts_receive
        self._last_sequence: dict[tuple[int, int, int], int] = {}  # channel -> latest venue sequence
        self._position = -1
        self._unreadable = False
        self.report = QualityReport(
            declared_start=declared[0] if declared else None, declared_end=declared[1] if declared else None
        )

    def feed(self, batch: pa.RecordBatch) -> None:
        if self._unreadable:
            return
        try:
            check_batch(batch, self._position)
        except InvalidEvent as error:
            self._unreadable = True
            self._find("schema", max(self._position, 0), str(error))
            return
        report = self.report
        for ev in iter_events(batch):
            if ev.ts_exchange and (not report.first_ts or ev.ts_exchange < report.first_ts):
                report.first_ts = ev.ts_exchange  # the earliest known time (0 means the venue gave none)
            report.rows += 1
            report.last_ts = max(report.last_ts, ev.ts_exchange)
            self._check_order(ev)
            if ev.kind == EventKind.FEED_GAP:
                self._find("feed_gap", ev.position, f"sequence {ev.sequence}..{ev.gap_to} missing")
            if self._level:
                self._check_book(ev)
        self._position = batch.column(0)[-1].as_py() if batch.num_rows else self._position

    def _check_order(self, ev: Event) -> None:
        """Receive time never goes back for an instrument; exchange time and the venue's sequence
        number never go back within one channel: a kind of event, snapshots apart (a venue's depth,
        quote and trade streams and its REST snapshots stamp their own times and numbers, and a
        capture interleaves them). Gaps in a sequence need the venue's rules, so the normalizer
        that knows them records FEED_GAP events, counted below."""
        channel = (ev.instrument, ev.kind, ev.flags & _SNAPSHOT)
        last = self._last_exchange.get(channel, ev.ts_exchange)
        if ev.ts_exchange < last:
            self._find("exchange_time_backwards", ev.position, f"{ev.ts_exchange} after {last}")
        self._last_exchange[channel] = max(last, ev.ts_exchange)
        if ev.sequence and ev.kind < _FIRST_EXECUTION_KIND and not ev.flags & _SNAPSHOT:
            # live market data with a venue sequence number (a snapshot lists orders in any order)
            last = self._last_sequence.get(channel, ev.sequence)
            if ev.sequence < last:
                self._find("sequence_backwards", ev.position, f"{ev.sequence} after {last}")
            self._last_sequence[channel] = max(last, ev.sequence)
        last = self._last_receive.get(ev.instrument, ev.ts_receive)
        if ev.ts_receive < last:
            self._find("receive_time_backwards", ev.position, f"{ev.ts_receive} after {last}")
        self._last_receive[ev.instrument] = max(last, ev.ts_receive)

    def _check_book(self, ev: Event) -> None:
        book = self._books.get(ev.instrument)
        if book is None:
            book = self._books[ev.instrument] = L3Book() if self._level == 3 else L2Book()
        if ev.kind == EventKind.TRADE:
            self._check_trade(book, ev)
        if self._level == 2 and ev.kind in _ORDER_EVENTS:
            return  # an order-level event in a price-level dataset says nothing about levels
        code = apply_l3(book, ev) if isinstance(book, L3Book) else apply_l2(book, ev)
        if code:
            finding = BookFinding(ev.position, ev.instrument, code, ev.order_id)
            self._find(
                f"book_{code}", finding.position, f"order {finding.order_id}" if finding.order_id else ""
            )
        if ev.flags & _LAST_IN_PACKET and book.crossed():
            bid, ask = book.best(BID), book.best(ASK)
            if bid is not None and ask is not None:  # always so in a crossed book
                self._find("crossed_book", ev.position, f"bid {bid[0]} >= ask {ask[0]}")

    def _check_trade(self, book: L3Book | L2Book, ev: Event) -> None:
        bid, ask = book.best(BID), book.best(ASK)
        if bid is None or ask is None or bid[0] >= ask[0]:
            return
        band = (bid[0] + ask[0]) * self._band // 20_000
        price = ev.price
        if not bid[0] - band <= price <= ask[0] + band:
            self._find(
                "implausible_trade", ev.position, f"{price} outside {bid[0]}..{ask[0]} by more than the band"
            )

    def _find(self, check: str, position: int, detail: str) -> None:
        counts = self.report.counts
        counts[check] = counts.get(check, 0) + 1
        examples = self.report.examples.setdefault(check, [])
        if len(examples) < _EXAMPLES:
            examples.append((position, detail))

    def finish(self, quarantined_rows: int = 0) -> QualityReport:
        """The report, with its verdict: the first of unreadable, failed, uncovered, passed that applies."""
        report = self.report
        report.quarantined_rows = quarantined_rows
        source_rows = report.rows + quarantined_rows
        if quarantined_rows and quarantined_rows > self._max_bad * source_rows:
            self._find("bad_source_rows", 0, f"{quarantined_rows} of {source_rows} rows quarantined")
        if self._unreadable or (source_rows and not report.rows):
            report.verdict = "unreadable"
        elif report.errors:
            report.verdict = "failed"
        elif self._declared and not self._covers(*self._declared):
            report.verdict = "uncovered"
        else:
            report.verdict = "passed"
        return report

    def _covers(self, start: int, end: int) -> bool:
        report = self.report
        return (
            report.rows > 0
            and report.first_ts <= start + self._tolerance
            and report.last_ts >= end - self._tolerance
        )
