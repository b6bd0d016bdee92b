"""Databento market-by-order and market-by-price data (DBN or CSV) to canonical events.

Sources: DBN files (`.dbn`, `.dbn.zst`, read with `databento_dbn.DBNDecoder`, which reads across
zstd frames and upgrades DBN v1/v2 to v3) holding MBO, MBP-1 (and TBBO), MBP-10 or trades records;
and Databento MBO, MBP-1 (and TBBO) and MBP-10 CSV (`.csv`, `.csv.gz`: a header naming the columns,
prices as decimal strings, times as ISO 8601 UTC or integer nanoseconds). A CSV header naming
`bid_px_00` makes it MBP; the rows then go through the same level differ as DBN MBP records, so an
MBP CSV and the DBN file it was written from give the same events.

Prices become integer ticks of `tick_size` (a decimal string such as "0.25") by integer arithmetic
only: DBN prices are int64 nanounits (1e-9); CSV prices are read with `Decimal`. A price that is
not a whole number of ticks is quarantined, never rounded. Pick the tick the data needs: Nasdaq
prints midpoint trades at half cents, so "0.01" refuses them where "0.0001" keeps them.

| Databento MBO action | canonical event |
|---|---|
| A add | ORDER_ADD |
| C cancel | ORDER_CANCEL, qty = lots cancelled; ORDER_FILL when its lots are ones an F filled (below) |
| M modify | ORDER_MODIFY with the new side, price and size |
| R clear | BOOK_CLEAR |
| T trade | TRADE, side = the aggressor's (N -> 0) |
| F fill | no event of its own: the C that takes its lots off the book is the ORDER_FILL |
| N none | no event |

Why F is not itself the ORDER_FILL: in Databento MBO (CME and Nasdaq alike) a fill does not change
the book. The venue then sends a C or an M for the filled order, and that record removes the lots.
A canonical ORDER_FILL removes lots, so mapping F to it would remove them twice; and the F can not
stand in for the C either, since the C's size is what leaves the book (an aggressor's own order is
filled for more than it rests with at its old price; icebergs refill). So the normalizer counts,
per order, the lots F records filled; the next C on that order becomes an ORDER_FILL when it
removes no more than those lots, and stays an ORDER_CANCEL when it removes more (it is then mostly
a cancel). An M after an F stays an ORDER_MODIFY: it states the new size outright. The trade itself
is the T's TRADE. The book thus changes exactly where and by what Databento's book changes.

| Databento MBP record (MBP-1, TBBO, MBP-10) | canonical events |
|---|---|
| any | LEVEL_SET per shown level whose lots changed since the instrument's last record; qty 0 for one gone |
| action T | first a TRADE, side = the aggressor's |
| action R | first a BOOK_CLEAR; the record's levels are then set on the empty book |
| trades schema (MBP-0) | TRADE |
| MBP-1 / MBP-10 CSV row (rtype 1 or 10) | as the DBN record; empty `bid/ask_px_NN` or 0 lots: an empty level |

An MBP record is the whole visible book after its event, so the last event made from each record
is flagged LAST_IN_PACKET. The price-level book built from MBP-N holds exactly the N levels shown:
a level pushed out of view is removed, as nothing more is heard of it. MBP-1 becomes LEVEL_SETs
too, not BBO, so MBP-1 and MBP-10 feed the same L2 book and say which side changed.

Flags: F_LAST (128) -> LAST_IN_PACKET, F_SNAPSHOT (32) -> SNAPSHOT, F_BAD_TS_RECV (8) ->
BAD_RECEIVE_TS; the others (F_MBP, F_TOB, F_PUBLISHER_SPECIFIC, F_MAYBE_BAD_BOOK) are dropped. A
record that makes no event (F, N) passes its LAST_IN_PACKET to the event before it, when that one
is of the same instrument, so the end of the venue's packet is not lost.

ts_exchange = ts_event, ts_receive = ts_recv, sequence = the record's sequence; `instrument` is one
id for every record or a mapping from Databento's instrument_id (an id not in it is quarantined).
Positions number the events from `first_position` in file order. A bad record goes to the
quarantine with the file, its 1-based CSV line (DBN: record number), the field and the reason.

Speed: MBO records are converted column-wise (DBN records by their raw bytes, which the decoder
gives for each record), so only F fills and the C/M records of filled orders are looked at one by
one. MBP records are compared level by level in Python (a side equal to the last one shown is
skipped); an MBP CSV row's level fields are read in one go (all sizes checked at once, prices from a
cache), and a row repeating its instrument's last level fields is not read again.

Layout: this module is the public API; `_databento_codes` holds the code tables and tick arithmetic,
`_databento_mbo` the MBO core and packet-end handling, `_databento_mbp` the MBP level diffing,
`_databento_dbn` DBN decoding, `_databento_csv` MBO CSV parsing and `_databento_mbp_csv` MBP CSV
parsing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa

from canonicalflow.data.normalize._common import Quarantine, event_batch
from canonicalflow.data.normalize._databento_codes import price_ticks, tick_nanos
from canonicalflow.data.normalize._databento_csv import CSV_COLUMNS, _csv_chunks, _csv_header
from canonicalflow.data.normalize._databento_dbn import _dbn_chunks
from canonicalflow.data.normalize._databento_mbo import _released, _rows
from canonicalflow.data.normalize._databento_mbp_csv import MBP_CSV_COLUMNS, _mbp_csv_chunks
from canonicalflow.errors import DataError
from canonicalflow.events import Event, iter_events

__all__ = [
    "CSV_COLUMNS",
    "MBP_CSV_COLUMNS",
    "databento_events",
    "price_ticks",
    "read_databento",
    "tick_nanos",
]


def read_databento(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
    batch_size: int = 1 << 16,
) -> Iterator[pa.RecordBatch]:
    """Canonical events of a Databento DBN, MBO CSV or MBP CSV file in Arrow batches of at most
    `batch_size` rows. A CSV file whose header names `bid_px_00` is read as MBP, any other as MBO."""
    path = Path(path)
    tick = tick_nanos(tick_size)
    name = path.name.lower()
    if name.endswith((".dbn", ".dbn.zst")):
        chunks = _dbn_chunks(path, tick, instrument, quarantine)
    elif name.endswith((".csv", ".csv.gz")):
        header = _csv_header(path)
        if header is not None and "bid_px_00" in header:  # MBP-1 or MBP-10: levels, not orders
            chunks = _mbp_csv_chunks(path, tick, instrument, quarantine, batch_size)
        else:
            chunks = _csv_chunks(path, tick, instrument, quarantine, batch_size)
    else:
        raise DataError(f"{path}: not a Databento file this reads (.dbn, .dbn.zst, .csv, .csv.gz)")
    position = first_position
    for columns in _released(chunks):
        length = len(columns["kind"])
        for start in range(0, length, batch_size):
            size = min(batch_size, length - start)
            part = {name: array.slice(start, size) for name, array in columns.items()}
            part["position"] = _rows(size, position)
            position += size
            yield event_batch(size, part)


def databento_events(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
) -> Iterator[Event]:
    """Canonical events of a Databento DBN, MBO CSV or MBP CSV file, one Event at a time."""
    for batch in read_databento(path, tick_size, instrument, quarantine, first_position=first_position):
        yield from iter_events(batch)
