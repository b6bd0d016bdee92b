"""A run's outputs: the five tables as Parquet, summary.json and the report, and the
`BacktestResult` that reads them back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from canonicalflow.backtest._config import SessionConfig
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._session import Session
from canonicalflow.backtest._summary import read_summary, summarize, write_summary
from canonicalflow.backtest._tables import EQUITY, FILLS, HOLDINGS, ORDERS, QUEUE, check_run_dir

__all__ = ["TABLES", "BacktestResult", "write_outputs"]

TABLES = ("orders", "fills", "holdings", "equity", "queue")


@dataclass
class BacktestResult:
    """A finished run: its directory, its summary, and its tables as Arrow (`.to_pandas()`, `polars.from_arrow`)."""

    run_dir: Path
    summary: dict[str, Any]
    _tables: dict[str, pa.Table] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, run_dir: Path | str) -> BacktestResult:
        """A run written earlier."""
        run_dir = Path(run_dir)
        check_run_dir(run_dir)
        return cls(run_dir, read_summary(run_dir / "summary.json"))

    def table(self, name: str) -> pa.Table:
        if name not in self._tables:
            self._tables[name] = pq.read_table(self.run_dir / f"{name}.parquet")
        return self._tables[name]

    orders = property(lambda self: self.table("orders"))
    fills = property(lambda self: self.table("fills"))
    holdings = property(lambda self: self.table("holdings"))
    equity = property(lambda self: self.table("equity"))
    queue = property(lambda self: self.table("queue"))

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"

    @property
    def journal(self) -> Path:
        return self.run_dir / "journal"


def write_outputs(
    run_dir: Path,
    config: SessionConfig,
    session: Session,
    elapsed: float,
    report: bool,
    extra: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """The tables, summary.json (with `extra` added: what a live session says about itself) and
    the report."""
    recorder, core = session.recorder, session.core
    tables = {
        "orders": _orders_table(session),
        "fills": recorder.table(recorder.fills, FILLS),
        "holdings": _holdings_table(session),
        "equity": recorder.table(recorder.equity, EQUITY),
        "queue": recorder.table(recorder.queue, QUEUE),
    }
    for name, table in tables.items():
        pq.write_table(table, run_dir / f"{name}.parquet")
    meta = {
        "name": config.name,
        "fingerprint": config.fingerprint,
        "market_events": recorder.market_events,
        "folded_events": recorder.folded,
        "recorded_events": recorder.recorded,
        "elapsed_s": elapsed,
        "final_position": core.position,
        "final_digest": core.current_digest().hex(),
        "sample_ns": config.run.sample_ms * 1_000_000,
    }
    summary = summarize(tables, meta)
    summary["decisions"] = session.driver.decisions
    summary["risk_denials"] = {r.name: n for r, n in sorted(session.risk.decided.items()) if r}
    summary.update(extra or {})
    write_summary(run_dir / "summary.json", summary)
    if report:
        render_report(run_dir)
    return BacktestResult(run_dir, summary, tables)


def _orders_table(session: Session) -> pa.Table:
    money = session.view.money
    rows = [
        (
            r.client_order_id,
            r.instrument,
            session.view.instrument(r.instrument).symbol,
            r.side,
            r.order_type,
            r.tif,
            r.price,
            float(money.price(r.instrument, r.price)),
            r.qty,
            r.filled,
            r.status,
            r.submitted_ts,
            r.acked_ts,
            r.final_ts,
            r.replaces,
            r.reject_reason,
            r.queue_ahead_at_ack,
        )
        for r in session.orders.records
    ]
    return session.recorder.table(rows, ORDERS)


def _holdings_table(session: Session) -> pa.Table:
    view, money = session.view, session.view.money
    rows = []
    for i in view.instruments:
        p, mark = view.holding(i), view.mark(i)
        realized, unrealized, fees = money.pnl(i, p, mark)  # unrealized None: held and unmarked
        rows.append(
            (
                i,
                view.instrument(i).symbol,
                p.qty,
                float(money.qty(i, p.qty)),
                float(money.price(i, Fraction(p.cost, p.qty))) if p.qty else math.nan,
                math.nan if mark is None else float(money.price(i, mark)),
                float(realized),
                math.nan if unrealized is None else float(unrealized),
                float(fees),
                math.nan if unrealized is None else float(realized + unrealized - fees),
                p.volume,
                float(money.tick_lots(i, p.traded)),
                p.fills,
            )
        )
    return session.recorder.table(rows, HOLDINGS)
