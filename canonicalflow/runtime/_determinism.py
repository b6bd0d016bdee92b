"""Run one journal's replay in two processes with different hash seeds and compare every digest.

Each process writes its digests to a file, 24 bytes a position, so memory stays flat whatever the
journal's length; the files are compared position by position. At the first divergence each
process is asked again for the State it reached there.

A backtest links its digest chain a block of positions at a time (`run.digest_block`), so the
first differing digest it reports can be up to a block after the first differing step. Its two
journals are then replayed once more up to there, one link per position, which names the very
position where the two runs parted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Divergence", "compare_backtests", "compare_processes", "first_divergence"]

_RECORD = 8 + 16  # position (int64, little endian) + digest

_WORKER = """
import sys
from pathlib import Path
from canonicalflow.runtime._replay import describe, load_config, replay_journal
journal, config, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
stop, describe_it, every = int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6] == "1"
configuration = load_config(journal, Path(config) if config else None)
if every:  # one link of the chain per position, whatever block the journal was written with
    configuration = configuration.model_copy(update={"digest_block": 1})
steps = replay_journal(journal, configuration, stop if stop >= 0 else None)
if describe_it:
    *_, (core, _) = steps
    print("\\n".join(describe(core)))
else:
    with open(out, "wb") as f:
        for _, result in steps:
            f.write(result.position.to_bytes(8, "little", signed=True) + result.digest)
"""

_BACKTEST_WORKER = """
import sys
from pathlib import Path
from canonicalflow.backtest import run
config, run_dir, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
with open(out, "wb") as f:
    def write(position, digest):
        f.write(position.to_bytes(8, "little", signed=True) + digest)
    run(config, run_dir, force=True, progress=False, digests=write, report=False)
"""


@dataclass(frozen=True)
class Divergence:
    position: int
    states: tuple[list[str], list[str]]  # each process's State there, described


def _run(
    journal: Path,
    config: Path | None,
    out: Path,
    hash_seed: str,
    stop: int = -1,
    describe_it: bool = False,
    every_position: bool = False,
) -> str:
    """Replay `journal` in a fresh process up to `stop` (-1: the end): digests into `out`, or with
    `describe_it` the State reached, described. `every_position` links every position."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    flags = ("1" if describe_it else "0", "1" if every_position else "0")
    command = [sys.executable, "-c", _WORKER, str(journal), str(config or ""), str(out), str(stop), *flags]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def first_divergence(a: Path, b: Path) -> tuple[int, int | None]:
    """(equal records before the first difference, the position where they differ or None)."""
    compared = 0
    with a.open("rb") as left_file, b.open("rb") as right_file:
        while True:
            left, right = left_file.read(_RECORD), right_file.read(_RECORD)
            if left == right:
                if not left:
                    return compared, None
                compared += 1
                continue
            return compared, int.from_bytes((left or right)[:8], "little", signed=True)


def compare_processes(
    journal: Path, config: Path | None, workdir: Path, seeds: tuple[str, str] = ("0", "4242")
) -> tuple[int, Divergence | None]:
    """(positions compared, the first divergence with both processes' States, or None)."""
    files = [workdir / f"digests-{seed}.bin" for seed in seeds]
    for seed, out in zip(seeds, files, strict=True):
        _run(journal, config, out, seed)
    compared, position = first_divergence(*files)
    if position is None:
        return compared, None
    states = tuple(
        _run(journal, config, out, seed, position, describe_it=True).splitlines()
        for seed, out in zip(seeds, files, strict=True)
    )
    return compared, Divergence(position, states)  # type: ignore[arg-type]


def compare_backtests(
    config: Path, workdir: Path, seeds: tuple[str, str] = ("0", "4242")
) -> tuple[int, Divergence | None]:
    """Run the backtest `config` in two processes; (digests compared, the first divergence or None).

    A backtest reports its digest at every position (within a block of the chain, the digest of
    the last block closed) and once more at the end, covering the open block. Each run writes its own
    run directory under `workdir`. At a divergence, both journals are replayed up to it with a link
    per position to find the first position whose State differs; each process's State there is
    read back from its own journal. Positions compared are then those before it.
    """
    files = [workdir / f"digests-{seed}.bin" for seed in seeds]
    runs = [workdir / f"run-{seed}" for seed in seeds]
    for seed, out, run_dir in zip(seeds, files, runs, strict=True):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", _BACKTEST_WORKER, str(config), str(run_dir), str(out)]
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    compared, position = first_divergence(*files)
    if position is None:
        return compared, None
    exact = [workdir / f"positions-{seed}.bin" for seed in seeds]
    for seed, out, run_dir in zip(seeds, exact, runs, strict=True):
        _run(run_dir / "journal", None, out, seed, position, every_position=True)
    equal, found = first_divergence(*exact)
    if found is not None:  # else the journals agree up to there: keep what the runs reported
        compared, position = equal, found
    states = tuple(
        _run(run_dir / "journal", None, out, seed, position, describe_it=True).splitlines()
        for seed, out, run_dir in zip(seeds, files, runs, strict=True)
    )
    return compared, Divergence(position, states)  # type: ignore[arg-type]
