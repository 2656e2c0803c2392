"""The enas and darts services over real gRPC, fed requests shaped like Katib's NAS examples, their
replies read the way Katib's trial code reads them (RunTrial.py / run_trial.py: `'` back to `"`,
then json.loads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from katib_py.api import models
from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithms.enas import ROUND_LABEL, choices
from katib_py.suggestion.client import LocalService
from katib_py.suggestion.nas import nas_config_model

from .shapes import choice, enas_cpu_operations, nas_experiment, op

Serve = Callable[..., LocalService]
ENAS_CPU_CHOICES = 3 * 5 * 2 + 3 * 5 * 2 * 2 + 3 * 2 * 2 + 2 * 2


def katib_json(text: str) -> Any:
    """What Katib's trial programs do with an assignment."""
    return json.loads(text.replace("'", '"'))


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


# ---------------------------------------------------------------- enas


def test_enas_reply_parses_as_katibs_trial_parses_it(serve: Serve) -> None:
    client = serve("enas")
    experiment = nas_experiment("enas-cpu", "enas", enas_cpu_operations(), layers=4)
    client.validate(experiment)
    reply = client.suggest(experiment, [], 2)
    assert len(reply.parameter_assignments) == 2
    for item in m.assignments(reply):
        assert set(item.assignment) == {"architecture", "nn_config"}
        assert item.labels == {ROUND_LABEL: "0"}
        arch = katib_json(item.assignment["architecture"])
        nn = katib_json(item.assignment["nn_config"])
        assert item.assignment["architecture"] == json.dumps(arch)  # Katib's spacing: "[[3], [0, 1]]"
        assert [len(layer) for layer in arch] == [1, 2, 3, 4]
        assert all(bit in (0, 1) for layer in arch for bit in layer[1:])
        assert nn["num_layers"] == 4 and nn["input_sizes"] == [32, 32, 3] and nn["output_sizes"] == [10]
        for layer in arch:  # ModelConstructor: embedding[str(opt)]["opt_type"], ["opt_params"]
            entry = nn["embedding"][str(layer[0])]
            assert entry["opt_id"] == layer[0] and 0 <= layer[0] < ENAS_CPU_CHOICES
            assert entry["opt_type"] in {
                "convolution",
                "separable_convolution",
                "depthwise_convolution",
                "reduction",
            }
        assert set(nn["embedding"]) == {str(layer[0]) for layer in arch}


def test_enas_numbers_choices_as_katibs_operation_table() -> None:
    config = nas_config_model(nas_experiment("e", "enas", enas_cpu_operations()).spec.nas_config)
    table = choices(config)
    assert len(table) == ENAS_CPU_CHOICES
    assert table[0].as_dict() == {
        "opt_id": 0,
        "opt_type": "convolution",
        "opt_params": {"filter_size": "3", "num_filter": "32", "stride": "1"},
    }
    assert table[1].opt_params["stride"] == "2"  # the last parameter varies fastest (itertools.product)
    assert table[-1].as_dict() == {
        "opt_id": ENAS_CPU_CHOICES - 1,
        "opt_type": "reduction",
        "opt_params": {"reduction_type": "avg_pooling", "pool_size": 3},  # int ranges stay numbers
    }


def test_enas_nn_config_text_is_katibs() -> None:
    from katib_py.suggestion.algorithms.enas import nn_config_text

    exp = nas_experiment(
        "e", "enas", [op("convolution", choice("filter_size", "3", "5"))], layers=2, input_sizes=(8, 8, 1)
    )
    config = nas_config_model(exp.spec.nas_config)
    text = nn_config_text(config, choices(config), [[1], [1, 0]])
    assert text == (
        "{'num_layers': 2, 'input_sizes': [8, 8, 1], 'output_sizes': [10], 'embedding': "
        "{'1': {'opt_id': 1, 'opt_type': 'convolution', 'opt_params': {'filter_size': '5'}}}}"
    )


def test_enas_accepts_katibs_unit_test_trials(serve: Serve) -> None:
    """Trials as in Katib's test_enas_service.py (no round label, a truncated nn_config) are read
    without learning from them."""
    client = serve("enas")
    experiment = nas_experiment("katib-unit", "enas", enas_cpu_operations(), layers=4)
    trials = [
        m.trial(
            "first-trial",
            {"architecture": "[[3], [0, 1], [0, 0, 1], [2, 1, 0, 0]]", "nn_config": "{'num_layers': 4}"},
            "Succeeded",
            {"Validation-Accuracy": 0.88},
        ),
        m.trial(
            "second-trial",
            {"architecture": "[[1], [0, 1], [0, 0, 1], [2, 1, 0, 0]]", "nn_config": "{'num_layers': 4}"},
            "Succeeded",
            {"Validation-Accuracy": 0.84},
        ),
    ]
    assert len(client.suggest(experiment, trials, 2).parameter_assignments) == 2


