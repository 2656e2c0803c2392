"""The node settings' pure rules: extended-resource fit (scheduling.py) and image entry points (images.py)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from katib_py.localcluster.kubelet import images, scheduling

GPU = "nvidia.com/gpu"


def pod(
    *containers: dict[str, Any], init: list[dict[str, Any]] | None = None, phase: str = "Running"
) -> dict[str, Any]:
    return {
        "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Never", "containers": list(containers), "initContainers": init or []},
        "status": {"phase": phase},
    }


def gpus(n: int, *, request: bool = False, sidecar: bool = False) -> dict[str, Any]:
    key = "requests" if request else "limits"
    c: dict[str, Any] = {"name": "c", "resources": {key: {GPU: str(n), "cpu": "64"}}}
    if sidecar:
        c["restartPolicy"] = "Always"
    return c


def test_quantities() -> None:
    assert scheduling.quantity("2") == 2
    assert scheduling.quantity("500m") == Decimal("0.5")
    assert scheduling.quantity("1Gi") == 1024**3
    with pytest.raises(ValueError, match="'lots' is not a resource quantity"):
        scheduling.quantity("lots")


def test_only_extended_resources_count() -> None:
    assert scheduling.is_extended(GPU) and scheduling.is_extended("xilinx.com/fpga-u200")
    assert not scheduling.is_extended("cpu") and not scheduling.is_extended("kubernetes.io/foo")
    assert scheduling.pod_requests(pod(gpus(1))) == {GPU: 1}  # cpu 64 is not accounted


def test_pod_requests_sum_app_containers_and_sidecars_against_the_largest_init() -> None:
    assert scheduling.pod_requests(pod(gpus(1), gpus(1, request=True))) == {GPU: 2}
    assert scheduling.pod_requests(pod(gpus(1), init=[gpus(3)])) == {GPU: 3}
    assert scheduling.pod_requests(pod(gpus(1), init=[gpus(1, sidecar=True), gpus(1)])) == {GPU: 2}


def test_fit_counts_the_pods_that_hold_resources() -> None:
    node = {GPU: "2"}
    assert scheduling.unschedulable_message(pod(gpus(2)), node, []) is None
    assert scheduling.unschedulable_message(pod(gpus(1)), node, [pod(gpus(1))]) is None
    assert (
        scheduling.unschedulable_message(pod(gpus(1)), node, [pod(gpus(1), phase="Succeeded"), pod(gpus(1))])
        is None
    )
    message = scheduling.unschedulable_message(pod(gpus(1)), node, [pod(gpus(2))])
    assert message == (
        f"0/1 nodes are available: 1 Insufficient {GPU}. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."
    )
    fpga = {"name": "f", "resources": {"limits": {"xilinx.com/fpga": "1"}}}
    assert "1 Insufficient xilinx.com/fpga" in str(scheduling.unschedulable_message(pod(fpga), node, []))
    assert scheduling.unschedulable_message(pod({"name": "plain"}), {}, []) is None


def test_node_resource_settings_are_checked() -> None:
    assert scheduling.parse_node_resources([f"{GPU}=1", "xilinx.com/fpga = 2"]) == {
        GPU: "1",
        "xilinx.com/fpga": "2",
    }
    cases = {
        "nvidia.com/gpu": "--node-resource 'nvidia.com/gpu': expected NAME=QUANTITY, e.g. nvidia.com/gpu=1",
        "cpu=4": "--node-resource 'cpu=4': 'cpu' is not an extended resource (a domain-qualified name "
        "such as nvidia.com/gpu)",
        f"{GPU}=-1": f"--node-resource '{GPU}=-1': the quantity must not be negative",
        f"{GPU}=x": "'x' is not a resource quantity",
    }
    for item, message in cases.items():
        with pytest.raises(ValueError) as err:
            scheduling.parse_node_resources([item])
        assert message in str(err.value)


def test_image_references_match_by_repository() -> None:
    assert (
        images.image_repository("ghcr.io/kubeflow/katib/suggestion-pbt:v0.17.0")
        == "ghcr.io/kubeflow/katib/suggestion-pbt"
    )
    assert images.image_repository("localhost:5000/x@sha256:abc") == "localhost:5000/x"
    assert images.image_repository("localhost:5000/x") == "localhost:5000/x"
    mapping = {"a/b": ("run",), "a/b:special": ("other",)}
    assert images.image_command("a/b:1", mapping) == ("run",)
    assert images.image_command("a/b:special", mapping) == ("other",)
    assert images.image_command("a/c", mapping) is None


def test_image_command_settings_are_checked() -> None:
    assert images.parse_image_commands(['my/t=python3 "/src/a b.py" -v']) == {
        "my/t": ("python3", "/src/a b.py", "-v")
    }
    for item, message in {
        "my/t": "--image-command 'my/t': expected IMAGE=COMMAND, e.g. my/trainer=python3 /src/train.py",
        "my/t=": "--image-command 'my/t=': expected IMAGE=COMMAND",
        'my/t=python3 "open': "--image-command 'my/t=python3 \"open': No closing quotation",
    }.items():
        with pytest.raises(ValueError) as err:
            images.parse_image_commands([item])
        assert message in str(err.value)


def test_entrypoint_problem_only_without_command_args_and_mapping() -> None:
    mapping = {"my/t": ("run",)}
    assert images.entrypoint_problem(pod({"name": "c", "image": "x", "command": ["a"]}), {}) is None
    assert images.entrypoint_problem(pod({"name": "c", "image": "x", "args": ["a"]}), {}) is None
    assert images.entrypoint_problem(pod({"name": "c", "image": "my/t:2"}), mapping) is None
    problem = images.entrypoint_problem(
        pod({"name": "c", "image": "x"}, init=[{"name": "i", "image": "my/u"}]), mapping
    )
    assert problem is not None and problem.startswith('container "i" has no command, and image "my/u"')
    # A Pod restarted for ever (a Deployment's) is admitted: its container fails to start instead.
    always = pod({"name": "c", "image": "x"})
    always["spec"]["restartPolicy"] = "Always"
    assert images.entrypoint_problem(always, {}) is None
    del always["spec"]["restartPolicy"]  # the default is Always
    assert images.entrypoint_problem(always, {}) is None


def test_katib_py_up_rejects_bad_node_settings() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "katib_py.cli", "up", "--node-resource", "gpu=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "katib-py up: --node-resource 'gpu=1': 'gpu' is not an extended resource" in out.stderr
