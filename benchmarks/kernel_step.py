"""Throughput of the generated order_lifecycle kernel, in steps per second.

The workload is a seeded, realistic stream of execution reports and requests over many orders
(acks, partial fills, cancels and replaces with fills while pending, busts, corrections, late and
duplicate reports), interleaved in time and precomputed into a flat list, so the timed loops
measure the kernel and the loop that feeds it, nothing else. Prints measurements, never asserts them.

    python benchmarks/kernel_step.py [--orders N] [--seed S] [--repeat R]
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence

from canonicalflow._generated import order_lifecycle_kernel as k

Event = tuple[int, int, int, int]  # (event, a0, a1, order index)
Report = tuple[int, int, int]  # (event, a0, a1) for one order
Maker = Callable[[random.Random, k.State], Report | None]  # None ends the order's story
Runner = Callable[[Sequence[Event], list[k.State]], tuple[float, list[k.State]]]

MAX_REPORTS_PER_ORDER = 40
# Mean gap between one order's reports, as a fraction of the session its orders start in:
# with about five reports an order, about a tenth of the orders are live at any time.
MEAN_GAP = 0.02


def _plain(event: int) -> Maker:
    """A report without arguments."""
    return lambda rng, s: (event, 0, 0)


def _end(rng: random.Random, s: k.State) -> None:
    """No more reports for this order."""


def _fill(rng: random.Random, s: k.State) -> Report:
    """Mostly partial fills, sometimes the rest of the order, rarely an overfill (a bad report)."""
    leaves = s.qty - s.cum
    if rng.random() < 0.02:
        return (k.E_FILL, leaves + rng.randint(1, 10), 0)
    if leaves <= 1 or rng.random() < 0.3:
        return (k.E_FILL, max(leaves, 1), 0)
    return (k.E_FILL, rng.randint(1, leaves - 1), 0)


def _bust(rng: random.Random, s: k.State) -> Report:
    """Void part or all of what was executed (an unknown execution when nothing was)."""
    return (k.E_BUST, rng.randint(1, max(s.cum, 1)), 0)


def _correct(rng: random.Random, s: k.State) -> Report:
    """Restate one execution, usually within the order's quantity."""
    was = rng.randint(1, max(s.cum, 1))
    return (k.E_CORRECT, was, rng.randint(1, was + max(s.qty - s.cum, 1)))


def _replace_request(rng: random.Random, s: k.State) -> Report:
    """Amend the quantity by up to half, up or down."""
    return (k.E_REPLACE_REQUEST, max(1, round(s.qty * rng.uniform(0.5, 1.5))), 0)


def _restate(rng: random.Random, s: k.State) -> Report:
    """The venue reduces the order (sometimes below cum, which it refuses)."""
    return (k.E_RESTATE, rng.randint(1, max(s.qty - 1, 1)), 0)


# Weighted next reports by situation: (weight, maker).
Choices = tuple[tuple[float, Maker], ...]
ENTRY: Choices = (
    (0.90, _plain(k.E_ACK)),
    (0.03, _plain(k.E_REJECT)),
    (0.03, _plain(k.E_CANCEL_REQUEST)),
    (0.02, _fill),
    (0.01, _replace_request),
    (0.01, _plain(k.E_EXPIRE)),
)
CANCEL_BEFORE_ACK: Choices = (
    (0.6, _plain(k.E_CANCELED)),
    (0.3, _plain(k.E_ACK)),
    (0.1, _plain(k.E_CANCEL_REJECT)),
)
WORKING: Choices = (
    (0.73, _fill),
    (0.08, _plain(k.E_CANCEL_REQUEST)),
    (0.07, _replace_request),
    (0.02, _bust),
    (0.01, _correct),
    (0.01, _restate),
    (0.01, _plain(k.E_ACK)),
    (0.02, _plain(k.E_UNSOLICITED_CANCEL)),
    (0.01, _plain(k.E_EXPIRE)),
    (0.03, _plain(k.E_DONE_FOR_DAY)),
    (0.01, _plain(k.E_REPLACED)),
)
CANCEL_PENDING: Choices = (
    (0.35, _fill),
    (0.50, _plain(k.E_CANCELED)),
    (0.10, _plain(k.E_CANCEL_REJECT)),
    (0.05, _plain(k.E_CANCEL_REQUEST)),
)
REPLACE_PENDING: Choices = (
    (0.35, _fill),
    (0.50, _plain(k.E_REPLACED)),
    (0.10, _plain(k.E_REPLACE_REJECT)),
    (0.05, _plain(k.E_CANCEL_REQUEST)),
)
FILLED: Choices = (
    (0.85, _end),
    (0.05, _bust),
    (0.03, _correct),
    (0.03, _replace_request),
    (0.04, _plain(k.E_CANCEL_REQUEST)),
)
FILLED_CANCEL_PENDING: Choices = ((0.9, _plain(k.E_CANCEL_REJECT)), (0.1, _plain(k.E_CANCELED)))
FILLED_REPLACE_PENDING: Choices = ((0.6, _plain(k.E_REPLACED)), (0.4, _plain(k.E_REPLACE_REJECT)))
FINAL: Choices = (
    (0.70, _end),
    (0.10, _fill),
    (0.10, _plain(k.E_DONE_FOR_DAY)),
    (0.05, _plain(k.E_CANCELED)),
    (0.05, _bust),
)
# The choices by machine state, then by pending request (NO_REQUEST, CANCEL_PENDING, REPLACE_PENDING);
# any other (final) state uses FINAL.
BY_PENDING = {
    k.S_PENDING_NEW: (ENTRY, CANCEL_BEFORE_ACK, ENTRY),
    k.S_NEW: (WORKING, CANCEL_PENDING, REPLACE_PENDING),
    k.S_PARTIALLY_FILLED: (WORKING, CANCEL_PENDING, REPLACE_PENDING),
    k.S_FILLED: (FILLED, FILLED_CANCEL_PENDING, FILLED_REPLACE_PENDING),
}


