"""A run's report: one self-contained HTML page of its headline numbers and figures.

The page needs no network: its style is inline and its figures are PNGs embedded as base64.
Figures are drawn with matplotlib's object API (`Figure`, never pyplot), so rendering touches no
global state and needs no display. Time axes are seconds since the run's first sample, whose UTC
time each caption gives: offsets read better than wall-clock labels over runs of minutes or days.
Large tables are thinned before plotting, and each caption says so, so that a report stays a few
megabytes and renders in seconds whatever the run's size.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._summary import pnl_curve, read_summary
from ._tables import SCHEMAS, check_run_dir

__all__ = ["render_report"]

MAX_LINE_POINTS = 5_000  # per line: each bucket's lowest and highest point are kept, so spikes survive
MAX_MARKERS = 20_000  # per figure: every k-th marker
DPI = 100
WIDE = (10.0, 3.2)  # inches
MAKER = 1
BUY_COLOUR, SELL_COLOUR = "tab:green", "tab:red"

Columns = dict[str, np.ndarray]
FILL_COLUMNS = (
    "ts_receive",
    "instrument",
    "side",
    "price_value",
    "qty",
    "liquidity",
    "mid_value",
    "inventory_after",
)


def render_report(run_dir: Path) -> Path:
    """Read the run's five tables and `summary.json`, write `run_dir / "report.html"`, return its path."""
    check_run_dir(run_dir)
    tables = {name: pq.read_table(run_dir / f"{name}.parquet") for name in SCHEMAS}
    summary = read_summary(run_dir / "summary.json")
    run = _Run(tables)
    body = [
        _header(summary, run),
        _section("Headline numbers", _headline(summary) + _per_instrument(summary)),
        _section("Mid price and our fills", "".join(_price_figure(run, i) for i in run.instruments)),
        _section("Inventory", "".join(_inventory_figure(run, i) for i in run.instruments)),
        _section("PnL", _pnl_figure(run, summary)),
        _section("Spread captured", _spread_figure(run)),
        _section("Queue place", _queue_figure(run)),
        _section("Run directory", _run_directory(run_dir, tables)),
    ]
    path = run_dir / "report.html"
    path.write_text(_page(str(summary.get("name", run_dir.name)), "".join(body)))
    return path


class _Run:
    """The tables as NumPy columns, the instruments and their symbols, and the run's time origin."""

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.equity = _columns(tables["equity"], "ts", "instrument", "mid_value", "inventory")
        self.fills = _columns(tables["fills"], *FILL_COLUMNS)
        self.queue = _columns(tables["queue"], "ts", "instrument", "side", "ahead")
        self.curve = pnl_curve(tables["equity"])
        self.symbols = _symbols(tables)
        self.instruments = sorted(self.symbols)  # every table but the queue names its instruments' symbols
        times = [self.equity["ts"], self.fills["ts_receive"], self.queue["ts"]]
        # The first equity sample; without one, the first fill or queue sample.
        self.t0 = next((int(ts.min()) for ts in times if len(ts)), 0)
        self.t_end = max((int(ts.max()) for ts in times if len(ts)), default=self.t0)

    def seconds(self, ts: np.ndarray) -> np.ndarray:
        return (ts - self.t0) / 1e9

    def symbol(self, instrument: int) -> str:
        return self.symbols.get(instrument, f"instrument {instrument}")

    def origin(self) -> str:
        """The first sample as UTC time and as the raw timestamp (which need not be epoch-based)."""
        try:
            utc = dt.datetime.fromtimestamp(self.t0 / 1e9, tz=dt.UTC).isoformat(timespec="milliseconds")
        except (OverflowError, OSError, ValueError):
            return f"ts {self.t0} ns"
        return f"{utc} (ts {self.t0} ns)"

    def time_note(self) -> str:
        return f"Time: seconds since {self.origin()}."


def _columns(table: pa.Table, *names: str) -> Columns:
    return {name: table[name].to_numpy() for name in names}


def _rows_of(columns: Columns, instrument: int, time: str) -> Columns:
    """One instrument's rows, in time order."""
    mask = columns["instrument"] == instrument
    order = np.argsort(columns[time][mask], kind="stable")
    return {name: values[mask][order] for name, values in columns.items()}


def _symbols(tables: dict[str, pa.Table]) -> dict[int, str]:
    symbols: dict[int, str] = {}
    for name in ("orders", "fills", "holdings", "equity"):
        pairs = tables[name].group_by(["instrument", "symbol"]).aggregate([])
        symbols.update(zip(pairs["instrument"].to_pylist(), pairs["symbol"].to_pylist(), strict=True))
    return symbols


