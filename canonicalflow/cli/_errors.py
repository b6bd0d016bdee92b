"""How every command reports an error: one line on stderr, exit status 1."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

__all__ = ["fail"]


def fail(error: Exception) -> NoReturn:
    click.echo(f"error: {error}", err=True)
    sys.exit(1)
