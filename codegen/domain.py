"""Checks over the bounded domains: guards disjoint and complete, assignments within bounds.

Every state-variable valuation allowed by the checker's bounds and by the state invariants is
enumerated, with every event argument; small constants (`check` values) keep this exhaustive.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from canonicalflow.errors import SourceSpan
from codegen import ir
from codegen.pyexpr import render
from codegen.typecheck import SpecProblem

__all__ = ["Evaluator", "check_bounded", "domain_values", "valuations"]

Env = dict[str, Any]


def domain_values(t: ir.Type) -> list[Any]:
    """The checker's domain of a type."""
    if isinstance(t, ir.BoolT):
        return [False, True]
    if isinstance(t, ir.EnumT):
        return list(range(len(t.members)))
    assert t.check_lo is not None and t.check_hi is not None
    return list(range(t.check_lo, t.check_hi + 1))


class Evaluator:
    """Compiles a machine's expressions to Python callables over an environment dict."""

    def __init__(self, machine: ir.Machine) -> None:
        self.machine = machine
        self._cache: dict[int, Callable[[Env], Any]] = {}
        self._consts = {name: value for name, value, _, _ in machine.consts}

    def compile(self, expr: ir.TExpr) -> Callable[[Env], Any]:
        key = id(expr)
        if key not in self._cache:

            def ref(r: ir.Ref) -> str:
                if r.kind == "const":
                    return repr(self._consts[r.name])
                key = r.name + "'" if r.primed else r.name
                return f"v[{key!r}]"

            source = render(expr, ref, lambda e: repr(e.index))
            self._cache[key] = eval(f"lambda v: {source}", {"__builtins__": {}})
        return self._cache[key]

    def with_defs(self, env: Env) -> Env:
        for d in self.machine.defs:
            env[d.name] = self.compile(d.expr)(env)
        return env

    def invariants_hold(self, env: Env) -> str | None:
        """The name of the first state invariant `env` breaks, or None."""
        for inv in self.machine.invariants:
            if not self.compile(inv.expr)(env):
                return inv.name
        return None

    def firing_rows(self, state: str, event: str, env: Env) -> list[ir.Row]:
        rows = [self.machine.rows[i] for i in self.machine.table[(state, event)]]
        return [r for r in rows if r.guard is None or self.compile(r.guard)(env)]

    def apply(self, row: ir.Row, state: str, env: Env) -> Env:
        """The variables and state after `row` fires (simultaneous assignment)."""
        new = {v.name: env[v.name] for v in self.machine.vars}
        for name, value in row.assigns:
            new[name] = self.compile(value)(env)
        new["state"] = self.machine.state(row.target or state).index
        return self.with_defs(new)


def valuations(machine: ir.Machine, evaluator: Evaluator, state: ir.State) -> Iterator[Env]:
    """Every variable valuation in `state` within the checker's bounds that satisfies the invariants."""
    names = [v.name for v in machine.vars]
    for values in itertools.product(*(domain_values(v.type) for v in machine.vars)):
        env = evaluator.with_defs({"state": state.index, **dict(zip(names, values, strict=True))})
        if evaluator.invariants_hold(env) is None:
            yield env


def arguments(event: ir.Event) -> Iterator[Env]:
    names = [p.name for p in event.params]
    for values in itertools.product(*(domain_values(p.type) for p in event.params)):
        yield dict(zip(names, values, strict=True))


def describe(machine: ir.Machine, env: Env, event: ir.Event | None = None) -> str:
    parts = [f"state={machine.states[env['state']].name}"]
    typed = [(v.name, v.type) for v in machine.vars] + (
        [(p.name, p.type) for p in event.params] if event else []
    )
    for name, t in typed:
        value = env[name]
        parts.append(f"{name}={t.members[value] if isinstance(t, ir.EnumT) else value}")
    return ", ".join(parts)


def check_bounded(machine: ir.Machine, row_span: Callable[[int], SourceSpan]) -> None:
    """Raise SpecProblem on overlapping or incomplete guards and out-of-bounds assignments."""
    evaluator = Evaluator(machine)
    bounds = {v.name: v.type for v in machine.vars if isinstance(v.type, ir.IntT)}
    for state in machine.states:
        envs = list(valuations(machine, evaluator, state))
        for event in machine.events:
            rows = machine.table[(state.name, event.name)]
            for env in envs:
                for args in arguments(event):
                    full = {**env, **args}
                    firing = evaluator.firing_rows(state.name, event.name, full)
                    if len(firing) > 1:
                        raise SpecProblem(
                            f"overlapping guards: this row and the row at line {firing[0].span.line} both fire "
                            f"for event '{event.name}' when {describe(machine, full, event)}",
                            row_span(firing[1].index),
                        )
                    if not firing:
                        raise SpecProblem(
                            f"incomplete guards: no row for event '{event.name}' fires when "
                            f"{describe(machine, full, event)}; add a row, 'ignore' or 'reject' for that case",
                            row_span(rows[0]),
                        )
                    row = firing[0]
                    if row.kind != "goto":
                        continue
                    after = evaluator.apply(row, state.name, full)
                    for name, _value in row.assigns:
                        t = bounds.get(name)
                        if t is not None and not t.check_lo <= after[name] <= t.check_hi:
                            raise SpecProblem(
                                f"assignment out of bounds: '{name}' becomes {after[name]}, outside {t} "
                                f"(checker bounds {t.check_lo}..{t.check_hi}) when {describe(machine, full, event)}",
                                row_span(row.index),
                            )
