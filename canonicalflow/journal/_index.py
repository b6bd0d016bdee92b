"""Scanning a journal directory: the index of its frames, read from headers, and the torn tail if any.

Only the tail of the last segment can be torn by a crash: the writer finishes (and, unless its
policy is NEVER, fsyncs) a segment before it creates the next. So damage there is a torn tail
when no valid frame header follows it: the frame being written when the process died. Damage
anywhere else, or followed by a valid frame, is corruption and raises JournalCorrupt: dropping it
would silently drop data that was acknowledged. Payload checksums are verified for the last frame
only, where a tear can hide behind a complete header; the others are verified when they are read.
"""

from __future__ import annotations

import os
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from canonicalflow.errors import DataError, JournalCorrupt
from canonicalflow.events import EVENT_SCHEMA
from canonicalflow.journal._format import (
    FORMAT_VERSION,
    FRAME_HEADER_SIZE,
    FRAME_MAGIC,
    SEGMENT_PREFIX_SIZE,
    FrameHeader,
    decode_frame_header,
    decode_segment_prefix,
    read_schema,
    segment_number,
    segment_schema_matches,
)

__all__ = ["JournalIndex", "Tear", "TornTailWarning", "scan"]

_SCHEMA_ID = b"canonicalflow.schema"


class TornTailWarning(UserWarning):
    """A crash left the journal's last frame incomplete; it was cut away (writer) or left out (reader)."""


@dataclass(frozen=True, slots=True)
class Tear:
    """Where the last segment's valid data ends and why; the whole file when its header is torn."""

    path: Path
    offset: int
    reason: str
    whole_segment: bool


@dataclass(slots=True)
class JournalIndex:
    """Every frame, as parallel arrays in stream order; segment files with the length of their valid data.

    Arrays of machine integers rather than objects: a journal of a million small frames indexes in
    about 50 MB, and `bisect` searches them directly.
    """

    segments: list[Path] = field(default_factory=list)
    segment_ends: list[int] = field(default_factory=list)
    segment: array = field(default_factory=lambda: array("l"))
    offset: array = field(default_factory=lambda: array("q"))
    length: array = field(default_factory=lambda: array("q"))
    first: array = field(default_factory=lambda: array("q"))
    last: array = field(default_factory=lambda: array("q"))
    rows: array = field(default_factory=lambda: array("q"))
    crc: array = field(default_factory=lambda: array("L"))
    tear: Tear | None = None

    @property
    def last_position(self) -> int | None:
        return self.last[-1] if self.last else None


def scan(directory: Path) -> JournalIndex:
    """Index the journal in `directory` from its headers; raise JournalCorrupt on damage that is not a tear."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no journal directory at {directory}")
    numbered = sorted((n, p) for p in directory.iterdir() if (n := segment_number(p)) is not None)
    index = JournalIndex()
    for expected, (number, path) in enumerate(numbered, start=1):
        if number != expected:
            raise JournalCorrupt(path, 0, f"segment {expected:06d} is missing before it")
        _scan_segment(path, number, is_last=number == len(numbered), index=index)
    return index


def _scan_segment(path: Path, number: int, *, is_last: bool, index: JournalIndex) -> None:
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        start = _segment_header(f, path, number, size)
        if start is None:
            if is_last and not _valid_frame_after(f, 1, size):
                index.tear = Tear(path, 0, "the segment header is incomplete", whole_segment=True)
                return
            raise JournalCorrupt(path, 0, "the segment header is damaged")
        index.segments.append(path)
        slot = len(index.segments) - 1
        offset = start
        while offset < size:
            f.seek(offset)
            header = decode_frame_header(f.read(FRAME_HEADER_SIZE))
            end = offset + FRAME_HEADER_SIZE + header.payload_length if header else size + 1
            problem = _frame_problem(header, end, size)
            if problem:
                if is_last and not _valid_frame_after(f, offset + 1, size):
                    index.tear = Tear(path, offset, problem, whole_segment=False)
                    break
                raise JournalCorrupt(path, offset, problem)
            assert header is not None
            previous = index.last[-1] if index.last else -1
            if not previous < header.first_position <= header.last_position:
                raise JournalCorrupt(
                    path,
                    offset,
                    f"frame positions {header.first_position}..{header.last_position} do not follow {previous}",
                )
            if not 0 < header.rows <= header.last_position - header.first_position + 1:
                raise JournalCorrupt(path, offset, f"frame claims {header.rows} rows")
            index.segment.append(slot)
            index.offset.append(offset)
            index.length.append(header.payload_length)
            index.first.append(header.first_position)
            index.last.append(header.last_position)
            index.rows.append(header.rows)
            index.crc.append(header.payload_crc)
            offset = end
        if is_last:
            offset = _drop_failing_last_frames(f, path, slot, offset, index)
        index.segment_ends.append(offset)


def _drop_failing_last_frames(f: BinaryIO, path: Path, slot: int, end: int, index: JournalIndex) -> int:
    """Verify the last frame's payload; while it fails, it is the torn tail. Return the new end."""
    while index.segment and index.segment[-1] == slot:
        f.seek(index.offset[-1] + FRAME_HEADER_SIZE)
        if zlib.crc32(f.read(index.length[-1])) == index.crc[-1]:
            break
        end = index.offset[-1]
        index.tear = Tear(path, end, "the last frame's payload fails its checksum", whole_segment=False)
        for column in (
            index.segment,
            index.offset,
            index.length,
            index.first,
            index.last,
            index.rows,
            index.crc,
        ):
            column.pop()
    return end


def _segment_header(f: BinaryIO, path: Path, number: int, size: int) -> int | None:
    """The offset of the first frame, or None when the header is incomplete or damaged."""
    prefix = decode_segment_prefix(f.read(SEGMENT_PREFIX_SIZE))
    if prefix is None or prefix.size > size:
        return None
    schema = f.read(prefix.schema_length)
    if not segment_schema_matches(prefix, schema):
        return None
    if prefix.version != FORMAT_VERSION:
        raise DataError(
            f"{path}: journal format version {prefix.version}; this CanonicalFlow reads {FORMAT_VERSION}"
        )
    if prefix.number != number:
        raise JournalCorrupt(path, 0, f"the header says segment {prefix.number}; was the file renamed?")
    stored = read_schema(schema)
    theirs = (stored.metadata or {}).get(_SCHEMA_ID, b"unknown").decode()
    ours = EVENT_SCHEMA.metadata[_SCHEMA_ID].decode()
    if theirs != ours or not stored.equals(EVENT_SCHEMA):
        raise DataError(f"{path}: events stored with schema {theirs}; this CanonicalFlow reads {ours}")
    return prefix.size


def _frame_problem(header: FrameHeader | None, end: int, size: int) -> str:
    """What is wrong with the frame whose header was just read, or "" when nothing is."""
    if header is None:
        return "incomplete or damaged frame header"
    if end > size:
        return f"the payload is incomplete ({size - end + header.payload_length} of {header.payload_length} bytes)"
    return ""


def _valid_frame_after(f: BinaryIO, start: int, size: int) -> bool:
    """Whether a valid frame header starts anywhere in [start, size): then the damage is not a tail."""
    f.seek(start)
    rest = f.read(size - start)
    hit = rest.find(FRAME_MAGIC)
    while hit >= 0:
        if decode_frame_header(rest[hit : hit + FRAME_HEADER_SIZE]) is not None:
            return True
        hit = rest.find(FRAME_MAGIC, hit + 1)
    return False
