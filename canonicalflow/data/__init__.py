"""The data platform: normalizers, data-quality checks and the canonical Parquet store."""