def _decimate(y: np.ndarray, limit: int = MAX_LINE_POINTS) -> np.ndarray:
    """Indices of at most `limit` points: the first, the last and each bucket's lowest and highest."""
    n = len(y)
    if n <= limit:
        return np.arange(n)
    size = -(-n // ((limit - 2) // 2))
    rows = np.full(-(-n // size) * size, np.nan)
    rows[:n] = y
    buckets = rows.reshape(-1, size)
    base = np.arange(len(buckets)) * size
    low = base + np.argmin(np.where(np.isnan(buckets), np.inf, buckets), axis=1)
    high = base + np.argmax(np.where(np.isnan(buckets), -np.inf, buckets), axis=1)
    return np.unique(np.concatenate([[0, n - 1], low, high]).clip(max=n - 1))


def _stride(n: int, limit: int = MAX_MARKERS) -> int:
    return max(1, -(-n // limit))


def _thinned(shown: int, total: int, what: str) -> str:
    return f" {shown:,} of {total:,} {what} shown." if shown < total else ""


def _price_figure(run: _Run, instrument: int) -> str:
    symbol = run.symbol(instrument)
    equity = _rows_of(run.equity, instrument, "ts")
    fills = _rows_of(run.fills, instrument, "ts_receive")
    mids = np.isfinite(equity["mid_value"])
    if not mids.any() and not len(fills["qty"]):
        return _note(f"{symbol}: no mid price and no fills in this run.")
    fig, ax = _figure()
    keep = _decimate(equity["mid_value"])
    ax.plot(run.seconds(equity["ts"][keep]), equity["mid_value"][keep], lw=0.8, color="0.35", label="mid")
    step = _stride(len(fills["qty"]))
    for sign, marker, colour, label in ((1, "^", BUY_COLOUR, "buy"), (-1, "v", SELL_COLOUR, "sell")):
        ours = fills["side"][::step] == sign
        if ours.any():
            x, y = run.seconds(fills["ts_receive"][::step][ours]), fills["price_value"][::step][ours]
            size = 18 if len(x) < 1_000 else 6
            ax.scatter(x, y, marker=marker, s=size, color=colour, label=label, zorder=3)
    ax.set(title=f"{symbol}: mid price and fills", xlabel="seconds", ylabel="price")
    ax.legend(loc="best", fontsize="small")
    caption = f"{symbol}: our book's mid at each equity sample; fills at the time they reached us."
    caption += " No fills in this run." if not len(fills["qty"]) else ""
    caption += _thinned(len(keep), len(equity["ts"]), "mid samples (each bucket's low and high kept)")
    caption += _thinned(-(-len(fills["qty"]) // step), len(fills["qty"]), "fills (every k-th)")
    return _embed(fig, caption + " " + run.time_note())


def _inventory_figure(run: _Run, instrument: int) -> str:
    """Exact from the fills when there are any (inventory after each), else the sampled holdings."""
    symbol = run.symbol(instrument)
    fills = _rows_of(run.fills, instrument, "ts_receive")
    if len(fills["qty"]):
        before = int(fills["inventory_after"][0] - fills["side"][0] * fills["qty"][0])
        ts = np.concatenate([[run.t0], fills["ts_receive"], [run.t_end]])
        lots = np.concatenate([[before], fills["inventory_after"], fills["inventory_after"][-1:]])
        source = "the inventory after each fill"
    else:
        equity = _rows_of(run.equity, instrument, "ts")
        ts, lots, source = equity["ts"], equity["inventory"], "the inventory at each equity sample (no fills)"
    if not len(ts):
        return _note(f"{symbol}: no holdings recorded in this run.")
    keep = _decimate(lots.astype(np.float64))
    fig, ax = _figure()
    ax.step(run.seconds(ts[keep]), lots[keep], where="post", lw=0.9, color="tab:blue")
    ax.axhline(0, lw=0.5, color="0.6")
    ax.set(title=f"{symbol}: inventory", xlabel="seconds", ylabel="lots")
    caption = f"{symbol}: lots held, from {source}." + _thinned(len(keep), len(ts), "steps")
    return _embed(fig, caption + " " + run.time_note())


def _pnl_figure(run: _Run, summary: dict) -> str:
    curve = {name: run.curve[name].to_numpy() for name in run.curve.column_names}
    if not len(curve["ts"]):
        return _note("No equity samples with a finite PnL in this run.")
    keep = _decimate(curve["pnl"])
    x = run.seconds(curve["ts"][keep])
    fig, ax = _figure()
    ax.plot(x, curve["pnl"][keep], lw=1.2, color="black", label="total PnL")
    ax.plot(x, curve["realized"][keep], lw=0.8, color="tab:blue", label="realized")
    ax.plot(x, curve["unrealized"][keep], lw=0.8, color="tab:orange", label="unrealized")
    drawdown, start, end = (summary.get(f"max_drawdown{key}") for key in ("", "_start_ts", "_end_ts"))
    if drawdown and start is not None and end is not None:
        span = run.seconds(np.array([start, end]))
        ax.axvspan(*span, color="tab:red", alpha=0.15, label=f"max drawdown {drawdown:,.2f}")
    ax.axhline(0, lw=0.5, color="0.6")
    ax.set(title="PnL", xlabel="seconds", ylabel="currency")
    ax.legend(loc="best", fontsize="small")
    caption = "Sums over instruments at each equity sample; total = realized + unrealized - fees."
    caption += " The shaded span runs from the peak to the trough of the largest drawdown."
    caption += _thinned(len(keep), len(curve["ts"]), "samples (each bucket's low and high of the total kept)")
    return _embed(fig, caption + " " + run.time_note())


def _spread_figure(run: _Run) -> str:
    fills = run.fills
    if not len(fills["qty"]):
        return _note("No fills in this run.")
    with_mid = np.isfinite(fills["mid_value"])
    if not with_mid.any():
        return _note("No fill in this run reached us with a mid price (both sides of the book).")
    edge = fills["side"] * (fills["mid_value"] - fills["price_value"])
    captured = np.round(edge[with_mid], 9)  # equal edges must not differ by float dust, or bins split them
    maker = (fills["liquidity"] == MAKER)[with_mid]
    fig, ax = _figure()
    edges = _bin_edges(captured)
    labels = [f"maker ({maker.sum():,})", f"taker ({(~maker).sum():,})"]
    ax.hist(
        [captured[maker], captured[~maker]],
        bins=edges,  # type: ignore[arg-type]  # the stub wants Sequence[float]; hist takes an array of edges
        stacked=True,
        color=["tab:blue", "tab:orange"],
        label=labels,
    )
    ax.axvline(0, lw=0.8, color="0.3")
    ax.set(title="Spread captured per fill", xlabel="side * (mid - price), price units", ylabel="fills")
    ax.legend(loc="best", fontsize="small")
    caption = (
        "Positive: bought below or sold above our book's mid when the fill reached us. One count per fill."
    )
    if not with_mid.all():
        caption += (
            f" {int((~with_mid).sum()):,} fills without a mid (one side of the book empty) are left out."
        )
    return _embed(fig, caption)


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """One bin per smallest gap between values (they are ticks or half-ticks) if that makes <= 200, else 50."""
    distinct = np.unique(values)
    if len(distinct) == 1:
        half = max(abs(distinct[0]) * 0.05, 1e-9)
        return np.array([distinct[0] - half, distinct[0] + half])
    step = np.diff(distinct).min()
    if (distinct[-1] - distinct[0]) / step <= 200:
        return np.arange(distinct[0] - step / 2, distinct[-1] + step, step)
    return np.histogram_bin_edges(values, bins=50)


def _queue_figure(run: _Run) -> str:
    queue = run.queue
    instruments = np.unique(queue["instrument"]).tolist()
    if not instruments:
        return _note("No queue samples in this run (no resting orders when sampled).")
    step = _stride(len(queue["ahead"]))
    fig = Figure(figsize=(WIDE[0], 1.0 + 2.2 * len(instruments)), layout="constrained")
    axes = fig.subplots(len(instruments), 1, sharex=True, squeeze=False)[:, 0]
    for ax, instrument in zip(axes, instruments, strict=True):
        rows = _rows_of(queue, instrument, "ts")
        for sign, colour, label in ((1, BUY_COLOUR, "bid"), (-1, SELL_COLOUR, "ask")):
            ours = rows["side"][::step] == sign
            if ours.any():
                x, y = run.seconds(rows["ts"][::step][ours]), rows["ahead"][::step][ours]
                ax.scatter(x, y, s=3, color=colour, label=label, linewidths=0)
        ax.set(title=f"{run.symbol(instrument)}: lots ahead of our resting orders", ylabel="lots")
        ax.legend(loc="best", fontsize="small", markerscale=3)
    axes[-1].set_xlabel("seconds")
    caption = "One point per resting order per sample." + _thinned(
        -(-len(queue["ahead"]) // step), len(queue["ahead"]), "samples (every k-th)"
    )
    return _embed(fig, caption + " " + run.time_note())


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=WIDE, layout="constrained")
    return fig, fig.subplots()


def _embed(fig: Figure, caption: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption.split(".")[0])
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>\n"
    )


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>\n'


def _header(summary: dict, run: _Run) -> str:
    facts = [("fingerprint", summary.get("fingerprint")), ("final digest", summary.get("final_digest"))]
    facts.append(("first sample", run.origin()))
    items = "".join(f"<dt>{html.escape(k)}</dt><dd><code>{html.escape(str(v))}</code></dd>" for k, v in facts)
    return f"<header><h1>{html.escape(str(summary.get('name', '')))}</h1><dl>{items}</dl></header>\n"


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _share(v: float) -> str:
    return f"{v:.1%}"


def _number(v: float) -> str:
    return f"{v:,.6g}"


def _count(v: int) -> str:
    return f"{v:,}"


HEADLINE: list[tuple[str, str, Callable[[Any], str]]] = [  # label, summary key (dotted), format
    ("PnL", "pnl", _money),
    ("realized", "realized", _money),
    ("unrealized", "unrealized", _money),
    ("fees", "fees", _money),
    ("Sharpe (PnL increments, 365-day year)", "sharpe", "{:.2f}".format),
    ("max drawdown", "max_drawdown", _money),
    ("turnover", "turnover", _money),
    ("volume (lots)", "volume", _count),
    ("orders", "orders", _count),
    ("rejected", "rejected", _count),
    ("fills", "fills", _count),
    ("fill ratio", "fill_ratio", _share),
    ("maker share", "maker_share", _share),
    ("spread captured (price, qty-weighted)", "spread_captured", _number),
    ("lots ahead at ack: mean", "queue.ahead_at_ack_mean", _number),
    ("lots ahead at ack: median", "queue.ahead_at_ack_median", _number),
    ("lots ahead at rest, maker fills: mean", "queue.filled_ahead_at_ack_mean", _number),
    ("lots ahead at rest, maker fills: median", "queue.filled_ahead_at_ack_median", _number),
    ("queue samples", "queue.samples", _count),
    ("market events", "market_events", _count),
    ("events/s", "events_per_s", "{:,.0f}".format),
    ("elapsed (s)", "elapsed_s", "{:,.3f}".format),
]


def _headline(summary: dict) -> str:
    rows = []
    for label, key, fmt in HEADLINE:
        value: object = summary
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        shown = "n/a" if value is None else fmt(value)
        rows.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(shown)}</td></tr>")
    return f'<table class="headline">{"".join(rows)}</table>\n'


def _per_instrument(summary: dict) -> str:
    entries = summary.get("per_instrument") or []
    if not entries:
        return _note("No holdings in this run.")
    keys = ["symbol", "inventory", "pnl", "realized", "unrealized", "fees", "volume", "traded"]
    head = "".join(f"<th>{key}</th>" for key in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(entry.get(key)))}</td>" for key in keys) + "</tr>"
        for entry in entries
    )
    return f"<table><tr>{head}</tr>{body}</table>\n"


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return _money(value)
    return _count(value) if isinstance(value, int) else str(value)


def _run_directory(run_dir: Path, tables: dict[str, pa.Table]) -> str:
    """Row counts of the tables, and the files beside this report (the report itself is left out)."""
    counts = "".join(f"<tr><th>{name}</th><td>{table.num_rows:,}</td></tr>" for name, table in tables.items())
    files = sorted(p for p in run_dir.iterdir() if p.is_file() and p.name != "report.html")
    listing = "".join(
        f"<li><code>{html.escape(p.name)}</code> ({p.stat().st_size:,} bytes)</li>" for p in files
    )
    return f"<h3>Rows</h3><table>{counts}</table><h3>Files</h3><ul>{listing}</ul>\n"


def _section(title: str, content: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n{content}</section>\n"


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1040px; margin: 2em auto; color: #222; }
h1 { margin-bottom: 0.2em; } dl { display: grid; grid-template-columns: max-content auto; gap: 0 1em; }
dt { color: #666; } dd { margin: 0; } table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child { text-align: left; } figure { margin: 1em 0; } img { max-width: 100%; }
figcaption, .note { color: #555; font-size: 13px; } .note { font-style: italic; }
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}: CanonicalFlow run report</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}</body></html>\n"
    )
