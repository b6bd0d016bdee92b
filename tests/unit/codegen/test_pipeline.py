"""The generated files are exactly what the specs produce, byte for byte, on every run."""

from __future__ import annotations

import subprocess
import sys

from codegen.pipeline import Project, drift, generate

REPO = Project.locate()


def test_committed_generated_files_match_the_specs() -> None:
    assert drift(REPO, generate(REPO)) == []


def test_generation_is_deterministic() -> None:
    assert generate(REPO) == generate(REPO)


def test_every_generated_file_is_stamped_with_its_spec_hash() -> None:
    machines = {m.name: m for m in REPO.machines()}
    for path, text in generate(REPO).items():
        machine = next((m for name, m in machines.items() if path.name.startswith(f"{name}_")), None)
        if machine is None:
            continue
        stamp = machine.spec_hash if path.suffix == ".py" else machine.spec_hash[:16]
        assert stamp in text, f"{path} is not stamped with the hash of spec/{machine.source_file}"


def test_generated_python_is_formatted_and_lint_clean() -> None:
    """The whole tree, generated code included, passes the project's ruff settings."""
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=REPO.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
