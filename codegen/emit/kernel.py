"""Emit the kernel: a pure, table-driven, integer-only `step` function per machine (the hot path)."""

from __future__ import annotations

from codegen import ir
from codegen.emit.common import (
    arg_names,
    defs_needed,
    event_prelude,
    header,
    local_expr,
    py_type,
    reject_const,
    row_effect,
    within_type,
)
from codegen.pyexpr import enum_const_name, py_tuple, snake_upper

__all__ = ["emit_kernel", "handler_name"]


def handler_name(state: ir.State, event: ir.Event) -> str:
    return f"_{event.name}_in_{snake_upper(state.name).lower()}"


def emit_kernel(machine: ir.Machine) -> str:
    out: list[str] = [
        header(machine, "Kernel"),
        "from __future__ import annotations\n",
        "from typing import NamedTuple\n",
    ]
    out.append(f'MACHINE = "{machine.name}"\nSPEC_SHA256 = "{machine.spec_hash}"\n')
    out += _constants(machine)
    out += _types(machine)
    out += _rejections(machine)
    out += _initial(machine)
    out += _defs(machine)
    out += _handlers(machine)
    out += _table_and_step(machine)
    return "\n".join(out)


def _constants(machine: ir.Machine) -> list[str]:
    out = ["\n# States"]
    out += [f"S_{snake_upper(s.name)} = {s.index}" for s in machine.states]
    out.append(f"STATE_NAMES = {py_tuple([repr(s.name) for s in machine.states])}")
    out.append(f"NUM_STATES = {len(machine.states)}")
    initial = next(s for s in machine.states if s.initial)
    out.append(f"INITIAL_STATE = S_{snake_upper(initial.name)}")
    terminal = [f"S_{snake_upper(s.name)}" for s in machine.states if s.terminal]
    out.append(f"TERMINAL_STATES: frozenset[int] = frozenset({py_tuple(terminal) if terminal else '()'})")
    out.append("\n# Events")
    out += [f"E_{snake_upper(e.name)} = {e.index}" for e in machine.events]
    out.append(f"EVENT_NAMES = {py_tuple([repr(e.name) for e in machine.events])}")
    out.append(f"EVENT_ARITY = {py_tuple([str(len(e.params)) for e in machine.events])}")
    out.append(f"NUM_EVENTS = {len(machine.events)}")
    for enum in machine.enums:
        out.append(f"\n# enum {enum.name}: {enum.doc}" if enum.doc else f"\n# enum {enum.name}")
        out += [f"{enum_const_name(ir.EnumVal(enum, i, enum))} = {i}" for i in range(len(enum.members))]
        out.append(f"{snake_upper(enum.name)}_NAMES = {py_tuple([repr(m) for m in enum.members])}")
    if machine.consts:
        out.append("\n# Constants (runtime values)")
        out += [f"{name} = {value:_}" for name, value, _, _ in machine.consts]
    return out


def _types(machine: ir.Machine) -> list[str]:
    fields = "\n".join(f"    {v.name}: {py_type(v.type)}" for v in machine.vars)
    docs = "\n".join(f"    {v.name}: {v.doc}" for v in machine.vars if v.doc)
    return [
        "\n\nclass State(NamedTuple):",
        f'    """One `{machine.name}` machine: its state index and variables. Immutable, hashable.',
        "",
        "    state: index into STATE_NAMES",
        docs,
        '    """',
        "",
        "    state: int",
        fields,
        "",
        "\nclass Rejection(NamedTuple):",
        '    """An explicit refusal: the event does not apply. Returned, never raised."""',
        "",
        "    code: int",
        "    reason: str",
    ]


def _rejections(machine: ir.Machine) -> list[str]:
    out = ["\n"]
    reasons = [*ir.BUILTIN_REASONS, *machine.reasons]
    for code, reason in enumerate(reasons):
        out.append(f'{reject_const(reason)} = Rejection({code}, "{reason}")')
    out.append(f"REJECTIONS = {py_tuple([reject_const(r) for r in reasons])}")
    return out


