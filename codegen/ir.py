"""Checked intermediate representation: typed, resolved, integer-coded; what emitters read."""

from __future__ import annotations

from dataclasses import dataclass, field

from canonicalflow.errors import SourceSpan

# Rejections every kernel has, before the spec's own reason codes: an argument outside its
# declared type, and no row firing (which the checks prove cannot happen).
BUILTIN_REASONS = ("argument_out_of_range", "no_row")

# ---------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class IntT:
    """An integer; declared variables carry runtime bounds and the checker's smaller bounds."""

    lo: int | None = None
    hi: int | None = None
    check_lo: int | None = None
    check_hi: int | None = None

    def __str__(self) -> str:
        return "int" if self.lo is None else f"int[{self.lo}..{self.hi}]"


@dataclass(frozen=True, slots=True)
class BoolT:
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True, slots=True)
class EnumT:
    """An enumeration; a machine's states and events are enumerations too."""

    name: str
    members: tuple[str, ...]
    doc: str = ""

    def __str__(self) -> str:
        return self.name


Type = IntT | BoolT | EnumT


def same_kind(a: Type, b: Type) -> bool:
    if isinstance(a, IntT) and isinstance(b, IntT):
        return True
    if isinstance(a, EnumT) and isinstance(b, EnumT):
        return type(a) is type(b) and a.name == b.name
    return type(a) is type(b)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const:
    value: int | bool
    type: Type


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a variable, parameter, derived definition, constant, `state` or `event`."""

    name: str
    kind: str  # "var" | "param" | "def" | "const" | "state" | "event"
    type: Type
    primed: bool = False


@dataclass(frozen=True, slots=True)
class EnumVal:
    enum: EnumT
    index: int
    type: Type

    @property
    def member(self) -> str:
        return self.enum.members[self.index]


@dataclass(frozen=True, slots=True)
class Un:
    op: str
    operand: TExpr
    type: Type


@dataclass(frozen=True, slots=True)
class Bin:
    op: str
    left: TExpr
    right: TExpr
    type: Type


@dataclass(frozen=True, slots=True)
class In:
    operand: TExpr
    values: tuple[EnumVal, ...]
    type: Type


@dataclass(frozen=True, slots=True)
class Ite:
    cond: TExpr
    then: TExpr
    orelse: TExpr
    type: Type


TExpr = Const | Ref | EnumVal | Un | Bin | In | Ite


def refs(expr: TExpr) -> set[tuple[str, str]]:
    """The (kind, name) pairs an expression reads."""
    if isinstance(expr, Ref):
        return {(expr.kind, expr.name)}
    if isinstance(expr, Un):
        return refs(expr.operand)
    if isinstance(expr, Bin):
        return refs(expr.left) | refs(expr.right)
    if isinstance(expr, In):
        return refs(expr.operand)
    if isinstance(expr, Ite):
        return refs(expr.cond) | refs(expr.then) | refs(expr.orelse)
    return set()


# --------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    type: Type
    init: TExpr | None  # None: a parameter of the machine's creation
    doc: str


@dataclass(frozen=True, slots=True)
class Def:
    name: str
    expr: TExpr
    doc: str

    @property
    def type(self) -> Type:
        return self.expr.type


@dataclass(frozen=True, slots=True)
class State:
    name: str
    index: int
    initial: bool
    terminal: bool
    doc: str


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Type


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    index: int
    params: tuple[Param, ...]
    doc: str


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the table for one event; `target` None means the state does not change."""

    index: int
    event: str
    sources: tuple[str, ...]
    kind: str  # "goto" | "ignore" | "reject"
    target: str | None
    reason: str | None
    guard: TExpr | None
    assigns: tuple[tuple[str, TExpr], ...]
    doc: str
    span: SourceSpan
    text: str


@dataclass(frozen=True, slots=True)
class Property:
    kind: str  # "invariant" | "step_invariant" | "reachable"
    name: str
    expr: TExpr
    doc: str


@dataclass(frozen=True, slots=True)
class Assumption:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    doc: str
    source_file: str
    spec_hash: str
    consts: tuple[tuple[str, int, int, str], ...]  # name, runtime value, checker value, doc
    enums: tuple[EnumT, ...]  # the enums this machine uses, in declaration order
    state_type: EnumT
    event_type: EnumT
    vars: tuple[Var, ...]
    defs: tuple[Def, ...]
    states: tuple[State, ...]
    events: tuple[Event, ...]
    rows: tuple[Row, ...]
    table: dict[tuple[str, str], tuple[int, ...]] = field(repr=False)  # (state, event) -> rows
    invariants: tuple[Property, ...]
    step_invariants: tuple[Property, ...]
    reachables: tuple[Property, ...]
    assumptions: tuple[Assumption, ...]
    reasons: tuple[str, ...]  # reject reason codes, in first-use order

    def state(self, name: str) -> State:
        return next(s for s in self.states if s.name == name)

    def event(self, name: str) -> Event:
        return next(e for e in self.events if e.name == name)
