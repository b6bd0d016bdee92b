"""Errors raised by CanonicalFlow.

* CanonicalFlowError
  x SpecError            file:line:col, the line with a caret, what was expected or is wrong

A rejected transition is an outcome the kernel returns, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CanonicalFlowError", "SourceSpan", "SpecError"]


class CanonicalFlowError(Exception):
    """Base class of every error CanonicalFlow raises on purpose."""


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A position in a source file; lines and columns count from 1."""

    file: str
    line: int
    column: int


class SpecError(CanonicalFlowError):
    """A spec is wrong; the message points at the offending line with a caret."""

    def __init__(self, message: str, span: SourceSpan, source_line: str = "") -> None:
        self.message = message
        self.span = span
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.span.file}:{self.span.line}:{self.span.column}: {self.message}"
        if not self.source_line:
            return head
        caret = " " * (self.span.column - 1) + "^"
        return f"{head}\n    {self.source_line}\n    {caret}"
