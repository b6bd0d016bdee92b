"""Verification tooling stays out of the runtime: importing the engine must not load it.

The spec's models, contracts, Hypothesis strategies and transitions machines, and the tools
that check them (Hypothesis, CrossHair, transitions, the spec's lark parser, ruff, codegen),
are for tests and `canonicalflow spec`; a backtest or a live process that pulled them in
would start slower, need optional dependencies, and run code nobody meant to ship.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_PACKAGES = {"hypothesis", "crosshair", "transitions", "lark", "ruff", "codegen"}
FORBIDDEN_GENERATED = ("_model", "_contracts", "_hypothesis", "_transitions")  # the kernels may load
PROBE = "import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"


def _is_verification(module: str) -> bool:
    if module.split(".")[0] in FORBIDDEN_PACKAGES:
        return True
    package, _, name = module.rpartition(".")
    return package == "canonicalflow._generated" and name.endswith(FORBIDDEN_GENERATED)


@pytest.mark.parametrize(
    "module",
    ["canonicalflow.backtest", "canonicalflow.state", "canonicalflow.strategy", "canonicalflow.risk"],
)
def test_import_loads_no_verification_tooling(module: str) -> None:
    """A fresh interpreter, so nothing this test session already imported can hide a load."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    offending = [m for m in json.loads(probe.stdout) if _is_verification(m)]
    assert not offending, f"import {module} loads verification modules: {offending}"
