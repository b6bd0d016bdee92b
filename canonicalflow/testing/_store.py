"""A canonical table as a store dataset, as ingestion would promote it: for tests and benchmarks
that make their own events instead of reading a vendor's files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonicalflow.data import DATA_FILE, Manifest, SourceFile, Store

__all__ = ["ROW_GROUP_ROWS", "store_table"]

ROW_GROUP_ROWS = 65_536  # as ingestion writes them: reading streams one row group at a time


def store_table(
    table: pa.Table | Path,
    root: Path,
    dataset: str = "test/INSTR/2000-01-01",
    tick_size: str = "0.01",
    lot_size: str = "1",
) -> Store:
    """The store at `root` with `table` (canonical events of one instrument, or a Parquet file of
    them, copied as it is) as version 1 of `dataset`."""
    store = Store(root)
    staged = store.staging()
    if isinstance(table, Path):
        shutil.copyfile(table, staged / DATA_FILE)
    else:
        pq.write_table(table, staged / DATA_FILE, row_group_size=ROW_GROUP_ROWS)
    data = pq.ParquetFile(staged / DATA_FILE)
    first = data.read_row_group(0, columns=["ts_exchange", "instrument"])
    last = data.read_row_group(data.num_row_groups - 1, columns=["ts_exchange"])
    venue, symbol, date = dataset.split("/")
    store.promote(
        staged,
        Manifest(
            dataset=dataset,
            version=1,
            venue=venue,
            instrument=symbol,
            instrument_id=first.column("instrument")[0].as_py(),
            date=date,
            format="canonical",
            normalizer_version="1",
            tick_size=tick_size,
            lot_size=lot_size,
            sources=(SourceFile(path="(made by a test or benchmark)", sha256="-", bytes=0),),
            rows=data.metadata.num_rows,
            first_ts=first.column("ts_exchange")[0].as_py(),
            last_ts=last.column("ts_exchange")[-1].as_py(),
            quality="passed",
            lifecycle=("Raw", "Validated", "Canonical"),
        ),
    )
    return store