def _run_rounds(
    client: LocalService, experiment: api_pb2.Experiment, rounds: int, good: int
) -> tuple[list[api_pb2.Trial], list[float]]:
    """One trial per round, rewarded by the share of its layers that use choice `good`."""
    trials: list[api_pb2.Trial] = []
    shares: list[float] = []
    for i in range(rounds):
        item = m.assignments(client.suggest(experiment, trials, 1))[0]
        arch = katib_json(item.assignment["architecture"])
        share = sum(layer[0] == good for layer in arch) / len(arch)
        shares.append(share)
        trials.append(
            m.trial(f"t{i}", item.assignment, "Succeeded", {"Validation-Accuracy": share}, labels=item.labels)
        )
    return trials, shares


def test_enas_controller_learns_from_rewards(serve: Serve) -> None:
    client = serve("enas")
    ops = [op("convolution", choice("filter_size", "1", "3", "5", "7"))]
    experiment = nas_experiment(
        "learn",
        "enas",
        ops,
        layers=4,
        settings={"controller_learning_rate": "0.005", "controller_train_steps": "20"},
    )
    _, shares = _run_rounds(client, experiment, 40, good=2)
    first, last = sum(shares[:5]) / 5, sum(shares[-10:]) / 10
    assert last >= 0.75 and last > first and shares[0] <= 0.5, shares  # random: 0.25


def test_enas_state_is_rebuilt_from_the_trials_after_a_restart(serve: Serve) -> None:
    ops = [op("convolution", choice("filter_size", "1", "3", "5"))]
    experiment = nas_experiment(
        "restart", "enas", ops, layers=3, settings={"controller_learning_rate": "0.01"}
    )
    warm = serve("enas")
    trials, _ = _run_rounds(warm, experiment, 6, good=0)
    cold = serve("enas")  # a new service: nothing in memory
    assert m.assignments(cold.suggest(experiment, trials, 3)) == m.assignments(
        warm.suggest(experiment, trials, 3)
    )


def test_enas_waits_for_a_round_to_finish_and_negates_a_minimised_objective(serve: Serve) -> None:
    ops = [op("convolution", choice("filter_size", "1", "3"))]
    experiment = nas_experiment("wait", "enas", ops, layers=2, metric="loss", maximize=False)
    client = serve("enas")
    first = m.assignments(client.suggest(experiment, [], 2))
    running = [
        m.trial("a", first[0].assignment, "Succeeded", {"loss": 0.1}, labels=first[0].labels),
        m.trial("b", first[1].assignment, "Running", labels=first[1].labels),
    ]
    second = m.assignments(client.suggest(experiment, running, 1))
    assert second[0].labels == {ROUND_LABEL: "1"}
    finished = [*running[:1], m.trial("b", first[1].assignment, "Failed", labels=first[1].labels)]
    assert len(client.suggest(experiment, finished, 1).parameter_assignments) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"controller_learning_rate": "0"}, "controller_learning_rate: must be a number > 0 and <= 1"),
        ({"controller_baseline_decay": "1.5"}, "controller_baseline_decay"),
        ({"controller_hidden_size": "None"}, "controller_hidden_size"),
        ({"controller_train_steps": "0"}, "controller_train_steps"),
        ({"no_such_setting": "1"}, "unknown setting 'no_such_setting'"),
    ],
)
def test_enas_refuses_bad_settings(serve: Serve, settings: dict[str, str], message: str) -> None:
    client = serve("enas")
    experiment = nas_experiment("bad", "enas", enas_cpu_operations(), settings=settings)
    error = rpc_error(lambda: client.validate(experiment))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and message in str(error.details())


def test_enas_takes_none_where_katib_does(serve: Serve) -> None:
    client = serve("enas")
    none = {
        k: "None"
        for k in (
            "controller_temperature",
            "controller_tanh_const",
            "controller_entropy_weight",
            "controller_skip_weight",
        )
    }
    experiment = nas_experiment("none", "enas", enas_cpu_operations(), settings=none)
    client.validate(experiment)
    assert len(client.suggest(experiment, [], 1).parameter_assignments) == 1


