"""Generated kernels are the hot path and CrossHair's target: pure, loop-free, stdlib-only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codegen.pipeline import GENERATED_PACKAGE, Project

KERNELS = sorted((Project.locate().root / GENERATED_PACKAGE).glob("*_kernel.py"))
ALLOWED_IMPORTS = {"__future__", "typing"}
FORBIDDEN_NODES = (
    ast.For,
    ast.While,
    ast.AsyncFunctionDef,
    ast.Await,
    ast.Global,
    ast.Nonlocal,
    ast.Try,
    ast.Lambda,
)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda p: p.stem)
def test_kernel_imports_only_typing(kernel: Path) -> None:
    tree = ast.parse(kernel.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            continue
        assert names <= ALLOWED_IMPORTS, f"{kernel.name}:{node.lineno} imports {names - ALLOWED_IMPORTS}"


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda p: p.stem)
def test_kernel_has_no_loops_io_or_hidden_state(kernel: Path) -> None:
    tree = ast.parse(kernel.read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, FORBIDDEN_NODES), f"{kernel.name}:{node.lineno}: {type(node).__name__}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "eval", "exec", "getattr", "setattr"}, (
                f"{kernel.name}:{node.lineno} calls {node.func.id}"
            )


def test_there_is_a_kernel_per_machine() -> None:
    assert {p.stem.removesuffix("_kernel") for p in KERNELS} == {m.name for m in Project.locate().machines()}