def _next_report(rng: random.Random, s: k.State) -> Report | None:
    """What the venue or we send next, given where the order is."""
    choices = BY_PENDING[s.state][s.pending] if s.state in BY_PENDING else FINAL
    weights = [w for w, _ in choices]
    [maker] = rng.choices([m for _, m in choices], weights)
    return maker(rng, s)


def _order_story(rng: random.Random, s: k.State) -> tuple[list[Report], k.State, int]:
    """One order's reports, played on the kernel to choose each next one: (reports, end, rejections)."""
    reports, rejections = [], 0
    while len(reports) < MAX_REPORTS_PER_ORDER and (report := _next_report(rng, s)) is not None:
        reports.append(report)
        out = k.step(s, *report)
        if isinstance(out, k.State):
            s = out
        else:
            rejections += 1
    return reports, s, rejections


def build_workload(orders: int, seed: int) -> tuple[list[Event], list[k.State], list[k.State], int]:
    """(events interleaved in time, initial states, expected final states, rejections)."""
    rng = random.Random(seed)
    initial = [k.initial(rng.randint(1, 500)) for _ in range(orders)]
    timed: list[tuple[float, Event]] = []
    final, rejections = [], 0
    for index, s in enumerate(initial):
        reports, end, rejected = _order_story(rng, s)
        final.append(end)
        rejections += rejected
        at = rng.random()
        for event, a0, a1 in reports:
            at += rng.expovariate(1 / MEAN_GAP)
            timed.append((at, (event, a0, a1, index)))
    timed.sort(key=lambda pair: pair[0])
    # Fresh tuples, allocated in the order the loops read them (as a decoder would hand them over);
    # reusing the generation-order tuples would add a cache miss per event.
    events = [(event, a0, a1, i) for _, (event, a0, a1, i) in timed]
    return events, initial, final, rejections


def run_step(events: Sequence[Event], initial: list[k.State]) -> tuple[float, list[k.State]]:
    """(a) The public entry point: `step(s, event, a0, a1)`; a rejection leaves the order as it was."""
    states, step, state_cls = list(initial), k.step, k.State
    started = time.perf_counter()
    for event, a0, a1, i in events:
        out = step(states[i], event, a0, a1)
        if out.__class__ is state_cls:
            states[i] = out
    return time.perf_counter() - started, states


def run_inlined(events: Sequence[Event], initial: list[k.State]) -> tuple[float, list[k.State]]:
    """(b) The dispatch a hot loop inlines, saving `step`'s own call frame."""
    states, table, n, state_cls = list(initial), k.TABLE, k.NUM_EVENTS, k.State
    started = time.perf_counter()
    for event, a0, a1, i in events:
        s = states[i]
        out = table[s[0] * n + event](s, a0, a1)
        if out.__class__ is state_cls:
            states[i] = out
    return time.perf_counter() - started, states


def run_dict_update(events: Sequence[Event], initial: list[k.State]) -> tuple[float, list[k.State]]:
    """(c) Calibration: the same loop doing one dict update per event, to compare machines."""
    book = dict.fromkeys(range(len(initial)), 0)
    started = time.perf_counter()
    for _event, a0, _a1, i in events:
        book[i] += a0
    return time.perf_counter() - started, initial


def best_times(
    runners: Sequence[Runner], events: Sequence[Event], initial: list[k.State], repeat: int
) -> list[float]:
    """Each runner's best time over `repeat` rounds, each run from the initial states.

    Rounds interleave the runners, so a busy spell on the machine does not fall on one of them only.
    """
    best = [math.inf] * len(runners)
    for _ in range(repeat):
        for n, runner in enumerate(runners):
            best[n] = min(best[n], runner(events, initial)[0])
    return best


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders in the workload (default 10000)")
    parser.add_argument("--seed", type=int, default=20261125, help="workload seed (default 20261125)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=20,
        help="rounds, each running every loop once; the best is shown (default 20)",
    )
    args = parser.parse_args()

    events, initial, final, rejections = build_workload(args.orders, args.seed)
    for runner in (run_step, run_inlined):
        if runner(events, initial)[1] != final:
            raise SystemExit(f"{runner.__name__} did not reach the states the workload was built from")

    print(
        f"order_lifecycle kernel: {args.orders:,} orders, {len(events):,} events "
        f"(seed {args.seed}, best of {args.repeat}, Python {sys.version.split()[0]})"
    )
    print(f"rejections: {rejections / len(events):.1%} of steps")
    print(f"{'loop':<48} {'best s':>8} {'steps/s':>12} {'ns/step':>8} {'x (c)':>6}")
    loops = (
        ("(a) step(s, event, a0, a1)", run_step),
        ("(b) TABLE[s[0] * NUM_EVENTS + event](s, a0, a1)", run_inlined),
        ("(c) dict update per event (calibration)", run_dict_update),
    )
    times = best_times([runner for _, runner in loops], events, initial, args.repeat)
    for (label, _), seconds in zip(loops, times, strict=True):
        rate = len(events) / seconds
        relative = seconds / times[-1]
        print(f"{label:<48} {seconds:>8.3f} {rate / 1e6:>10.2f} M {1e9 / rate:>8.0f} {relative:>6.1f}")
    print(
        "x (c): time relative to the calibration loop, steadier than the absolute figures on a busy machine"
    )
    print(f"peak RSS (workload included): {peak_rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()
