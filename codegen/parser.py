"""Parse *.cflow text into the syntax tree, turning Lark's errors into SpecErrors."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from canonicalflow.errors import SourceSpan, SpecError
from codegen import ast

__all__ = ["parse_file", "parse_spec"]

GRAMMAR = Path(__file__).with_name("cflow.lark")

# Human names for the terminals Lark reports as expected.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "an integer",
    "SIGNED_INT": "an integer",
    "STRING": 'a "doc string"',
    "COMPARE": "a comparison",
    "ADD_OP": "'+' or '-'",
}


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse_file(path: Path) -> ast.SpecFile:
    return parse_spec(path.read_text(), str(path))


def parse_spec(text: str, path: str = "<spec>") -> ast.SpecFile:
    """Parse one spec file; raise SpecError pointing at the first syntax error."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text, path) from None
    return _ToAst(path, text).transform(tree)


def _syntax_error(error: UnexpectedInput, text: str, path: str) -> SpecError:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedEOF):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = f"unexpected end of file; expected {_expected(error.expected)}"
    elif isinstance(error, UnexpectedCharacters):
        message = f"unexpected character {error.char!r}"
        if error.allowed:
            message += f"; expected {_expected(error.allowed)}"
    elif isinstance(error, UnexpectedToken):
        found = error.token
        expected = error.interactive_parser.accepts() if error.interactive_parser else error.expected
        if found.type == "$END":
            # Lark places $END on the last token; the file really ends just after it.
            line, column = found.end_line or line, found.end_column or column
            message = f"unexpected end of file; expected {_expected(expected)}"
        else:
            message = f"unexpected {str(found)!r}; expected {_expected(expected)}"
    else:  # pragma: no cover - Lark raises only the three above
        message = str(error)
    return SpecError(message, SourceSpan(path, line, column), _line(text, line))


def _expected(terminals: Iterable[str]) -> str:
    names = sorted({_terminal_name(t) for t in terminals if not t.startswith("$")})
    if len(names) > 8:
        names = [*names[:8], "..."]
    return " or ".join(names) if len(names) <= 2 else ", ".join(names)


def _terminal_name(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    try:
        pattern = _parser().get_terminal(terminal).pattern.value
    except KeyError:
        return terminal
    return f"'{pattern}'"


def _line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].expandtabs(1) if 0 < line <= len(lines) else ""


def _doc(raw: Token | None) -> str:
    if raw is None:
        return ""
    body = str(raw)[1:-1].replace('\\"', '"')
    first, _, rest = body.partition("\n")
    return " ".join((first + "\n" + textwrap.dedent(rest)).split())


