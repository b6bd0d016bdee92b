"""Shared fixtures: a scratch copy of the project, for tests that mutate specs or generated code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codegen.pipeline import Project

REPO = Project.locate().root


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
