"""Syntax tree of a spec file: what was written, where, before any meaning is checked."""

from __future__ import annotations

from dataclasses import dataclass

from canonicalflow.errors import SourceSpan

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Name:
    """A variable, parameter, derived definition, constant, state or enum member."""

    name: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Primed:
    """`x'`: the value of `x` after a transition (step invariants only)."""

    name: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * == != < <= > >= and or implies
    left: Expr
    right: Expr
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Member:
    """`x in {A, B}`."""

    operand: Expr
    names: tuple[Name, ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class IfThenElse:
    cond: Expr
    then: Expr
    orelse: Expr
    span: SourceSpan


Expr = IntLit | BoolLit | Name | Primed | Unary | Binary | Member | IfThenElse

# ---------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class IntType:
    """`int[lo..hi]`; a bound is a literal or the name of a constant."""

    lo: int | Name
    hi: int | Name
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class BoolType:
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class EnumType:
    name: str
    span: SourceSpan


TypeRef = IntType | BoolType | EnumType

# --------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class EnumDecl:
    name: str
    members: tuple[Name, ...]
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class ConstDecl:
    name: str
    runtime_value: int
    check_value: int
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class VarDecl:
    name: str
    type: TypeRef
    init: Expr | None
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class DefDecl:
    name: str
    expr: Expr
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class StateDecl:
    name: str
    flags: tuple[Name, ...]
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: TypeRef
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class EventDecl:
    name: str
    params: tuple[Param, ...]
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Assignment:
    target: str
    expr: Expr
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Row:
    """`on EVENTS in STATES (-> TARGET | ignore | reject REASON) [when G] [do A, ...]`.

    `others` as the only source means every state the event has no other row for.
    """

    events: tuple[Name, ...]
    sources: tuple[Name, ...]
    kind: str  # "goto" | "ignore" | "reject"
    target: Name | None  # goto: a state or `same`; reject: the reason code
    guard: Expr | None
    assignments: tuple[Assignment, ...]
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Property:
    """A state invariant, a step invariant or a reachability property."""

    kind: str  # "invariant" | "step_invariant" | "reachable"
    name: str
    expr: Expr
    doc: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Assumption:
    name: str
    text: str
    span: SourceSpan


Item = ConstDecl | VarDecl | DefDecl | StateDecl | EventDecl | Row | Property | Assumption


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    doc: str
    items: tuple[Item, ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class SpecFile:
    path: str
    text: str
    enums: tuple[EnumDecl, ...]
    machines: tuple[Machine, ...]
