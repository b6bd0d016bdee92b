"""`last_of_each`: the last row of every distinct key, whichever way the keys are packed."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.book import last_of_each

rows = st.lists(  # too far apart to pack: a sort by each column
    st.tuples(st.integers(0, 3), st.sampled_from([1, -1]), st.integers(-(2**45), 2**45)), max_size=60
)
near = st.lists(  # keys in a small range: a table indexed by key
    st.tuples(st.integers(0, 3), st.sampled_from([1, -1]), st.integers(5_000, 5_020)), max_size=60
)
apart = st.lists(  # too far apart for a table, close enough to pack into one int64: one sort
    st.tuples(st.integers(0, 3), st.sampled_from([1, -1]), st.integers(5_000, 1_000_000)), max_size=60
)


def _expected(data: list[tuple[int, int, int]]) -> list[int]:
    return sorted({key: i for i, key in enumerate(data)}.values())


@given(st.one_of(rows, near, apart))
def test_the_last_row_of_each_key_is_found(data: list[tuple[int, int, int]]) -> None:
    columns = (
        [np.array(column, np.int64) for column in zip(*data, strict=True)] if data else [np.zeros(0)] * 3
    )
    assert sorted(last_of_each(*columns).tolist()) == _expected(data)


def test_one_key_column_works_alone() -> None:
    assert sorted(last_of_each(np.array([3, 1, 3, 2, 1])).tolist()) == [2, 3, 4]
