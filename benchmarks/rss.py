"""Peak memory as the benchmarks report it: this process's own, not its parent's."""

from __future__ import annotations

__all__ = ["peak_rss_mib"]


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Not `ru_maxrss`: on Linux that carries the
    parent's peak across fork and exec, so a runner started by compare.py would report its parent's."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
