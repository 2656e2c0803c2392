"""The NAS trial programs: Katib's arguments in, Katib's metric lines out, honest training."""

from __future__ import annotations

import collections
import re
import subprocess
import sys

import numpy as np
import pytest

from katib_py.trainers import darts_trainer as darts
from katib_py.trainers import enas_trainer as enas
from katib_py.trainers.nas_common import Data, katib_json, load_digits

# Katib's default StdOut filter and the DARTS example's Genotype filter
DEFAULT_FILTER = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
GENOTYPE_FILTER = re.compile(r"([\w-]+)=(Genotype.*)")


def op(i: int, kind: str, **params: object) -> dict[str, object]:
    return {"opt_id": i, "opt_type": kind, "opt_params": params}


NN_CONFIG = {
    "num_layers": 4,
    "input_sizes": [8, 8, 1],
    "output_sizes": [10],
    "embedding": {
        "0": op(0, "convolution", filter_size="3", num_filter="8", stride="1"),
        "1": op(
            1, "separable_convolution", filter_size="3", num_filter="8", depth_multiplier="2", stride="2"
        ),
        "2": op(2, "depthwise_convolution", filter_size="5", depth_multiplier="1"),
        "3": op(3, "reduction", reduction_type="avg_pooling", pool_size=2),
    },
}
ARCH = [[0], [1, 1], [3, 0, 1], [2, 1, 1, 0]]


@pytest.fixture(scope="module")
def small() -> Data:
    """Half of digits' training quarter, a third of its validation quarter: fast, still learnable."""
    d = load_digits()
    return Data(d.x_train[::2], d.y_train[::2], d.x_val[::3], d.y_val[::3])


def test_child_network_follows_katibs_model_constructor() -> None:
    net = enas.ChildNetwork(ARCH, NN_CONFIG, np.random.default_rng(0))
    assert [p.sources for p in net.plan] == [[0], [1, 0], [2, 1], [3, 0, 1]]  # skip bit 0 is the input
    # conv 8x8x8; sep conv stride 2 on [layer 1 + input] -> 4x4x8; pooling on [layer 2, layer 1 padded
    # to 8x8]; depthwise on [layer 3 (4x4), input, layer 1]
    assert net.shapes == [(8, 8, 1), (8, 8, 8), (4, 4, 8), (4, 4, 16), (8, 8, 25)]
    assert net.describe()[1] == "layer 2: separable_convolution 3x3 stride 2 <- layer 1, input -> 4x4x8"


def test_reduction_of_a_too_small_input_is_an_identity() -> None:
    config = {**NN_CONFIG, "num_layers": 4, "embedding": {"3": op(3, "reduction", pool_size=3)}}
    net = enas.ChildNetwork([[3], [3, 0], [3, 0, 0], [3, 0, 0, 0]], config, np.random.default_rng(0))
    assert [s[:2] for s in net.shapes] == [(8, 8), (2, 2), (2, 2), (2, 2), (2, 2)]
    assert "identity" in net.describe()[1]


def test_child_training_learns(small: Data) -> None:
    accuracy = enas.train_child(
        ARCH, NN_CONFIG, 3, data=small, learning_rate=0.01, batch_size=16, verbose=False
    )
    assert accuracy > 0.6  # ten classes: chance is 0.1


def test_enas_trainer_takes_katibs_arguments() -> None:
    """As in Katib's example: quoted JSON texts with ' for "; run without a shell the quotes stay."""
    from katib_py.suggestion.nas import katib_text

    arch, nn_config = katib_text(ARCH), katib_text(NN_CONFIG)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "katib_py.trainers.enas_trainer",
            "--num_epochs=1",
            f'--architecture="{arch}"',
            f'--nn_config="{nn_config}"',
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    metrics = {m.group(1): float(m.group(2)) for m in DEFAULT_FILTER.finditer(done.stdout) if m.group(2)}
    assert set(metrics) >= {"Training-Accuracy", "Training-Loss", "Validation-Accuracy", "Validation-Loss"}
    assert f">>> architecture: {ARCH}" in done.stdout


