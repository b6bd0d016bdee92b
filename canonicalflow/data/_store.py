"""The canonical store: immutable, versioned Parquet datasets, partitioned by venue, instrument and date.

    ROOT/venue=V/symbol=SYMBOL/date=YYYY-MM-DD/version=N/part-0.parquet   canonical events
                                                            /manifest.json     sources, counts, verdict
                                                            /quality.json      the full quality report
                                                            /quarantine.parquet  bad source rows, if any
    ROOT/_staging/      versions being written (renamed into place when promoted)
    ROOT/_held/         datasets the checks held back, with their report, for a person to look at
                        (their events as held-events.parquet, outside the store's glob)

The directory names are Hive partitions (`symbol`, not `instrument`, which is the events' integer
id column), so DuckDB, polars and pyarrow read the whole store, or
any part of it, straight from the files: `read_parquet('ROOT/**/part-*.parquet', hive_partitioning=true)`.
A promoted version is never rewritten; a correction is the next version.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from canonicalflow.data._manifest import Manifest
from canonicalflow.errors import DataError

__all__ = ["DATA_FILE", "Store"]

DATA_FILE = "part-0.parquet"
MANIFEST_FILE = "manifest.json"
HELD_DATA_FILE = "held-events.parquet"


class Store:
    """A store rooted at a directory; created on first use."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- layout
    @staticmethod
    def dataset_id(venue: str, instrument: str, date: str) -> str:
        for what, name in (("venue", venue), ("instrument", instrument)):
            if not name or "/" in name or "=" in name or name.startswith("."):
                raise DataError(
                    f"{what} {name!r} cannot name a directory: use letters, digits, '-', '_' or '.'"
                )
        return f"{venue}/{instrument}/{date}"

    def dataset_dir(self, dataset: str) -> Path:
        try:
            venue, instrument, date = dataset.split("/")
        except ValueError:
            raise DataError(f"{dataset!r} is not a dataset id (venue/instrument/date)") from None
        return self.root / f"venue={venue}" / f"symbol={instrument}" / f"date={date}"

    def version_dir(self, dataset: str, version: int) -> Path:
        return self.dataset_dir(dataset) / f"version={version}"

    def versions(self, dataset: str) -> list[int]:
        directory = self.dataset_dir(dataset)
        if not directory.is_dir():
            return []
        names = (p.name.split("=", 1)[1] for p in directory.glob("version=*") if (p / MANIFEST_FILE).exists())
        return sorted(int(name) for name in names if name.isdigit())

    # --------------------------------------------------------------- writing
    def staging(self) -> Path:
        """A fresh directory to write a version into before it is promoted."""
        (self.root / "_staging").mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root / "_staging"))

    def promote(self, staged: Path, manifest: Manifest) -> Path:
        """Move a staged version into place, read-only. Refuses a version that exists."""
        target = self.version_dir(manifest.dataset, manifest.version)
        if target.exists():
            raise DataError(f"{manifest.dataset} version {manifest.version} exists; versions are immutable")
        (staged / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        for path in target.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return target

    def hold(self, staged: Path, dataset: str, state: str) -> Path:
        """Keep a dataset the checks held back (quarantined, incomplete, rejected) where a person finds it."""
        attempts = self.root / "_held" / dataset.replace("/", "__")
        attempts.mkdir(parents=True, exist_ok=True)
        target = attempts / f"{state}-{len(list(attempts.iterdir())) + 1}"  # every attempt is kept
        os.replace(staged, target)
        if (target / DATA_FILE).exists():  # renamed, so a glob over the store never reads held data
            os.replace(target / DATA_FILE, target / HELD_DATA_FILE)
        return target

    # --------------------------------------------------------------- reading
    def manifest(self, dataset: str, version: int | None = None) -> Manifest:
        versions = self.versions(dataset)
        if not versions:
            raise DataError(f"no dataset {dataset!r} in {self.root}")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise DataError(f"{dataset} has versions {versions}, not {version}")
        path = self.version_dir(dataset, chosen) / MANIFEST_FILE
        return Manifest.model_validate_json(path.read_text())

    def data_file(self, dataset: str, version: int | None = None) -> Path:
        manifest = self.manifest(dataset, version)
        return self.version_dir(dataset, manifest.version) / DATA_FILE

    def manifests(self, all_versions: bool = False) -> Iterator[Manifest]:
        """Every dataset's latest manifest (or every version's), ordered by dataset and version."""
        paths = sorted(self.root.glob(f"venue=*/symbol=*/date=*/version=*/{MANIFEST_FILE}"))
        found = [Manifest.model_validate_json(p.read_text()) for p in paths]
        found.sort(key=lambda m: (m.dataset, m.version))
        if not all_versions:
            latest = {m.dataset: m for m in found}
            found = list(latest.values())
        yield from found

    def catalog(
        self, venue: str | None = None, instrument: str | None = None, all_versions: bool = False
    ) -> pa.Table:
        """The datasets as a table (one row per version), filtered by venue and instrument."""
        rows = [
            {
                "dataset": m.dataset,
                "version": m.version,
                "venue": m.venue,
                "instrument": m.instrument,
                "date": m.date,
                "format": m.format,
                "rows": m.rows,
                "first_ts": m.first_ts,
                "last_ts": m.last_ts,
                "quality": m.quality,
                "path": str(self.version_dir(m.dataset, m.version) / DATA_FILE),
            }
            for m in self.manifests(all_versions)
            if (venue is None or m.venue == venue) and (instrument is None or m.instrument == instrument)
        ]
        schema = pa.schema(
            [
                ("dataset", pa.string()),
                ("version", pa.int64()),
                ("venue", pa.string()),
                ("instrument", pa.string()),
                ("date", pa.string()),
                ("format", pa.string()),
                ("rows", pa.int64()),
                ("first_ts", pa.int64()),
                ("last_ts", pa.int64()),
                ("quality", pa.string()),
                ("path", pa.string()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def quality(self, dataset: str, version: int | None = None) -> dict:
        manifest = self.manifest(dataset, version)
        return json.loads((self.version_dir(dataset, manifest.version) / "quality.json").read_text())
