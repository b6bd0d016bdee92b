"""The data platform: normalizers, the data-quality gate, the canonical Parquet store and its feeder."""

from canonicalflow.data._feeder import MergeOrder, feed, feed_batches
from canonicalflow.data._formats import FORMATS
from canonicalflow.data._ingest import IngestRequest, IngestResult, ingest
from canonicalflow.data._manifest import Manifest, SourceFile
from canonicalflow.data._quality import QualityGate, QualityReport
from canonicalflow.data._store import DATA_FILE, Store

__all__ = [
    "DATA_FILE",
    "FORMATS",
    "IngestRequest",
    "IngestResult",
    "Manifest",
    "MergeOrder",
    "QualityGate",
    "QualityReport",
    "SourceFile",
    "Store",
    "feed",
    "feed_batches",
    "ingest",
]
