"""A chained digest of state changes: cheap enough to keep on at every position.

Each position's changes are encoded as one record; a link of the chain hashes the records of a
block of positions (`CoreConfig.digest_block`; 1: every position is a link):

    digest(block k) = BLAKE3-128(digest(block k-1) || record(first position) || ... || record(last))

so two runs agree at the end of block k only if they agree on every change up to it. A record is
`repr((position, (now, *changes)))`, whose text is the same in every process, except for the
three market kinds that dominate a stream (level set, trade, top of book): those have a fixed
binary layout of eleven little-endian int64 words, `MARKET_RECORD`, so a whole batch of them can be
encoded column by column (`canonicalflow.state._columnar`) into the very same bytes.
"""

from __future__ import annotations

import struct

from blake3 import blake3

from canonicalflow.events import EventKind

__all__ = ["GENESIS", "MARKET_RECORD", "MARKET_RECORD_KINDS", "RECORD_TAG", "chain", "link", "market_record"]

GENESIS = bytes(16)
RECORD_TAG = -1  # a binary record's first word: a repr record starts with "(", never with 0xff bytes
MARKET_RECORD = struct.Struct("<11q")  # tag, position, now, kind, instrument, then six values
# the kinds recorded in binary: each makes exactly one change, so `_columnar` can fold them
MARKET_RECORD_KINDS = (int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO))
_pack = MARKET_RECORD.pack


def market_record(position: int, now: int, kind: int, instrument: int, values: tuple) -> bytes:
    """A level set (side, price, lots, 0, 0, 0) or a quote (its six fields) as eleven int64 words."""
    return _pack(RECORD_TAG, position, now, kind, instrument, *values)


def link(previous: bytes, records: bytes) -> bytes:
    """The next digest of the chain: the previous one and a block's records."""
    hasher = blake3(previous)
    hasher.update(records)
    return hasher.digest(16)


def chain(previous: bytes, position: int, changes: tuple) -> bytes:
    """One position's link in its repr form: `link(previous, repr((position, changes)))`."""
    return link(previous, repr((position, changes)).encode())
