"""Emit the contracts: invariants as predicates, and one PEP 316 contract per event for CrossHair.

Each contract says: from any state in the declared domain that satisfies every invariant, the
event yields a Rejection other than `no_row`, or a state in the domain that satisfies every
invariant and every step invariant. CrossHair proves it over all paths, with runtime bounds.
"""

from __future__ import annotations

from codegen import ir
from codegen.emit.common import arg_names, defs_needed, header, local_expr, qualify, within_type
from codegen.pyexpr import snake_upper

__all__ = ["emit_contracts"]


def emit_contracts(machine: ir.Machine) -> str:
    kernel = f"{machine.name}_kernel"
    out = [
        header(machine, "Contracts (invariants and per-event pre/post conditions)"),
        "from __future__ import annotations\n",
        f"from canonicalflow._generated import {kernel} as k",
        f"from canonicalflow._generated.{kernel} import Rejection, State",
    ]
    out += _domain(machine)
    out += _invariants(machine)
    out += _step_invariants(machine)
    out += _reachables(machine)
    out += _event_contracts(machine)
    return "\n".join(out) + "\n"


def _unpack(machine: ir.Machine, name: str = "s") -> str:
    names = ["state"] + [v.name for v in machine.vars]
    return f"    {', '.join(names)}{',' if len(names) == 1 else ''} = {name}"


def _predicate(machine: ir.Machine, fn: str, doc: str, expr: ir.TExpr) -> list[str]:
    return [
        f"\n\ndef {fn}(s: State) -> bool:",
        f'    """{doc}"""',
        _unpack(machine),
        *(f"    {d.name} = {_k(local_expr(d.expr))}" for d in defs_needed(machine, [expr])),
        f"    return {_k(local_expr(expr))}",
    ]


def _k(source: str) -> str:
    return qualify(source, "k")


def _domain(machine: ir.Machine) -> list[str]:
    checks = [f"0 <= s.state < {len(machine.states)}"]
    checks += [within_type(f"s.{v.name}", v.type) or f"isinstance(s.{v.name}, bool)" for v in machine.vars]
    body = " and ".join(f"({c})" for c in checks)
    return [
        "\n\ndef in_domain(s: State) -> bool:",
        '    """Every variable within its declared type, with runtime bounds."""',
        f"    return {body}",
    ]


def _invariants(machine: ir.Machine) -> list[str]:
    out: list[str] = []
    for inv in machine.invariants:
        out += _predicate(machine, f"inv_{inv.name}", inv.doc or f"Invariant `{inv.name}`.", inv.expr)
    names = [f"inv_{inv.name}(s)" for inv in machine.invariants] or ["True"]
    out += [
        "\n\ndef invariants_hold(s: State) -> bool:",
        '    """Every state invariant of the spec."""',
        f"    return {' and '.join(names)}",
        f"\n\nINVARIANTS = ({''.join(f'({inv.name!r}, inv_{inv.name}), ' for inv in machine.invariants)})",
    ]
    return out


def _step_invariants(machine: ir.Machine) -> list[str]:
    out: list[str] = []
    for inv in machine.step_invariants:
        exprs = [inv.expr]
        out += [
            f"\n\ndef step_{inv.name}(s: State, event: int, t: State) -> bool:",
            f'    """{inv.doc or f"Step invariant `{inv.name}`."}"""',
            _unpack(machine),
            *(f"    {d.name} = {_k(local_expr(d.expr))}" for d in defs_needed(machine, exprs)),
            f"    return {_k(local_expr(inv.expr, primed_prefix='t.'))}",
        ]
    names = [f"step_{inv.name}(s, event, t)" for inv in machine.step_invariants] or ["True"]
    out += [
        "\n\ndef step_invariants_hold(s: State, event: int, t: State) -> bool:",
        '    """Every step invariant of the spec, for the step s --event--> t."""',
        f"    return {' and '.join(names)}",
        f"\n\nSTEP_INVARIANTS = ({''.join(f'({inv.name!r}, step_{inv.name}), ' for inv in machine.step_invariants)})",
    ]
    return out


def _reachables(machine: ir.Machine) -> list[str]:
    out: list[str] = []
    for prop in machine.reachables:
        out += _predicate(
            machine, f"reach_{prop.name}", prop.doc or f"Reachability target `{prop.name}`.", prop.expr
        )
    out.append(f"\n\nREACHABLE = ({''.join(f'({p.name!r}, reach_{p.name}), ' for p in machine.reachables)})")
    return out


def _event_contracts(machine: ir.Machine) -> list[str]:
    args = arg_names(machine)
    signature = ", ".join(["s: State"] + [f"{a}: int" for a in args])
    out: list[str] = []
    for event in machine.events:
        event_const = f"k.E_{snake_upper(event.name)}"
        call = ", ".join(["s", event_const, *args])
        out += [
            f"\n\ndef {event.name}({signature}) -> State | Rejection:",
            f'    """Event `{event.name}` in any state.',
            "",
            "    pre: in_domain(s) and invariants_hold(s)",
            "    post: __return__ is not k.REJECTED_NO_ROW",
            "    post: isinstance(__return__, Rejection) or in_domain(__return__)",
            "    post: isinstance(__return__, Rejection) or invariants_hold(__return__)",
            f"    post: isinstance(__return__, Rejection) or step_invariants_hold(s, {event_const}, __return__)",
            '    """',
            f"    return k.step({call})",
        ]
    out.append(f"\n\nEVENT_CONTRACTS = ({''.join(f'{e.name}, ' for e in machine.events)})")
    return out
