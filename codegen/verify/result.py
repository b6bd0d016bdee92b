"""What every checker returns: the machine, how long it took, and what it found."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CheckerResult"]


@dataclass
class CheckerResult:
    machine: str
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else f"FAILED ({len(self.failures)})"

    def summary(self) -> str:
        raise NotImplementedError
