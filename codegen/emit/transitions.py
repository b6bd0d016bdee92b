"""Emit a `transitions` configuration: introspection, diagrams, and a second implementation.

It shares nothing with the kernel: states are names, guards and effects are methods of a model
object, and row order decides which transition fires, as `transitions` does it. The differential
checker drives it and the kernel with the same events and compares them.
"""

from __future__ import annotations

import re

from codegen import ir
from codegen.emit.common import arg_names, header
from codegen.pyexpr import render

__all__ = ["emit_transitions"]


def _expr(expr: ir.TExpr) -> str:
    def ref(r: ir.Ref) -> str:
        if r.kind == "state":
            return "self._state_index()"
        if r.kind == "var":
            return f"self.{r.name}"
        return r.name

    return render(expr, ref, lambda v: str(v.index))


def emit_transitions(machine: ir.Machine) -> str:
    args = arg_names(machine)
    signature = ", ".join(["self"] + [f"{a}: int = 0" for a in args])
    initial = next(s for s in machine.states if s.initial)
    out = [
        header(machine, "`transitions` machine configuration"),
        "from __future__ import annotations\n",
        "from typing import Any\n",
        "from transitions import Machine\n",
        f"STATES = [{', '.join(repr(s.name) for s in machine.states)}]",
        f"INITIAL = {initial.name!r}",
        f"VARIABLES = ({''.join(f'{v.name!r}, ' for v in machine.vars)})",
        "\n# One transition per spec row, in spec order; `transitions` fires the first whose guard holds.",
        "TRANSITIONS: list[dict[str, Any]] = [",
    ]
    for row in machine.rows:
        entry = {"trigger": repr(row.event), "source": repr(list(row.sources))}
        entry["dest"] = repr(row.target) if row.kind == "goto" and row.target else "None"
        if row.guard is not None:
            entry["conditions"] = repr(f"guard_{row.index}")
        if row.kind == "goto" and row.assigns:
            entry["before"] = repr(f"effect_{row.index}")
        if row.kind == "reject":
            entry["after"] = repr(f"reject_{row.reason}")
        fields = ", ".join(f'"{k}": {v}' for k, v in entry.items())
        out.append(f"    {{{fields}}},  # row {row.index}")
    out.append("]")
    init_params = [v for v in machine.vars if v.init is None]
    init_sig = ", ".join(["self"] + [f"{v.name}: int" for v in init_params])
    out += [
        "\n\nclass Model:",
        f'    """The variables of one `{machine.name}` machine; one guard and one effect method per row."""',
        "",
        "    state: str",
        "",
        f"    def __init__({init_sig}) -> None:",
    ]
    for v in machine.vars:
        value = v.name if v.init is None else render(v.init, lambda r: r.name, lambda e: str(e.index))
        out.append(f"        self.{v.name} = {value}")
    out += [
        "        self.rejection: str | None = None",
        "",
        "    def _state_index(self) -> int:",
        "        return STATES.index(self.state)",
    ]
    for d in machine.defs:
        out += [
            "",
            "    @property",
            f"    def {d.name}(self) -> Any:",
            f"        return {_def_refs(_expr(d.expr), machine)}",
        ]
    for row in machine.rows:
        event = machine.event(row.event)
        binds = [f"        {p.name} = a{i}" for i, p in enumerate(event.params)]
        if row.guard is not None:
            used = {n for k, n in ir.refs(row.guard) if k == "param"}
            out += ["", f"    def guard_{row.index}({signature}) -> bool:"]
            out += [b for b, p in zip(binds, event.params, strict=True) if p.name in used]
            out.append(f"        return bool({_def_refs(_expr(row.guard), machine)})")
        if row.kind == "goto" and row.assigns:
            used = {n for _, v in row.assigns for k, n in ir.refs(v) if k == "param"}
            out += ["", f"    def effect_{row.index}({signature}) -> None:"]
            out += [b for b, p in zip(binds, event.params, strict=True) if p.name in used]
            values = ", ".join(_def_refs(_expr(v), machine) for _, v in row.assigns)
            targets = ", ".join(f"self.{n}" for n, _ in row.assigns)
            out.append(
                f"        {targets}{',' if len(row.assigns) == 1 else ''} = {values}{',' if len(row.assigns) == 1 else ''}"
            )
    for reason in machine.reasons:
        out += ["", f"    def reject_{reason}({signature}) -> None:", f"        self.rejection = {reason!r}"]
    out += [
        "\n\ndef build(model: Model) -> Machine:",
        '    """A `transitions.Machine` driving `model`; `model.trigger(event, *args)` fires one event."""',
        "    return Machine(",
        "        model=model,",
        "        states=STATES,",
        "        transitions=TRANSITIONS,",
        "        initial=INITIAL,",
        "        auto_transitions=False,",
        "    )",
    ]
    return "\n".join(out) + "\n"


def _def_refs(source: str, machine: ir.Machine) -> str:
    """Derived definitions read as properties of the model."""
    for d in machine.defs:
        source = re.sub(rf"(?<![.\w]){d.name}\b", f"self.{d.name}", source)
    return source
