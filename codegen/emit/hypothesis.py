"""Emit a Hypothesis RuleBasedStateMachine per machine: a rule per event, invariants from the spec.

A rule fires only in states where its event has a transition row (the precondition); a second
rule sends any event in any state, so ignores and rejections are exercised too. After every step
the kernel's outcome must equal the spec's reference semantics and satisfy the step invariants;
every state invariant is an @invariant. Arguments are drawn from ten times the checker's range,
so Hypothesis reaches quantities the exhaustive model checker does not.
"""

from __future__ import annotations

from codegen import ir
from codegen.emit.common import arg_names, class_name, header, py_type
from codegen.pyexpr import py_tuple, snake_upper

__all__ = ["emit_hypothesis"]

WIDEN = 10


def _strategy(t: ir.Type) -> str:
    if isinstance(t, ir.BoolT):
        return "st.booleans()"
    if isinstance(t, ir.EnumT):
        return f"st.integers(0, {len(t.members) - 1})"
    assert t.lo is not None and t.hi is not None and t.check_hi is not None
    hi = min(t.hi, max(t.check_hi * WIDEN, t.lo + WIDEN))
    return f"st.integers({t.lo}, {hi})"


def emit_hypothesis(machine: ir.Machine) -> str:
    name = class_name(machine)
    args = arg_names(machine)
    params = [v for v in machine.vars if v.init is None]
    out = [
        header(machine, "Hypothesis stateful test"),
        "from __future__ import annotations\n",
        "from hypothesis import settings",
        "from hypothesis import strategies as st",
        "from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule\n",
        f"from canonicalflow._generated import {machine.name}_contracts as contracts",
        f"from canonicalflow._generated import {machine.name}_kernel as kernel",
        f"from canonicalflow._generated import {machine.name}_model as model",
        "",
        "# States in which an event has a transition row (not only ignore or reject rows).",
        "MOVES = {",
    ]
    for event in machine.events:
        states = sorted(
            {
                machine.state(s).index
                for r in machine.rows
                if r.event == event.name and r.kind == "goto"
                for s in r.sources
            }
        )
        moves = (
            py_tuple([f"kernel.S_{snake_upper(machine.states[i].name)}" for i in states]) if states else "()"
        )
        out.append(f"    kernel.E_{snake_upper(event.name)}: frozenset({moves}),")
    out.append("}")
    init_args = ", ".join(f"{v.name}={_strategy(v.type)}" for v in params)
    init_call = ", ".join(v.name for v in params)
    out += [
        f"\n\nclass {name}Machine(RuleBasedStateMachine):",
        f'    """Random walks through `{machine.name}`, checked against the spec after every step."""',
        "",
        f"    @initialize({init_args})",
        f"    def create(self{''.join(f', {v.name}: {py_type(v.type)}' for v in params)}) -> None:",
        f"        self.s = kernel.initial({init_call})",
        "",
        "    def _apply(self, action: tuple[int, ...]) -> None:",
        "        before = self.s",
        "        after = kernel.step(before, *action)",
        "        row, outcome = model.expected(before, action)",
        "        assert after == outcome, f'kernel gave {after}, the spec says {outcome} (row {row})'",
        "        assert (after is before) == (outcome is before), f'an ignored event must return the same State (row {row})'",
        "        assert after is not kernel.REJECTED_NO_ROW, f'no row fired for {action} in {before}'",
        "        if isinstance(after, kernel.State):",
        "            for name, holds in contracts.STEP_INVARIANTS:",
        "                assert holds(before, action[0], after), f'step invariant {name} broken: {before} -> {after}'",
        "            self.s = after",
    ]
    width = len(args)
    for event in machine.events:
        draws = [f"{p.name}={_strategy(p.type)}" for p in event.params]
        names = [p.name for p in event.params]
        padded = names + ["0"] * (width - len(names))
        const = f"kernel.E_{snake_upper(event.name)}"
        out += [
            "",
            f"    @precondition(lambda self: self.s.state in MOVES[{const}])",
            f"    @rule({', '.join(draws)})",
            f"    def {event.name}(self{''.join(f', {n}: int' for n in names)}) -> None:",
            f"        self._apply(({const},))"
            if not padded
            else f"        self._apply(({const}, {', '.join(padded)}))",
        ]
    any_draws = ", ".join(
        ["event=st.integers(0, kernel.NUM_EVENTS - 1)"]
        + [f"{a}=st.integers(-1, {max(_hi(machine), 1) * WIDEN})" for a in args]
    )
    out += [
        "",
        f"    @rule({any_draws})",
        f"    def any_event(self, event: int{''.join(f', {a}: int' for a in args)}) -> None:",
        "        self._apply((event,))" if not args else f"        self._apply((event, {', '.join(args)}))",
    ]
    for inv in machine.invariants:
        out += [
            "",
            "    @invariant()",
            f"    def {inv.name}(self) -> None:",
            f"        assert contracts.inv_{inv.name}(self.s), f'invariant {inv.name} broken in {{self.s}}'",
        ]
    out += [
        "",
        "    @invariant()",
        "    def in_domain(self) -> None:",
        "        assert contracts.in_domain(self.s), f'a variable left its declared type in {self.s}'",
        "",
        f"\n{name}Machine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)",
        f"Test{name} = {name}Machine.TestCase",
    ]
    return "\n".join(out) + "\n"


def _hi(machine: ir.Machine) -> int:
    his = [
        p.type.check_hi
        for e in machine.events
        for p in e.params
        if isinstance(p.type, ir.IntT) and p.type.check_hi
    ]
    return max(his, default=1)
