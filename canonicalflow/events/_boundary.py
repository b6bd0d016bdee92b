"""Validation at the boundary: untrusted mappings in, flat Event records out.

One pydantic model per kind, built from the FIELDS table, rejects unknown fields, missing fields
and out-of-range values, naming the event's position and the field. Canonical data that passed
here once is never validated again on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from canonicalflow.errors import InvalidEvent
from canonicalflow.events._kinds import COMMON_FIELDS, FIELDS, EventKind
from canonicalflow.events._record import Event

__all__ = ["parse_event"]

_INT64_MAX = 2**63 - 1
_INT = Annotated[int, Field(ge=-_INT64_MAX - 1, le=_INT64_MAX)]  # what an int64 column can hold
_NON_NEGATIVE = Annotated[int, Field(ge=0, le=_INT64_MAX)]
_POSITIVE = Annotated[int, Field(gt=0, le=_INT64_MAX)]


def _one_of(*values: int) -> Any:
    """An int from a small set; strict, so True and False are refused like any non-int."""

    def check(value: int) -> int:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(map(str, values))}")
        return value

    return Annotated[int, AfterValidator(check)]


# Field types at the boundary; a kind may tighten one below.
_TYPES: dict[str, Any] = {
    "position": _NON_NEGATIVE,
    "ts_exchange": _NON_NEGATIVE,
    "ts_receive": _NON_NEGATIVE,
    "instrument": _NON_NEGATIVE,
    "flags": Annotated[int, Field(ge=0, le=7)],
    "sequence": _NON_NEGATIVE,
    "order_id": _NON_NEGATIVE,
    "client_order_id": _POSITIVE,
    "intent_id": _POSITIVE,
    "side": _one_of(-1, 1),
    "price": _INT,
    "qty": _NON_NEGATIVE,
    "bid_price": _INT,
    "bid_qty": _NON_NEGATIVE,
    "ask_price": _INT,
    "ask_qty": _NON_NEGATIVE,
    "trade_id": _NON_NEGATIVE,
    "liquidity": _one_of(0, 1, 2),
    "fee": _INT,
    "reason": _NON_NEGATIVE,
    "command": _one_of(1, 2, 3),
    "allowed": _one_of(0, 1),
    "scope": _NON_NEGATIVE,
    "tokens": _POSITIVE,
    "engaged": _one_of(0, 1),
    "config_id": _NON_NEGATIVE,
    "gap_to": _NON_NEGATIVE,
    "checkpoint_id": _NON_NEGATIVE,
    "due_ts": _NON_NEGATIVE,
    "order_type": _one_of(0, 1),
    "tif": _one_of(0, 1, 2, 3, 4, 5),
    "expire_ts": _NON_NEGATIVE,
}

# Kinds whose quantity must be positive: something was added, traded or filled.
_POSITIVE_QTY = {
    EventKind.ORDER_ADD,
    EventKind.ORDER_FILL,
    EventKind.TRADE,
    EventKind.FILL,
    EventKind.RESTATE,
    EventKind.TRADE_BUST,
}


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@cache
def _model(kind: EventKind) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name in COMMON_FIELDS + FIELDS[kind]:
        if name == "kind":
            continue
        annotation = _TYPES[name]
        if name == "qty" and kind in _POSITIVE_QTY:
            annotation = _POSITIVE
        if name == "side" and kind == EventKind.TRADE:
            annotation = _one_of(-1, 0, 1)  # the aggressor may be unknown
        default = 0 if name == "flags" else ...
        fields[name] = (annotation, default)
    return create_model(f"{kind.name.title().replace('_', '')}Event", __base__=_Base, **fields)


def parse_event(data: Mapping[str, Any]) -> Event:
    """A validated Event from a mapping; `kind` is a name ("TRADE") or a code (9)."""
    raw = dict(data)
    position = raw.get("position", "?")
    code = raw.get("kind")
    try:
        if isinstance(code, str):
            kind = EventKind[code]
        elif type(code) is int:
            kind = EventKind(code)
        else:
            raise ValueError(code)
    except (KeyError, ValueError):
        raise InvalidEvent(position, "kind", f"unknown event kind {raw.get('kind')!r}") from None
    raw.pop("kind")
    try:
        model = _model(kind).model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "?"
        raise InvalidEvent(position, field, f"{kind.name}: {first['msg']}") from None
    return Event(kind=int(kind), **model.model_dump())
