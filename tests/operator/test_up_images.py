"""`katib-py up` maps Katib's own images to the katib-py services that do their job."""

from __future__ import annotations

from importlib.metadata import entry_points

from katib_py.local.up import KATIB_IMAGE_COMMANDS
from katib_py.localcluster.kubelet.images import image_command


def test_katib_images_run_katib_py_services() -> None:
    assert image_command("ghcr.io/kubeflow/katib/suggestion-hyperband:v0.19.0", KATIB_IMAGE_COMMANDS) == (
        "katib-py",
        "suggestion",
        "serve",
        "--algorithm",
        "hyperband",
    )
    collector = image_command(
        "ghcr.io/kubeflow/katib/tfevent-metrics-collector:v0.19.0", KATIB_IMAGE_COMMANDS
    )
    assert collector is not None and collector[-2:] == ("katib-py", "metrics-collector")
    # Images that serve several algorithms, chosen per request, have no mapping.
    assert image_command("ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0", KATIB_IMAGE_COMMANDS) is None


def test_every_mapped_algorithm_is_registered() -> None:
    registered = {ep.name for ep in entry_points(group="katib_py.algorithms")}
    algorithms = {argv[-1] for argv in KATIB_IMAGE_COMMANDS.values() if "suggestion" in argv}
    assert algorithms == {"hyperband", "bayesianoptimization", "enas", "darts", "pbt", "medianstop"}
    assert algorithms <= registered, algorithms - registered
