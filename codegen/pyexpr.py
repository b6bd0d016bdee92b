"""Render typed expressions as Python source; the caller decides how names and enum values read."""

from __future__ import annotations

import re
from collections.abc import Callable

from codegen import ir

__all__ = ["enum_const_name", "py_tuple", "render", "snake_upper"]

_PY_OPS = {"and": "and", "or": "or", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def py_tuple(items: list[str]) -> str:
    """A tuple display without a magic trailing comma (the formatter keeps it on one line)."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def snake_upper(name: str) -> str:
    """`PartiallyFilled` -> `PARTIALLY_FILLED`; `ord_status` -> `ORD_STATUS`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).upper()


def enum_const_name(value: ir.EnumVal) -> str:
    """The module constant naming an enum value: states S_*, events E_*, enums ENUM_MEMBER."""
    if value.enum.name.endswith(".State"):
        return "S_" + snake_upper(value.member)
    if value.enum.name.endswith(".Event"):
        return "E_" + snake_upper(value.member)
    return snake_upper(value.enum.name) + "_" + value.member


def render(
    expr: ir.TExpr,
    ref: Callable[[ir.Ref], str],
    enum_value: Callable[[ir.EnumVal], str] = enum_const_name,
) -> str:
    """Python source for `expr`, fully parenthesised where precedence could differ."""

    def go(e: ir.TExpr) -> str:
        if isinstance(e, ir.Const):
            return repr(e.value)
        if isinstance(e, ir.Ref):
            return ref(e)
        if isinstance(e, ir.EnumVal):
            return enum_value(e)
        if isinstance(e, ir.Un):
            return f"(not {go(e.operand)})" if e.op == "not" else f"(-{go(e.operand)})"
        if isinstance(e, ir.Bin):
            if e.op == "implies":
                return f"((not {go(e.left)}) or {go(e.right)})"
            op = _PY_OPS.get(e.op, e.op)
            return f"({go(e.left)} {op} {go(e.right)})"
        if isinstance(e, ir.In):
            return f"({go(e.operand)} in {py_tuple([enum_value(v) for v in e.values])})"
        if isinstance(e, ir.Ite):
            return f"({go(e.then)} if {go(e.cond)} else {go(e.orelse)})"
        raise AssertionError(f"unknown expression {e!r}")

    return go(expr)
