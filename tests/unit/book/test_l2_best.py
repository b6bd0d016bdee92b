"""L2Book keeps its best level per side between changes; it must always be the best of the levels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.book import ASK, BID, L2Book

ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from([BID, ASK]), st.integers(90, 110), st.integers(0, 5)),
        st.tuples(st.just("best"), st.sampled_from([BID, ASK]), st.just(0), st.just(0)),
        st.tuples(st.just("clear"), st.just(BID), st.just(0), st.just(0)),
    ),
    max_size=80,
)


@given(ops)
def test_best_is_always_the_best_level_shown(steps: list[tuple[str, int, int, int]]) -> None:
    book, levels = L2Book(), {BID: {}, ASK: {}}
    for op, side, price, qty in steps:
        if op == "set":
            book.set_level(side, price, qty)
            if qty:
                levels[side][price] = qty
            else:
                levels[side].pop(price, None)
        elif op == "clear":
            book.clear()
            levels = {BID: {}, ASK: {}}
        for s in (BID, ASK):
            shown = levels[s]
            price_best = (max if s == BID else min)(shown) if shown else None
            assert book.best(s) == (None if price_best is None else (price_best, shown[price_best], 0))
