"""`canonicalflow replay` and `verify-determinism` on a journal written by `journal synth`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from canonicalflow.runtime import first_divergence, replay_journal
from canonicalflow.state import replay
from canonicalflow.testing import synthetic_config, synthetic_stream

CLI = shutil.which("canonicalflow") or "canonicalflow"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal"
    assert _run("journal", "synth", str(path), "--events", "3000", "--seed", "5").returncode == 0
    return path


def test_replay_from_the_journal_reproduces_the_digest_of_the_stream(journal: Path) -> None:
    expected = [r.digest for r in replay(synthetic_stream(5, 3000), synthetic_config())]
    from_journal = [result.digest for _, result in replay_journal(journal, synthetic_config())]
    assert from_journal == expected


def test_replay_prints_state_and_digest_at_a_position(journal: Path) -> None:
    expected = [r.digest for r in replay(synthetic_stream(5, 1200), synthetic_config())][-1]
    result = _run("replay", str(journal), "--to", "1200")
    assert result.returncode == 0, result.stderr
    assert "position      1200" in result.stdout
    assert f"digest        {expected.hex()}" in result.stdout


def test_verify_determinism_compares_every_position(journal: Path) -> None:
    result = _run("verify-determinism", str(journal))
    assert result.returncode == 0, result.stderr
    assert "identical digests at all 3,000 positions" in result.stdout


def test_a_missing_configuration_is_a_clear_error(journal: Path) -> None:
    (journal / "config.json").unlink()
    result = _run("replay", str(journal))
    assert result.returncode == 1
    assert "no configuration" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_configuration_names_the_field(journal: Path) -> None:
    (journal / "config.json").write_text('{"version": "1", "instruments": [{"id": -1}]}')
    result = _run("replay", str(journal))
    assert result.returncode == 1
    assert "instruments.0" in result.stderr and "Traceback" not in result.stderr


def test_first_divergence_names_the_position(tmp_path: Path) -> None:
    def records(digests: list[bytes]) -> bytes:
        return b"".join(p.to_bytes(8, "little", signed=True) + d for p, d in enumerate(digests, 1))

    same, other = bytes(16), bytes([1]) + bytes(15)
    (tmp_path / "a").write_bytes(records([same, same, same]))
    (tmp_path / "b").write_bytes(records([same, same, other]))
    assert first_divergence(tmp_path / "a", tmp_path / "b") == (2, 3)
    assert first_divergence(tmp_path / "a", tmp_path / "a") == (3, None)
    (tmp_path / "c").write_bytes(records([same, same]))
    assert first_divergence(tmp_path / "a", tmp_path / "c") == (2, 3)
