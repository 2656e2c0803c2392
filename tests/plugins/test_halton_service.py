"""The foreign suggestion service (examples/foreign-suggestion/halton_service.py) over real gRPC.

It is run as its image runs it: `python3 halton_service.py` in a directory holding the stubs
generated from protos/api.proto, with no katib-py code involved.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.client import AlgorithmClient, ServiceProcess

SOURCE = Path(__file__).resolve().parents[2] / "examples" / "foreign-suggestion" / "halton_service.py"
PARAMS = [m.parameter("x", "double", min=0, max=1), m.parameter("k", "categorical", values=["a", "b", "c"])]


@pytest.fixture
def halton(foreign_app: Path, free_port: int) -> Iterator[AlgorithmClient]:
    address = f"127.0.0.1:{free_port}"
    argv = [sys.executable, "halton_service.py", "--listen", address]
    served = ServiceProcess.start(argv, address, cwd=str(foreign_app))
    try:
        yield served.client
    finally:
        assert served.stop() == 0, served.read_output()


def test_it_imports_nothing_of_katib_py() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names)
    assert third_party == {"api_pb2", "api_pb2_grpc", "grpc", "grpc_health"}


def test_it_answers_katibs_health_probe(halton: AlgorithmClient) -> None:
    assert halton.health_status("manager.v1beta1.Suggestion") == health_pb2.HealthCheckResponse.SERVING
    assert halton.health_status("") == health_pb2.HealthCheckResponse.SERVING


def points(client: AlgorithmClient, exp: api_pb2.Experiment, count: int, total: int) -> list[dict[str, str]]:
    reply = client.suggest(exp, [], count, total)
    return [a.assignment for a in m.assignments(reply)]


def test_suggestions_continue_the_halton_sequence(halton: AlgorithmClient) -> None:
    exp = m.experiment("h", "halton", PARAMS)
    # Point i: x = radical inverse of i in base 2, k = the list position of its inverse in base 3.
    assert points(halton, exp, 3, 3) == [
        {"x": "0.5", "k": "b"},  # 1 -> 1/2, 1/3
        {"x": "0.25", "k": "c"},  # 2 -> 1/4, 2/3
        {"x": "0.75", "k": "a"},  # 3 -> 3/4, 1/9
    ]
    # One handed out before (total 3 asked, 2 of them now): the sequence goes on from point 2, the
    # same whenever asked (nothing is kept between calls).
    assert points(halton, exp, 2, 3) == [{"x": "0.25", "k": "c"}, {"x": "0.75", "k": "a"}]
    assert points(halton, exp, 2, 3) == [{"x": "0.25", "k": "c"}, {"x": "0.75", "k": "a"}]
    shifted = m.experiment("h", "halton", PARAMS, settings={"start_index": "3"})
    assert points(halton, shifted, 1, 1) == [{"x": "0.125", "k": "b"}]  # 4 -> 1/8, 4/9


def test_int_steps_and_a_log_scale(halton: AlgorithmClient) -> None:
    params = [
        m.parameter("n", "int", min=1, max=4),
        m.parameter("lr", "double", min=0.001, max=0.1, distribution="logUniform"),
    ]
    got = points(halton, m.experiment("h", "halton", params), 2, 2)
    # 1 -> (1/2, 1/3): the third of four ints, 10 ** (-3 + 2 * 1/3); 2 -> (1/4, 2/3): the second,
    # 10 ** (-3 + 2 * 2/3).
    assert got == [{"n": "3", "lr": "0.004641588834"}, {"n": "2", "lr": "0.0215443469"}]


@pytest.mark.parametrize(
    ("algorithm", "settings", "params", "message"),
    [
        (
            "halton",
            {"seed": "1"},
            PARAMS,
            "unknown setting 'seed' for algorithm halton (known settings: start_index)",
        ),
        ("halton", {"start_index": "-1"}, PARAMS, "setting start_index must be an integer >= 0, got '-1'"),
        (
            "halton",
            {},
            [m.parameter("x", "double", min=0, max=1, distribution="normal")],
            "parameter x: algorithm halton supports uniform and logUniform only",
        ),
        ("random", {}, PARAMS, "this service runs 'halton', not 'random'"),
    ],
)
def test_validate_algorithm_settings(
    halton: AlgorithmClient,
    algorithm: str,
    settings: dict[str, str],
    params: list[api_pb2.ParameterSpec],
    message: str,
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        halton.validate(m.experiment("h", algorithm, params, settings=settings))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == message
