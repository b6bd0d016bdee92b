"""Shared fixtures: a scratch copy of the project, for tests that mutate specs or generated code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codegen.pipeline import Project

REPO = Project.locate().root
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party market data in ../shared/data; the test skips, saying so, when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real market data not found at {SHARED_DATA}: these tests need ../shared/data "
            "beside the checkout (present in CI, absent from a plain clone)"
        )
    return SHARED_DATA


@pytest.fixture
def project_copy(tmp_path: Path) -> Project:
    """A copy of spec/, canonicalflow/ and pyproject.toml that a test may change freely.

    Run a subprocess with PYTHONPATH set to its root to import the copy's `canonicalflow`.
    """
    for name in ("spec", "canonicalflow"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "docs" / "spec").mkdir(parents=True)
    return Project(tmp_path)
