"""Differential check: the kernel against the `transitions` machine built from the same spec.

Both are driven from every state the model checker reaches, with every action in the checker's
bounds; they must agree on the next state, its variables, and every rejection reason.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from types import ModuleType

from codegen.verify.model_checker import reachable_states
from codegen.verify.result import CheckerResult

__all__ = ["DifferentialResult", "check_differential"]


@dataclass
class DifferentialResult(CheckerResult):
    comparisons: int = 0

    def summary(self) -> str:
        return (
            f"{self.machine}: {self.verdict}; kernel = transitions on {self.comparisons:,} "
            f"(state, action) pairs, {self.seconds:.2f} s"
        )


def check_differential(model: ModuleType, config: ModuleType, max_failures: int = 5) -> DifferentialResult:
    kernel = model.kernel
    result = DifferentialResult(kernel.MACHINE)
    started = time.perf_counter()
    variables = config.VARIABLES
    first = model.init_states()[0]
    params = [name for name in variables if name not in _initialised(config)]
    subject = config.Model(**{name: getattr(first, name) for name in params})
    machine = config.build(subject)
    for s in reachable_states(model):
        for action in model.actions(s):
            before = {name: getattr(s, name) for name in variables}
            machine.set_state(kernel.STATE_NAMES[s.state])
            for name, value in before.items():
                setattr(subject, name, value)
            subject.rejection = None
            fired = subject.trigger(kernel.EVENT_NAMES[action[0]], *action[1:])
            theirs = _outcome(subject, fired, variables)
            ours = _kernel_outcome(kernel, s, model.next_state(s, action), variables)
            result.comparisons += 1
            if ours != theirs and len(result.failures) < max_failures:
                result.failures.append(
                    f"{kernel.STATE_NAMES[s.state]}{before} on {kernel.EVENT_NAMES[action[0]]}{action[1:]}: "
                    f"kernel {ours}, transitions {theirs}"
                )
    if result.comparisons == 0:
        result.failures.append("nothing was compared: the model reaches no state")
    result.seconds = time.perf_counter() - started
    return result


def _initialised(config: ModuleType) -> set[str]:
    signature = inspect.signature(config.Model.__init__)
    return {name for name in config.VARIABLES if name not in signature.parameters}


def _outcome(subject: object, fired: bool, variables: tuple[str, ...]) -> tuple:
    if not fired:
        return ("no_row",)
    rejection = subject.rejection  # type: ignore[attr-defined]
    if rejection is not None:
        return ("rejected", rejection)
    return ("state", subject.state, tuple(int(getattr(subject, n)) for n in variables))  # type: ignore[attr-defined]


def _kernel_outcome(kernel: ModuleType, before: object, after: object, variables: tuple[str, ...]) -> tuple:
    if after is kernel.REJECTED_NO_ROW:
        return ("no_row",)
    if isinstance(after, kernel.Rejection):
        return ("rejected", after.reason)
    return ("state", kernel.STATE_NAMES[after.state], tuple(int(getattr(after, n)) for n in variables))  # type: ignore[attr-defined]
