"""Arguments and options that several commands share, written once."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["config_argument", "force_option", "out_option"]

config_argument = click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The run directory (default: runs/NAME).",
)
force_option = click.option("--force", is_flag=True, help="Replace an earlier run in the run directory.")
