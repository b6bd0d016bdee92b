"""Emit the model: `init_states / actions / next_state` for the explicit-state model checker.

`next_state` is the kernel's `step`, the code under verification. `expected` is the spec's
reference semantics, read row by row in spec order with no dispatch table, so the checker can
tell which row fired and catch a kernel that disagrees with its spec.
"""

from __future__ import annotations

from codegen import ir
from codegen.domain import domain_values
from codegen.emit.common import arg_names, event_prelude, header, local_expr, qualify, row_effect
from codegen.pyexpr import py_tuple, snake_upper

__all__ = ["emit_model"]


def emit_model(machine: ir.Machine) -> str:
    kernel = f"{machine.name}_kernel"
    out = [
        header(machine, "Model for the explicit-state model checker"),
        "from __future__ import annotations\n",
        "import itertools",
        "from collections.abc import Iterator\n",
        f"from canonicalflow._generated import {machine.name}_contracts as contracts",
        f"from canonicalflow._generated import {kernel} as kernel",
        f"from canonicalflow._generated.{kernel} import Rejection, State",
        "",
        "INVARIANTS = contracts.INVARIANTS",
        "STEP_INVARIANTS = contracts.STEP_INVARIANTS",
        "REACHABLE = contracts.REACHABLE",
    ]
    out += _domains(machine)
    out += _actions(machine)
    out += _rows(machine)
    out += _expected(machine)
    return "\n".join(out) + "\n"


def _domain_literal(t: ir.Type) -> str:
    values = domain_values(t)
    if isinstance(t, ir.BoolT):
        return "(False, True)"
    return f"range({values[0]}, {values[-1] + 1})"


def _domain_name(v: ir.Var) -> str:
    return f"DOMAIN_{snake_upper(v.name)}"


def _domains(machine: ir.Machine) -> list[str]:
    """One constant per variable, so each keeps its own type (a dict would join int and bool)."""
    constants = "".join(f"{_domain_name(v)} = {_domain_literal(v.type)}\n" for v in machine.vars)
    entries = "".join(f"    {v.name!r}: {_domain_name(v)},\n" for v in machine.vars)
    params = [v for v in machine.vars if v.init is None]
    product = ", ".join(_domain_name(v) for v in params)
    names = ", ".join(v.name for v in params)
    init_body = (
        f"    return [kernel.initial({names}) for {names}{',' if len(params) == 1 else ''} in itertools.product({product})]"
        if params
        else "    return [kernel.initial()]"
    )
    all_vars = ", ".join(_domain_name(v) for v in machine.vars)
    return [
        "\n# The checker's bounded domain of every variable (the spec's `check` values).",
        constants + "DOMAINS = {\n" + entries + "}",
        "\n\ndef init_states() -> list[State]:",
        '    """Every initial state within the checker\'s bounds."""',
        init_body,
        "\n\ndef domain_states() -> Iterator[State]:",
        '    """Every state within the checker\'s bounds that satisfies the invariants."""',
        f"    for values in itertools.product(range(kernel.NUM_STATES), {all_vars}):",
        "        s = State(*values)",
        "        if contracts.invariants_hold(s):",
        "            yield s",
    ]


def _actions(machine: ir.Machine) -> list[str]:
    width = len(arg_names(machine))
    actions: list[str] = []
    for event in machine.events:
        domains = [domain_values(p.type) for p in event.params]
        combos: list[tuple] = [()]
        for d in domains:
            combos = [(*c, int(v)) for c in combos for v in d]
        for combo in combos:
            padded = list(combo) + [0] * (width - len(combo))
            actions.append(py_tuple([f"kernel.E_{snake_upper(event.name)}"] + [str(v) for v in padded]))
    return [
        "\n# Every event with every argument in the checker's bounds: (event, args...).",
        f"ACTIONS = ({', '.join(actions)},)",
        "\n\ndef actions(s: State) -> tuple[tuple[int, ...], ...]:",
        "    return ACTIONS",
        "\n\ndef next_state(s: State, action: tuple[int, ...]) -> State | Rejection:",
        '    """The kernel\'s step: the code under verification."""',
        "    return kernel.step(s, *action)",
    ]


def _rows(machine: ir.Machine) -> list[str]:
    entries = []
    for row in machine.rows:
        entries.append(
            f"    ({row.index}, {row.event!r}, {py_tuple([repr(s) for s in row.sources])}, {row.kind!r}, "
            f"{(row.target or row.reason)!r}, {row.text!r}),"
        )
    return [
        "\n# (index, event, sources, kind, target or reason, text) for every row of the table.",
        "ROWS = (\n" + "\n".join(entries) + "\n)",
        "ARGUMENT_OUT_OF_RANGE_ROW = -1",
        "NO_ROW = -2",
    ]


def _expected(machine: ir.Machine) -> list[str]:
    args = arg_names(machine)
    names = ["state"] + [v.name for v in machine.vars]
    out = [
        "\n\ndef expected(s: State, action: tuple[int, ...]) -> tuple[int, State | Rejection]:",
        '    """The row that fires and its outcome, by the spec\'s rows in order."""',
        f"    {', '.join(['event', *args])}{'' if args else ','} = action",
        f"    {', '.join(names)}{',' if len(names) == 1 else ''} = s",
    ]
    for event in machine.events:
        rows = [r for r in machine.rows if r.event == event.name]
        out.append(f"    if event == kernel.E_{snake_upper(event.name)}:")
        out_of_range = "ARGUMENT_OUT_OF_RANGE_ROW, kernel.REJECTED_ARGUMENT_OUT_OF_RANGE"
        out += event_prelude(machine, event, rows, "        ", out_of_range, module="kernel")
        for row in rows:
            members = py_tuple([f"S_{snake_upper(s)}" for s in row.sources])
            cond = f"state in {members}"
            if row.guard is not None:
                cond += f" and {local_expr(row.guard)}"
            out.append(f"        if {_q(cond)}:")
            out.append(f"            return {row.index}, {_q(row_effect(machine, row))}")
        out.append("        return NO_ROW, kernel.REJECTED_NO_ROW")
    out.append("    return NO_ROW, kernel.REJECTED_NO_ROW")
    return out


def _q(source: str) -> str:
    return qualify(source, "kernel")
