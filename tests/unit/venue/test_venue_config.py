"""The venue's Configuration refuses what it cannot run, naming the problem; latency models are exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from canonicalflow.errors import DataError
from canonicalflow.queue import ConservativeQueue, queue_model
from canonicalflow.venue import EmpiricalLatency, LatencyConfig, VenueConfig, read_latency_file
from canonicalflow.venue._latency import LatencySample


def test_an_unknown_key_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="queue_modle"):
        VenueConfig(queue_modle="power")  # type: ignore[call-arg]


def test_an_unknown_queue_model_names_the_choices() -> None:
    with pytest.raises(ValidationError, match="conservative, power, power2, power3, log, log2"):
        VenueConfig(queue_model="fifo")


def test_a_users_model_loads_from_its_import_path() -> None:
    model = queue_model("canonicalflow.queue._models:ConservativeQueue")
    assert isinstance(model, ConservativeQueue)
    assert VenueConfig(queue_model="canonicalflow.queue._models:ConservativeQueue").build_queue_model()


@pytest.mark.parametrize(
    ("path", "problem"),
    [("no.such.module:Model", "cannot be loaded"), ("canonicalflow.venue:VenueConfig", "needs a `name`")],
)
def test_a_users_model_that_cannot_serve_is_refused(path: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        VenueConfig(queue_model=path)


def test_latency_per_request_type_must_name_all_three() -> None:
    with pytest.raises(ValidationError, match="missing \\['cancel'\\]"):
        LatencyConfig(entry_ns={"new": 1, "modify": 2})


def test_an_empirical_latency_needs_its_file() -> None:
    with pytest.raises(ValidationError, match="needs `file`"):
        LatencyConfig(model="empirical")


def test_a_latency_row_out_of_order_is_an_error_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "latency.csv"
    path.write_text("req_ts,exch_ts,resp_ts\n100,150,190\n200,190,260\n")
    with pytest.raises(DataError, match="row 2"):
        read_latency_file(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read latency samples"),
        ("req_ts,exch_ts,resp_ts\n", "no latency samples"),
        ("req_ts,exch_ts\n1,2\n", "lacks column\\(s\\) resp_ts"),
        ("req_ts,exch_ts,resp_ts\n1,x,3\n", "must be integer nanoseconds"),
        ("req_ts,exch_ts,resp_ts\n1,2,3\n4,,6\n", "row 2"),
    ],
    ids=["missing", "header-only", "no-resp_ts", "not-a-number", "blank-time"],
)
def test_a_latency_file_that_cannot_serve_is_refused_by_the_config_naming_it(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "latency.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=problem):
        read_latency_file(path)
    with pytest.raises(ValidationError, match=rf"latency.csv: .*{problem}"):
        LatencyConfig(model="empirical", file=path)


def test_empirical_latency_interpolates_in_integer_nanoseconds_and_holds_at_the_ends() -> None:
    latency = EmpiricalLatency([LatencySample(1_000, 1_100, 1_300), LatencySample(2_000, 2_301, 2_400)])
    assert latency.entry(1_500, 1) == 200  # halfway from 100 to 301 is 200.5, floored
    assert latency.response(1_500, 1) == 149  # halfway from 200 to 99 is 149.5, floored
    assert latency.entry(0, 1) == 100 and latency.entry(9_000, 3) == 301
