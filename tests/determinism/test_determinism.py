"""Same stream, same Configuration: the same digest at every position, in any process.

Also: a snapshot is a pure optimisation; restoring one and replaying the rest gives the digests a
replay from the start gives.
"""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.state import Core, replay
from canonicalflow.testing import synthetic_config, synthetic_stream

_PRINT_DIGESTS = """
import sys
from canonicalflow.state import replay
from canonicalflow.testing import synthetic_config, synthetic_stream
for r in replay(synthetic_stream(int(sys.argv[1]), int(sys.argv[2])), synthetic_config()):
    print(r.position, r.digest.hex())
"""


def _digests_in_process(seed: int, length: int, hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_DIGESTS, str(seed), str(length)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_two_processes_with_different_hash_seeds_agree_at_every_position() -> None:
    first = _digests_in_process(seed=7, length=5_000, hash_seed="1")
    second = _digests_in_process(seed=7, length=5_000, hash_seed="12345")
    assert len(first) == 5_000
    assert first == second
    here = [f"{r.position} {r.digest.hex()}" for r in replay(synthetic_stream(7, 5_000), synthetic_config())]
    assert here == first


def test_a_different_stream_diverges() -> None:
    a = [r.digest for r in replay(synthetic_stream(1, 300), synthetic_config())]
    b = [r.digest for r in replay(synthetic_stream(2, 300), synthetic_config())]
    assert a[-1] != b[-1]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 400))
def test_restoring_a_snapshot_then_replaying_gives_the_same_digests(seed: int, cut: int) -> None:
    events = list(synthetic_stream(seed, 400))
    full = [r.digest for r in replay(events, synthetic_config())]
    core = Core(synthetic_config())
    for ev in events[:cut]:
        core.apply(ev)
    restored = Core.restore(synthetic_config(), core.snapshot())
    rest = [restored.apply(ev).digest for ev in events[cut:]]
    assert rest == full[cut:]
