"""`canonicalflow journal inspect|tail|export`: look into a journal and get its events out."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from canonicalflow.errors import DataError
from canonicalflow.events import COMMON_FIELDS, EVENT_SCHEMA, FIELDS, Event, EventKind
from canonicalflow.journal import JournalReader

__all__ = ["journal"]


@contextmanager
def _opened(path: Path) -> Iterator[JournalReader]:
    """The journal at `path`; any failure, now or while reading it, is one line on stderr and exit 1."""
    try:
        if not path.is_dir():
            raise DataError(f"{path}: no journal here (a journal is a directory of segment-NNNNNN.cfj files)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = JournalReader(path)
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        if not reader.segments:
            raise DataError(f"{path}: no journal segments (segment-NNNNNN.cfj) in this directory")
        yield reader
    except (DataError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


def _iso(ns: int) -> str:
    """Integer nanoseconds since the epoch as UTC, for display only."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


def _table(header: list[str], rows: list[list[str]], echo: Callable[[str], None]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@click.group()
def journal() -> None:
    """Inspect a journal (a directory of segment files), show its last events, export them."""


@journal.command()
@click.argument("path", type=click.Path(path_type=Path))
def inspect(path: Path) -> None:
    """Summarise the journal at PATH; every frame is read and its checksum verified."""
    with _opened(path) as reader:
        ranges: dict[str, tuple[int, int]] = {}
        for batch in reader.batches():
            for name in ("ts_exchange", "ts_receive"):
                bounds = pc.min_max(batch.column(name))
                low, high = bounds["min"].as_py(), bounds["max"].as_py()
                if name in ranges:
                    low, high = min(low, ranges[name][0]), max(high, ranges[name][1])
                ranges[name] = (low, high)
        mib = reader.total_bytes / 2**20
        click.echo(f"journal     {path}")
        click.echo(f"segments    {len(reader.segments)}: {', '.join(p.name for p in reader.segments)}")
        click.echo(f"frames      {reader.num_batches:,}")
        click.echo(f"events      {reader.num_events:,}")
        if reader.num_events:
            click.echo(f"positions   {reader.first_position:,} .. {reader.last_position:,}")
            for name, (low, high) in ranges.items():
                click.echo(f"{name:<11} {_iso(low)} .. {_iso(high)}")
        click.echo(f"bytes       {reader.total_bytes:,} ({mib:.1f} MiB)")
        click.echo(f"checksums   all {reader.num_batches:,} frames verified")


@journal.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "-n", "count", type=click.IntRange(min=1), default=20, show_default=True, help="How many events."
)
def tail(path: Path, count: int) -> None:
    """Show the last events of the journal at PATH as a table.

    Each event shows its kind by name and only the fields that kind uses.

    A blank cell is a field the event's kind does not use.
    """
    with _opened(path) as reader:
        events = reader.tail(count)
    used = {name for event in events for name in FIELDS[EventKind(event.kind)]}
    extra = [name for name in Event._fields if name in used and name not in COMMON_FIELDS]
    header = list(COMMON_FIELDS) + extra
    rows = []
    for event in events:
        kind = EventKind(event.kind)
        own = set(FIELDS[kind])
        cells = [kind.name if name == "kind" else str(getattr(event, name)) for name in COMMON_FIELDS]
        cells += [str(getattr(event, name)) if name in own else "" for name in extra]
        rows.append(cells)
    _table(header, rows, click.echo)


@journal.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "from_position", type=int, default=None, help="First position to export (inclusive).")
@click.option("--to", "to_position", type=int, default=None, help="Last position to export (inclusive).")
def export(path: Path, out: Path, from_position: int | None, to_position: int | None) -> None:
    """Export the journal at PATH to OUT (.parquet or .csv).

    Batches are streamed one at a time, so memory stays flat. OUT appears only once complete.
    pandas, polars and DuckDB read either file directly.
    """
    writers = {".parquet": pq.ParquetWriter, ".csv": pa_csv.CSVWriter}
    if out.suffix not in writers:
        click.echo(f"error: {out}: write to a .parquet or a .csv file", err=True)
        sys.exit(1)
    partial = out.with_name(out.name + ".partial")
    events = batches = 0
    with _opened(path) as reader:
        try:
            with writers[out.suffix](partial, EVENT_SCHEMA) as writer:
                for batch in reader.batches(from_position, to_position):
                    writer.write_batch(batch)
                    events += batch.num_rows
                    batches += 1
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(f"exported {events:,} events in {batches:,} batches to {out}")
