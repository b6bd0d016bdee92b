"""Checkpoints are a pure optimisation: restore one, replay the rest, get the same digests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind, to_record_batch
from canonicalflow.journal import JournalWriter
from canonicalflow.runtime import (
    CONFIG_FILE,
    Sequencer,
    checkpoint_positions,
    latest_checkpoint,
    load_checkpoint,
    replay_journal,
    save_checkpoint,
)
from canonicalflow.state import Core, decode_snapshot, encode_snapshot, replay
from canonicalflow.testing import synthetic_config, synthetic_stream

CLI = shutil.which("canonicalflow") or "canonicalflow"
LENGTH = 6_000
EVERY = 1_000


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic journal with a checkpoint every EVERY positions, saved while it was written."""
    path = tmp_path_factory.mktemp("checkpointed")
    config = synthetic_config()
    (path / CONFIG_FILE).write_text(config.model_dump_json())
    core = Core(config)
    events = list(synthetic_stream(21, LENGTH))
    for ev in events:
        core.apply(ev)
        if ev.position % EVERY == 0:
            save_checkpoint(path, core)
    with JournalWriter(path) as writer:
        writer.append(to_record_batch(events))
    return path


@pytest.fixture(scope="module")
def digests_from_the_start() -> list[bytes]:
    return [result.digest for result in replay(synthetic_stream(21, LENGTH), synthetic_config())]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=3_000), st.integers(min_value=0, max_value=2**32))
def test_a_snapshot_survives_its_json_round_trip(length: int, seed: int) -> None:
    config = synthetic_config().model_copy(update={"retained_final_orders": 20})
    core = Core(config)
    for ev in synthetic_stream(seed, length):
        core.apply(ev)
    snapshot = core.snapshot()
    text = encode_snapshot(snapshot, config.fingerprint)
    decoded = decode_snapshot(text, config.fingerprint, "test")
    assert decoded == snapshot
    # oldest first: the order of the release line is State, and survives into the restored Core
    restored = Core.restore(config, decoded)
    assert list(restored.execution.final_orders) == list(core.execution.final_orders)
    assert restored.snapshot() == snapshot
    assert encode_snapshot(decode_snapshot(text, config.fingerprint, "test"), config.fingerprint) == text


def test_replay_from_every_checkpoint_gives_the_digests_of_replay_from_the_start(
    journal: Path, digests_from_the_start: list[bytes]
) -> None:
    config = synthetic_config()
    assert checkpoint_positions(journal) == list(range(EVERY, LENGTH + 1, EVERY))
    for position in checkpoint_positions(journal)[:-1]:
        start = load_checkpoint(journal, position, config)
        assert start.digest == digests_from_the_start[position - 1]
        resumed = [result.digest for _, result in replay_journal(journal, config, start=start)]
        assert resumed == digests_from_the_start[position:], f"from checkpoint {position}"


def test_the_latest_checkpoint_at_or_before_a_position_is_chosen(journal: Path) -> None:
    config = synthetic_config()
    assert latest_checkpoint(journal, config, 2_999).position == 2_000
    assert latest_checkpoint(journal, config, 3_000).position == 3_000
    assert latest_checkpoint(journal, config, 999) is None


def test_a_damaged_checkpoint_is_refused(journal: Path, tmp_path: Path) -> None:
    copy = tmp_path / "journal"
    shutil.copytree(journal, copy)
    path = copy / "checkpoints" / "checkpoint-000000001000.json"
    path.write_text(path.read_text().replace('"now":', '"now":1', 1))
    with pytest.raises(DataError, match="checksum mismatch"):
        load_checkpoint(copy, 1_000, synthetic_config())


def test_a_checkpoint_from_another_configuration_is_refused(journal: Path) -> None:
    other = CoreConfig(
        version="other", instruments=(Instrument(id=1, symbol="X", tick_size="1", lot_size="1"),)
    )
    with pytest.raises(DataError, match="taken under configuration"):
        load_checkpoint(journal, 1_000, other)


def test_the_replay_command_prints_the_same_state_with_and_without_checkpoints(journal: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "replay", str(journal), "--to", "4321", *extra], capture_output=True, text=True, check=True
        )

    fast, slow = run(), run("--no-checkpoints")
    assert "from checkpoint at position 4000" in fast.stderr and "checkpoint" not in slow.stderr
    state = [line for line in fast.stdout.splitlines() if not line.startswith("rejections")]
    assert state == [line for line in slow.stdout.splitlines() if not line.startswith("rejections")]


def test_the_sequencer_marks_each_checkpoint_in_the_stream_and_saves_the_state_after_it(
    tmp_path: Path,
) -> None:
    recorded: list[Event] = []
    saved: list[int] = []
    core = Core(synthetic_config())
    sequencer = Sequencer(
        core,
        recorded.append,
        risk=lambda intent: 0,
        checkpoint_every=4,
        on_checkpoint=lambda core: saved.append(save_checkpoint(tmp_path, core) and core.position),
    )
    for i in range(10):
        sequencer.feed(Event(kind=int(EventKind.TRADE), ts_receive=i, instrument=1, price=100, qty=1))
    marks = [ev.position for ev in recorded if ev.kind == EventKind.CHECKPOINT]
    assert marks == saved == [5, 9, 13]  # each mark follows a position divisible by 4
    assert load_checkpoint(tmp_path, 13, synthetic_config()).snapshot() == core.snapshot()
