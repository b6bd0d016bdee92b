"""Time of the spec pipeline: parsing, checking and generating every file from spec/*.cflow.

This is the cost `canonicalflow spec check` and `spec gen` pay on every run. The first run is shown
apart from the best because it includes one-off work (building the Lark parser, importing). Prints
measurements, never asserts them.

    python benchmarks/spec_pipeline.py [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codegen.checker import load_specs
from codegen.parser import parse_file
from codegen.pipeline import Project, generate


def timed_runs(work: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Seconds of each of `runs` calls, in order, so the first (cold) one can be told apart; last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return times, result


def traced_peak_mib(work: Callable[[], object]) -> float:
    """Peak Python allocations of one extra, untimed call (tracemalloc slows the call down)."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per stage; the best is shown (default 5)")
    args = parser.parse_args()

    project = Project.locate()
    paths: list[Path] = project.spec_files
    lines = sum(len(p.read_text().splitlines()) for p in paths)
    stages: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("parse (parse_file)", lambda: [parse_file(p) for p in paths]),
        ("parse + check (load_specs)", lambda: load_specs(paths)),
        ("generate, ruff-formatted", lambda: generate(project)),
    )

    print(
        f"spec pipeline: {len(paths)} specs, {lines} lines (best of {args.runs} runs, Python {sys.version.split()[0]})"
    )
    print(f"{'stage':<28} {'first s':>8} {'best s':>8} {'spec lines/s':>13} {'traced MiB':>11}")
    for label, work in stages:
        times, result = timed_runs(work, args.runs)
        best = min(times)
        print(
            f"{label:<28} {times[0]:>8.3f} {best:>8.3f} {lines / best:>13,.0f} {traced_peak_mib(work):>11.1f}"
        )
    print(f"generate produced {len(result)} files")
    print(f"peak RSS: {peak_rss_mib():.1f} MiB (ruff runs in subprocesses, not counted)")


if __name__ == "__main__":
    main()
