"""`canonicalflow spec trace` steps a kernel and prints every state; bad input gets a clear message."""

from __future__ import annotations

from click.testing import CliRunner

from canonicalflow.cli import main


def _trace(*args: str):
    return CliRunner().invoke(main, ["spec", "trace", *args])


def test_trace_prints_each_state_with_derived_values() -> None:
    result = _trace(
        "order_lifecycle", "--set", "qty=100", "ack", "fill:40", "cancel_request", "fill:60", "canceled"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["step", "outcome", "state"]
    assert lines[2].split()[:3] == ["ack", "applied", "New"]
    assert lines[3].split()[-3:] == ["true", "60", "PARTIALLY_FILLED"]
    assert lines[5].split()[-3:] == ["false", "0", "PENDING_CANCEL"]  # filled, cancel still pending (FIX D5)
    assert lines[6].split()[:3] == ["canceled", "rejected:", "too_late"]


def test_trace_reads_enum_and_bool_arguments_by_name() -> None:
    result = _trace("intent_lifecycle", "--set", "kind=NEW", "risk_allow", "enqueue:CANCEL")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].split()[:3] == ["enqueue(CANCEL)", "applied", "Superseded"]
    result = _trace("execution_control", "submit_new", "dispatch:false")
    assert "rejected: rate_limited" in result.output


def test_trace_explains_bad_input() -> None:
    assert "unknown event 'fil'" in _trace("order_lifecycle", "--set", "qty=1", "fil:1").output
    assert "set the creation parameter(s) qty" in _trace("order_lifecycle", "ack").output
    assert "event fill takes q: int" in _trace("order_lifecycle", "--set", "qty=1", "fill").output
    assert "one of NONE, NEW, REPLACE, CANCEL" in _trace("intent_lifecycle", "--set", "kind=BUY").output
    assert "unknown machine 'order'" in _trace("order").output
