"""The bytes of a journal segment: its header, its frame headers, and how segment files are named.

A segment is `segment-NNNNNN.cfj`: a header (magic, format version, segment number, the Arrow
schema serialized once, a CRC-32 of it all), then one frame per appended batch. A frame is a
48-byte header (magic, payload length, first and last position, row count, CRC-32 of the payload,
CRC-32 of the header itself) and the payload, the batch as one Arrow IPC message (LZ4-compressed). Integers are
little-endian. Both headers are multiples of 8 bytes and IPC messages are padded to 8, so every
payload starts 8-byte aligned in the file. ADR 0004 says why this shape and not another.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from canonicalflow.events import EVENT_SCHEMA

__all__ = [
    "FORMAT_VERSION",
    "FRAME_HEADER_SIZE",
    "FRAME_MAGIC",
    "SEGMENT_MAGIC",
    "SEGMENT_PREFIX_SIZE",
    "FrameHeader",
    "SegmentHeader",
    "decode_frame_header",
    "decode_payload",
    "decode_segment_prefix",
    "encode_frame_header",
    "encode_payload",
    "encode_segment_header",
    "read_schema",
    "segment_name",
    "segment_number",
    "segment_schema_matches",
]

# PNG-style: a high byte catches 7-bit transfers, CR LF and LF catch newline translation, ^Z stops `type`.
SEGMENT_MAGIC = b"\x89CFJ\r\n\x1a\n"
FRAME_MAGIC = b"CFJframe"
FORMAT_VERSION = 1

# magic, version, segment number, schema length, CRC-32 of (version, number, length, schema bytes)
_SEGMENT_PREFIX = struct.Struct("<8sIIII")
SEGMENT_PREFIX_SIZE = _SEGMENT_PREFIX.size
# magic, payload length, first position, last position, rows, payload CRC-32, header CRC-32
_FRAME = struct.Struct("<8sQqqQII")
FRAME_HEADER_SIZE = _FRAME.size
_FRAME_CRC_SPAN = slice(len(FRAME_MAGIC), FRAME_HEADER_SIZE - 4)

_SEGMENT_FILE = re.compile(r"segment-(\d{6,})\.cfj")


class SegmentHeader(NamedTuple):
    version: int
    number: int
    schema_length: int
    crc: int

    @property
    def size(self) -> int:
        """Bytes from the start of the file to the first frame."""
        return SEGMENT_PREFIX_SIZE + self.schema_length


class FrameHeader(NamedTuple):
    payload_length: int
    first_position: int
    last_position: int
    rows: int
    payload_crc: int


def segment_name(number: int) -> str:
    return f"segment-{number:06d}.cfj"


def segment_number(path: Path) -> int | None:
    """The number in a segment file's name, or None when the file is not a segment."""
    match = _SEGMENT_FILE.fullmatch(path.name)
    return int(match.group(1)) if match else None


def _schema_crc(version: int, number: int, schema: bytes) -> int:
    return zlib.crc32(schema, zlib.crc32(struct.pack("<III", version, number, len(schema))))


def encode_segment_header(number: int) -> bytes:
    schema = EVENT_SCHEMA.serialize().to_pybytes()
    crc = _schema_crc(FORMAT_VERSION, number, schema)
    return _SEGMENT_PREFIX.pack(SEGMENT_MAGIC, FORMAT_VERSION, number, len(schema), crc) + schema


def decode_segment_prefix(data: bytes) -> SegmentHeader | None:
    """The fixed part of a segment header, or None when the magic is wrong or bytes are missing."""
    if len(data) < SEGMENT_PREFIX_SIZE:
        return None
    magic, version, number, length, crc = _SEGMENT_PREFIX.unpack_from(data)
    return SegmentHeader(version, number, length, crc) if magic == SEGMENT_MAGIC else None


def segment_schema_matches(header: SegmentHeader, schema: bytes) -> bool:
    """Whether the schema bytes read after the prefix are the ones the header's CRC covers."""
    return _schema_crc(header.version, header.number, schema) == header.crc


def read_schema(schema: bytes) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(schema))


def encode_frame_header(first: int, last: int, rows: int, payload: pa.Buffer) -> bytes:
    fields = (FRAME_MAGIC, payload.size, first, last, rows, zlib.crc32(payload))
    body = _FRAME.pack(*fields, 0)
    return _FRAME.pack(*fields, zlib.crc32(body[_FRAME_CRC_SPAN]))


def decode_frame_header(data: bytes) -> FrameHeader | None:
    """A frame header, or None unless all 48 bytes are there with the magic and a matching CRC."""
    if len(data) < FRAME_HEADER_SIZE:
        return None
    magic, length, first, last, rows, payload_crc, crc = _FRAME.unpack_from(data)
    if magic != FRAME_MAGIC or zlib.crc32(data[_FRAME_CRC_SPAN]) != crc:
        return None
    return FrameHeader(length, first, last, rows, payload_crc)


_PAYLOAD_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def encode_payload(batch: pa.RecordBatch) -> pa.Buffer:
    """A batch as one Arrow IPC record batch message, its buffers LZ4-compressed.

    Event columns are mostly zeros (a kind uses a few of the 33 fields), so a frame shrinks about
    ten times, and writing it costs less than the bytes it saves. The message says it is compressed:
    `decode_payload` reads compressed and plain frames alike.
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=_PAYLOAD_OPTIONS) as stream:
        stream.write_batch(batch)
    messages = pa.ipc.MessageReader.open_stream(sink.getvalue())
    messages.read_next_message()  # the schema: a segment's header holds it once
    return messages.read_next_message().serialize()


def decode_payload(data: bytes) -> pa.RecordBatch:
    """The batch a frame's payload holds: one Arrow IPC record batch message, read with the event schema."""
    return pa.ipc.read_record_batch(pa.py_buffer(data), EVENT_SCHEMA)
