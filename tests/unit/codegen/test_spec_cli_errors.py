"""`canonicalflow spec` as a user runs it: bad specs and drifted files fail cleanly, with a pointer.

The console script runs in a subprocess, so exit codes and output are exactly what a shell sees.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from codegen.pipeline import Project

# The script installed beside this interpreter, not whichever `canonicalflow` comes first on PATH.
CLI = shutil.which("canonicalflow", path=sysconfig.get_path("scripts"))

KERNEL = Path("canonicalflow/_generated/order_lifecycle_kernel.py")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    assert CLI is not None, "the canonicalflow console script is not installed"
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False)


def _spec(project: Project, command: str) -> subprocess.CompletedProcess[str]:
    return _run("spec", "--project", str(project.root), command)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        pytest.param(
            "machine broken {\n  state Idle [initial]\n  event go;\n}\n",
            3,
            3,
            "unexpected 'event'; expected ';'",
            id="syntax-error",
        ),
        pytest.param(
            "machine broken {\n  state Idle [initial];\n  event go;\n  on go in Idle -> Gone;\n}\n",
            4,
            20,
            "unknown state 'Gone'",
            id="semantic-error",
        ),
    ],
)
def test_bad_spec_fails_check_with_a_pointer_and_no_traceback(
    project_copy: Project, text: str, line: int, column: int, message: str
) -> None:
    """A spec mistake is the user's, so they get file:line:col and a caret, not a Python traceback."""
    path = project_copy.root.resolve() / "spec" / "broken.cflow"
    path.write_text(text)
    result = _spec(project_copy, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    source = text.splitlines()[line - 1]
    expected = f"{path}:{line}:{column}: {message}"
    assert expected in result.stderr
    shown = result.stderr.splitlines()
    at = next(i for i, out in enumerate(shown) if out.startswith(expected))
    assert shown[at + 1 : at + 3] == [f"    {source}", "    " + " " * (column - 1) + "^"]


def test_edited_generated_file_fails_check_until_gen_restores_it(project_copy: Project) -> None:
    """Generated files are never edited by hand; check catches an edit and gen undoes it."""
    # The copy has no docs/spec/ pages yet; generate them so the edit below is the only drift.
    assert _spec(project_copy, "gen").returncode == 0
    kernel = project_copy.root / KERNEL
    generated = kernel.read_text()
    kernel.write_text(generated + "# edited by hand\n")

    drifted = _spec(project_copy, "check")
    assert drifted.returncode == 1
    assert f"differs from its spec: {KERNEL}" in drifted.stderr
    assert "spec check: 1 generated files drifted" in drifted.stderr

    regenerated = _spec(project_copy, "gen")
    assert regenerated.returncode == 0
    assert f"wrote {KERNEL}" in regenerated.stdout
    assert kernel.read_text() == generated

    clean = _spec(project_copy, "check")
    assert clean.returncode == 0, clean.stderr
    assert "generated files match their specs" in clean.stdout


@pytest.mark.parametrize(
    ("args", "description"),
    [
        pytest.param((), "Parse, check, generate from and verify the specs", id="spec"),
        pytest.param(("gen",), "Regenerate every generated file", id="gen"),
        pytest.param(("check",), "fail if a generated file differs", id="check"),
        pytest.param(("verify",), "Run the model checker", id="verify"),
        pytest.param(("docs",), "Write the generated reference pages", id="docs"),
    ],
)
def test_help_describes_each_command(args: tuple[str, ...], description: str) -> None:
    """Each command's help says what it does, so a user can pick the right one from the shell."""
    result = _run("spec", *args, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Usage: canonicalflow spec {' '.join(args)}".rstrip() in result.stdout
    assert description in " ".join(result.stdout.split())
