"""The Core reads no clock, no randomness, no threads, no I/O: State = f(events, Configuration)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "canonicalflow"
CORE_PACKAGES = ("state", "events", "config")
BANNED = {
    "time",
    "datetime",
    "random",
    "secrets",
    "threading",
    "asyncio",
    "socket",
    "os",
    "subprocess",
    "uuid",
}
CORE_MODULES = sorted(p for package in CORE_PACKAGES for p in (ROOT / package).glob("*.py"))
SEQUENCER = ROOT / "runtime" / "_sequencer.py"  # drives the Core in Backtest and Live: no clock either


@pytest.mark.parametrize("module", [*CORE_MODULES, SEQUENCER], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_deterministic_module_imports_no_clock_randomness_threads_or_io(module: Path) -> None:
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert not roots & BANNED, f"{module.name}:{node.lineno} imports {roots & BANNED}"


@pytest.mark.parametrize("module", CORE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_core_module_imports_no_outer_layer(module: Path) -> None:
    for node in ast.walk(ast.parse(module.read_text())):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        roots = (
            {(node.module or "").split(".")[0]}
            if isinstance(node, ast.ImportFrom)
            else {a.name.split(".")[0] for a in node.names}
        )
        assert not any(r == "canonicalflow" for r in roots) or not _imports_outer_layer(node), (
            f"{module.name}:{node.lineno}: the Core may not import journal, runtime, cli or testing"
        )


def _imports_outer_layer(node: ast.AST) -> bool:
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]  # type: ignore[attr-defined]
    return any(
        n.split(".")[1:2] and n.split(".")[1] in {"journal", "runtime", "cli", "testing"} for n in names
    )


_MUTATORS = {"clear", "pop", "popitem", "update", "setdefault", "__setitem__", "__delitem__"}


def _is_core_attribute(node: ast.AST) -> bool:
    """`core.<domain>` or `core.<domain>[...]`, for a variable named core."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "core"


def test_only_apply_and_restore_assign_core_state() -> None:
    """No module outside the Core assigns, deletes or mutates a Core domain: events are the only cause."""
    for module in ROOT.rglob("*.py"):
        if module.parent.name == "state":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
            ):
                targets = [node.func.value]
            for target in targets:
                assert not _is_core_attribute(target), (
                    f"{module}:{node.lineno} changes Core state outside the Core"
                )
