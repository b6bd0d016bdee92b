"""Ingestion: raw vendor files to a promoted canonical dataset, driven by the dataset-lifecycle machine.

Discovered (sources hashed) -> Validating (normalized into staging while the quality checks run)
-> the verdict: passed -> Validated -> Normalized -> Promoted; failed -> Quarantined; uncovered ->
Incomplete; unreadable -> Rejected. A quarantined or incomplete dataset is promoted only when
the caller waives the findings, and the manifest says so. Every step goes through the generated
kernel, so a path the spec does not allow cannot happen here. Nothing is lost: held datasets
keep their staged events, their quarantined rows and their report under the store's `_held/`.
"""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.parquet as pq

from canonicalflow._generated import dataset_lifecycle_kernel as lifecycle
from canonicalflow.data._formats import FORMATS, Source, check_paths
from canonicalflow.data._manifest import Manifest, SourceFile, sha256_of
from canonicalflow.data._quality import QualityGate, QualityReport
from canonicalflow.data._store import DATA_FILE, Store
from canonicalflow.data.normalize import Quarantine
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA

__all__ = ["IngestRequest", "IngestResult", "ingest"]

_VERDICT_EVENT = {
    "passed": lifecycle.E_PASSED,
    "failed": lifecycle.E_FAILED,
    "uncovered": lifecycle.E_UNCOVERED,
    "unreadable": lifecycle.E_UNREADABLE,
}


@dataclass(frozen=True)
class IngestRequest:
    format: str
    paths: tuple[Path, ...]
    venue: str
    instrument: str  # the symbol
    instrument_id: int = 1
    tick_size: str = "0.01"
    lot_size: str = "1"
    declared: tuple[int, int] | None = None  # the window the data must cover, ns since the epoch
    waive: bool = False  # promote even if the checks found errors or gaps in coverage


@dataclass(frozen=True)
class IngestResult:
    state: str  # the lifecycle state it ended in: Promoted, Quarantined, Incomplete or Rejected
    dataset: str
    version: int | None
    report: QualityReport
    path: Path
    reused: bool = False  # the same sources, read by the same normalizer, were already promoted


class _Lifecycle:
    """The dataset-lifecycle kernel, stepped and remembered."""

    def __init__(self) -> None:
        self.state = lifecycle.initial()
        self.history = [lifecycle.STATE_NAMES[self.state.state]]

    def step(self, event: int) -> None:
        after = lifecycle.step(self.state, event)
        if isinstance(after, lifecycle.Rejection):
            raise DataError(f"dataset lifecycle refused {lifecycle.EVENT_NAMES[event]}: {after.reason}")
        self.state = after
        self.history.append(lifecycle.STATE_NAMES[after.state])

    @property
    def name(self) -> str:
        return self.history[-1]


def ingest(
    store: Store, request: IngestRequest, progress: Callable[[int], None] = lambda rows: None
) -> IngestResult:
    """Ingest one dataset; `progress` hears the number of events written so far."""
    fmt = FORMATS.get(request.format)
    if fmt is None:
        raise DataError(f"unknown format {request.format!r}; one of: {', '.join(sorted(FORMATS))}")
    check_paths(request.paths)
    Store.dataset_id(request.venue, request.instrument, "")  # refuse unusable names before any work
    machine = _Lifecycle()
    sources = tuple(
        SourceFile(path=str(p), sha256=sha256_of(p), bytes=p.stat().st_size) for p in request.paths
    )

    # The same files, read the same way into the same units: the version that has them already.
    wanted = (sources, fmt.name, fmt.version, request.venue, request.instrument)
    units = (request.instrument_id, request.tick_size, request.lot_size)
    for manifest in store.manifests(all_versions=True) if request.declared is None else ():
        held = (
            manifest.sources,
            manifest.format,
            manifest.normalizer_version,
            manifest.venue,
            manifest.instrument,
        )
        if held == wanted and (manifest.instrument_id, manifest.tick_size, manifest.lot_size) == units:
            path = store.version_dir(manifest.dataset, manifest.version)
            report = QualityReport(**store.quality(manifest.dataset, manifest.version))
            return IngestResult("Promoted", manifest.dataset, manifest.version, report, path, reused=True)

    machine.step(lifecycle.E_VALIDATE)
    staged = store.staging()
    quarantine = Quarantine()
    gate = QualityGate(fmt.book_level, request.declared)
    source = Source(request.paths, request.instrument_id, request.tick_size, request.lot_size)
    try:
        with pq.ParquetWriter(staged / DATA_FILE, EVENT_SCHEMA) as writer:
            for batch in fmt.read(source, quarantine):
                gate.feed(batch)
                writer.write_batch(batch)
                progress(gate.report.rows)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # nothing half-written stays behind
        raise
    report = gate.finish(len(quarantine.rows))
    if quarantine.rows:
        pq.write_table(quarantine.to_table(), staged / "quarantine.parquet")
    (staged / "quality.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    machine.step(_VERDICT_EVENT[report.verdict])

    date = _utc_date(report.first_ts) if report.rows else "unknown"
    dataset = Store.dataset_id(request.venue, request.instrument, date)
    if machine.state.state in (lifecycle.S_QUARANTINED, lifecycle.S_INCOMPLETE) and request.waive:
        machine.step(lifecycle.E_WAIVE)
    if machine.state.state != lifecycle.S_VALIDATED:
        return IngestResult(machine.name, dataset, None, report, store.hold(staged, dataset, machine.name))

    machine.step(lifecycle.E_NORMALIZE)
    machine.step(lifecycle.E_PROMOTE)
    previous = store.versions(dataset)
    manifest = Manifest(
        dataset=dataset,
        version=(previous[-1] + 1) if previous else 1,
        venue=request.venue,
        instrument=request.instrument,
        instrument_id=request.instrument_id,
        date=date,
        format=fmt.name,
        normalizer_version=fmt.version,
        tick_size=request.tick_size,
        lot_size=request.lot_size,
        sources=sources,
        rows=report.rows,
        first_ts=report.first_ts,
        last_ts=report.last_ts,
        quality="passed" if machine.state.clean else "waived",
        findings=report.counts,
        quarantined_rows=report.quarantined_rows,
        lifecycle=tuple(machine.history),
        supersedes=previous[-1] if previous else None,
    )
    path = store.promote(staged, manifest)
    return IngestResult(machine.name, dataset, manifest.version, report, path)


def _utc_date(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts // 1_000_000_000, tz=datetime.UTC).date().isoformat()
