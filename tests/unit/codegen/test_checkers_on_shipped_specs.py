"""The fast checkers pass on every shipped machine, covering every state, row and target."""

from __future__ import annotations

import importlib

import pytest

from codegen.pipeline import Project
from codegen.verify.differential import check_differential
from codegen.verify.model_checker import check_model

MACHINES = [m.name for m in Project.locate().machines()]


def _generated(machine: str, kind: str):
    return importlib.import_module(f"canonicalflow._generated.{machine}_{kind}")


@pytest.mark.parametrize("machine", MACHINES)
def test_model_checker_covers_every_row_and_finds_nothing(machine: str) -> None:
    result = check_model(_generated(machine, "model"))
    assert result.ok, "\n".join(result.failures)
    assert result.rows_covered == result.rows_total
    assert result.domain_states >= result.states - 1


@pytest.mark.parametrize("machine", MACHINES)
def test_kernel_agrees_with_the_transitions_machine(machine: str) -> None:
    result = check_differential(_generated(machine, "model"), _generated(machine, "transitions"))
    assert result.ok, "\n".join(result.failures)
    assert result.comparisons > 0
