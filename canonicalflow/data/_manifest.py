"""A dataset version's manifest: where it came from, what it holds, and what its checks found.

Written once, when the version is promoted, and never changed: a correction is a new version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Manifest", "SourceFile", "sha256_of"]

SCHEMA_VERSION = "event/1"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceFile(_Frozen):
    path: str = Field(description="as given at ingestion")
    sha256: str
    bytes: int


class Manifest(_Frozen):
    dataset: str = Field(description="venue/instrument/date")
    version: int = Field(ge=1)
    venue: str
    instrument: str = Field(description="the symbol")
    instrument_id: int = Field(description="the id events carry")
    date: str = Field(description="UTC date of the events, YYYY-MM-DD")
    format: str = Field(description="the normalizer that read the sources")
    normalizer_version: str
    schema_version: str = SCHEMA_VERSION
    tick_size: str
    lot_size: str
    sources: tuple[SourceFile, ...]
    rows: int
    first_ts: int = Field(description="first ts_exchange, ns since the epoch")
    last_ts: int
    quality: str = Field(description="the quality verdict: passed, or waived after findings")
    findings: dict[str, int] = Field(default_factory=dict)
    quarantined_rows: int = 0
    lifecycle: tuple[str, ...] = Field(description="the dataset-lifecycle states it went through")
    supersedes: int | None = Field(default=None, description="the version this one corrects")


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
