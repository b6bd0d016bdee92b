"""The journal: an append-only, checksummed, crash-safe log of canonical event batches on disk.

A journal is a directory of segment files; each appended batch is one frame. See
docs/concepts/journal.md for the guarantees and docs/adr/0004-journal-format.md for the format.
"""

from canonicalflow.journal._index import TornTailWarning
from canonicalflow.journal._reader import JournalReader
from canonicalflow.journal._writer import DEFAULT_SEGMENT_BYTES, FsyncPolicy, JournalWriter

__all__ = ["DEFAULT_SEGMENT_BYTES", "FsyncPolicy", "JournalReader", "JournalWriter", "TornTailWarning"]
