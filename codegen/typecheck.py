"""Type-check spec expressions and resolve their names into the typed IR."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from canonicalflow.errors import SourceSpan
from codegen import ast, ir

__all__ = ["Scope", "SpecProblem", "check_expr"]

_INT = ir.IntT()
_BOOL = ir.BoolT()
_ARITH = {"+", "-", "*"}
_ORDER = {"<", "<=", ">", ">="}
_LOGIC = {"and", "or", "implies"}


class SpecProblem(Exception):
    """A semantic error at a span; the loader turns it into a SpecError with the source line."""

    def __init__(self, message: str, span: SourceSpan) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


class _Ambiguous(SpecProblem):
    """An enum member that several types share; resolved from the other side of a comparison."""


@dataclass
class Scope:
    """The names an expression may read, by kind."""

    enums: dict[str, ir.EnumT]
    state_type: ir.EnumT
    event_type: ir.EnumT
    consts: dict[str, int] = field(default_factory=dict)
    vars: dict[str, ir.Type] = field(default_factory=dict)
    defs: dict[str, ir.Type] = field(default_factory=dict)
    params: dict[str, ir.Type] = field(default_factory=dict)
    allow_primed: bool = False  # step invariants read x' and `event`
    allow_state: bool = True  # initial values may not read the state

    def member_types(self, name: str) -> list[ir.EnumT]:
        found = [e for e in self.enums.values() if name in e.members]
        if name in self.state_type.members and self.allow_state:
            found.append(self.state_type)
        if name in self.event_type.members and self.allow_primed:
            found.append(self.event_type)
        return found


def check_expr(expr: ast.Expr, scope: Scope, expected: ir.Type | None = None) -> ir.TExpr:
    """Type an expression; `expected` resolves a bare enum member shared by several enums."""
    if isinstance(expr, ast.IntLit):
        return ir.Const(expr.value, _INT)
    if isinstance(expr, ast.BoolLit):
        return ir.Const(expr.value, _BOOL)
    if isinstance(expr, ast.Name):
        return _name(expr, scope, expected, primed=False)
    if isinstance(expr, ast.Primed):
        if not scope.allow_primed:
            raise SpecProblem(
                f"'{expr.name}'' (a value after the step) is allowed in step invariants only", expr.span
            )
        return _name(ast.Name(expr.name, expr.span), scope, expected, primed=True)
    if isinstance(expr, ast.Unary):
        if expr.op == "not":
            return ir.Un("not", _expect(expr.operand, scope, _BOOL), _BOOL)
        return ir.Un("-", _expect(expr.operand, scope, _INT), _INT)
    if isinstance(expr, ast.Binary):
        return _binary(expr, scope)
    if isinstance(expr, ast.Member):
        return _member(expr, scope)
    if isinstance(expr, ast.IfThenElse):
        cond = _expect(expr.cond, scope, _BOOL)
        then, orelse = _pair(expr.then, expr.orelse, scope, expected)
        _require_same(then.type, orelse.type, expr.span, "the branches of if-then-else")
        result_type = then.type if not isinstance(then.type, ir.IntT) else _INT
        return ir.Ite(cond, then, orelse, result_type)
    raise AssertionError(f"unknown expression node {expr!r}")


def check_name_is_python_safe(name: str, span: SourceSpan) -> None:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise SpecProblem(f"'{name}' is a Python keyword; generated code could not use it as a name", span)


def _expect(expr: ast.Expr, scope: Scope, expected: ir.Type) -> ir.TExpr:
    typed = check_expr(expr, scope, expected)
    _require_same(expected, typed.type, _span(expr), "this expression")
    return typed


def _require_same(expected: ir.Type, found: ir.Type, span: SourceSpan, what: str) -> None:
    if not ir.same_kind(expected, found):
        raise SpecProblem(f"type error: {what} must be {_kind(expected)}, found {_kind(found)}", span)


def _kind(t: ir.Type) -> str:
    if isinstance(t, ir.IntT):
        return "an int"
    if isinstance(t, ir.BoolT):
        return "a bool"
    return f"a value of {t.name}"


def _name(node: ast.Name, scope: Scope, expected: ir.Type | None, primed: bool) -> ir.TExpr:
    name = node.name
    if name == "state":
        if not scope.allow_state:
            raise SpecProblem(
                "an initial value cannot read 'state': the machine has no state before it exists", node.span
            )
        return ir.Ref("state", "state", scope.state_type, primed)
    if name == "event" and scope.allow_primed:
        if primed:
            raise SpecProblem("`event` names the step's event; it has no primed form", node.span)
        return ir.Ref("event", "event", scope.event_type)
    for kind, table in (("var", scope.vars), ("def", scope.defs), ("param", scope.params)):
        if name in table:
            if primed and kind == "param":
                raise SpecProblem(f"event parameter '{name}' has no primed form", node.span)
            if primed and kind == "def":
                raise SpecProblem(
                    f"definition '{name}' has no primed form; prime the variables it reads instead", node.span
                )
            return ir.Ref(name, kind, table[name], primed)
    if name in scope.consts:
        raise SpecProblem(
            f"constant '{name}' may appear in type bounds only: the checker scales it down, "
            "so an expression reading it would mean one thing at runtime and another in the model",
            node.span,
        )
    candidates = scope.member_types(name)
    if primed and candidates:
        raise SpecProblem(f"'{name}' is a constant value; it has no primed form", node.span)
    if isinstance(expected, ir.EnumT) and expected in candidates:
        return ir.EnumVal(expected, expected.members.index(name), expected)
    if len(candidates) == 1:
        enum = candidates[0]
        return ir.EnumVal(enum, enum.members.index(name), enum)
    if candidates:
        names = " and ".join(c.name for c in candidates)
        raise _Ambiguous(
            f"'{name}' is a member of {names}; compare it with a value of the type meant", node.span
        )
    raise SpecProblem(
        f"unknown name '{name}': not a variable, definition, parameter, constant, state or enum member",
        node.span,
    )


def _pair(
    left: ast.Expr, right: ast.Expr, scope: Scope, expected: ir.Type | None
) -> tuple[ir.TExpr, ir.TExpr]:
    """Type two operands, letting each resolve an ambiguous member from the other's type."""
    try:
        typed_left = check_expr(left, scope, expected)
    except _Ambiguous:
        typed_right = check_expr(right, scope, expected)
        return check_expr(left, scope, typed_right.type), typed_right
    return typed_left, check_expr(right, scope, typed_left.type if expected is None else expected)


