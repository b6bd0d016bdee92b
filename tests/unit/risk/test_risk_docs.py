"""docs/concepts/risk.md and the code agree: every reason with its code, every limit by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from canonicalflow.risk import RiskConfig, RiskReason

PAGE = Path(__file__).resolve().parents[3] / "docs" / "concepts" / "risk.md"

# A table row whose first cell is a code: | 30 | `MAX_INVENTORY` | ... |   (pipes escaped as \| inside cells)
_ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*)$", re.MULTILINE)
_CELL = re.compile(r"(?<!\\)\|")


def documented_reasons() -> list[tuple[int, str]]:
    """(code, name) for each row of the page's reason table, in page order."""
    rows = []
    for match in _ROW.finditer(PAGE.read_text()):
        name = _CELL.split(match.group(2))[0].strip().strip("`")
        rows.append((int(match.group(1)), name))
    return rows


def test_the_page_has_a_reason_table() -> None:
    """Guards the extraction: were the row pattern to rot, the tests below would check nothing."""
    assert len(documented_reasons()) >= 10, f"no reason table found in {PAGE}"


@pytest.mark.parametrize("reason", list(RiskReason), ids=lambda r: r.name)
def test_every_reason_is_in_the_table_with_its_code(reason: RiskReason) -> None:
    assert (int(reason), reason.name) in documented_reasons(), (
        f"{PAGE.name}: add the row | {int(reason)} | `{reason.name}` | ... to the reason table"
    )


def test_the_table_lists_no_reason_the_code_lacks_and_none_twice() -> None:
    rows = documented_reasons()
    known = {(int(r), r.name) for r in RiskReason}
    assert [row for row in rows if row not in known] == [], "rows naming a reason RiskReason does not have"
    assert len(rows) == len(set(rows)), "a reason appears twice in the table"
    assert [code for code, _ in rows] == sorted(code for code, _ in rows), "rows out of code order"


@pytest.mark.parametrize("field", list(RiskConfig.model_fields))
def test_every_config_field_is_named_on_the_page(field: str) -> None:
    assert f"`{field}`" in PAGE.read_text(), f"{PAGE.name} does not name RiskConfig.{field}"


@pytest.mark.parametrize("field", list(RiskConfig.model_fields))
def test_the_toml_example_sets_every_field(field: str) -> None:
    toml = re.search(r"```toml\n(.*?)```", PAGE.read_text(), re.S)
    assert toml is not None and re.search(rf"^{field} = ", toml.group(1), re.M), (
        f"the [risk] example in {PAGE.name} does not show {field}"
    )
