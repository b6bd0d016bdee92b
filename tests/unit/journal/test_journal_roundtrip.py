"""Appending and reading back: positions continue across batches and restarts, ranges, rotation."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from conftest import Batches, trade

from canonicalflow.errors import CanonicalFlowError, InvalidEvent, NotInJournal
from canonicalflow.events import to_record_batch
from canonicalflow.journal import FsyncPolicy, JournalReader, JournalWriter
from canonicalflow.journal._format import FRAME_HEADER_SIZE, encode_payload, encode_segment_header
from codegen.pipeline import Project

JOURNAL_DOC = Project.locate().root / "docs" / "concepts" / "journal.md"


@pytest.mark.parametrize("policy", list(FsyncPolicy))
def test_appended_batches_read_back_equal(tmp_path: Path, trades: Batches, policy: FsyncPolicy) -> None:
    with JournalWriter(tmp_path / "j", policy, fsync_every=3) as writer:
        assert writer.last_position is None
        assert [writer.append(trades(p, 10)) for p in (0, 10, 20, 30)] == [9, 19, 29, 39]
    reader = JournalReader(tmp_path / "j")
    assert list(reader.events()) == [trade(p) for p in range(40)]
    assert [b.num_rows for b in reader.batches()] == [10, 10, 10, 10]
    assert (reader.first_position, reader.last_position, reader.num_events, reader.num_batches) == (
        0,
        39,
        40,
        4,
    )
    assert reader.total_bytes == sum(p.stat().st_size for p in reader.segments)


def test_a_batch_not_following_the_last_position_is_refused_and_nothing_written(
    tmp_path: Path, trades: Batches
) -> None:
    with JournalWriter(tmp_path / "j") as writer:
        writer.append(trades(0, 5))
        size = writer.path.joinpath("segment-000001.cfj").stat().st_size
        for bad in (trades(4, 3), trades(0, 5), to_record_batch([trade(7), trade(6)])):
            with pytest.raises(InvalidEvent, match="positions must strictly increase"):
                writer.append(bad)
        assert writer.path.joinpath("segment-000001.cfj").stat().st_size == size
        assert writer.append(trades(100, 2)) == 101  # gaps are allowed; going back is not
    assert [e.position for e in JournalReader(tmp_path / "j").events()] == [0, 1, 2, 3, 4, 100, 101]


def test_an_empty_batch_writes_nothing(tmp_path: Path, trades: Batches) -> None:
    with JournalWriter(tmp_path / "j") as writer:
        assert writer.append(trades(0, 0)) == -1
        writer.append(trades(0, 2))
        assert writer.append(trades(0, 0)) == 1
    assert JournalReader(tmp_path / "j").num_batches == 1


def test_reopening_continues_the_positions(tmp_path: Path, trades: Batches) -> None:
    with JournalWriter(tmp_path / "j") as writer:
        writer.append(trades(0, 10))
    with JournalWriter(tmp_path / "j") as writer:
        assert writer.last_position == 9
        with pytest.raises(InvalidEvent):
            writer.append(trades(5, 10))
        writer.append(trades(10, 10))
    assert list(JournalReader(tmp_path / "j").events()) == [trade(p) for p in range(20)]


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    with JournalWriter(tmp_path / "j"), pytest.raises(CanonicalFlowError, match="another JournalWriter"):
        JournalWriter(tmp_path / "j")
    JournalWriter(tmp_path / "j").close()  # released on close


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (None, None, range(0, 50)),
        (7, None, range(7, 50)),
        (None, 23, range(0, 24)),
        (10, 19, range(10, 20)),  # exactly one stored batch
        (13, 13, range(13, 14)),
        (12, 37, range(12, 38)),
        (49, 1000, range(49, 50)),
        (60, 70, range(0)),
        (30, 20, range(0)),
    ],
)
def test_range_reads_slice_the_first_and_last_batch(
    tmp_path: Path, trades: Batches, low: int | None, high: int | None, expected: range
) -> None:
    with JournalWriter(tmp_path / "j") as writer:
        for first in range(0, 50, 10):
            writer.append(trades(first, 10))
    reader = JournalReader(tmp_path / "j")
    assert list(reader.events(low, high)) == [trade(p) for p in expected]
    assert all(batch.num_rows for batch in reader.batches(low, high))


def test_event_at_finds_every_position_and_only_those(tmp_path: Path, trades: Batches) -> None:
    with JournalWriter(tmp_path / "j", segment_bytes=1) as writer:  # one frame per segment
        for first in (0, 100, 200):
            writer.append(trades(first, 5))
    reader = JournalReader(tmp_path / "j")
    for position in (0, 3, 4, 100, 104, 202):
        assert reader.event_at(position) == trade(position)
    for missing in (-1, 5, 99, 105, 205):
        with pytest.raises(
            NotInJournal, match=rf"j: no event at position {missing} \(it holds 15 events between"
        ):
            reader.event_at(missing)
    with pytest.raises(KeyError):  # a lookup miss is still a KeyError to code that catches one
        reader.event_at(5)
    assert [e.position for e in reader.tail(7)] == [103, 104, 200, 201, 202, 203, 204]
    assert reader.tail(0) == []
    assert len(reader.tail(1000)) == 15


def test_segments_rotate_at_the_configured_size(tmp_path: Path, trades: Batches) -> None:
    frame = FRAME_HEADER_SIZE + encode_payload(trades(0, 10)).size  # compressed: sizes vary a little
    limit = len(encode_segment_header(1)) + 3 * frame + 64  # three frames fit, a fourth does not
    with JournalWriter(tmp_path / "j", segment_bytes=limit) as writer:
        for first in range(0, 100, 10):
            writer.append(trades(first, 10))
    reader = JournalReader(tmp_path / "j")
    assert [p.name for p in reader.segments] == [f"segment-00000{n}.cfj" for n in (1, 2, 3, 4)]
    assert all(limit - frame < p.stat().st_size <= limit for p in reader.segments[:3])
    assert list(reader.events()) == [trade(p) for p in range(100)]
    assert list(reader.events(25, 75)) == [trade(p) for p in range(25, 76)]
    with JournalWriter(tmp_path / "j", segment_bytes=limit) as writer:
        assert writer.last_position == 99
        writer.append(trades(100, 10))
    assert len(JournalReader(tmp_path / "j").segments) == 4


def test_an_empty_journal_reads_as_empty(tmp_path: Path) -> None:
    JournalWriter(tmp_path / "j").close()
    reader = JournalReader(tmp_path / "j")
    assert (reader.first_position, reader.last_position, reader.num_events, reader.segments) == (
        None,
        None,
        0,
        (),
    )
    assert list(reader.events()) == []


def test_a_missing_journal_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        JournalReader(tmp_path / "nope")


def test_the_concept_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", JOURNAL_DOC.read_text(), re.MULTILINE | re.DOTALL)
    assert blocks, f"no ```python block in {JOURNAL_DOC}"
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in blocks:
            exec(compile(block, str(JOURNAL_DOC), "exec"), {})


def test_append_all_acknowledges_several_frames_at_once_and_checks_them_all_first(
    tmp_path: Path, trades: Batches
) -> None:
    with JournalWriter(tmp_path / "j") as writer:
        assert writer.append_all([trades(0, 5), trades(5, 3), trades(8, 0)]) == 7
        with pytest.raises(InvalidEvent):
            writer.append_all([trades(8, 2), trades(9, 2)])  # the second overlaps the first
        assert writer.last_position == 7
        assert writer.append_all([trades(8, 2)]) == 9
    assert list(JournalReader(tmp_path / "j").events()) == [trade(p) for p in range(10)]
