"""A Core snapshot as canonical JSON and back, value for value.

Checkpoint files hold this text. `Core.snapshot` already gives plain data (lists, ints, strings,
booleans), so the codec adds only what a file needs: the Configuration it was taken under, and
canonical text (sorted keys, no whitespace), so the same snapshot always gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from canonicalflow.errors import DataError
from canonicalflow.state._core import SNAPSHOT_FORMAT

__all__ = ["decode_snapshot", "encode_snapshot"]


def encode_snapshot(snapshot: dict[str, Any], config_fingerprint: str) -> str:
    """Canonical JSON of `snapshot`, stamped with the Configuration it belongs to."""
    return json.dumps(
        {**snapshot, "config_fingerprint": config_fingerprint}, sort_keys=True, separators=(",", ":")
    )


def decode_snapshot(text: str, config_fingerprint: str, source: str) -> dict[str, Any]:
    """The snapshot `encode_snapshot` wrote; refuses one of another format or Configuration."""
    try:
        body = json.loads(text)
        found = body["format"]
        fingerprint = body.pop("config_fingerprint")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(f"{source}: not a readable checkpoint ({error!r})") from None
    if found != SNAPSHOT_FORMAT:
        raise DataError(f"{source}: checkpoint format {found}, this version reads {SNAPSHOT_FORMAT}")
    if fingerprint != config_fingerprint:
        raise DataError(
            f"{source}: taken under configuration {fingerprint[:16]}, "
            f"not {config_fingerprint[:16]}; replay from the start instead"
        )
    return body
