"""Run a machine's generated Hypothesis RuleBasedStateMachine, derandomized so runs repeat."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from codegen.verify.result import CheckerResult

__all__ = ["StatefulResult", "check_stateful"]


@dataclass
class StatefulResult(CheckerResult):
    examples: int = 0
    steps: int = 0

    def summary(self) -> str:
        return (
            f"{self.machine}: {self.verdict}; {self.examples} random walks of up to {self.steps} steps, "
            f"{self.seconds:.2f} s"
        )


def check_stateful(module: ModuleType, machine: str, examples: int = 300, steps: int = 80) -> StatefulResult:
    machine_class = next(
        v for k, v in vars(module).items() if k.endswith("Machine") and k != "RuleBasedStateMachine"
    )
    result = StatefulResult(machine, examples=examples, steps=steps)
    started = time.perf_counter()
    config = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    try:
        run_state_machine_as_test(machine_class, settings=config)
    except AssertionError as error:
        result.failures.append(str(error))
    result.seconds = time.perf_counter() - started
    return result
