"""Errors raised by CanonicalFlow.

* CanonicalFlowError
  x SpecError            file:line:col, the line with a caret, what was expected or is wrong
  x DataError
    + InvalidEvent       the event's stream position, the field, what is wrong
    + JournalCorrupt     the segment file, the byte offset, what is wrong
  x InvariantViolation   position, event, invariant, state before and after

A rejected transition is an outcome the kernel returns, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CanonicalFlowError",
    "DataError",
    "InvalidEvent",
    "InvariantViolation",
    "JournalCorrupt",
    "SourceSpan",
    "SpecError",
]


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


class DataError(CanonicalFlowError):
    """Input data is malformed; the message names where."""


class InvalidEvent(DataError):
    """An event failed validation at the boundary."""

    def __init__(self, position: object, field: str, problem: str) -> None:
        self.position = position
        self.field = field
        self.problem = problem
        super().__init__(f"event at position {position}: field '{field}': {problem}")


class InvariantViolation(CanonicalFlowError):
    """State would break an invariant: processing halts here, with everything needed to see why."""

    def __init__(self, position: int, event: object, invariant: str, before: str, after: str) -> None:
        self.position = position
        self.event = event
        self.invariant = invariant
        self.before = before
        self.after = after
        super().__init__(
            f"invariant '{invariant}' violated at position {position}\n  event: {event}\n"
            f"  before: {before}\n  after: {after}"
        )


class JournalCorrupt(DataError):
    """A journal segment is damaged where a crash cannot have torn it; no data is dropped to hide it."""

    def __init__(self, path: object, offset: int, problem: str) -> None:
        self.path = path
        self.offset = offset
        self.problem = problem
        super().__init__(f"{path}: byte {offset}: {problem}")
