"""Entry point: `canonicalflow COMMAND ...`; each command group lives in its own module."""

from __future__ import annotations

import click

from canonicalflow.cli._backtest import backtest, demo, report
from canonicalflow.cli._data import data
from canonicalflow.cli._exchange import exchange
from canonicalflow.cli._journal import journal
from canonicalflow.cli._live import ctl, live, parity
from canonicalflow.cli._replay import replay, synth, verify_determinism

_SPEC_TOOLCHAIN = frozenset(("lark", "transitions", "hypothesis", "crosshair", "ruff"))

try:
    from canonicalflow.cli._spec import spec
except ModuleNotFoundError as missing:  # the spec toolchain is an extra: a run needs none of it
    if (missing.name or "").partition(".")[0] not in _SPEC_TOOLCHAIN:
        raise
    absent = missing.name

    @click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def spec() -> None:
        """Parse, generate and verify the machines (needs the `spec` extra)."""
        raise click.ClickException(
            f"the spec toolchain is not installed ({absent} is missing): pip install 'canonicalflow[spec]'"
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="canonicalflow")
def main() -> None:
    """CanonicalFlow: a formally specified, deterministic, event-sourced trading system.

    Every state machine is written once in spec/*.cflow; `canonicalflow spec` generates the
    runtime's kernels, contracts, models, tests and docs from it and verifies them.
    """


main.add_command(demo)
main.add_command(backtest)
main.add_command(report)
main.add_command(spec)
main.add_command(data)
main.add_command(journal)
main.add_command(exchange)
main.add_command(live)
main.add_command(parity)
main.add_command(ctl)
main.add_command(replay)
main.add_command(verify_determinism)
journal.add_command(synth)
