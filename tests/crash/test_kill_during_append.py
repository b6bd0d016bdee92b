"""SIGKILL a writer mid-append, reopen: every acknowledged event is there, intact, and appending goes on.

The writer (`_crash_writer.py`) prints a position only after `append` returned it. The test reads
k acknowledgements, kills the process at once (it is usually inside its next append by then), and
checks the journal against the writer's deterministic events. Runs restart on the same journal, so
recovery is exercised on top of earlier recoveries and segment rotations.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

from _crash_writer import batch_size, expected_event

from canonicalflow.events import to_record_batch
from canonicalflow.journal import JournalReader, JournalWriter

WRITER = Path(__file__).with_name("_crash_writer.py")
SEED = 20261125


def _run_and_kill(journal: Path, acknowledgements: int) -> int:
    """Start the writer, wait for `acknowledgements` positions, SIGKILL it; the last one acknowledged."""
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(journal), str(SEED)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        acknowledged = [int(process.stdout.readline()) for _ in range(acknowledgements)]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return acknowledged[-1]


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    acknowledged = -1
    for k in (1, 3, 17, 60, 150):
        acknowledged = _run_and_kill(journal, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a torn tail is expected, and is left out
            reader = JournalReader(journal)
        assert reader.last_position is not None and reader.last_position >= acknowledged
        events = list(reader.events())
        assert events == [expected_event(SEED, p) for p in range(reader.last_position + 1)]
    assert len(reader.segments) > 1, "the runs should have rotated segments"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = JournalWriter(journal)
    with writer:
        first = writer.last_position + 1
        size = batch_size(SEED, first)
        writer.append(to_record_batch([expected_event(SEED, p) for p in range(first, first + size)]))
    reader = JournalReader(journal)
    assert list(reader.events(first - 5)) == [expected_event(SEED, p) for p in range(first - 5, first + size)]
