"""The model checker reports what the static checks cannot see: deadlocks, vacuity, weak invariants.

Each case adds a small machine to a scratch copy of the project, generates its code and runs
`canonicalflow spec verify --only model` on it in a subprocess that imports the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from codegen.pipeline import Project

TOY = """
machine toy {{
  var x: int[0..3] = 0;
  state Idle [initial];
  state Busy;
  state Done [terminal];
  event go;
  event finish;
  {rows}
  {properties}
}}
"""

HEALTHY_ROWS = """
  on go in Idle -> Busy when x < 3 do x := x + 1;
  on go in Idle reject full when x >= 3;
  on go in Busy -> Idle;
  on go in Done ignore;
  on finish in Busy -> Done;
  on finish in Idle -> Done when x >= 3;
  on finish in Idle ignore when x < 3;
  on finish in Done ignore;
"""

# Busy can only be left by `go`, which this variant ignores there.
DEADLOCKED_ROWS = HEALTHY_ROWS.replace("on go in Busy -> Idle;", "on go in Busy ignore;")

CASES = {
    "deadlock": (
        DEADLOCKED_ROWS.replace("on finish in Busy -> Done;", "on finish in Busy ignore;"),
        "",
        "deadlock",
    ),
    "vacuous-target": (HEALTHY_ROWS, "reachable impossible: state == Done and x == 0;", "never reached"),
    "broken-invariant": (HEALTHY_ROWS, "invariant at_most_two: x <= 2;", "invariant 'at_most_two' broken"),
    # True in every reachable state, but Busy(x=0) satisfies it and `finish` then breaks it.
    "non-inductive-invariant": (
        HEALTHY_ROWS,
        "invariant done_counted: state == Done implies x >= 1;",
        "invariants not inductive: 'done_counted'",
    ),
}


def _verify(project: Project, name: str, spec: str, only: str = "model") -> subprocess.CompletedProcess[str]:
    (project.root / "spec" / f"{name}.cflow").write_text(spec)
    script = shutil.which("canonicalflow") or "canonicalflow"
    subprocess.run([script, "spec", "--project", str(project.root), "gen"], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    command = [script, "spec", "--project", str(project.root), "verify", "--machine", name, "--only", only]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def _verify_toy(project: Project, rows: str, properties: str) -> subprocess.CompletedProcess[str]:
    return _verify(project, "toy", TOY.format(rows=rows, properties=properties))


def test_the_healthy_toy_passes(project_copy: Project) -> None:
    result = _verify_toy(project_copy, HEALTHY_ROWS, "invariant small: x <= 3;")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows 8/8" in result.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_model_checker_finds_it(project_copy: Project, case: str) -> None:
    rows, properties, finding = CASES[case]
    result = _verify_toy(project_copy, rows, properties)
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout, result.stdout


@pytest.mark.parametrize("checker", ["model", "stateful", "differential", "contracts"])
def test_a_machine_without_variables_verifies(project_copy: Project, checker: str) -> None:
    """The emitters' tuple handling holds for the degenerate State of one field."""
    spec = """
machine bare "No variables at all." {
  state A [initial];
  state B [terminal];
  event go;
  on go in A -> B;
  on go in B ignore;
}
"""
    result = _verify(project_copy, "bare", spec, only=checker)
    assert result.returncode == 0, result.stdout + result.stderr
