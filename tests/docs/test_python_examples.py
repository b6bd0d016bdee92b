"""Every Python example in docs/concepts runs as written (excerpts of generated code are marked and skipped)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

CONCEPTS = Path(__file__).resolve().parents[2] / "docs" / "concepts"
EXAMPLES = [
    pytest.param(block, id=f"{page.name}-block{index}")
    for page in sorted(CONCEPTS.glob("*.md"))
    for index, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
    if not block.startswith("# excerpt")
]


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("block", EXAMPLES)
def test_example_runs(block: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