def _binary(expr: ast.Binary, scope: Scope) -> ir.TExpr:
    op = expr.op
    if op in _LOGIC:
        return ir.Bin(op, _expect(expr.left, scope, _BOOL), _expect(expr.right, scope, _BOOL), _BOOL)
    if op in _ARITH:
        return ir.Bin(op, _expect(expr.left, scope, _INT), _expect(expr.right, scope, _INT), _INT)
    if op in _ORDER:
        return ir.Bin(op, _expect(expr.left, scope, _INT), _expect(expr.right, scope, _INT), _BOOL)
    left, right = _pair(expr.left, expr.right, scope, None)
    _require_same(left.type, right.type, expr.span, f"both sides of '{op}'")
    return ir.Bin(op, left, right, _BOOL)


def _member(expr: ast.Member, scope: Scope) -> ir.TExpr:
    operand = check_expr(expr.operand, scope)
    if not isinstance(operand.type, ir.EnumT):
        raise SpecProblem(
            f"type error: 'in {{...}}' needs a state or enum value, found {_kind(operand.type)}", expr.span
        )
    values = []
    for name in expr.names:
        if name.name not in operand.type.members:
            raise SpecProblem(f"'{name.name}' is not a member of {operand.type.name}", name.span)
        values.append(ir.EnumVal(operand.type, operand.type.members.index(name.name), operand.type))
    return ir.In(operand, tuple(values), _BOOL)


def _span(expr: ast.Expr) -> SourceSpan:
    return expr.span
