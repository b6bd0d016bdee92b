"""What every normalizer shares: canonical batches built column by column, and quarantined rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA

__all__ = ["Quarantine", "Quarantined", "event_batch", "to_units", "units_converter"]

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


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


def units_converter(unit: str) -> Callable[[str], int]:
    """A function turning a decimal string into a whole number of `unit`s, exactly.

    It works on the digits (integer arithmetic only) and raises ValueError for a string that is
    not a plain non-negative decimal or not a whole multiple of `unit` (TypeError for a value
    that cannot be a dictionary key, such as a list). Results are cached: a feed repeats the
    same prices and sizes over and over, and a cache hit costs one dictionary lookup.
    """
    step = Decimal(unit) if isinstance(unit, str) and _DECIMAL.fullmatch(unit) else Decimal(0)
    if step <= 0:
        raise ValueError(f"unit {unit!r} is not a positive decimal string such as '0.01'")
    return _Units(unit, step).__getitem__


def to_units(text: str, unit: str) -> int:
    """`text` (a decimal string) as a whole number of `unit`s: to_units("61800.20", "0.1") == 618002."""
    return units_converter(unit)(text)


class _Units(dict[str, int]):
    """Decimal string -> whole units, computed on a miss (`__missing__`) and remembered."""

    _LIMIT = 1 << 20  # cached strings, at most; then the cache starts afresh

    def __init__(self, unit: str, step: Decimal) -> None:
        super().__init__()
        _, digits, exponent = step.normalize().as_tuple()
        assert isinstance(exponent, int)  # a finite decimal
        self.unit = unit
        self.places = max(0, -exponent)  # decimal places the unit has
        self.scale = int("".join(map(str, digits))) * 10 ** max(0, exponent)  # the unit in 10**-places

    def __missing__(self, text: str) -> int:
        if type(text) is not str or not _DECIMAL.fullmatch(text):
            raise ValueError(f"not a decimal string: {text!r}")
        places = self.places
        whole, _, fraction = text.partition(".")
        if len(fraction) > places:
            if fraction[places:].strip("0"):
                raise ValueError(f"{text} is not a whole multiple of {self.unit}")
            fraction = fraction[:places]
        count, rest = divmod(int(whole + fraction.ljust(places, "0")), self.scale)
        if rest:
            raise ValueError(f"{text} is not a whole multiple of {self.unit}")
        if len(self) >= self._LIMIT:
            self.clear()
        self[text] = count
        return count