def _initial(machine: ir.Machine) -> list[str]:
    params = [v for v in machine.vars if v.init is None]
    signature = ", ".join(f"{v.name}: {py_type(v.type)}" for v in params)
    fields = ["INITIAL_STATE"] + [v.name if v.init is None else local_expr(v.init) for v in machine.vars]
    checks = [check for v in params if (check := within_type(v.name, v.type))]
    body = [
        f"\n\ndef initial({signature}) -> State:",
        '    """The machine as it is created; parameters are the variables without an initial value."""',
    ]
    if checks:
        body.append(f"    if not ({' and '.join(checks)}):")
        body.append('        raise ValueError("initial value outside its declared type")')
    body.append(f"    return State({', '.join(fields)})")
    return body


def _unpack(machine: ir.Machine) -> str:
    names = ["state"] + [v.name for v in machine.vars]
    return f"    {', '.join(names)}{',' if len(names) == 1 else ''} = s"


def _defs(machine: ir.Machine) -> list[str]:
    out = []
    for d in machine.defs:
        needed = defs_needed(machine, [d.expr])
        out.append(f"\n\ndef {d.name}(s: State) -> {py_type(d.type)}:")
        out.append(f'    """{d.doc}"""' if d.doc else f'    """Derived definition `{d.name}`."""')
        out.append(_unpack(machine))
        out += [f"    {n.name} = {local_expr(n.expr)}" for n in needed]
        out.append(f"    return {local_expr(d.expr)}")
    return out


def _handlers(machine: ir.Machine) -> list[str]:
    args = arg_names(machine)
    signature = ", ".join(["s: State"] + [f"{a}: int" for a in args])
    out = [
        "\n\n_new = tuple.__new__  # builds a State without the NamedTuple constructor's frame",
        f"\n\ndef _ignore({signature}) -> State:",
        "    return s",
    ]
    shared = {
        _shared_handler(event, [machine.rows[i] for i in machine.table[(state.name, event.name)]])
        for state in machine.states
        for event in machine.events
    }
    for reason in machine.reasons:
        if f"_reject_{reason}" in shared:
            out.append(f"\n\ndef _reject_{reason}({signature}) -> Rejection:")
            out.append(f"    return {reject_const(reason)}")
    for state in machine.states:
        for event in machine.events:
            rows = [machine.rows[i] for i in machine.table[(state.name, event.name)]]
            if _shared_handler(event, rows) is not None:
                continue
            out.append(f"\n\ndef {handler_name(state, event)}({signature}) -> State | Rejection:")
            out.append(_unpack(machine))
            out += event_prelude(machine, event, rows, "    ", "REJECTED_ARGUMENT_OUT_OF_RANGE")
            for row in rows:
                effect = row_effect(machine, row, fast=True)
                if row.guard is None:
                    out.append(f"    return {effect}")
                    break
                out.append(f"    if {local_expr(row.guard)}:")
                out.append(f"        return {effect}")
            else:
                out.append("    return REJECTED_NO_ROW")
    return out


def _shared_handler(event: ir.Event, rows: list[ir.Row]) -> str | None:
    """An unguarded ignore or reject of an event without arguments needs no handler of its own."""
    if len(rows) == 1 and rows[0].guard is None and not event.params:
        if rows[0].kind == "ignore":
            return "_ignore"
        if rows[0].kind == "reject":
            return f"_reject_{rows[0].reason}"
    return None


def _table_and_step(machine: ir.Machine) -> list[str]:
    entries = []
    for state in machine.states:
        for event in machine.events:
            rows = [machine.rows[i] for i in machine.table[(state.name, event.name)]]
            handler = _shared_handler(event, rows) or handler_name(state, event)
            entries.append(f"    {handler},  # {state.name} x {event.name}")
    args = arg_names(machine)
    signature = ", ".join(["s: State", "event: int"] + [f"{a}: int = 0" for a in args])
    call = ", ".join(["s", *args])
    return [
        "\n\n# One handler per (state, event), indexed by state * NUM_EVENTS + event.",
        "TABLE = (",
        *entries,
        ")",
        f"\n\ndef step({signature}) -> State | Rejection:",
        '    """Apply one event: the next State (the same object when ignored), or a Rejection.',
        "",
        "    A hot loop may inline it as `TABLE[s[0] * NUM_EVENTS + event](s, ...)`.",
        '    """',
        f"    return TABLE[s[0] * NUM_EVENTS + event]({call})",
    ]