def test_enas_trainer_refuses_what_it_cannot_build() -> None:
    cifar = katib_json("{'num_layers': 1, 'input_sizes': [32, 32, 3], 'output_sizes': [10], 'embedding': {}}")
    assert enas.main(["--architecture=[[0]]", f"--nn_config={cifar}".replace('"', "'")]) == 2
    unknown = {**NN_CONFIG, "num_layers": 1, "embedding": {"0": op(0, "attention")}}
    with pytest.raises(enas.ArchitectureError, match="unknown operation type 'attention'"):
        enas.ChildNetwork([[0]], unknown, np.random.default_rng(0))


def test_genotype_prints_as_katibs_namedtuple() -> None:
    katib = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    normal = [[("max_pooling_3x3", 0), ("skip_connection", 1)]]
    ours = darts.Genotype(normal, range(2, 3), [], range(2, 3))
    assert str(ours) == str(katib(normal, range(2, 3), [], range(2, 3)))
    assert darts.Genotype.parse(str(ours).replace(" ", "")) == ours


def test_gene_takes_the_two_strongest_edges_without_none() -> None:
    from katib_py.nn.tensor import parameter

    prims = ["max_pooling_3x3", "skip_connection", "none"]
    alpha = parameter(np.array([[0.1, 0.2, 9.0], [0.5, 0.0, 0.0], [0.0, 0.3, 0.0]]))
    assert darts.parse_gene([alpha], prims) == [[("max_pooling_3x3", 1), ("skip_connection", 2)]]


def test_darts_search_moves_alphas_and_weights(small: Data) -> None:
    settings = darts.DartsSettings.from_katib(
        {
            **darts.DEFAULTS,
            "num_epochs": 1,
            "init_channels": 2,
            "num_nodes": 2,
            "stem_multiplier": 1,
            "batch_size": 64,
            "alpha_lr": 0.01,
        }
    )
    result = darts.search(
        settings,
        ["max_pooling_3x3", "separable_convolution_3x3", "skip_connection"],
        2,
        data=small,
        verbose=False,
    )
    assert len(result.genotype.normal) == len(result.genotype.reduce) == 2
    assert all(len(node) == 2 and all(p != "none" for p, _ in node) for node in result.genotype.normal)
    assert 0.0 < result.accuracy <= 1.0


def test_darts_trainer_takes_katibs_arguments_and_prints_the_best_genotype() -> None:
    settings = (
        "{'num_epochs': '1', 'w_lr': 0.025, 'w_lr_min': 0.001, 'w_momentum': 0.9, 'w_weight_decay': "
        "0.0003, 'w_grad_clip': 5.0, 'alpha_lr': 0.0003, 'alpha_weight_decay': 0.001, 'batch_size': null, "
        "'num_workers': 4, 'init_channels': '1', 'print_step': 50, 'num_nodes': '1', 'stem_multiplier': '1'}"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "katib_py.trainers.darts_trainer",
            f"--algorithm-settings={settings}",
            "--search-space=['max_pooling_3x3', 'dilated_convolution_5x5']",
            "--num-layers=1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    (found,) = [m for line in done.stdout.splitlines() if (m := GENOTYPE_FILTER.search(line))]
    assert found.group(1) == "Best-Genotype"
    genotype = darts.Genotype.parse(found.group(2))
    assert genotype.reduce == [] and genotype.normal_concat == range(2, 3)
    assert "Validation-Accuracy=" in done.stdout


def test_a_genotype_network_trains_from_scratch(small: Data) -> None:
    genotype = darts.Genotype.parse(
        "Genotype(normal=[[('separable_convolution_3x3',0),('skip_connection',1)],[('max_pooling_3x3',2),"
        "('dilated_convolution_3x3',0)]],normal_concat=range(2,4),reduce=[[('avg_pooling_3x3',0),"
        "('skip_connection',1)],[('max_pooling_3x3',0),('separable_convolution_3x3',2)]],reduce_concat=range(2,4))"
    )
    config = darts.NetConfig(num_layers=2, num_nodes=2, init_channels=4, stem_multiplier=2)
    assert darts.train_genotype(genotype, config, 2, data=small, batch_size=16, verbose=False) > 0.3


def test_darts_refuses_an_unknown_primitive() -> None:
    with pytest.raises(darts.SearchSpaceError, match="unknown primitive 'conv_3x3'"):
        darts.primitives(["conv_3x3"])
    assert darts.primitives(["none", "skip_connection"]) == ["skip_connection", "none"]