@v_args(inline=True, meta=True)
class _ToAst(Transformer):
    """One method per grammar rule; every node keeps its position."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path = path
        self.text = text

    def _span(self, meta) -> SourceSpan:
        return SourceSpan(self.path, getattr(meta, "line", 1), getattr(meta, "column", 1))

    def _tok(self, token: Token) -> SourceSpan:
        return SourceSpan(self.path, token.line or 1, token.column or 1)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), self._tok(token))

    # ------------------------------------------------------------ structure
    def start(self, meta, *tops):
        enums = tuple(t for t in tops if isinstance(t, ast.EnumDecl))
        machines = tuple(t for t in tops if isinstance(t, ast.Machine))
        return ast.SpecFile(self.path, self.text, enums, machines)

    def enum_decl(self, meta, name, *rest):
        doc, members = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
        return ast.EnumDecl(str(name), members, _doc(doc), self._tok(name))

    def machine(self, meta, name, *rest):
        doc = rest[0] if rest and isinstance(rest[0], Token) and rest[0].type == "STRING" else None
        items = rest[1:] if doc is not None else rest
        return ast.Machine(str(name), _doc(doc), tuple(items), self._tok(name))

    def doc(self, meta, token):
        return token

    def name_list(self, meta, *names):
        return tuple(self._name(n) for n in names)

    # ---------------------------------------------------------- declarations
    def const_decl(self, meta, name, runtime, check, doc=None):
        return ast.ConstDecl(str(name), _int(runtime), _int(check), _doc(doc), self._tok(name))

    def var_decl(self, meta, name, type_, *rest):
        init = next((r for r in rest if not _is_doc(r)), None)
        doc = next((r for r in rest if _is_doc(r)), None)
        return ast.VarDecl(str(name), type_, init, _doc(doc), self._tok(name))

    def def_decl(self, meta, name, expr, doc=None):
        return ast.DefDecl(str(name), expr, _doc(doc), self._tok(name))

    def state_decl(self, meta, name, *rest):
        flags = next((r for r in rest if isinstance(r, tuple)), ())
        doc = next((r for r in rest if _is_doc(r)), None)
        return ast.StateDecl(str(name), flags, _doc(doc), self._tok(name))

    def flags(self, meta, *names):
        return tuple(self._name(n) for n in names)

    def event_decl(self, meta, name, *rest):
        params = next((r for r in rest if isinstance(r, tuple)), ())
        doc = next((r for r in rest if _is_doc(r)), None)
        return ast.EventDecl(str(name), params, _doc(doc), self._tok(name))

    def params(self, meta, *params):
        return tuple(params)

    def param(self, meta, name, type_):
        return ast.Param(str(name), type_, self._tok(name))

    def int_type(self, meta, lo, hi):
        return ast.IntType(lo, hi, self._span(meta))

    def bool_type(self, meta):
        return ast.BoolType(self._span(meta))

    def enum_type(self, meta, name):
        return ast.EnumType(str(name), self._tok(name))

    def literal_bound(self, meta, token):
        return _int(token)

    def const_bound(self, meta, token):
        return self._name(token)

    def row(self, meta, events, sources, outcome, *rest):
        kind, target = outcome
        guard = next((r.expr for r in rest if isinstance(r, _Guard)), None)
        assigns = next((r for r in rest if isinstance(r, tuple)), ())
        doc = next((r for r in rest if _is_doc(r)), None)
        return ast.Row(events, sources, kind, target, guard, assigns, _doc(doc), self._span(meta))

    def goto(self, meta, target):
        return ("goto", self._name(target))

    def ignore(self, meta):
        return ("ignore", None)

    def reject(self, meta, reason):
        return ("reject", self._name(reason))

    def guard(self, meta, expr):
        return _Guard(expr)

    def assignments(self, meta, *assigns):
        return tuple(assigns)

    def assignment(self, meta, target, expr):
        return ast.Assignment(str(target), expr, self._tok(target))

    def invariant_decl(self, meta, name, expr, doc=None):
        return ast.Property("invariant", str(name), expr, _doc(doc), self._tok(name))

    def step_invariant_decl(self, meta, name, expr, doc=None):
        return ast.Property("step_invariant", str(name), expr, _doc(doc), self._tok(name))

    def reachable_decl(self, meta, name, expr, doc=None):
        return ast.Property("reachable", str(name), expr, _doc(doc), self._tok(name))

    def assume_decl(self, meta, name, doc):
        return ast.Assumption(str(name), _doc(doc), self._tok(name))

    # ----------------------------------------------------------- expressions
    def implies(self, meta, left, right):
        return ast.Binary("implies", left, right, self._span(meta))

    def or_(self, meta, left, right):
        return ast.Binary("or", left, right, self._span(meta))

    def and_(self, meta, left, right):
        return ast.Binary("and", left, right, self._span(meta))

    def not_(self, meta, operand):
        return ast.Unary("not", operand, self._span(meta))

    def compare(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, self._tok(op))

    def member(self, meta, operand, names):
        return ast.Member(operand, names, self._span(meta))

    def arith(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, self._tok(op))

    def mul(self, meta, left, right):
        return ast.Binary("*", left, right, self._span(meta))

    def neg(self, meta, operand):
        return ast.Unary("-", operand, self._span(meta))

    def int_lit(self, meta, token):
        return ast.IntLit(_int(token), self._tok(token))

    def true_lit(self, meta):
        return ast.BoolLit(True, self._span(meta))

    def false_lit(self, meta):
        return ast.BoolLit(False, self._span(meta))

    def name(self, meta, token):
        return self._name(token)

    def primed(self, meta, token):
        return ast.Primed(str(token), self._tok(token))

    def elif_branch(self, meta, cond, then):
        return (cond, then, self._span(meta))

    def if_then_else(self, meta, cond, then, *rest):
        *elifs, orelse = rest
        for elif_cond, elif_then, span in reversed(elifs):
            orelse = ast.IfThenElse(elif_cond, elif_then, orelse, span)
        return ast.IfThenElse(cond, then, orelse, self._span(meta))


class _Guard:
    __slots__ = ("expr",)

    def __init__(self, expr: ast.Expr) -> None:
        self.expr = expr


def _is_doc(item: object) -> bool:
    return isinstance(item, Token) and item.type == "STRING"


def _int(token: Token) -> int:
    return int(str(token).replace("_", ""))
