"""Reading a journal: an index of frames from their headers, batches streamed one at a time.

Opening reads headers only, so it costs one small read per frame whatever the journal's size.
Each payload's checksum is verified when the frame is read; a mismatch raises JournalCorrupt.
Streaming holds one batch at a time, so memory stays flat however long the journal is.
A reader never writes: a torn tail is left out of the index with a warning, and the next writer
to open the journal truncates it (a reader cutting it could race a live writer).
"""

from __future__ import annotations

import os
import warnings
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from contextlib import closing
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.errors import JournalCorrupt, NotInJournal
from canonicalflow.events import Event, iter_events
from canonicalflow.journal._format import FRAME_HEADER_SIZE, decode_payload
from canonicalflow.journal._index import TornTailWarning, scan

__all__ = ["JournalReader"]


class JournalReader:
    """A snapshot of the journal in `path` as it was when opened; positions are inclusive everywhere."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._index = scan(self.path)
        tear = self._index.tear
        if tear:
            warnings.warn(
                f"{tear.path}: torn tail at byte {tear.offset} ({tear.reason}); left out of this read",
                TornTailWarning,
                stacklevel=2,
            )

    @property
    def first_position(self) -> int | None:
        return self._index.first[0] if self._index.first else None

    @property
    def last_position(self) -> int | None:
        return self._index.last_position

    @property
    def num_events(self) -> int:
        return sum(self._index.rows)

    @property
    def num_batches(self) -> int:
        return len(self._index.rows)

    @property
    def segments(self) -> tuple[Path, ...]:
        return tuple(self._index.segments)

    @property
    def total_bytes(self) -> int:
        """Bytes of valid data in all segments: headers, frames, payloads (a torn tail excluded)."""
        return sum(self._index.segment_ends)

    def batches(
        self, from_position: int | None = None, to_position: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The stored batches in order, the first and last sliced to [from_position, to_position]."""
        index = self._index
        start = 0 if from_position is None else bisect_left(index.last, from_position)
        stop = len(index.first) if to_position is None else bisect_right(index.first, to_position)
        with closing(_OpenSegment(index.segments)) as segment:
            for i in range(start, stop):
                batch = self._read_frame(i, segment)
                positions = batch.column("position")
                low = 0 if from_position is None else _rows_before(positions, from_position)
                high = batch.num_rows if to_position is None else _rows_before(positions, to_position + 1)
                if high > low:
                    yield batch if (low, high) == (0, batch.num_rows) else batch.slice(low, high - low)

    def events(self, from_position: int | None = None, to_position: int | None = None) -> Iterator[Event]:
        """The events in [from_position, to_position], in order, as flat Event records."""
        return chain.from_iterable(map(iter_events, self.batches(from_position, to_position)))

    def event_at(self, position: int) -> Event:
        """The event at `position`; `NotInJournal` (a KeyError) when the journal holds none there."""
        index = self._index
        i = bisect_left(index.last, position)
        if i == len(index.last) or index.first[i] > position:
            raise self._not_held(position)
        with closing(_OpenSegment(index.segments)) as segment:
            batch = self._read_frame(i, segment)
        row = _rows_before(batch.column("position"), position)
        if row == batch.num_rows or batch.column("position")[row].as_py() != position:
            raise self._not_held(position)
        return next(iter_events(batch.slice(row, 1)))

    def _not_held(self, position: int) -> NotInJournal:
        first, last = self.first_position, self.last_position
        held = (
            "no events" if first is None else f"{self.num_events} events between positions {first} and {last}"
        )
        return NotInJournal(self.path, position, held)

    def tail(self, n: int) -> list[Event]:
        """The last `n` events (fewer when the journal is shorter), reading only the frames that hold them."""
        rows, i = 0, len(self._index.rows)
        while i > 0 and rows < n:
            i -= 1
            rows += self._index.rows[i]
        if n <= 0 or not rows:
            return []
        return list(self.events(from_position=self._index.first[i]))[-n:]

    def _read_frame(self, i: int, segment: _OpenSegment) -> pa.RecordBatch:
        """Frame `i`'s batch, its checksum and its header's claims verified."""
        index = self._index
        slot = index.segment[i]
        f = segment.file(slot)
        path, offset = index.segments[slot], index.offset[i]
        f.seek(offset + FRAME_HEADER_SIZE)
        data = f.read(index.length[i])
        if len(data) != index.length[i] or zlib.crc32(data) != index.crc[i]:
            raise JournalCorrupt(path, offset, "the frame's payload fails its checksum")
        try:
            batch = decode_payload(data)
        except (pa.ArrowInvalid, OSError) as error:
            raise JournalCorrupt(path, offset, f"the payload is not an event batch: {error}") from None
        positions = batch.column("position")
        if batch.num_rows != index.rows[i] or (positions[0].as_py(), positions[-1].as_py()) != (
            index.first[i],
            index.last[i],
        ):
            raise JournalCorrupt(path, offset, "the payload does not match its frame header")
        return batch


class _OpenSegment:
    """The one segment file a read keeps open; asking for another segment closes it first."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths
        self._slot = -1
        self._file: BinaryIO | None = None

    def file(self, slot: int) -> BinaryIO:
        if slot != self._slot or self._file is None:
            self.close()
            self._file = self._paths[slot].open("rb")
            self._slot = slot
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _rows_before(positions: pa.Array, position: int) -> int:
    """How many rows lie before `position` (positions are sorted): where it is, or would be inserted."""
    return pc.sum(pc.less(positions, position)).as_py() or 0
