"""Appending batches to a journal: validate, frame, write, flush, fsync per policy, rotate segments.

One writer per journal: it holds an exclusive `flock` on the journal directory while open, so a
second writer fails at once instead of interleaving frames. Opening recovers from a crash first:
a torn tail left by the previous writer is truncated (with a warning) before anything is appended.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import warnings
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import pyarrow as pa

from canonicalflow.errors import CanonicalFlowError
from canonicalflow.events import check_batch
from canonicalflow.journal._format import (
    encode_frame_header,
    encode_payload,
    encode_segment_header,
    segment_name,
)
from canonicalflow.journal._index import Tear, TornTailWarning, scan

__all__ = ["DEFAULT_SEGMENT_BYTES", "FsyncPolicy", "JournalWriter"]

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class FsyncPolicy(Enum):
    """When the writer asks the OS to put appended bytes on stable storage.

    Every policy writes and flushes each frame before `append` returns, so an acknowledged batch
    survives the death of the process. They differ on a power loss or kernel crash:
    EVERY_BATCH loses nothing acknowledged; EVERY_N loses at most the last n - 1 batches; NEVER
    loses whatever the OS had not written back, and may leave an earlier segment torn, which
    recovery then reports as corruption rather than guess.
    """

    EVERY_BATCH = "every-batch"
    EVERY_N = "every-n"
    NEVER = "never"


class JournalWriter:
    """Appends canonical event batches to the journal in `path`, creating it when needed.

    `append` refuses a batch whose positions do not continue the journal's last position, so
    positions strictly increase across batches, segments and restarts. A segment is closed and the
    next one started when a frame would take it past `segment_bytes` (a larger frame gets a
    segment of its own). With EVERY_N, `fsync_every` is n.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fsync: FsyncPolicy = FsyncPolicy.EVERY_BATCH,
        *,
        fsync_every: int = 100,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        if fsync_every < 1 or segment_bytes < 1:
            raise ValueError("fsync_every and segment_bytes must be positive")
        self.path = Path(path)
        self.fsync = fsync
        self._fsync_every = fsync_every if fsync is FsyncPolicy.EVERY_N else 1
        self._segment_bytes = segment_bytes
        self.path.mkdir(parents=True, exist_ok=True)
        self._dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._dir_fd)
            raise CanonicalFlowError(f"{self.path}: another JournalWriter has this journal open") from None
        try:
            index = scan(self.path)
            if index.tear:
                self._repair(index.tear)
        except BaseException:
            os.close(self._dir_fd)
            raise
        self._last = -1 if index.last_position is None else index.last_position
        self._number = len(index.segments)
        self._size = index.segment_ends[-1] if index.segments else 0
        self._segment_has_frames = bool(index.segment) and index.segment[-1] == self._number - 1
        self._file: BinaryIO | None = self._segment_path(self._number).open("ab") if self._number else None
        self._unsynced = 0
        self._broken = False

    @property
    def last_position(self) -> int | None:
        """The position of the last acknowledged event, None while the journal is empty."""
        return None if self._last < 0 else self._last

    def append(self, batch: pa.RecordBatch) -> int:
        """Write `batch` as one frame; return its last position once it is acknowledged.

        Raises InvalidEvent, writing nothing, unless the batch is canonical and its first position
        follows the journal's last one. An empty batch writes nothing and returns the last position.
        """
        return self.append_all([batch])

    def append_all(self, batches: Sequence[pa.RecordBatch]) -> int:
        """Write each batch as a frame of its own and acknowledge them together: one flush, and one
        fsync under the policy, for all of them. Returns the last position.

        Every batch is checked before anything is written, so a bad one writes nothing at all.
        """
        if self._broken:
            raise CanonicalFlowError(f"{self.path}: an earlier append failed; reopen the journal to recover")
        after = self._last
        for batch in batches:
            check_batch(batch, after_position=after)
            if batch.num_rows:
                after = batch.column("position")[-1].as_py()
        frames = [batch for batch in batches if batch.num_rows]
        if not frames:
            return self._last
        try:
            for batch in frames:
                self._write_frame(batch)
            assert self._file is not None
            self._file.flush()
            self._unsynced += 1
            if self.fsync is not FsyncPolicy.NEVER and self._unsynced >= self._fsync_every:
                os.fsync(self._file.fileno())
                self._unsynced = 0
        except BaseException:
            self._broken = True  # a partial frame may be on disk: reopening truncates it
            raise
        self._last = after
        return after

    def _write_frame(self, batch: pa.RecordBatch) -> None:
        positions = batch.column("position")
        payload = encode_payload(batch)
        header = encode_frame_header(positions[0].as_py(), positions[-1].as_py(), batch.num_rows, payload)
        frame_bytes = len(header) + payload.size
        if self._file is None or (
            self._segment_has_frames and self._size + frame_bytes > self._segment_bytes
        ):
            self._start_segment()
        assert self._file is not None
        self._file.write(header)
        self._file.write(payload)
        self._size += frame_bytes
        self._segment_has_frames = True

    def close(self) -> None:
        """Flush, fsync what the policy still owes, and release the journal. Idempotent."""
        if self._dir_fd < 0:
            return
        try:
            if self._file is not None:
                self._seal()
        finally:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _segment_path(self, number: int) -> Path:
        return self.path / segment_name(number)

    def _seal(self) -> None:
        """Finish the current segment: flushed, and on disk unless the policy is NEVER."""
        assert self._file is not None
        with contextlib.closing(self._file) as f:
            f.flush()
            if self.fsync is not FsyncPolicy.NEVER and not self._broken:
                os.fsync(f.fileno())
        self._file = None

    def _start_segment(self) -> None:
        """Seal the current segment, then create the next, header written, and make its name durable."""
        if self._file is not None:
            self._seal()
        self._number += 1
        header = encode_segment_header(self._number)
        self._file = self._segment_path(self._number).open("xb")
        self._file.write(header)
        self._file.flush()
        if self.fsync is not FsyncPolicy.NEVER:
            os.fsync(self._file.fileno())
            os.fsync(self._dir_fd)
        self._size = len(header)
        self._segment_has_frames = False
        self._unsynced = 0

    def _repair(self, tear: Tear) -> None:
        """Cut the torn tail away; it holds no acknowledged batch (see `scan`)."""
        warnings.warn(
            f"{tear.path}: torn tail at byte {tear.offset} ({tear.reason}); "
            + ("removed the segment" if tear.whole_segment else "truncated it there"),
            TornTailWarning,
            stacklevel=3,
        )
        if tear.whole_segment:
            tear.path.unlink()
        else:
            os.truncate(tear.path, tear.offset)
            with tear.path.open("rb") as f:
                os.fsync(f.fileno())
        os.fsync(self._dir_fd)
