"""What every normalizer shares: canonical batches built column by column, and quarantined rows."""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA

__all__ = ["Quarantine", "Quarantined", "event_batch"]


class Quarantined(NamedTuple):
    """A source row that did not become an event, and why. Kept, never silently dropped."""

    file: str
    row: int  # 1-based line number in the source file
    field: str
    reason: str
    raw: str


class Quarantine:
    """Where bad rows go. Strict mode raises at the first one instead, naming file, row and field."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.rows: list[Quarantined] = []

    def add(self, row: Quarantined) -> None:
        if self.strict:
            raise DataError(f"{row.file}:{row.row}: field {row.field!r}: {row.reason} (row: {row.raw})")
        self.rows.append(row)

    def to_table(self) -> pa.Table:
        """The quarantined rows as a table, to write beside a dataset."""
        names = list(Quarantined._fields)
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(names)
        return pa.table(dict(zip(names, [list(c) for c in columns], strict=True)))


def event_batch(length: int, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    """A canonical batch of `length` events: the given columns, every other field 0."""
    arrays = []
    for field in EVENT_SCHEMA:
        column = columns.get(field.name)
        if column is None:
            arrays.append(pa.nulls(length, field.type).fill_null(0))
        else:
            arrays.append(pc.cast(column, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)
