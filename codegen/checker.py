"""Semantic checks: turn parsed spec files into checked IR machines, or a SpecError."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

from canonicalflow.errors import SourceSpan, SpecError
from codegen import ast, ir
from codegen.domain import check_bounded
from codegen.parser import parse_spec
from codegen.pyexpr import enum_const_name, render, snake_upper
from codegen.typecheck import Scope, SpecProblem, check_expr, check_name_is_python_safe

__all__ = ["check_files", "load_specs"]

_RESERVED = {"state", "event", "same", "others", "true", "false"}
_FLAGS = {"initial", "terminal"}


def load_specs(paths: Iterable[Path]) -> list[ir.Machine]:
    """Parse and check every spec file; enums are shared by all files."""
    sources = {str(p): p.read_text() for p in sorted(paths)}
    files = []
    for path, text in sources.items():
        files.append(parse_spec(text, path))
    return check_files(files)


def check_files(files: list[ast.SpecFile]) -> list[ir.Machine]:
    texts = {f.path: f.text for f in files}
    try:
        return _check_files(files)
    except SpecProblem as problem:
        text = texts.get(problem.span.file, "")
        lines = text.splitlines()
        line = lines[problem.span.line - 1].expandtabs(1) if 0 < problem.span.line <= len(lines) else ""
        raise SpecError(problem.message, problem.span, line) from None


def _check_files(files: list[ast.SpecFile]) -> list[ir.Machine]:
    enums: dict[str, ir.EnumT] = {}
    enum_spans: dict[str, SourceSpan] = {}
    for spec_file in files:
        for decl in spec_file.enums:
            _unique(decl.name, decl.span, enum_spans, "enum")
            members: dict[str, SourceSpan] = {}
            for member in decl.members:
                _unique(member.name, member.span, members, f"member of enum {decl.name}")
                check_name_is_python_safe(member.name, member.span)
            enums[decl.name] = ir.EnumT(decl.name, tuple(m.name for m in decl.members), decl.doc)
    machines: list[ir.Machine] = []
    machine_spans: dict[str, SourceSpan] = {}
    for spec_file in files:
        for machine in spec_file.machines:
            _unique(machine.name, machine.span, machine_spans, "machine")
            machines.append(_MachineChecker(machine, spec_file, enums).check())
    return machines


def _unique(name: str, span: SourceSpan, seen: dict[str, SourceSpan], what: str) -> None:
    if name in seen:
        first = seen[name]
        raise SpecProblem(f"duplicate name: {what} '{name}' is already declared at line {first.line}", span)
    seen[name] = span


class _MachineChecker:
    def __init__(self, machine: ast.Machine, spec_file: ast.SpecFile, enums: dict[str, ir.EnumT]) -> None:
        self.machine = machine
        self.file = spec_file
        self.enums = enums
        self.names: dict[str, SourceSpan] = {}
        items = machine.items
        self.const_decls = [i for i in items if isinstance(i, ast.ConstDecl)]
        self.var_decls = [i for i in items if isinstance(i, ast.VarDecl)]
        self.def_decls = [i for i in items if isinstance(i, ast.DefDecl)]
        self.state_decls = [i for i in items if isinstance(i, ast.StateDecl)]
        self.event_decls = [i for i in items if isinstance(i, ast.EventDecl)]
        self.row_decls = [i for i in items if isinstance(i, ast.Row)]
        self.properties = [i for i in items if isinstance(i, ast.Property)]
        self.assumptions = [i for i in items if isinstance(i, ast.Assumption)]

    # ------------------------------------------------------------------ main
    def check(self) -> ir.Machine:
        m = self.machine
        consts = self._consts()
        state_type = ir.EnumT(f"{m.name}.State", tuple(s.name for s in self.state_decls))
        event_type = ir.EnumT(f"{m.name}.Event", tuple(e.name for e in self.event_decls))
        self.scope = Scope(self.enums, state_type, event_type, consts={c[0]: c[1] for c in consts})
        variables = self._vars()
        states = self._states()
        defs = self._defs()
        events = self._events()
        rows, table, reasons = self._rows(states, events)
        props = self._properties()
        self._check_unused(variables, events, defs, rows, props)
        used_enums = self._used_enums(variables, events, defs, rows, props)
        spec_hash = hashlib.sha256(self.file.text.encode()).hexdigest()
        result = ir.Machine(
            name=m.name,
            doc=m.doc,
            source_file=Path(self.file.path).name,
            spec_hash=spec_hash,
            consts=tuple(consts),
            enums=used_enums,
            state_type=state_type,
            event_type=event_type,
            vars=tuple(variables),
            defs=tuple(defs),
            states=tuple(states),
            events=tuple(events),
            rows=tuple(rows),
            table=table,
            invariants=tuple(p for p in props if p.kind == "invariant"),
            step_invariants=tuple(p for p in props if p.kind == "step_invariant"),
            reachables=tuple(p for p in props if p.kind == "reachable"),
            assumptions=tuple(ir.Assumption(a.name, a.text) for a in self.assumptions),
            reasons=tuple(reasons),
        )
        self._check_generated_names(result)
        self._check_reachable(result)
        check_bounded(result, self._row_span)
        return result

    def _declare(self, name: str, span: SourceSpan, what: str) -> None:
        if name in _RESERVED:
            raise SpecProblem(f"'{name}' is a reserved word and cannot name a {what}", span)
        check_name_is_python_safe(name, span)
        _unique(name, span, self.names, what)

    # ---------------------------------------------------------- declarations
    def _consts(self) -> list[tuple[str, int, int, str]]:
        out = []
        for c in self.const_decls:
            self._declare(c.name, c.span, "constant")
            if c.check_value > c.runtime_value:
                raise SpecProblem(
                    f"constant '{c.name}': the checker's value {c.check_value} exceeds the runtime value {c.runtime_value}",
                    c.span,
                )
            out.append((c.name, c.runtime_value, c.check_value, c.doc))
        return out

    def _type(self, ref: ast.TypeRef) -> ir.Type:
        if isinstance(ref, ast.BoolType):
            return ir.BoolT()
        if isinstance(ref, ast.EnumType):
            if ref.name not in self.enums:
                raise SpecProblem(
                    f"unknown type '{ref.name}': expected int[lo..hi], bool or an enum", ref.span
                )
            return self.enums[ref.name]
        lo, check_lo = self._bound(ref.lo)
        hi, check_hi = self._bound(ref.hi)
        if lo > hi or check_lo > check_hi:
            shown = [b if isinstance(b, int) else b.name for b in (ref.lo, ref.hi)]
            raise SpecProblem(
                f"empty range int[{shown[0]}..{shown[1]}]: the lower bound exceeds the upper", ref.span
            )
        if not lo <= check_lo <= check_hi <= hi:
            raise SpecProblem(
                f"the checker's range {check_lo}..{check_hi} must lie within the runtime range {lo}..{hi}; "
                "a constant used as a lower bound cannot be scaled down",
                ref.span,
            )
        return ir.IntT(lo, hi, check_lo, check_hi)

    def _bound(self, bound: int | ast.Name) -> tuple[int, int]:
        """A bound's runtime and checker values."""
        if isinstance(bound, int):
            return bound, bound
        for c in self.const_decls:
            if c.name == bound.name:
                return c.runtime_value, c.check_value
        raise SpecProblem(f"unknown constant '{bound.name}' in a type bound", bound.span)

    def _vars(self) -> list[ir.Var]:
        out = []
        for v in self.var_decls:
            self._declare(v.name, v.span, "variable")
            var_type = self._type(v.type)
            init = None
            if v.init is not None:
                const_scope = Scope(
                    self.enums,
                    self.scope.state_type,
                    self.scope.event_type,
                    consts=self.scope.consts,
                    allow_state=False,
                )
                init = check_expr(v.init, const_scope, var_type)
                if not ir.same_kind(var_type, init.type):
                    raise SpecProblem(
                        f"type error: the initial value of '{v.name}' must match its type {var_type}", v.span
                    )
                _check_init_bounds(v, var_type, init)
            self.scope.vars[v.name] = var_type
            out.append(ir.Var(v.name, var_type, init, v.doc))
        return out

    def _states(self) -> list[ir.State]:
        if not self.state_decls:
            raise SpecProblem(f"machine '{self.machine.name}' declares no state", self.machine.span)
        out = []
        for index, s in enumerate(self.state_decls):
            self._declare(s.name, s.span, "state")
            flags = set()
            for flag in s.flags:
                if flag.name not in _FLAGS:
                    raise SpecProblem(
                        f"unknown state flag '{flag.name}': expected initial or terminal", flag.span
                    )
                flags.add(flag.name)
            out.append(ir.State(s.name, index, "initial" in flags, "terminal" in flags, s.doc))
        initial = [s for s in out if s.initial]
        if len(initial) != 1:
            where = self.state_decls[initial[1].index].span if len(initial) > 1 else self.machine.span
            raise SpecProblem(
                f"machine '{self.machine.name}' must flag exactly one state [initial], found {len(initial)}",
                where,
            )
        return out

    def _events(self) -> list[ir.Event]:
        out = []
        for index, e in enumerate(self.event_decls):
            self._declare(e.name, e.span, "event")
            params = []
            seen: dict[str, SourceSpan] = {}
            for p in e.params:
                _unique(p.name, p.span, seen, f"parameter of event {e.name}")
                if p.name in self.names or p.name in _RESERVED:
                    raise SpecProblem(
                        f"duplicate name: parameter '{p.name}' of event {e.name} hides another declaration",
                        p.span,
                    )
                check_name_is_python_safe(p.name, p.span)
                params.append(ir.Param(p.name, self._type(p.type)))
            out.append(ir.Event(e.name, index, tuple(params), e.doc))
        return out

    def _defs(self) -> list[ir.Def]:
        out = []
        for d in self.def_decls:
            self._declare(d.name, d.span, "definition")
            typed = check_expr(d.expr, self.scope)
            self.scope.defs[d.name] = typed.type
            out.append(ir.Def(d.name, typed, d.doc))
        return out

    # ------------------------------------------------------------------ rows
    def _rows(self, states: list[ir.State], events: list[ir.Event]):
        state_names = {s.name: s for s in states}
        event_names = {e.name: e for e in events}
        rows: list[ir.Row] = []
        table: dict[tuple[str, str], list[int]] = {}
        deferred: list[tuple[ast.Row, ir.Event]] = []
        reasons: list[str] = []
        self._spans: dict[int, SourceSpan] = {}
        for decl in self.row_decls:
            for event_name in decl.events:
                if event_name.name not in event_names:
                    raise SpecProblem(f"unknown event '{event_name.name}'", event_name.span)
                event = event_names[event_name.name]
                if [s.name for s in decl.sources] == ["others"]:
                    deferred.append((decl, event))
                    continue
                sources = self._sources(decl, state_names)
                rows.append(self._row(decl, event, sources, len(rows), state_names, reasons))
                for source in sources:
                    table.setdefault((source, event.name), []).append(rows[-1].index)
        for decl, event in deferred:
            sources = tuple(s.name for s in states if (s.name, event.name) not in table)
            if not sources:
                raise SpecProblem(
                    f"'others' covers no state: every state already has a row for event {event.name}",
                    decl.span,
                )
            rows.append(self._row(decl, event, sources, len(rows), state_names, reasons))
            for source in sources:
                table.setdefault((source, event.name), []).append(rows[-1].index)
        for event in events:
            for state in states:
                if (state.name, event.name) not in table:
                    span = self.event_decls[event.index].span
                    raise SpecProblem(
                        f"unhandled pair: event '{event.name}' in state '{state.name}' has no row; "
                        f"add a transition, 'ignore' or 'reject' for it",
                        span,
                    )
        return rows, {k: tuple(v) for k, v in table.items()}, reasons

    def _sources(self, decl: ast.Row, state_names: dict[str, ir.State]) -> tuple[str, ...]:
        seen: dict[str, SourceSpan] = {}
        for source in decl.sources:
            if source.name == "others":
                raise SpecProblem("'others' must be the only source state of a row", source.span)
            if source.name not in state_names:
                raise SpecProblem(f"unknown state '{source.name}'", source.span)
            _unique(source.name, source.span, seen, "source state in this row")
        return tuple(s.name for s in decl.sources)

    def _row(
        self,
        decl: ast.Row,
        event: ir.Event,
        sources: tuple[str, ...],
        index: int,
        state_names,
        reasons: list[str],
    ) -> ir.Row:
        scope = dataclasses.replace(self.scope, params={p.name: p.type for p in event.params})
        target = None
        reason = None
        if decl.kind == "goto":
            assert decl.target is not None
            if decl.target.name != "same":
                if decl.target.name not in state_names:
                    raise SpecProblem(f"unknown state '{decl.target.name}'", decl.target.span)
                target = decl.target.name
                for source in sources:
                    if state_names[source].terminal and source != target:
                        raise SpecProblem(
                            f"terminal state '{source}' has an outgoing transition to '{target}' on event '{event.name}'",
                            decl.target.span,
                        )
        elif decl.kind == "reject":
            assert decl.target is not None
            reason = decl.target.name
            if reason in ir.BUILTIN_REASONS:
                raise SpecProblem(
                    f"'{reason}' is a built-in rejection reason; name this one differently", decl.target.span
                )
            if reason not in reasons:
                reasons.append(reason)
        if decl.kind != "goto" and decl.assignments:
            raise SpecProblem(
                f"an '{decl.kind}' row changes nothing; it cannot have assignments", decl.assignments[0].span
            )
        guard = None
        if decl.guard is not None:
            guard = check_expr(decl.guard, scope, ir.BoolT())
            if not isinstance(guard.type, ir.BoolT):
                raise SpecProblem("type error: a guard must be a bool", decl.guard.span)
        assigns = []
        targets: dict[str, SourceSpan] = {}
        for a in decl.assignments:
            if a.target not in self.scope.vars:
                what = "a derived definition" if a.target in self.scope.defs else "not a variable"
                raise SpecProblem(f"cannot assign '{a.target}': {what}", a.span)
            _unique(a.target, a.span, targets, "assignment target in this row")
            var_type = self.scope.vars[a.target]
            value = check_expr(a.expr, scope, var_type)
            if not ir.same_kind(var_type, value.type):
                raise SpecProblem(
                    f"type error: '{a.target}' is {var_type}, the value assigned is {value.type}", a.span
                )
            assigns.append((a.target, value))
        self._spans[index] = decl.span
        text = _row_text(self.file.text, decl.span)
        return ir.Row(
            index,
            event.name,
            sources,
            decl.kind,
            target,
            reason,
            guard,
            tuple(assigns),
            decl.doc,
            decl.span,
            text,
        )

    def _row_span(self, index: int) -> SourceSpan:
        return self._spans[index]

    # ------------------------------------------------------------ properties
    def _properties(self) -> list[ir.Property]:
        out = []
        seen: dict[str, SourceSpan] = {}
        for p in self.properties:
            _unique(p.name, p.span, seen, "property")
            scope = dataclasses.replace(self.scope, allow_primed=p.kind == "step_invariant")
            typed = check_expr(p.expr, scope, ir.BoolT())
            if not isinstance(typed.type, ir.BoolT):
                raise SpecProblem(f"type error: {p.kind.replace('_', ' ')} '{p.name}' must be a bool", p.span)
            out.append(ir.Property(p.kind, p.name, typed, p.doc))
        return out

    # ---------------------------------------------------------------- checks
    def _check_unused(self, variables, events, defs, rows, props) -> None:
        read: set[tuple[str, str]] = set()
        for d in defs:
            read |= ir.refs(d.expr)
        for row in rows:
            if row.guard is not None:
                read |= {(k, n) if k != "param" else (k, f"{row.event}.{n}") for k, n in ir.refs(row.guard)}
            for _, value in row.assigns:
                read |= {(k, n) if k != "param" else (k, f"{row.event}.{n}") for k, n in ir.refs(value)}
        for p in props:
            read |= ir.refs(p.expr)
        for v, decl in zip(variables, self.var_decls, strict=True):
            if ("var", v.name) not in read:
                raise SpecProblem(
                    f"unused variable '{v.name}': no guard, assignment, definition or property reads it",
                    decl.span,
                )
        for e, e_decl in zip(events, self.event_decls, strict=True):
            for p, p_decl in zip(e.params, e_decl.params, strict=True):
                if ("param", f"{e.name}.{p.name}") not in read:
                    raise SpecProblem(
                        f"unused parameter '{p.name}' of event '{e.name}': no row reads it", p_decl.span
                    )

    def _used_enums(self, variables, events, defs, rows, props) -> tuple[ir.EnumT, ...]:
        used: set[str] = set()

        def note(t: ir.Type) -> None:
            if isinstance(t, ir.EnumT) and t.name in self.enums:
                used.add(t.name)

        def walk(e: ir.TExpr) -> None:
            note(e.type)
            for child in _children(e):
                walk(child)

        for v in variables:
            note(v.type)
        for e in events:
            for p in e.params:
                note(p.type)
        for d in defs:
            walk(d.expr)
        for row in rows:
            if row.guard is not None:
                walk(row.guard)
            for _, value in row.assigns:
                walk(value)
        for p in props:
            walk(p.expr)
        return tuple(e for name, e in self.enums.items() if name in used)

    def _check_generated_names(self, machine: ir.Machine) -> None:
        """Two spec names that generated code would spell alike (PartFilled, Part_Filled) are an error."""
        spelled: dict[str, str] = {}
        names = [
            (f"S_{snake_upper(s.name)}", f"state '{s.name}'", d.span)
            for s, d in zip(machine.states, self.state_decls, strict=True)
        ]
        names += [
            (f"E_{snake_upper(e.name)}", f"event '{e.name}'", d.span)
            for e, d in zip(machine.events, self.event_decls, strict=True)
        ]
        names += [
            (f"REJECTED_{snake_upper(r)}", f"reason '{r}'", self.machine.span)
            for r in (*ir.BUILTIN_REASONS, *machine.reasons)
        ]
        names += [
            (enum_const_name(ir.EnumVal(e, i, e)), f"{e.name}.{m}", self.machine.span)
            for e in machine.enums
            for i, m in enumerate(e.members)
        ]
        for generated, what, span in names:
            if generated in spelled:
                raise SpecProblem(
                    f"{what} and {spelled[generated]} would both be named {generated} in generated code", span
                )
            spelled[generated] = what

    def _check_reachable(self, machine: ir.Machine) -> None:
        initial = next(s.name for s in machine.states if s.initial)
        seen = {initial}
        frontier = [initial]
        while frontier:
            current = frontier.pop()
            for row in machine.rows:
                if current in row.sources and row.kind == "goto":
                    nxt = row.target or current
                    if nxt not in seen:
                        seen.add(nxt)
                        frontier.append(nxt)
        for state, decl in zip(machine.states, self.state_decls, strict=True):
            if state.name not in seen:
                raise SpecProblem(
                    f"unreachable state '{state.name}': no chain of rows leads to it from '{initial}'",
                    decl.span,
                )