def test_enas_refuses_a_graph_without_sizes_and_an_experiment_without_nas_config(serve: Serve) -> None:
    client = serve("enas")
    experiment = nas_experiment("sizes", "enas", enas_cpu_operations(), input_sizes=())
    error = rpc_error(lambda: client.validate(experiment))
    assert "spec.nasConfig.graphConfig.inputSizes" in str(error.details())
    plain = m.experiment("plain", "enas", [m.parameter("x", "double", min=0, max=1)])
    assert "needs spec.nasConfig" in str(rpc_error(lambda: client.validate(plain)).details())
    random = serve("random")
    nas_for_random = nas_experiment("r", "random", enas_cpu_operations())
    assert "needs spec.parameters" in str(rpc_error(lambda: random.validate(nas_for_random)).details())


# ---------------------------------------------------------------- darts


def darts_cpu() -> api_pb2.Experiment:
    """Katib's darts-cpu example: one layer, one node, max pooling 3x3, one epoch."""
    settings = {"num_epochs": "1", "num_nodes": "1", "init_channels": "1", "stem_multiplier": "1"}
    return nas_experiment(
        "darts-cpu",
        "darts",
        [op("max_pooling", choice("filter_size", "3"))],
        layers=1,
        input_sizes=(),
        output_sizes=(),
        settings=settings,
        metric="Best-Genotype",
    )


def test_darts_reply_is_katibs_strings(serve: Serve) -> None:
    client = serve("darts")
    client.validate(darts_cpu())
    reply = m.assignments(client.suggest(darts_cpu(), [], 1))
    assert len(reply) == 1
    assert reply[0].assignment == {
        "algorithm-settings": (
            "{'num_epochs': '1', 'w_lr': 0.025, 'w_lr_min': 0.001, 'w_momentum': 0.9, "
            "'w_weight_decay': 0.0003, 'w_grad_clip': 5.0, 'alpha_lr': 0.0003, 'alpha_weight_decay': 0.001, "
            "'batch_size': 128, 'num_workers': 4, 'init_channels': '1', 'print_step': 50, 'num_nodes': '1', "
            "'stem_multiplier': '1'}"
        ),
        "search-space": "['max_pooling_3x3']",
        "num-layers": "1",
    }
    assert katib_json(reply[0].assignment["algorithm-settings"])["num_epochs"] == "1"


def test_darts_search_space_of_katibs_gpu_example(serve: Serve) -> None:
    ops = [
        op("separable_convolution", choice("filter_size", "3")),
        op("dilated_convolution", choice("filter_size", "3", "5")),
        op("avg_pooling", choice("filter_size", "3")),
        op("max_pooling", choice("filter_size", "3")),
        op("skip_connection"),  # no parameters, as in Katib's darts-gpu.yaml
    ]
    experiment = nas_experiment(
        "darts-gpu", "darts", ops, settings={"num_epochs": "3", "batch_size": "None"}, metric="Best-Genotype"
    )
    client = serve("darts")
    client.validate(experiment)
    item = m.assignments(client.suggest(experiment, [], 2))
    assert len(item) == 2 and item[0] == item[1]
    assert katib_json(item[0].assignment["search-space"]) == [
        "separable_convolution_3x3",
        "dilated_convolution_3x3",
        "dilated_convolution_5x5",
        "avg_pooling_3x3",
        "max_pooling_3x3",
        "skip_connection",
    ]
    assert katib_json(item[0].assignment["algorithm-settings"])["batch_size"] is None
    assert item[0].assignment["num-layers"] == "3"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_epochs": "0"}, "num_epochs"),
        ({"w_lr": "-0.1"}, "w_lr"),
        ({"num_epoch": "3"}, "unknown setting"),
    ],
)
def test_darts_refuses_bad_settings(serve: Serve, settings: dict[str, str], message: str) -> None:
    experiment = nas_experiment(
        "d", "darts", [op("max_pooling", choice("filter_size", "3"))], settings=settings
    )
    error = rpc_error(lambda: serve("darts").validate(experiment))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and message in str(error.details())


def test_darts_needs_a_filter_size_list() -> None:
    config = models.NasConfig.load(
        {"graphConfig": {"numLayers": 1}, "operations": [{"operationType": "max_pooling"}]}
    )
    from katib_py.api.algorithms import DARTS
    from katib_py.suggestion.nas import nas_problems

    assert nas_problems(config, DARTS) == [
        "spec.nasConfig.operations[0].parameters: must list at least one parameter"
    ]
