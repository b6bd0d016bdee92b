"""The spec pipeline: spec/*.cflow -> checked IR -> every generated file, formatted and stamped."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codegen import ir
from codegen.checker import load_specs
from codegen.emit.contracts import emit_contracts
from codegen.emit.docs import emit_docs, emit_docs_index
from codegen.emit.enums import emit_enums
from codegen.emit.hypothesis import emit_hypothesis
from codegen.emit.kernel import emit_kernel
from codegen.emit.model import emit_model
from codegen.emit.transitions import emit_transitions

__all__ = ["Project", "drift", "generate", "write"]

GENERATED_PACKAGE = Path("canonicalflow/_generated")
SPEC_DOCS = Path("docs/spec")

_PYTHON_EMITTERS: tuple[tuple[str, Callable[[ir.Machine], str]], ...] = (
    ("kernel", emit_kernel),
    ("contracts", emit_contracts),
    ("model", emit_model),
    ("hypothesis", emit_hypothesis),
    ("transitions", emit_transitions),
)


@dataclass(frozen=True)
class Project:
    """Where the specs live and where generated files go."""

    root: Path

    @classmethod
    def locate(cls) -> Project:
        """The checkout this package was installed from (an editable install)."""
        return cls(Path(__file__).resolve().parents[1])

    @property
    def spec_files(self) -> list[Path]:
        return sorted((self.root / "spec").glob("*.cflow"))

    def machines(self) -> list[ir.Machine]:
        return load_specs(self.spec_files)


def generate(project: Project, machines: list[ir.Machine] | None = None) -> dict[Path, str]:
    """Every generated file, by path relative to the project root, formatted."""
    machines = project.machines() if machines is None else machines
    files: dict[Path, str] = {}
    for machine in machines:
        for kind, emit in _PYTHON_EMITTERS:
            files[GENERATED_PACKAGE / f"{machine.name}_{kind}.py"] = emit(machine)
        files[SPEC_DOCS / f"{machine.name}.md"] = emit_docs(machine)
    files[GENERATED_PACKAGE / "enums.py"] = emit_enums(machines)
    files[GENERATED_PACKAGE / "__init__.py"] = _package_init(machines)
    files[SPEC_DOCS / "index.md"] = emit_docs_index(machines)
    python = {path: text for path, text in files.items() if path.suffix == ".py"}
    files.update(_ruff_format(project.root, python))
    return files


def write(project: Project, files: dict[Path, str]) -> list[Path]:
    """Write generated files; remove generated files no spec produces any more. Returns changed paths."""
    changed = []
    for path, text in files.items():
        target = project.root / path
        if not target.exists() or target.read_text() != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            changed.append(path)
    for stale in _existing(project, {p.parent for p in files}) - set(files):
        (project.root / stale).unlink()
        changed.append(stale)
    return sorted(changed)


def drift(project: Project, files: dict[Path, str]) -> list[str]:
    """Differences between the files on disk and what the specs produce, one line each."""
    problems = []
    for path, text in sorted(files.items()):
        target = project.root / path
        if not target.exists():
            problems.append(f"missing: {path}")
        elif target.read_text() != text:
            problems.append(f"differs from its spec: {path}")
    stale = _existing(project, {p.parent for p in files}) - set(files)
    problems += [f"not produced by any spec: {path}" for path in sorted(stale)]
    return problems


def _existing(project: Project, folders: set[Path]) -> set[Path]:
    """Generated files on disk, in the generated folders among `folders`."""
    found: set[Path] = set()
    for folder, pattern in ((GENERATED_PACKAGE, "*.py"), (SPEC_DOCS, "*.md")):
        if folder in folders:
            found |= {p.relative_to(project.root) for p in (project.root / folder).glob(pattern)}
    return found


def _package_init(machines: list[ir.Machine]) -> str:
    names = ", ".join(repr(m.name) for m in machines)
    return (
        '"""Code generated from spec/*.cflow by `canonicalflow spec gen`. Never edit by hand."""\n\n'
        f"MACHINES = ({names},)\n"
    )


def _ruff_format(root: Path, files: dict[Path, str]) -> dict[Path, str]:
    """Format with the project's pinned ruff, so output is byte-identical on every machine."""
    out = {}
    for path, text in files.items():
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=root,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ruff could not format generated {path}:\n{result.stderr}")
        out[path] = result.stdout
    return out
