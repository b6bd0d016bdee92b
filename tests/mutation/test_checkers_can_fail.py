"""Every checker can fail: seed one bug in a copy of the generated kernel and watch each go red.

Two mutations of `order_lifecycle_kernel.py`, each applied to a scratch copy of the project:
- a table entry: (Canceled, ack) dispatches to the PendingNew ack handler, re-opening a final order;
- a dropped guard: a fill in New no longer checks `q < qty - cum`, so it can overfill.
Each checker runs in a subprocess that imports the mutated copy, and must exit non-zero.
A spec-level mutation (a guard dropped in spec/) must be caught by `spec check` itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codegen.pipeline import Project

KERNEL = Path("canonicalflow/_generated/order_lifecycle_kernel.py")

# (anchor, old, new): replace `old` by `new` once, in the first occurrence after `anchor`.
MUTATIONS = {
    "table-entry": (
        "TABLE = (",
        "    _reject_already_acknowledged,  # Canceled x ack",
        "    _ack_in_pending_new,  # Canceled x ack",
    ),
    "dropped-guard": ("def _fill_in_new(", "    if q < (qty - cum):", "    if True:"),
}

# What each checker must say about the seeded bug, beyond exiting non-zero.
EVIDENCE = {
    "model": ("kernel disagrees with the spec", "invariant"),
    "contracts": ("error",),
    "stateful": ("kernel gave",),
    "differential": ("kernel", "transitions"),
}


def _mutate(project: Project, mutation: str) -> None:
    anchor, old, new = MUTATIONS[mutation]
    path = project.root / KERNEL
    text = path.read_text()
    at = text.index(anchor)
    assert old in text[at:], f"mutation {mutation!r} no longer matches the generated kernel; update the test"
    path.write_text(text[:at] + text[at:].replace(old, new, 1))


def _verify(project: Project, checker: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    command = [shutil.which("canonicalflow") or "canonicalflow", "spec", "verify"]
    command += ["--machine", "order_lifecycle", "--only", checker]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("checker", sorted(EVIDENCE))
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_checker_goes_red_on_a_seeded_kernel_bug(project_copy: Project, mutation: str, checker: str) -> None:
    _mutate(project_copy, mutation)
    result = _verify(project_copy, checker)
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"{checker} did not fail on the {mutation} mutation:\n{output}"
    assert "FAILED" in output
    assert any(word in output for word in EVIDENCE[checker]), output


def test_unmutated_copy_passes_the_model_checker(project_copy: Project) -> None:
    """The control: the same harness on an untouched copy is green, so red above means the bug."""
    result = _verify(project_copy, "model")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_guard_dropped_in_the_spec_is_caught_by_spec_check(project_copy: Project) -> None:
    spec = project_copy.root / "spec" / "order_lifecycle.cflow"
    text = spec.read_text()
    old = "on fill in New, PartiallyFilled -> PartiallyFilled when q < qty - cum do cum := cum + q;"
    assert old in text
    spec.write_text(
        text.replace(old, "on fill in New, PartiallyFilled -> PartiallyFilled do cum := cum + q;")
    )
    command = [
        shutil.which("canonicalflow") or "canonicalflow",
        "spec",
        "--project",
        str(project_copy.root),
        "check",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "overlapping guards" in result.stderr
    assert "Traceback" not in result.stderr
