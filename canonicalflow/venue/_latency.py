"""Order latency: how long a request takes to reach the venue, and its answer to come back.

Feed latency needs no model: every market event carries both timestamps, the venue acts at
`ts_exchange` and the strategy sees it at `ts_receive`. Order latency is per request type (new,
modify, cancel), because venues treat them differently. Three models: constant, empirical
(interpolated from a recorded file) and seeded stochastic. All are deterministic functions of
their Configuration and of the requests in order; the stochastic one draws from its own seeded
generator, never a global one.
"""

from __future__ import annotations

import bisect
import math
import random
from pathlib import Path
from typing import NamedTuple, Protocol

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from canonicalflow.errors import DataError

__all__ = [
    "COMMANDS",
    "ConstantLatency",
    "EmpiricalLatency",
    "OrderLatency",
    "SeededLatency",
    "read_latency_file",
]

COMMANDS = {1: "new", 2: "modify", 3: "cancel"}  # Event.command -> request type


class OrderLatency(Protocol):
    def entry(self, ts: int, command: int) -> int:
        """Nanoseconds from sending a request at `ts` to its arrival at the venue."""
        ...

    def response(self, ts: int, command: int) -> int:
        """Nanoseconds from the venue acting at `ts` to our receiving its report."""
        ...


class ConstantLatency:
    """Fixed entry and response times for each request type, in nanoseconds."""

    def __init__(self, entry: dict[str, int], response: dict[str, int]) -> None:
        self._entry = {command: entry[name] for command, name in COMMANDS.items()}
        self._response = {command: response[name] for command, name in COMMANDS.items()}

    def entry(self, ts: int, command: int) -> int:
        return self._entry[command]

    def response(self, ts: int, command: int) -> int:
        return self._response[command]


class LatencySample(NamedTuple):
    """One recorded round trip: request sent, venue acted, answer received (integer ns)."""

    req_ts: int
    exch_ts: int
    resp_ts: int


def read_latency_file(path: Path) -> list[LatencySample]:
    """Rows `req_ts, exch_ts, resp_ts` from Parquet or CSV, sorted by request time.

    This is the shape hftbacktest records (its fourth padding column is ignored). A row whose
    times do not increase is an error naming the row: a silently skipped sample would bias
    every latency interpolated from it. Every problem is a `DataError` naming the file.
    """
    try:
        table: pa.Table = pq.read_table(path) if path.suffix == ".parquet" else pa_csv.read_csv(path)
    except (OSError, pa.ArrowException) as error:  # missing, unreadable, not Parquet or CSV
        raise DataError(f"{path}: cannot read latency samples: {error}") from error
    missing = {"req_ts", "exch_ts", "resp_ts"} - set(table.column_names)
    if missing:
        raise DataError(f"{path}: latency file lacks column(s) {', '.join(sorted(missing))}")
    if not table.num_rows:
        raise DataError(f"{path}: no latency samples")
    columns = [table.column(name) for name in ("req_ts", "exch_ts", "resp_ts")]
    if not all(pa.types.is_integer(column.type) for column in columns):
        raise DataError(f"{path}: req_ts, exch_ts and resp_ts must be integer nanoseconds")
    samples = []
    for number, (req, exch, resp) in enumerate(zip(*(c.to_pylist() for c in columns), strict=True), 1):
        if req is None or exch is None or resp is None or not req <= exch <= resp:
            raise DataError(f"{path}: row {number}: times must satisfy req_ts <= exch_ts <= resp_ts")
        samples.append(LatencySample(req, exch, resp))
    return sorted(samples)


class EmpiricalLatency:
    """Entry and response latency interpolated linearly between the recorded samples around `ts`.

    Before the first sample and after the last, the nearest sample holds. The response latency
    is looked up at the request time the answer belongs to, which the venue does not know; the
    venue's own time is close enough at these scales and is what hftbacktest uses too.
    """

    def __init__(self, samples: list[LatencySample]) -> None:
        self._times = [s.req_ts for s in samples]
        self._entry = [s.exch_ts - s.req_ts for s in samples]
        self._response = [s.resp_ts - s.exch_ts for s in samples]

    def entry(self, ts: int, command: int) -> int:
        return self._at(ts, self._entry)

    def response(self, ts: int, command: int) -> int:
        return self._at(ts, self._response)

    def _at(self, ts: int, values: list[int]) -> int:
        times = self._times
        i = bisect.bisect_right(times, ts)
        if i == 0:
            return values[0]
        if i == len(times):
            return values[-1]
        t0, t1, v0, v1 = times[i - 1], times[i], values[i - 1], values[i]
        if t1 == t0:
            return v1
        return v0 + (v1 - v0) * (ts - t0) // (t1 - t0)  # integer ns, floor: no float drift


class SeededLatency:
    """A floor plus a log-normally distributed delay, per request type, from a seeded generator.

    Each request draws once for its entry and once for its response, in request order, so the
    same Configuration and the same requests always give the same latencies.
    """

    def __init__(self, floor: dict[str, int], median: dict[str, int], sigma: float, seed: int) -> None:
        self._floor = {command: floor[name] for command, name in COMMANDS.items()}
        self._mu = {command: math.log(max(median[name], 1)) for command, name in COMMANDS.items()}
        self._sigma = sigma
        self._random = random.Random(seed)

    def entry(self, ts: int, command: int) -> int:
        return self._draw(command)

    def response(self, ts: int, command: int) -> int:
        return self._draw(command)

    def _draw(self, command: int) -> int:
        return self._floor[command] + round(self._random.lognormvariate(self._mu[command], self._sigma))
