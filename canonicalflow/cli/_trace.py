"""`canonicalflow spec trace`: step a generated kernel through events and print every state."""

from __future__ import annotations

import importlib
from types import ModuleType

import click

from codegen import ir

__all__ = ["trace_machine"]


def _parse_value(text: str, t: ir.Type, what: str) -> int:
    """A value as a person writes it: 40, true, CANCEL_PENDING."""
    if isinstance(t, ir.BoolT):
        if text.lower() not in ("true", "false"):
            raise click.BadParameter(f"{what} is a bool: write true or false, not {text!r}")
        return int(text.lower() == "true")
    if isinstance(t, ir.EnumT):
        if text not in t.members:
            raise click.BadParameter(f"{what} is a {t.name}: one of {', '.join(t.members)}, not {text!r}")
        return t.members.index(text)
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise click.BadParameter(f"{what} is an int, not {text!r}") from None


def _show(value: int | bool, t: ir.Type) -> str:
    if isinstance(t, ir.EnumT):
        return t.members[int(value)]
    if isinstance(t, ir.BoolT):
        return str(bool(value)).lower()
    return str(value)


def _parse_step(text: str, machine: ir.Machine) -> tuple[ir.Event, list[int]]:
    name, _, raw_args = text.partition(":")
    events = {e.name: e for e in machine.events}
    if name not in events:
        raise click.BadParameter(f"unknown event {name!r}; events of {machine.name}: {', '.join(events)}")
    event = events[name]
    values = [v for v in raw_args.split(",") if v] if raw_args else []
    if len(values) != len(event.params):
        shape = ", ".join(f"{p.name}: {p.type}" for p in event.params) or "no arguments"
        raise click.BadParameter(f"event {name} takes {shape}; write it as {name}:a,b", param_hint="EVENTS")
    return event, [
        _parse_value(v, p.type, f"{name}'s {p.name}") for v, p in zip(values, event.params, strict=True)
    ]


def _row(kernel: ModuleType, machine: ir.Machine, s: tuple, label: str, outcome: str) -> list[str]:
    cells = [label, outcome, machine.states[s[0]].name]
    cells += [_show(value, v.type) for value, v in zip(s[1:], machine.vars, strict=True)]
    cells += [_show(getattr(kernel, d.name)(s), d.type) for d in machine.defs]
    return cells


def trace_machine(machine: ir.Machine, settings: dict[str, str], steps: list[str], echo) -> None:
    """Create the machine from `settings`, apply `steps`, echo a table of every state reached."""
    kernel = importlib.import_module(f"canonicalflow._generated.{machine.name}_kernel")
    params = {v.name: v for v in machine.vars if v.init is None}
    unknown = set(settings) - set(params)
    if unknown:
        raise click.BadParameter(
            f"{sorted(unknown)[0]!r} is not a creation parameter; those are: {', '.join(params)}"
        )
    missing = [name for name in params if name not in settings]
    if missing:
        raise click.BadParameter(f"set the creation parameter(s) {', '.join(missing)} with --set NAME=VALUE")
    s = kernel.initial(**{n: _parse_value(settings[n], v.type, n) for n, v in params.items()})
    parsed = [_parse_step(text, machine) for text in steps]
    header = ["step", "outcome", "state", *(v.name for v in machine.vars), *(d.name for d in machine.defs)]
    rows = [_row(kernel, machine, s, "(created)", "")]
    for event, args in parsed:
        after = kernel.step(s, event.index, *args)
        shown = ", ".join(_show(a, p.type) for a, p in zip(args, event.params, strict=True))
        label = f"{event.name}({shown})" if args else event.name
        if isinstance(after, kernel.Rejection):
            outcome = f"rejected: {after.reason}"
        elif after is s:
            outcome = "ignored"
        else:
            outcome = "applied"
            s = after
        rows.append(_row(kernel, machine, s, label, outcome))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
