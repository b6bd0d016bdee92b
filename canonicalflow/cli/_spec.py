"""`canonicalflow spec gen|check|verify|docs`: the spec toolchain."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from canonicalflow.cli._trace import trace_machine
from canonicalflow.errors import SpecError
from codegen import ir
from codegen.pipeline import SPEC_DOCS, Project, drift, generate, write
from codegen.verify.run import CHECKERS, verify


def _machines(project: Project) -> list[ir.Machine]:
    try:
        return project.machines()
    except SpecError as error:
        click.echo(error.render(), err=True)
        sys.exit(1)


@click.group()
@click.option(
    "--project",
    "project_root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The checkout holding spec/ and canonicalflow/_generated/. Default: the one installed.",
)
@click.pass_context
def spec(ctx: click.Context, project_root: Path | None) -> None:
    """Parse, check, generate from and verify the specs in spec/."""
    ctx.obj = Project(project_root.resolve()) if project_root else Project.locate()


@spec.command()
@click.pass_obj
def gen(project: Project) -> None:
    """Regenerate every generated file (code under canonicalflow/_generated/, docs under docs/spec/)."""
    started = time.perf_counter()
    machines = _machines(project)
    files = generate(project, machines)
    changed = write(project, files)
    elapsed = time.perf_counter() - started
    for path in changed:
        click.echo(f"  wrote {path}")
    click.echo(
        f"spec gen: {len(machines)} machines, {len(files)} files, {len(changed)} changed, {elapsed:.2f} s"
    )


@spec.command()
@click.pass_obj
def check(project: Project) -> None:
    """Parse and check every spec, and fail if a generated file differs from what the specs produce."""
    started = time.perf_counter()
    machines = _machines(project)
    problems = drift(project, generate(project, machines))
    for machine in machines:
        click.echo(
            f"  {machine.name}: {len(machine.states)} states, {len(machine.events)} events, "
            f"{len(machine.rows)} rows, {len(machine.invariants) + len(machine.step_invariants)} invariants"
        )
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    elapsed = time.perf_counter() - started
    if problems:
        click.echo(
            f"spec check: {len(problems)} generated files drifted; run `canonicalflow spec gen`", err=True
        )
        sys.exit(1)
    click.echo(f"spec check: {len(machines)} machines ok, generated files match their specs, {elapsed:.2f} s")


@spec.command("verify")
@click.option(
    "--machine", "machine_names", multiple=True, metavar="NAME", help="Verify only this machine (repeatable)."
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(CHECKERS),
    help="Run only this checker (repeatable). Default: all four.",
)
@click.pass_obj
def verify_command(project: Project, machine_names: tuple[str, ...], only: tuple[str, ...]) -> None:
    """Run the model checker, CrossHair, the Hypothesis stateful tests and the differential test.

    The model checker explores every state within the spec's `check` bounds; CrossHair proves the
    kernel's contracts at runtime bounds (a timeout is a failure); Hypothesis walks the machine at
    random; the differential test compares the kernel with a `transitions` machine.
    """
    known = [m.name for m in _machines(project)]
    unknown = [n for n in machine_names if n not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown machine {unknown[0]!r}; known: {', '.join(known)}", param_hint="--machine"
        )
    names = list(machine_names) or known
    checkers = tuple(c for c in CHECKERS if not only or c in only)
    if not verify(names, checkers, click.echo):
        sys.exit(1)


@spec.command()
@click.pass_obj
def docs(project: Project) -> None:
    """Write the generated reference pages under docs/spec/."""
    machines = _machines(project)
    files = {p: t for p, t in generate(project, machines).items() if p.parent == SPEC_DOCS}
    changed = write(project, files)
    click.echo(f"spec docs: {len(files)} pages under {SPEC_DOCS}/, {len(changed)} changed")


@spec.command()
@click.argument("machine_name", metavar="MACHINE")
@click.argument("events", nargs=-1, metavar="EVENT[:ARG,...]...")
@click.option(
    "--set", "settings", multiple=True, metavar="NAME=VALUE", help="A creation parameter, e.g. qty=100."
)
@click.pass_obj
def trace(project: Project, machine_name: str, events: tuple[str, ...], settings: tuple[str, ...]) -> None:
    """Step MACHINE's generated kernel through EVENTS and print the state after each.

    \b
    Example:
      canonicalflow spec trace order_lifecycle --set qty=100 \\
          ack fill:40 cancel_request fill:60 cancel_reject
    Enum and bool arguments are written by name: enqueue:CANCEL, dispatch:true.
    """
    machines = {m.name: m for m in _machines(project)}
    if machine_name not in machines:
        raise click.BadParameter(f"unknown machine {machine_name!r}; known: {', '.join(machines)}")
    pairs = dict(item.partition("=")[::2] for item in settings)
    trace_machine(machines[machine_name], pairs, list(events), click.echo)
