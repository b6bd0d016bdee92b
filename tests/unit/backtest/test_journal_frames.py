"""The recorder's journal frames: small batches joined, large ones written as they are, rows kept in order."""

from __future__ import annotations

from itertools import pairwise

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.backtest._recorder import _OWN_FRAME, _framed
from canonicalflow.events import Event, to_record_batch


def _batches(sizes: list[int]) -> list[pa.RecordBatch]:
    batches, position = [], 0
    for size in sizes:
        batches.append(to_record_batch([Event(position=position + i + 1, kind=6) for i in range(size)]))
        position += size
    return batches


@given(st.lists(st.sampled_from([1, 3, 40, _OWN_FRAME - 1, _OWN_FRAME, _OWN_FRAME + 5]), max_size=8))
def test_frames_hold_the_same_rows_in_order(sizes: list[int]) -> None:
    batches = _batches(sizes)
    frames = _framed(batches)
    if not batches:
        assert frames == []
        return
    schema = batches[0].schema
    assert pa.Table.from_batches(frames, schema).equals(pa.Table.from_batches(batches, schema))
    large = [b for b in batches if b.num_rows >= _OWN_FRAME]
    assert [f for f in frames if any(f is b for b in large)] == large  # written as they are, no copy
    small_neighbours = [f.num_rows < _OWN_FRAME > g.num_rows for f, g in pairwise(frames)]
    assert not any(small_neighbours)  # a run of small batches is one frame
