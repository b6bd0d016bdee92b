"""The session's tables: a fill after a bust keeps its row; lots held without a mid are valued
at the last trade, or shown as unknown (NaN), and never crash the tables."""

from __future__ import annotations

import pytest

from canonicalflow.backtest._outputs import _holdings_table
from canonicalflow.strategy import BUY, New
from session._hand import Hand, K


def test_a_fill_after_a_bust_has_its_row() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=1, trade_id=9, liquidity=1)
    h.feed(K.TRADE_BUST, client_order_id=1, trade_id=9)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=1, trade_id=10, liquidity=1)
    assert h.core.portfolio.holdings[1].qty == 1  # the Core took the second fill
    assert [row[0] for row in h.session.recorder.fills][-1] == h.core.position  # the last fill has a row
    assert len(h.session.recorder.fills) == 2


def test_holdings_table_with_a_held_position_and_no_mid() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=3, trade_id=9, liquidity=1)
    h.feed(K.LEVEL_SET, side=-1, price=10_010, qty=0)  # the ask side empties: no mid
    assert h.view.book(1).mid() is None and h.core.portfolio.holdings[1].qty == 3
    table = _holdings_table(h.session)
    assert table.num_rows == 1


def test_holdings_table_marks_at_the_last_trade_like_equity() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=3, trade_id=9, liquidity=1)
    h.feed(K.TRADE, price=10_000, qty=1, side=1)
    h.feed(K.LEVEL_SET, side=-1, price=10_010, qty=0)
    assert h.view.mark(1) == 10_000 and h.view.pnl() is not None
    table = _holdings_table(h.session)  # equity/risk have a PnL; holdings must too
    assert table["pnl_value"][0].as_py() == pytest.approx(float(h.view.pnl()))
