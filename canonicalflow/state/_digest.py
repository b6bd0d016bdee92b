"""A chained digest of state changes: cheap enough to keep on at every position.

Each position's changes are encoded as one record; a link of the chain hashes the records of a
block of positions (`CoreConfig.digest_block`; 1: every position is a link):

    digest(block k) = BLAKE3-128(digest(block k-1) || record(first position) || ... || record(last))

so two runs agree at the end of block k only if they agree on every change up to it. A record is
`repr((position, (now, *changes)))`, whose text is the same in every process, except for the
three market kinds that dominate a stream (level set, trade, top of book) when they make exactly
their one market change: those have a fixed binary layout of eleven little-endian int64 words,
`MARKET_RECORD`, so a whole batch of them can be encoded column by column
(`canonicalflow.state._columnar`) into the very same bytes.
"""

from __future__ import annotations

import struct

import numpy as np
from blake3 import blake3

from canonicalflow.events import EventKind

__all__ = [
    "GENESIS",
    "MARKET_RECORD",
    "MARKET_RECORD_KINDS",
    "RECORD_TAG",
    "DigestChain",
    "link",
    "market_record",
]

GENESIS = bytes(16)
RECORD_TAG = -1  # a binary record's first word: a repr record starts with "(", never with 0xff bytes
MARKET_RECORD = struct.Struct("<11q")  # tag, position, now, kind, instrument, then six values
# the kinds recorded in binary: each makes exactly one change, so `_columnar` can fold them
MARKET_RECORD_KINDS = (int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO))
_pack = MARKET_RECORD.pack


def market_record(position: int, now: int, kind: int, instrument: int, values: tuple[int, ...]) -> bytes:
    """A level set (side, price, lots, 0, 0, 0) or a quote (its six fields) as eleven int64 words."""
    return _pack(RECORD_TAG, position, now, kind, instrument, *values)


def link(previous: bytes, records: bytes) -> bytes:
    """The next digest of the chain: the previous one and a block's records."""
    hasher = blake3(previous)
    hasher.update(records)
    return hasher.digest(16)


class DigestChain:
    """The chain over every position applied, a block of `block` positions per link.

    `digest` covers every position up to the last sealed block (all of them, with blocks of 1);
    the open block's records wait in `records`. A block ends on each multiple of `block`, and
    where positions skip past the open block's end.
    """

    def __init__(self, block: int) -> None:
        self.block = block
        self.digest = GENESIS
        self.records: list[bytes] = []  # the open block's records, not yet in `digest`
        self.open_end = 0  # the last position in the open block

    def add(self, position: int, record: bytes) -> None:
        """One position's record. Twin: `add_market_records` (a run of binary records at once)."""
        if self.block == 1:
            self.digest = link(self.digest, record)
            return
        if self.records and (position - 1) // self.block != (self.open_end - 1) // self.block:
            self.seal()  # positions skipped past the open block's end: it ends before this one
        self.records.append(record)
        self.open_end = position
        if position % self.block == 0:
            self.seal()

    def add_market_records(self, position: np.ndarray, raw: bytes) -> list[tuple[int, bytes]]:
        """`add` for a run of binary market records at once (`raw`, one per position, in order):
        the same blocks, sealed at the same positions. Returns the blocks it sealed, as (the first
        row after which `add` would have left `digest` at this, digest): the row that ends a block
        on a multiple of `block`, or the row after a skip past a block's end (whose arrival seals
        the block before it). Twin: `add`."""
        size = len(raw) // len(position)
        sealed: list[tuple[int, bytes]] = []
        if self.block == 1:
            digest = self.digest
            for row, start in enumerate(range(0, len(raw), size)):
                digest = link(digest, raw[start : start + size])
                sealed.append((row, digest))
            self.digest = digest
            return sealed
        blocks = (position - 1) // self.block
        if self.records and blocks[0] != (self.open_end - 1) // self.block:
            self.seal()  # positions skipped past the open block's end: it ends before the first row
            sealed.append((0, self.digest))
        on_multiple = position % self.block == 0  # a block ends after these rows
        skips = np.zeros(len(position), bool)  # or before the next row, which skips past its end
        skips[:-1] = (blocks[1:] != blocks[:-1]) & ~on_multiple[:-1]
        start = 0
        for end in (np.flatnonzero(on_multiple | skips) + 1).tolist():
            self.records.append(raw[start * size : end * size])
            self.seal()
            sealed.append((end if skips[end - 1] else end - 1, self.digest))
            start = end
        if start < len(position):
            self.records.append(raw[start * size :])
        self.open_end = int(position[-1])
        return sealed

    def seal(self) -> None:
        """Close the open block: `digest` then covers every position added."""
        if self.records:
            self.digest = link(self.digest, b"".join(self.records))
            self.records = []

    def current(self) -> bytes:
        """The digest covering every position added, the open block included; the chain goes on unchanged."""
        return link(self.digest, b"".join(self.records)) if self.records else self.digest

    def restore(self, digest: bytes, records: tuple[bytes, ...], open_end: int) -> None:
        """Continue from a snapshot's digest and open block."""
        self.digest, self.records, self.open_end = digest, list(records), open_end
