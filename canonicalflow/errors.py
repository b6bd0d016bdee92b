"""Errors raised by CanonicalFlow.

* CanonicalFlowError
  x SpecError            file:line:col, the line with a caret, what was expected or is wrong
  x ConfigError          the offending field, by dotted path, and the file it came from
  x DataError
    + InvalidEvent       the event's stream position, the field, what is wrong
    + JournalCorrupt     the segment file, the byte offset, what is wrong
    + NotInJournal       the journal and the position it holds no event at (also a KeyError)
  x InvariantViolation   position, event, invariant, state before and after

A rejected transition is an outcome the kernel returns, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CanonicalFlowError",
    "ConfigError",
    "DataError",
    "InvalidEvent",
    "InvariantViolation",
    "JournalCorrupt",
    "NotInJournal",
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


class ConfigError(CanonicalFlowError, ValueError):
    """A Configuration (a backtest file, a strategy's parameters, a venue model) is wrong; the
    message names the field by its dotted path. Also a ValueError, so a pydantic validator that
    raises one reports it against the field being validated."""


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
    """State would break an invariant: processing halts here, with everything needed to see why.

    A rule deep inside a step (a queue place's kernel) may not know the stream position it runs
    at; it raises with `position` None, and the one applying the event says where with `located`.
    """

    def __init__(self, position: int | None, event: object, invariant: str, before: str, after: str) -> None:
        self.position = position
        self.event = event
        self.invariant = invariant
        self.before = before
        self.after = after
        super().__init__(
            f"invariant '{invariant}' violated at position {position}\n  event: {event}\n"
            f"  before: {before}\n  after: {after}"
        )

    def located(self, position: int, event: object) -> InvariantViolation:
        """The same violation at `position`, while applying `event`."""
        return InvariantViolation(position, event, self.invariant, self.before, self.after)


class JournalCorrupt(DataError):
    """A journal segment is damaged where a crash cannot have torn it; no data is dropped to hide it."""

    def __init__(self, path: object, offset: int, problem: str) -> None:
        self.path = path
        self.offset = offset
        self.problem = problem
        super().__init__(f"{path}: byte {offset}: {problem}")


class NotInJournal(DataError, KeyError):
    """A journal holds no event at the position asked for; a KeyError too, as a lookup miss is."""

    def __init__(self, path: object, position: int, held: str) -> None:
        self.path = path
        self.position = position
        super().__init__(f"{path}: no event at position {position} (it holds {held})")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
