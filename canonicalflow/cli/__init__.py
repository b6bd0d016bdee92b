"""The `canonicalflow` command line."""

from canonicalflow.cli._main import main

__all__ = ["main"]
