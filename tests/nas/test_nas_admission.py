"""Admission of NAS Experiments: nasConfig, the NAS settings tables, trial parameter references."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_py.api.defaults import apply_defaults
from katib_py.api.validation import load_experiment, validate_experiment

SHAPES = Path(__file__).resolve().parents[1] / "api" / "katib_shapes"
Raw = dict[str, Any]


def errors_of(raw: Raw) -> list[str]:
    exp, errors = load_experiment(copy.deepcopy(raw))
    assert exp is not None and errors == []
    return [str(e) for e in validate_experiment(apply_defaults(exp))]


@pytest.fixture
def enas() -> Raw:
    raw: Raw = yaml.safe_load((SHAPES / "enas-cnn.yaml").read_text())
    return raw


@pytest.fixture
def darts() -> Raw:
    raw: Raw = yaml.safe_load((SHAPES / "darts-cells.yaml").read_text())
    return raw


def test_katib_shaped_nas_experiments_are_accepted(enas: Raw, darts: Raw) -> None:
    assert errors_of(enas) == []
    assert errors_of(darts) == []


def test_enas_needs_the_graph_sizes(enas: Raw) -> None:
    del enas["spec"]["nasConfig"]["graphConfig"]["inputSizes"]
    enas["spec"]["nasConfig"]["graphConfig"]["numLayers"] = 0
    assert errors_of(enas) == [
        "spec.nasConfig.graphConfig.numLayers: algorithm enas needs numLayers >= 1",
        "spec.nasConfig.graphConfig.inputSizes: "
        "algorithm enas needs it (the trial builds its network from it)",
    ]


def test_operation_parameters_are_checked(enas: Raw) -> None:
    ops = enas["spec"]["nasConfig"]["operations"]
    ops[0]["parameters"][0]["feasibleSpace"]["list"] = []
    ops[3]["parameters"][1] = {
        "name": "pool_size",
        "parameterType": "int",
        "feasibleSpace": {"min": "4", "max": "2"},
    }
    ops[2]["parameters"].append(
        {"name": "rate", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}
    )
    ops[1]["operationType"] = ""
    assert errors_of(enas) == [
        "spec.nasConfig.operations[0].parameters[0].feasibleSpace.list: "
        "must list at least one value for parameterType categorical",
        "spec.nasConfig.operations[1].operationType: must be specified",
        "spec.nasConfig.operations[2].parameters[2].feasibleSpace.step: "
        "must be a number greater than 0 for parameterType double",
        "spec.nasConfig.operations[3].parameters[1].feasibleSpace.min: "
        "must not be greater than feasibleSpace.max (2)",
    ]


def test_darts_reads_a_filter_size_list(darts: Raw) -> None:
    darts["spec"]["nasConfig"]["operations"][2]["parameters"] = [
        {
            "name": "filter_size",
            "parameterType": "int",
            "feasibleSpace": {"min": "3", "max": "5", "step": "2"},
        }
    ]
    assert errors_of(darts) == [
        "spec.nasConfig.operations[2].parameters[0].parameterType: algorithm darts reads the first "
        "parameter's list (the filter sizes): it must be categorical or discrete, got 'int'"
    ]


def test_too_many_choices_are_refused(enas: Raw) -> None:
    enas["spec"]["nasConfig"]["operations"][3]["parameters"][1]["feasibleSpace"] = {
        "min": "1",
        "max": "200000",
        "step": "1",
    }
    assert errors_of(enas) == [
        "spec.nasConfig.operations: the operations expand to 200010 choices (every combination of their "
        "parameters); at most 100000 are supported"
    ]


def test_references_must_be_the_algorithms_assignments(enas: Raw) -> None:
    enas["spec"]["trialTemplate"]["trialParameters"][1]["reference"] = "nnConfig"
    assert errors_of(enas) == [
        "spec.trialTemplate.trialParameters[1].reference: parameter reference nnConfig does not exist in "
        "the assignments of algorithm enas (names: architecture, nn_config)"
    ]


def test_search_space_kind_must_fit_the_algorithm(enas: Raw) -> None:
    random = copy.deepcopy(enas)
    random["spec"]["algorithm"] = {"algorithmName": "random"}
    assert errors_of(random) == [
        "spec.nasConfig: algorithm random searches spec.parameters; spec.nasConfig needs a NAS algorithm "
        "(darts, enas)"
    ]
    both = copy.deepcopy(enas)
    both["spec"]["parameters"] = [
        {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}
    ]
    assert errors_of(both) == ["spec: only one of spec.parameters and spec.nasConfig can be specified"]


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("controller_temperature", "None", True),
        ("controller_skip_weight", "None", True),
        ("controller_learning_rate", "None", False),
        ("controller_learning_rate", "1", True),
        ("controller_learning_rate", "1.5", False),
        ("controller_entropy_weight", "0", False),  # Katib: a float must be > 0
        ("controller_hidden_size", "0", False),
        ("controller_log_every_steps", "5", True),
    ],
)
def test_enas_settings_follow_katibs_validator(enas: Raw, name: str, value: str, ok: bool) -> None:
    enas["spec"]["algorithm"]["algorithmSettings"] = [{"name": name, "value": value}]
    errors = errors_of(enas)
    assert (errors == []) == ok, errors
    if not ok:
        assert errors[0].startswith(f"spec.algorithm.algorithmSettings[0]: setting {name}: must be")


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("batch_size", "None", True),
        ("batch_size", "0", False),
        ("num_workers", "0", True),
        ("num_nodes", "0", False),
        ("w_momentum", "-0.5", False),
        ("alpha_weight_decay", "0", True),
        ("num_epoch", "3", False),  # Katib's darts passes unknown names to the trial; katib-py refuses them
    ],
)
def test_darts_settings_follow_katibs_validator(darts: Raw, name: str, value: str, ok: bool) -> None:
    darts["spec"]["algorithm"]["algorithmSettings"] = [{"name": name, "value": value}]
    errors = errors_of(darts)
    assert (errors == []) == ok, errors
