"""Checkpoint files: a Core snapshot on disk beside its journal, so replay can start there.

A checkpoint is a pure optimisation. Restoring one and replaying the rest of the journal gives
the digest replay from the start gives, at every later position; the tests prove it. Each file
holds one snapshot as canonical JSON, named by its position, and ends with the SHA-256 of that
text, so a damaged file is refused rather than trusted.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from canonicalflow.config import CoreConfig
from canonicalflow.errors import DataError
from canonicalflow.state import Core, decode_snapshot, encode_snapshot

__all__ = ["CHECKPOINT_DIR", "checkpoint_positions", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_DIR = "checkpoints"  # inside the journal directory
_PREFIX, _SUFFIX = "checkpoint-", ".json"


def _path(journal: Path, position: int) -> Path:
    return journal / CHECKPOINT_DIR / f"{_PREFIX}{position:012d}{_SUFFIX}"


def save_checkpoint(journal: Path, core: Core) -> Path:
    """Write the Core's snapshot at its position; fsynced and renamed, so a crash leaves no half file."""
    text = encode_snapshot(core.snapshot(), core.config.fingerprint)
    path = _path(journal, core.position)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w") as f:
        f.write(f"{text}\n{hashlib.sha256(text.encode()).hexdigest()}\n")
        f.flush()
        os.fsync(f.fileno())  # on disk before it takes the real name
    os.replace(partial, path)
    return path


def checkpoint_positions(journal: Path) -> list[int]:
    """Positions with a checkpoint file, ascending."""
    directory = journal / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    names = (p.name for p in directory.iterdir())
    return sorted(
        int(n[len(_PREFIX) : -len(_SUFFIX)]) for n in names if n.startswith(_PREFIX) and n.endswith(_SUFFIX)
    )


def load_checkpoint(journal: Path, position: int, config: CoreConfig) -> Core:
    """The Core restored from the checkpoint at `position`, checked against its SHA-256."""
    path = _path(journal, position)
    text, _, checksum = path.read_text().rstrip("\n").rpartition("\n")
    if hashlib.sha256(text.encode()).hexdigest() != checksum:
        raise DataError(
            f"{path}: checksum mismatch; the checkpoint is damaged, delete it or replay from the start"
        )
    snapshot = decode_snapshot(text, config.fingerprint, str(path))
    try:
        return Core.restore(config, snapshot)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise DataError(f"{path}: not a readable checkpoint ({error!r})") from None
