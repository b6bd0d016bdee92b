"""`canonicalflow data ingest|validate|ls|show`: vendor files into the canonical store, and back out."""

from __future__ import annotations

import datetime
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
from tqdm import tqdm

from canonicalflow.cli._errors import fail
from canonicalflow.data import FORMATS, IngestRequest, Store, ingest
from canonicalflow.errors import DataError

__all__ = ["data"]

_STORE_HELP = "The store's root directory (env CANONICALFLOW_STORE)."
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _timestamp(text: str | None) -> int | None:
    """An ISO 8601 time (UTC when no offset is given) as ns since the epoch."""
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (
        int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000 - int(moment.timestamp() % 1) * 0
    )


def _store_option(exists: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--store: the store's root; it must exist to be read, and is created on first ingestion."""
    return click.option(
        "--store",
        "root",
        envvar="CANONICALFLOW_STORE",
        required=True,
        type=click.Path(exists=exists, file_okay=False, path_type=Path),
        help=_STORE_HELP,
    )


@click.group()
def data() -> None:
    """The data platform: ingest vendor files, check them, and browse the canonical store.

    Ingestion follows the dataset lifecycle in spec/dataset_lifecycle.cflow: the files are hashed,
    normalized into canonical events while the quality checks run, and promoted into the store
    only if the checks pass (or --waive says a person accepts what they found). The store is
    Parquet, partitioned by venue, instrument and date; DuckDB and polars read it directly:
    read_parquet('STORE/**/part-*.parquet', hive_partitioning=true).
    """


def _request_options(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments and options ingest and validate share."""
    options = [
        click.argument("format", type=click.Choice(sorted(FORMATS))),
        click.argument(
            "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
        ),
        click.option("--venue", required=True, help="Venue name, e.g. nasdaq, binance-usdm, cme."),
        click.option("--instrument", "symbol", required=True, help="The instrument's symbol, e.g. AMZN."),
        click.option("--instrument-id", default=1, show_default=True, help="The id the events carry."),
        click.option(
            "--tick-size",
            default=None,
            help="Price of one tick (decimal). Default 0.01; lobster: 0.0001, its fixed price unit.",
        ),
        click.option("--lot-size", default="1", show_default=True, help="Quantity of one lot (decimal)."),
        click.option("--start", default=None, help="Declared window start (ISO 8601, UTC if no offset)."),
        click.option("--end", default=None, help="Declared window end; the data must cover [start, end]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_FIXED_TICK = {"lobster": "0.0001"}  # formats whose prices come in one unit whatever the instrument


def _build(fmt: str, paths: tuple[Path, ...], venue: str, symbol: str, instrument_id: int, tick_size: str | None,
           lot_size: str, start: str | None, end: str | None, waive: bool) -> IngestRequest:  # fmt: skip
    fixed = _FIXED_TICK.get(fmt)
    if fixed is not None and tick_size not in (None, fixed):
        raise click.UsageError(f"{fmt} prices are in units of {fixed}: --tick-size must be {fixed}")
    tick_size = tick_size or fixed or "0.01"
    declared = None
    if start or end:
        if not (start and end):
            raise click.UsageError("--start and --end go together")
        declared = (_timestamp(start), _timestamp(end))
    return IngestRequest(fmt, paths, venue, symbol, instrument_id, tick_size, lot_size, declared, waive)  # type: ignore[arg-type]


def _run(store: Store, request: IngestRequest) -> None:
    # A live count of events and their rate on a terminal; nothing when stderr is a file or a pipe.
    with tqdm(
        desc=f"{request.format} {request.instrument}", unit=" events", disable=None, file=sys.stderr
    ) as bar:

        def progress(rows: int) -> None:
            bar.update(rows - bar.n)

        try:
            result = ingest(store, request, progress)
        except DataError as error:
            fail(error)
    for line in result.report.lines():
        click.echo(line)
    click.echo(f"lifecycle      {result.state}")
    if result.version is None:
        click.echo(f"held           {result.path} (the staged events, quarantined rows and report)")
        sys.exit(2)
    click.echo(f"dataset        {result.dataset} version {result.version}")
    click.echo(f"path           {result.path}")


def _formats_help() -> str:
    """The formats and their files, for --help (\\b keeps click from rewrapping the list)."""
    return "\b\nFormats:\n" + "\n".join(f"  {name:<14} {fmt.help}" for name, fmt in sorted(FORMATS.items()))


@data.command("ingest", epilog=_formats_help())
@_request_options
@_store_option(exists=False)
@click.option(
    "--waive",
    is_flag=True,
    help="Promote even if the checks found errors or coverage gaps; recorded in the manifest.",
)
def ingest_command(format: str, paths: tuple[Path, ...], venue: str, symbol: str, instrument_id: int, tick_size: str | None,
                   lot_size: str, start: str | None, end: str | None, root: Path, waive: bool) -> None:  # fmt: skip
    """Normalize FORMAT files at PATHS, check them, and promote them into the store as a new version.

    Exit status 0 when promoted, 2 when the checks held the dataset back (quarantined,
    incomplete or rejected: see the report and the held directory), 1 on an error.
    """
    _run(
        Store(root),
        _build(format, paths, venue, symbol, instrument_id, tick_size, lot_size, start, end, waive),
    )


@data.command("validate", epilog=_formats_help())
@_request_options
def validate_command(format: str, paths: tuple[Path, ...], venue: str, symbol: str, instrument_id: int, tick_size: str | None,
                     lot_size: str, start: str | None, end: str | None) -> None:  # fmt: skip
    """Run the normalizer and every quality check on PATHS and print the report; store nothing.

    Exit status 0 when the checks pass, 2 when they find something.
    """
    scratch = Path(tempfile.mkdtemp(prefix="canonicalflow-validate-"))
    try:
        request = _build(format, paths, venue, symbol, instrument_id, tick_size, lot_size, start, end, False)
        try:
            result = ingest(Store(scratch), request)
        except DataError as error:
            fail(error)
        for line in result.report.lines():
            click.echo(line)
        click.echo(f"lifecycle      {result.state if result.version is None else 'Validated'}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if result.report.verdict == "passed" else 2)


@data.command("ls")
@_store_option(exists=True)
@click.option("--venue", default=None, help="Only this venue.")
@click.option("--instrument", default=None, help="Only this instrument.")
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest.")
def ls_command(root: Path, venue: str | None, instrument: str | None, all_versions: bool) -> None:
    """List the datasets in the store: one line per dataset (or version)."""
    table = Store(root).catalog(venue, instrument, all_versions)
    if not table.num_rows:
        click.echo("no datasets")
        return
    click.echo(f"{'dataset':<40} {'ver':>3} {'format':<18} {'rows':>12} {'quality':<8}")
    for row in table.to_pylist():
        click.echo(
            f"{row['dataset']:<40} {row['version']:>3} {row['format']:<18} {row['rows']:>12,} {row['quality']:<8}"
        )


@data.command("show")
@click.argument("dataset")
@_store_option(exists=True)
@click.option("--version", type=int, default=None, help="A version (default: the latest).")
def show_command(dataset: str, root: Path, version: int | None) -> None:
    """Print DATASET's manifest (venue/instrument/date, as `data ls` shows it)."""
    store = Store(root)
    try:
        manifest = store.manifest(dataset, version)
    except DataError as error:
        fail(error)
    click.echo(manifest.model_dump_json(indent=2))
    click.echo(f"data: {store.data_file(dataset, manifest.version)}")
