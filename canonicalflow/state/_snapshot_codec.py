"""A Core snapshot as canonical JSON and back, value for value.

Checkpoint files hold this text. JSON has no tuple keys, no NamedTuples and no bytes, so every
domain is written as a sorted list of [key, value] pairs and read back through the constructor
its values had; the round trip gives a snapshot equal (`==`) to the one written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.errors import DataError
from canonicalflow.state._core import Control, Core, Quote
from canonicalflow.state._portfolio import Position

__all__ = ["decode_snapshot", "encode_snapshot"]

FORMAT = 3  # 2: fills keep their terms, positions; 3: the open digest block


def _ints(value: list) -> tuple[int, ...]:
    return tuple(value)


def _fills(value: list) -> dict[int, tuple[int, ...]]:
    return {trade_id: tuple(terms) for trade_id, terms in value}


# Domain -> (key from JSON, value from JSON). Keys are ints or tuples of ints.
_DECODERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "quotes": (int, lambda v: Quote(*v)),
    "levels": (_ints, int),
    "book_orders": (_ints, _ints),
    "orders": (int, lambda v: order.State(*v)),
    "order_fills": (int, _fills),
    "keys": (int, lambda v: ec.State(v[0], v[1], v[2], bool(v[3]))),
    "key_instrument": (int, int),
    "requests": (int, _ints),
    "final_orders": (int, lambda v: None),
    "buckets": (int, _ints),
    "feed_gaps": (int, _ints),
    "positions": (int, lambda v: Position(*v)),
}


_ORDERED = frozenset({"final_orders"})  # oldest first: the order decides which order is released next


def encode_snapshot(snapshot: dict, config_fingerprint: str) -> str:
    """Canonical JSON (sorted keys, no whitespace): the same snapshot always gives the same text."""
    domains: dict[str, list] = {}
    for name in Core._DOMAINS:
        items = snapshot[name].items()
        if name == "order_fills":
            items = ((coid, sorted(fills.items())) for coid, fills in items)
        if name in _ORDERED:
            domains[name] = [[key, value] for key, value in items]  # the order is State: keep it
        else:
            domains[name] = sorted([key, value] for key, value in items)
    body = {
        "format": FORMAT,
        "config_fingerprint": config_fingerprint,
        "position": snapshot["position"],
        "digest": snapshot["digest"].hex(),
        "digest_records": [record.hex() for record in snapshot["digest_records"]],
        "now": snapshot["now"],
        "digests": snapshot["digests"],
        "control": list(snapshot["control"]),
        "domains": domains,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def decode_snapshot(text: str, config_fingerprint: str, source: str) -> dict:
    """The snapshot `encode_snapshot` wrote; refuses one taken under another Configuration."""
    try:
        body = json.loads(text)
        if body["format"] != FORMAT:
            raise DataError(f"{source}: checkpoint format {body['format']}, this version reads {FORMAT}")
        if body["config_fingerprint"] != config_fingerprint:
            raise DataError(
                f"{source}: taken under configuration {body['config_fingerprint'][:16]}, "
                f"not {config_fingerprint[:16]}; replay from the start instead"
            )
        snapshot = {
            name: {key(k): value(v) for k, v in body["domains"][name]}
            for name, (key, value) in _DECODERS.items()
        }
        snapshot |= {
            "position": body["position"],
            "digest": bytes.fromhex(body["digest"]),
            "digest_records": tuple(bytes.fromhex(record) for record in body["digest_records"]),
            "now": body["now"],
            "digests": body["digests"],
            "control": Control(*body["control"]),
        }
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{source}: not a readable checkpoint ({error!r})") from None
    return snapshot
