"""Explicit-state BFS model checker over a generated model module (Stateright-style interface).

Checks, within the spec's `check` bounds:
- every reachable state satisfies the state invariants, every step the step invariants;
- the kernel agrees with the spec's reference semantics on every (state, action) explored;
- every state, every row and every reachability target is reached (no vacuous pass);
- no reachable non-terminal state is a deadlock (some event must change it);
- the invariants are inductive over the whole bounded domain, not just the reachable part,
  which is what the CrossHair contracts assume.
A failure comes with the shortest trace that leads to it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from codegen.verify.result import CheckerResult

__all__ = ["ModelCheckResult", "check_model", "reachable_states"]

State = Any
Action = tuple[int, ...]


@dataclass
class ModelCheckResult(CheckerResult):
    states: int = 0
    transitions: int = 0
    rows_covered: int = 0
    rows_total: int = 0
    domain_states: int = 0

    def summary(self) -> str:
        rate = self.states / self.seconds if self.seconds else 0.0
        return (
            f"{self.machine}: {self.verdict}; {self.states:,} states, {self.transitions:,} transitions, "
            f"rows {self.rows_covered}/{self.rows_total}, invariants inductive over {self.domain_states:,} "
            f"domain states, {self.seconds:.2f} s ({rate:,.0f} states/s)"
        )


def check_model(model: ModuleType, max_failures: int = 5) -> ModelCheckResult:
    """Explore every state reachable from `model.init_states()` and check it."""
    kernel = model.kernel
    result = ModelCheckResult(kernel.MACHINE, rows_total=len(model.ROWS))
    started = time.perf_counter()
    parent: dict[State, tuple[State, Action] | None] = {}
    queue: deque[State] = deque()
    covered: set[int] = set()
    reached_states: set[int] = set()
    reached_targets: set[str] = set()

    def fail(message: str, state: State, action: Action | None = None, after: object = None) -> None:
        if len(result.failures) < max_failures:
            trace = _trace(kernel, parent, state)
            if action is not None:
                trace.append(f"  {_action(kernel, action)} -> {_show(kernel, after)}")
            result.failures.append(message + "\n" + "\n".join(trace))

    for s in model.init_states():
        if s not in parent:
            parent[s] = None
            queue.append(s)
            _check_state(model, s, fail)
    while queue and len(result.failures) < max_failures:
        s = queue.popleft()
        reached_states.add(s.state)
        reached_targets.update(name for name, holds in model.REACHABLE if holds(s))
        moves = False
        for action in model.actions(s):
            after = model.next_state(s, action)
            row, outcome = model.expected(s, action)
            result.transitions += 1
            if after != outcome or (outcome is s) != (after is s):
                fail(
                    f"kernel disagrees with the spec (row {row}): spec says {_show(kernel, outcome)}",
                    s,
                    action,
                    after,
                )
                continue
            if row >= 0:
                covered.add(row)
            if after is kernel.REJECTED_NO_ROW:
                fail("no row fires: the spec leaves this case unhandled", s, action, after)
            if not isinstance(after, kernel.State):
                continue
            moves = moves or after != s
            for name, holds in model.STEP_INVARIANTS:
                if not holds(s, action[0], after):
                    fail(f"step invariant '{name}' broken", s, action, after)
            if after not in parent:
                parent[after] = (s, action)
                queue.append(after)
                _check_state(model, after, fail)
        if not moves and s.state not in kernel.TERMINAL_STATES:
            fail(f"deadlock: no event changes non-terminal state {kernel.STATE_NAMES[s.state]}", s)
    result.states = len(parent)
    result.rows_covered = len(covered)
    if not result.failures:
        for index, name in enumerate(kernel.STATE_NAMES):
            if index not in reached_states:
                result.failures.append(f"state '{name}' is never reached within the checker's bounds")
        for row in model.ROWS:
            if row[0] not in covered:
                result.failures.append(f"row {row[0]} never fires within the checker's bounds: {row[5]}")
        for name, _ in model.REACHABLE:
            if name not in reached_targets:
                result.failures.append(f"reachability target '{name}' is never reached")
        _check_inductive(model, result)
    result.seconds = time.perf_counter() - started
    return result


def _check_state(model: ModuleType, s: State, fail: Callable[..., None]) -> None:
    for name, holds in model.INVARIANTS:
        if not holds(s):
            fail(f"invariant '{name}' broken", s)


def _check_inductive(model: ModuleType, result: ModelCheckResult) -> None:
    """From every state satisfying the invariants, every action keeps them."""
    kernel = model.kernel
    for s in model.domain_states():
        result.domain_states += 1
        for action in model.actions(s):
            after = model.next_state(s, action)
            if not isinstance(after, kernel.State):
                continue
            broken = [name for name, holds in model.INVARIANTS if not holds(after)]
            if broken:
                result.failures.append(
                    f"invariants not inductive: '{broken[0]}' breaks from {_show(kernel, s)} "
                    f"on {_action(kernel, action)} -> {_show(kernel, after)}; strengthen the invariants"
                )
                return


def _trace(kernel: ModuleType, parent: dict[State, tuple[State, Action] | None], s: State) -> list[str]:
    steps: list[str] = []
    node: State | None = s
    while node is not None and parent.get(node) is not None:
        prev, action = parent[node]  # type: ignore[misc]
        steps.append(f"  {_action(kernel, action)} -> {_show(kernel, node)}")
        node = prev
    head = [f"  trace: init {_show(kernel, node)}"] if node is not None else []
    return head + list(reversed(steps))


def _action(kernel: ModuleType, action: Action) -> str:
    event = kernel.EVENT_NAMES[action[0]]
    args = action[1 : 1 + kernel.EVENT_ARITY[action[0]]]
    return f"{event}({', '.join(map(str, args))})"


def _show(kernel: ModuleType, value: object) -> str:
    if isinstance(value, kernel.State):
        fields = ", ".join(f"{k}={v}" for k, v in value._asdict().items() if k != "state")
        return f"{kernel.STATE_NAMES[value.state]}({fields})"
    return repr(value)


def reachable_states(model: ModuleType) -> list[State]:
    """Every state reachable within the checker's bounds, in BFS order (no checks)."""
    kernel = model.kernel
    seen = dict.fromkeys(model.init_states())
    queue = deque(seen)
    while queue:
        s = queue.popleft()
        for action in model.actions(s):
            after = model.next_state(s, action)
            if isinstance(after, kernel.State) and after not in seen:
                seen[after] = None
                queue.append(after)
    return list(seen)
