"""Every kind of bad spec is reported at the token that is wrong: file:line:col, the line, a caret.

Each bad spec is BASE, a valid spec, with one edit, so the error can only come from that edit.
The expected positions were read off the checker once and confirmed by eye against the source.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from canonicalflow.errors import SpecError
from codegen import ir
from codegen.checker import check_files
from codegen.parser import parse_spec

PATH = "counter.cflow"

BASE = """\
# A counter that runs, steps by a bounded amount and stops for good.

enum Mode "How the counter steps." { FAST, SLOW }
enum Speed "Shares SLOW with Mode, so a bare SLOW needs a type to mean one." { SLOW, STOPPED }

machine counter "Counts ticks while running."
{
  const MAX_STEP = 100 check 2 "Largest step a tick may take.";

  var count: int[0..3] = 0 "Ticks so far.";
  var mode: Mode = SLOW "How the counter steps.";

  def start_mode = FAST "The mode a run starts in.";

  state Idle [initial] "Not started.";
  state Running "Counting.";
  state Stopped [terminal] "Stopped for good.";

  event start "Begin counting.";
  event tick(n: int[1..MAX_STEP]) "Count n more.";
  event stop "Stop for good.";

  on start in Idle -> Running do mode := start_mode;
  on start in Running, Stopped ignore;
  on tick in Running -> same when count + n <= 3 do count := count + n;
  on tick in Running reject too_far when count + n > 3 "The count would pass its bound.";
  on tick in Idle, Stopped reject not_running;
  on stop in Idle, Running -> Stopped;
  on stop in Stopped ignore;

  invariant idle_is_empty: state == Idle implies count == 0;
  step invariant count_grows: count' >= count;
  reachable fast_running: state == Running and mode == FAST;

  assume one_counter: "Each counter is its own machine.";
}
"""


@dataclass(frozen=True)
class Case:
    """One edit of BASE and where, and how, the checker must report it."""

    old: str  # occurs exactly once in BASE
    new: str
    line: int
    column: int
    token: str  # the source text the caret must sit on
    message: str  # a distinctive fragment of the message


def _edited(old: str, new: str) -> str:
    """BASE with one edit; a fragment occurring twice would make the edit ambiguous."""
    assert BASE.count(old) == 1, f"{old!r} must occur exactly once in BASE"
    return BASE.replace(old, new)


def _check(text: str) -> list[ir.Machine]:
    return check_files([parse_spec(text, PATH)])


# One case a line or two, as a table: the formatter would spread each over eight lines.
# fmt: off
CASES = [
    # ---- syntax
    pytest.param(Case('state Idle [initial] "Not started.";', 'state Idle [initial] "Not started."',
                      16, 3, "state", "unexpected 'state'; expected ';'"), id="syntax-missing-semicolon"),
    pytest.param(Case("do count := count + n;", "do count := count % n;",
                      25, 68, "%", "unexpected character '%'"), id="syntax-unexpected-character"),
    pytest.param(Case('machine.";\n}\n', 'machine.";\n',
                      35, 58, "", "unexpected end of file; expected"), id="syntax-unexpected-end-of-file"),
    # ---- names
    pytest.param(Case("-> Running do", "-> Runing do",
                      23, 23, "Runing", "unknown state 'Runing'"), id="unknown-target-state"),
    pytest.param(Case("on stop in Idle, Running", "on stop in Idle, Runing",
                      28, 20, "Runing", "unknown state 'Runing'"), id="unknown-source-state"),
    pytest.param(Case("on stop in Stopped", "on halt in Stopped",
                      29, 6, "halt", "unknown event 'halt'"), id="unknown-event"),
    pytest.param(Case("when count + n <= 3", "when cuont + n <= 3",
                      25, 35, "cuont", "unknown name 'cuont'"), id="unknown-name"),
    pytest.param(Case("var mode: Mode", "var mode: Mood",
                      11, 13, "Mood", "unknown type 'Mood'"), id="unknown-type"),
    pytest.param(Case("[terminal]", "[final]",
                      17, 18, "final", "unknown state flag 'final'"), id="unknown-state-flag"),
    pytest.param(Case("int[1..MAX_STEP]", "int[1..MAX_STEPS]",
                      20, 24, "MAX_STEPS", "unknown constant 'MAX_STEPS'"), id="unknown-constant-in-bound"),
    pytest.param(Case("state == Idle implies", "state in {Idle, Paused} implies",
                      31, 44, "Paused", "'Paused' is not a member of counter.State"), id="not-a-member"),
    pytest.param(Case("do mode := start_mode", "do cont := start_mode",
                      23, 34, "cont", "cannot assign 'cont': not a variable"), id="assign-to-unknown-name"),
    pytest.param(Case("def start_mode = FAST", "def start_mode = SLOW",
                      13, 20, "SLOW", "'SLOW' is a member of Mode and Speed"), id="ambiguous-enum-member"),
    # ---- types
    pytest.param(Case("mode == FAST;", "mode == 1;",
                      33, 53, "==", "both sides of '==' must be a value of Mode, found an int"),
                 id="type-enum-compared-with-int"),
    pytest.param(Case("when count + n <= 3", "when count",
                      25, 35, "count", "a guard must be a bool"), id="type-int-as-guard"),
    pytest.param(Case("implies count == 0", "implies not count",
                      31, 54, "count", "this expression must be a bool, found an int"),
                 id="type-not-of-an-int"),
    pytest.param(Case("implies count == 0", "implies count < FAST",
                      31, 58, "FAST", "this expression must be an int, found a value of Mode"),
                 id="type-enum-in-arithmetic-comparison"),
    pytest.param(Case("do mode := start_mode", "do mode := 1",
                      23, 34, "mode", "'mode' is Mode, the value assigned is int"), id="type-assignment"),
    pytest.param(Case("Mode = SLOW", "Mode = 0",
                      11, 7, "mode", "the initial value of 'mode' must match its type Mode"),
                 id="type-initial-value"),
    pytest.param(Case("def start_mode = FAST", "def start_mode = if count == 0 then FAST else 1 end",
                      13, 20, "if", "the branches of if-then-else must be a value of Mode, found an int"),
                 id="type-if-branches-differ"),
    # ---- the transition table
    pytest.param(Case("on tick in Idle, Stopped", "on tick in Idle",
                      20, 9, "tick", "unhandled pair: event 'tick' in state 'Stopped' has no row"),
                 id="unhandled-pair"),
    pytest.param(Case("count + n > 3", "count + n >= 3",
                      26, 3, "on", "overlapping guards: this row and the row at line 25 both fire"),
                 id="overlapping-guards"),
    pytest.param(Case("count + n > 3", "count + n > 4",
                      25, 3, "on", "incomplete guards: no row for event 'tick' fires when state=Running"),
                 id="incomplete-guards"),
    pytest.param(Case("on stop in Idle, Running -> Stopped;", "on stop in Idle, Running ignore;",
                      17, 9, "Stopped", "unreachable state 'Stopped'"), id="unreachable-state"),
    pytest.param(Case("on stop in Stopped ignore;", "on stop in Stopped -> Idle;",
                      29, 25, "Idle", "terminal state 'Stopped' has an outgoing transition to 'Idle'"),
                 id="terminal-state-with-outgoing-transition"),
    pytest.param(Case("on stop in Stopped ignore;", "on stop in Stopped ignore do count := 0;",
                      29, 32, "count", "an 'ignore' row changes nothing"), id="ignore-row-with-assignment"),
    pytest.param(Case("on stop in Stopped ignore;", "on stop in Stopped, others ignore;",
                      29, 23, "others", "'others' must be the only source state"), id="others-not-alone"),
    pytest.param(Case("on stop in Stopped ignore;", "on stop in Stopped ignore;\n  on stop in others ignore;",
                      30, 3, "on", "'others' covers no state"), id="others-covers-nothing"),
    pytest.param(Case("do mode := start_mode", "do start_mode := FAST",
                      23, 34, "start_mode", "cannot assign 'start_mode': a derived definition"),
                 id="assign-to-definition"),
    # ---- bounds
    pytest.param(Case("do count := count + n;", "do count := count + n + 1;",
                      25, 3, "on", "assignment out of bounds: 'count' becomes 4, outside int[0..3]"),
                 id="assignment-out-of-bounds"),
    pytest.param(Case("int[0..3] = 0", "int[0..3] = 5",
                      10, 7, "count", "initial value 5 of 'count' is outside its bounds"),
                 id="initial-value-out-of-bounds"),
    pytest.param(Case("int[0..3] = 0", "int[0..3] = -1",
                      10, 7, "count", "initial value -1 of 'count' is outside its bounds"),
                 id="negative-initial-value-out-of-bounds"),
    pytest.param(Case("int[0..3]", "int[3..0]",
                      10, 14, "int", "empty range int[3..0]"), id="empty-range"),
    pytest.param(Case("= 100 check 2", "= 1 check 2",
                      8, 9, "MAX_STEP", "the checker's value 2 exceeds the runtime value 1"),
                 id="check-value-exceeds-runtime-value"),
    # ---- where an expression may read what
    pytest.param(Case("count + n <= 3 do", "count + n <= MAX_STEP do",
                      25, 48, "MAX_STEP", "constant 'MAX_STEP' may appear in type bounds only"),
                 id="constant-in-expression"),
    pytest.param(Case("implies count == 0", "implies count' == 0",
                      31, 50, "count'", "(a value after the step) is allowed in step invariants only"),
                 id="primed-variable-in-state-invariant"),
    pytest.param(Case("count' >= count;", "count' >= count and event' == tick;",
                      32, 51, "event'", "`event` names the step's event; it has no primed form"),
                 id="primed-event"),
    pytest.param(Case("int[0..3] = 0", "int[0..3] = if state in {Idle} then 0 else 1 end",
                      10, 29, "state", "'state'"), id="initial-value-reads-state"),
    # ---- declarations
    pytest.param(Case('  state Running "Counting.";\n', '  state Running "Counting.";\n  state Running;\n',
                      17, 9, "Running", "duplicate name: state 'Running' is already declared at line 16"),
                 id="duplicate-state"),
    pytest.param(Case("event stop", "event start",
                      21, 9, "start", "duplicate name: event 'start' is already declared at line 19"),
                 id="duplicate-event"),
    pytest.param(Case("var mode:", "var count:",
                      11, 7, "count", "duplicate name: variable 'count' is already declared at line 10"),
                 id="duplicate-variable"),
    pytest.param(Case("{ FAST, SLOW }", "{ FAST, SLOW, FAST }",
                      3, 50, "FAST", "duplicate name: member of enum Mode 'FAST' is already declared"),
                 id="duplicate-enum-member"),
    pytest.param(Case("enum Speed", "enum Mode",
                      4, 6, "Mode", "duplicate name: enum 'Mode' is already declared at line 3"),
                 id="duplicate-enum"),
    pytest.param(Case("reachable fast_running", "reachable idle_is_empty",
                      33, 13, "idle_is_empty", "duplicate name: property 'idle_is_empty'"),
                 id="duplicate-property"),
    pytest.param(Case("int[1..MAX_STEP])", "int[1..MAX_STEP], n: bool)",
                      20, 35, "n", "duplicate name: parameter of event tick 'n' is already declared"),
                 id="duplicate-parameter"),
    pytest.param(Case("do count := count + n;", "do count := count + n, count := 0;",
                      25, 73, "count", "duplicate name: assignment target in this row 'count'"),
                 id="duplicate-assignment-target"),
    pytest.param(Case("tick(n:", "tick(count:",
                      20, 14, "count", "parameter 'count' of event tick hides another declaration"),
                 id="parameter-hides-variable"),
    pytest.param(Case("int[1..MAX_STEP])", "int[1..MAX_STEP], start_mode: bool)",
                      20, 35, "start_mode", "parameter 'start_mode' of event tick hides another declaration"),
                 id="parameter-hides-definition"),
    pytest.param(Case("state Stopped", "state same",
                      17, 9, "same", "'same' is a reserved word and cannot name a state"),
                 id="reserved-word"),
    pytest.param(Case("count' >= count;", "count' >= count and start_mode' == start_mode;",
                      32, 51, "start_mode'", "definition 'start_mode' has no primed form"),
                 id="primed-definition"),
    pytest.param(Case("reject not_running;", "reject no_row;",
                      27, 35, "no_row", "'no_row' is a built-in rejection reason"), id="builtin-reason"),
    pytest.param(Case("var count: int[0..3] = 0", "const LOW = 2 check 0; var count: int[LOW..3] = 1",
                      10, 37, "int", "the checker's range 0..3 must lie within the runtime range 2..3"),
                 id="checker-range-outside-runtime-range"),
    pytest.param(Case("reject too_far", "reject notRunning",
                      6, 9, "counter", "would both be named REJECTED_NOT_RUNNING in generated code"),
                 id="generated-name-collision"),
    pytest.param(Case("var mode:", "var class:",
                      11, 7, "class", "'class' is a Python keyword"), id="python-keyword"),
    pytest.param(Case('state Running "Counting."', 'state Running [initial] "Counting."',
                      16, 9, "Running", "must flag exactly one state [initial], found 2"),
                 id="two-initial-states"),
    pytest.param(Case("state Idle [initial]", "state Idle",
                      6, 9, "counter", "must flag exactly one state [initial], found 0"),
                 id="no-initial-state"),
    # ---- unused declarations
    pytest.param(Case("  var mode:", "  var spare: bool = false;\n  var mode:",
                      11, 7, "spare", "unused variable 'spare'"), id="unused-variable"),
    pytest.param(Case("event stop", "event stop(force: bool)",
                      21, 14, "force", "unused parameter 'force' of event 'stop'"),
                 id="unused-event-parameter"),
]
# fmt: on


def test_base_spec_is_valid() -> None:
    """Every bad case is one edit away from this spec, so this edit alone is what it reports."""
    (machine,) = _check(BASE)
    assert machine.name == "counter"


@pytest.mark.parametrize("case", CASES)
def test_bad_spec_is_reported_at_the_offending_token(case: Case) -> None:
    """The author fixes what the caret points at, so it must sit on the token that is wrong."""
    text = _edited(case.old, case.new)
    with pytest.raises(SpecError) as caught:
        _check(text)
    error = caught.value
    assert (error.span.file, error.span.line, error.span.column) == (PATH, case.line, case.column)
    assert case.message in error.message
    source = text.splitlines()[case.line - 1]
    assert source[case.column - 1 :].startswith(case.token), "the case's position is not on its token"
    head, shown, caret = error.render().splitlines()
    assert head == f"{PATH}:{case.line}:{case.column}: {error.message}"
    assert shown == f"    {source}"
    assert caret == "    " + " " * (case.column - 1) + "^"


def test_syntax_error_lists_only_tokens_that_fit() -> None:
    """A suggestion that cannot parse sends the author the wrong way."""
    text = _edited('state Idle [initial] "Not started.";', 'state Idle [initial] "Not started."')
    with pytest.raises(SpecError) as caught:
        _check(text)
    assert caught.value.message == "unexpected 'state'; expected ';'"
