"""Every complete spec in the concept docs is valid: each ```cflow block parses and passes the checks.

Fragments and deliberately wrong specs are fenced as ```text and are not checked. Each block is its
own file set, so it declares every enum it uses. A block is parsed under the Markdown file's name
with its lines where the Markdown has them, so an error points into the doc itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codegen.checker import check_files
from codegen.parser import parse_spec
from codegen.pipeline import Project

ROOT = Project.locate().root
DOCS = sorted((ROOT / "docs" / "concepts").glob("*.md"))

# A fence opening with ```cflow at the start of a line, up to the next fence closing at a line start.
_BLOCK = re.compile(r"^```cflow[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def cflow_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the block's first spec line, spec text) for each ```cflow block in `path`."""
    text = path.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


CASES = [(doc, index) for doc in DOCS for index in range(len(cflow_blocks(doc)))]


def test_the_concept_docs_hold_spec_examples() -> None:
    """Guards the extraction itself: were the fence pattern to rot, the test below would check nothing."""
    assert CASES, f"no ```cflow block found in {ROOT / 'docs' / 'concepts'}"


@pytest.mark.parametrize(
    ("doc", "index"), CASES, ids=[f"{doc.name}-block{index + 1}" for doc, index in CASES]
)
def test_spec_example_is_valid(doc: Path, index: int) -> None:
    line, spec = cflow_blocks(doc)[index]
    name = str(doc.relative_to(ROOT))
    machines = check_files([parse_spec("\n" * (line - 1) + spec, name)])
    assert machines, f"{name}:{line}: the block declares no machine"
