"""Only the live side has a wall clock, sockets and tasks: `live` (the runtime's adapters),
`exchange` (the local exchange, the other side of the wire) and the commands that start them.
Everything else is a function of its inputs, so a backtest and a replay cannot depend on when or
where they run. Fails with file:line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "canonicalflow"
LIVE = {"live", "exchange"}
COMMANDS = {ROOT / "cli" / "_exchange.py", ROOT / "cli" / "_live.py"}  # they start the event loops
CONCURRENCY = {"asyncio", "socket", "selectors", "threading", "aiohttp", "websockets"}
WALL_CLOCK = {("time", "time"), ("time", "time_ns"), ("datetime", "now"), ("datetime", "utcnow")}


def _outside_live() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.py"))
        if p.relative_to(ROOT).parts[0] not in LIVE and p not in COMMANDS
    ]


def test_no_sockets_or_tasks_outside_the_live_side() -> None:
    found = []
    for module in _outside_live():
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            if roots & CONCURRENCY:
                found.append(
                    f"{module.relative_to(ROOT.parent)}:{node.lineno} imports {sorted(roots & CONCURRENCY)}"
                )
    assert found == []


def test_no_wall_clock_outside_the_live_side() -> None:
    """A duration (`time.perf_counter`, for a progress line) is not a clock reading; the time of day is."""
    found = []
    for module in _outside_live():
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in WALL_CLOCK
            ):
                found.append(
                    f"{module.relative_to(ROOT.parent)}:{node.lineno} reads {node.value.id}.{node.attr}"
                )
    assert found == []


def test_the_live_side_exists_so_these_tests_check_something() -> None:
    assert all((ROOT / package / "__init__.py").is_file() for package in LIVE) and all(
        c.is_file() for c in COMMANDS
    )