def _children(e: ir.TExpr) -> tuple[ir.TExpr, ...]:
    if isinstance(e, ir.Un):
        return (e.operand,)
    if isinstance(e, ir.Bin):
        return (e.left, e.right)
    if isinstance(e, ir.In):
        return (e.operand, *e.values)
    if isinstance(e, ir.Ite):
        return (e.cond, e.then, e.orelse)
    return ()


def _check_init_bounds(decl: ast.VarDecl, var_type: ir.Type, init: ir.TExpr) -> None:
    """An initial value reads no variable, so it is evaluated here, once."""
    if isinstance(var_type, ir.IntT):
        value = eval(render(init, lambda r: r.name, lambda e: str(e.index)), {"__builtins__": {}})
        assert var_type.check_lo is not None and var_type.check_hi is not None
        if not var_type.check_lo <= value <= var_type.check_hi:
            raise SpecProblem(
                f"initial value {value} of '{decl.name}' is outside its bounds {var_type}", decl.span
            )


def _row_text(text: str, span: SourceSpan) -> str:
    """The row as written, from `on` to its `;`, on one line (for the docs)."""
    lines = text.splitlines()
    chunk = "\n".join(lines[span.line - 1 :])[span.column - 1 :]
    depth_string = False
    for i, ch in enumerate(chunk):
        if ch == '"':
            depth_string = not depth_string
        elif ch == ";" and not depth_string:
            body = chunk[:i]
            if '"' in body:
                body = body[: body.index('"')]
            return " ".join(body.split())
    return " ".join(chunk.split())
