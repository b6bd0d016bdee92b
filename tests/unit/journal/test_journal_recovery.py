"""Crash recovery: a torn tail is cut away with a warning; damage anywhere else raises JournalCorrupt.

Each test damages a copy of a small journal on purpose: truncated at every byte of its last frame,
or with one byte flipped, in the last frame or an earlier one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Batches, trade

from canonicalflow.errors import JournalCorrupt
from canonicalflow.journal import JournalReader, JournalWriter, TornTailWarning
from canonicalflow.journal._format import FRAME_HEADER_SIZE, encode_segment_header

SEGMENT = "segment-000001.cfj"


@pytest.fixture
def journal(tmp_path: Path, trades: Batches) -> tuple[Path, list[int]]:
    """A one-segment journal of three 3-event frames, and the byte offset where each frame starts."""
    path = tmp_path / "original"
    starts = []
    with JournalWriter(path) as writer:
        for first in (0, 3, 6):
            starts.append((path / SEGMENT).stat().st_size if (path / SEGMENT).exists() else 0)
            writer.append(trades(first, 3))
    starts[0] = len(encode_segment_header(1))
    return path, starts


def _damaged(original: Path, target: Path, *, cut: int | None = None, flip: int | None = None) -> Path:
    """A copy of one-segment `original` with its segment cut at byte `cut`, or byte `flip` inverted."""
    target.mkdir(exist_ok=True)
    data = bytearray((original / SEGMENT).read_bytes())
    if flip is not None:
        data[flip] ^= 0xFF
    (target / SEGMENT).write_bytes(bytes(data[:cut]))
    return target


def test_a_tail_torn_at_any_byte_of_the_last_frame_keeps_exactly_the_frames_before(
    tmp_path: Path, journal: tuple[Path, list[int]]
) -> None:
    original, starts = journal
    end = (original / SEGMENT).stat().st_size
    for cut in range(starts[2] + 1, end):
        torn = _damaged(original, tmp_path / "torn", cut=cut)
        with pytest.warns(TornTailWarning, match=f"{SEGMENT}: torn tail at byte {starts[2]} "):
            reader = JournalReader(torn)
        assert list(reader.events()) == [trade(p) for p in range(6)], f"cut at byte {cut}"
        assert reader.total_bytes == starts[2]
        assert (torn / SEGMENT).stat().st_size == cut  # a reader never writes
    for cut in (starts[2], end):  # between frames: nothing is torn
        reader = JournalReader(_damaged(original, tmp_path / "torn", cut=cut))
        assert reader.num_batches == (2 if cut == starts[2] else 3)


@pytest.mark.parametrize(
    "into_frame", [1, FRAME_HEADER_SIZE - 1, FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + 200, -1]
)
def test_the_writer_truncates_a_torn_tail_and_appends_after_it(
    tmp_path: Path, journal: tuple[Path, list[int]], trades: Batches, into_frame: int
) -> None:
    original, starts = journal
    end = (original / SEGMENT).stat().st_size
    torn = _damaged(original, tmp_path / "torn", cut=(end if into_frame < 0 else starts[2]) + into_frame)
    with pytest.warns(TornTailWarning, match=f"byte {starts[2]} .*truncated it there"):
        writer = JournalWriter(torn)
    with writer:
        assert (torn / SEGMENT).stat().st_size == starts[2]
        assert writer.last_position == 5
        writer.append(trades(6, 4))
    assert list(JournalReader(torn).events()) == [trade(p) for p in range(10)]


@pytest.mark.parametrize("where", ["payload", "header"])
def test_a_flipped_byte_in_the_last_frame_is_a_torn_tail(
    tmp_path: Path, journal: tuple[Path, list[int]], where: str
) -> None:
    original, starts = journal
    flip = starts[2] + (20 if where == "header" else FRAME_HEADER_SIZE + 100)
    damaged = _damaged(original, tmp_path / "flipped", flip=flip)
    with pytest.warns(TornTailWarning, match=f"byte {starts[2]} "):
        assert list(JournalReader(damaged).events()) == [trade(p) for p in range(6)]
    with pytest.warns(TornTailWarning):
        JournalWriter(damaged).close()
    assert (damaged / SEGMENT).stat().st_size == starts[2]


def test_a_flipped_byte_in_an_earlier_payload_raises_when_read(
    tmp_path: Path, journal: tuple[Path, list[int]]
) -> None:
    original, starts = journal
    damaged = _damaged(original, tmp_path / "flipped", flip=starts[1] + FRAME_HEADER_SIZE + 100)
    reader = JournalReader(damaged)  # headers are intact: the index is built
    assert list(reader.events(to_position=2)) == [trade(p) for p in range(3)]
    with pytest.raises(JournalCorrupt, match=f"byte {starts[1]}: the frame's payload fails its checksum"):
        list(reader.events())
    with pytest.raises(JournalCorrupt) as caught:
        reader.event_at(4)
    assert (caught.value.path, caught.value.offset) == (damaged / SEGMENT, starts[1])


@pytest.mark.parametrize("opener", [JournalReader, JournalWriter])
def test_a_flipped_byte_in_an_earlier_header_raises_when_opened(
    tmp_path: Path, journal: tuple[Path, list[int]], opener: type
) -> None:
    original, starts = journal
    damaged = _damaged(original, tmp_path / "flipped", flip=starts[1] + 20)
    with pytest.raises(JournalCorrupt, match=f"byte {starts[1]}: incomplete or damaged frame header"):
        opener(damaged)
    assert (damaged / SEGMENT).read_bytes() != (original / SEGMENT).read_bytes()[: starts[1]]


def _two_segments(tmp_path: Path, trades: Batches) -> Path:
    path = tmp_path / "two"
    with JournalWriter(path, segment_bytes=1) as writer:
        writer.append(trades(0, 3))
        writer.append(trades(3, 3))
    return path


def test_damage_in_an_earlier_segment_is_corruption_even_at_its_end(tmp_path: Path, trades: Batches) -> None:
    path = _two_segments(tmp_path, trades)
    first = path / SEGMENT
    first.write_bytes(first.read_bytes()[:-1])
    with pytest.raises(JournalCorrupt, match="payload is incomplete"):
        JournalReader(path)
    (path / SEGMENT).unlink()
    with pytest.raises(JournalCorrupt, match="segment 000001 is missing"):
        JournalReader(path)


@pytest.mark.parametrize("keep", [0, 5, 30])
def test_a_torn_segment_header_removes_the_new_segment(tmp_path: Path, trades: Batches, keep: int) -> None:
    path = _two_segments(tmp_path, trades)
    (path / "segment-000003.cfj").write_bytes(encode_segment_header(3)[:keep])
    with pytest.warns(TornTailWarning, match="segment-000003.cfj: torn tail at byte 0"):
        assert JournalReader(path).num_events == 6
    with (
        pytest.warns(TornTailWarning, match="removed the segment"),
        JournalWriter(path, segment_bytes=1) as writer,
    ):
        writer.append(trades(6, 1))
    assert [p.name for p in JournalReader(path).segments][-1] == "segment-000003.cfj"
    assert list(JournalReader(path).events()) == [trade(p) for p in range(7)]
