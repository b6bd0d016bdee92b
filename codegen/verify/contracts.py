"""Run CrossHair on a machine's generated contracts; every condition must be confirmed over all paths.

A counterexample, an error, or a condition CrossHair could not exhaust within its time budget
(a timeout) is a failure: "not refuted" is not "proven".
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from codegen.verify.result import CheckerResult

__all__ = ["ContractResult", "check_contracts"]

_CONFIRMED = "Confirmed over all paths."


@dataclass
class ContractResult(CheckerResult):
    conditions: int = 0
    confirmed: int = 0

    def summary(self) -> str:
        return (
            f"{self.machine}: {self.verdict}; {self.confirmed}/{self.conditions} conditions confirmed "
            f"over all paths, {self.seconds:.1f} s"
        )


def count_conditions(contracts: ModuleType) -> int:
    """Post-conditions CrossHair must confirm: one line each in the per-event docstrings."""
    return sum((fn.__doc__ or "").count("post:") for fn in contracts.EVENT_CONTRACTS)


def check_contracts(contracts: ModuleType, per_condition_timeout: float = 60.0) -> ContractResult:
    machine = contracts.k.MACHINE
    result = ContractResult(machine, conditions=count_conditions(contracts))
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "crosshair",
        "check",
        "--analysis_kind=PEP316",
        "--report_all",
        f"--per_condition_timeout={per_condition_timeout}",
        contracts.__name__,
    ]
    if contracts.__file__ is None:
        raise ValueError(f"{contracts.__name__} has no source file for CrossHair to import")
    # Run from the root the module was imported from, so the subprocess imports the same code.
    root = Path(contracts.__file__).resolve().parents[len(contracts.__name__.split(".")) - 1]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)
    for line in completed.stdout.splitlines():
        if line.endswith(_CONFIRMED):
            result.confirmed += 1
        elif re.search(r":\d+: (error|info)", line):
            result.failures.append(line.strip())
    if completed.returncode not in (0, 1) or completed.stderr.strip():
        result.failures.append(f"crosshair exited {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    if result.confirmed != result.conditions and not result.failures:
        result.failures.append(f"only {result.confirmed} of {result.conditions} conditions were confirmed")
    result.seconds = time.perf_counter() - started
    return result
