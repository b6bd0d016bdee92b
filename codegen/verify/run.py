"""Run every checker on every machine and report one line per (checker, machine)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType

from codegen.verify.contracts import check_contracts
from codegen.verify.differential import check_differential
from codegen.verify.model_checker import check_model
from codegen.verify.result import CheckerResult
from codegen.verify.stateful import check_stateful

__all__ = ["CHECKERS", "verify"]

# CrossHair (contracts) is started first, in subprocesses, and reported last, so it overlaps the rest.
CHECKERS = ("model", "stateful", "differential", "contracts")

TITLES = {
    "model": "model checker (BFS over the checker's bounds)",
    "contracts": "contracts (CrossHair, runtime bounds)",
    "stateful": "stateful tests (Hypothesis)",
    "differential": "differential (kernel vs transitions)",
}


def _module(machine: str, kind: str) -> ModuleType:
    return importlib.import_module(f"canonicalflow._generated.{machine}_{kind}")


def _run(checker: str, machine: str) -> CheckerResult:
    if checker == "model":
        return check_model(_module(machine, "model"))
    if checker == "contracts":
        return check_contracts(_module(machine, "contracts"))
    if checker == "stateful":
        return check_stateful(_module(machine, "hypothesis"), machine)
    return check_differential(_module(machine, "model"), _module(machine, "transitions"))


def verify(machines: list[str], checkers: tuple[str, ...], echo: Callable[[str], None]) -> bool:
    """Run `checkers` on `machines`; CrossHair starts first, in subprocesses, and runs alongside the rest."""
    started = time.perf_counter()
    outcomes: list[CheckerResult] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        background: dict[str, Future[CheckerResult]] = {}
        if "contracts" in checkers:
            background = {m: pool.submit(_run, "contracts", m) for m in machines}
        for checker in checkers:
            echo(TITLES[checker])
            for machine in machines:
                outcome = background[machine].result() if checker == "contracts" else _run(checker, machine)
                outcomes.append(outcome)
                echo(f"  {outcome.summary()}")
                for failure in outcome.failures:
                    echo("    " + failure.replace("\n", "\n    "))
    failed = [o for o in outcomes if not o.ok]
    elapsed = time.perf_counter() - started
    if failed:
        echo(f"verify: {len(failed)} of {len(outcomes)} checks FAILED in {elapsed:.1f} s")
    else:
        echo(f"verify: all {len(outcomes)} checks passed in {elapsed:.1f} s")
    return not failed
