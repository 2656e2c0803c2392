"""`katib-py up` starts while another host process listens on *:6789 (the db-manager's port).

As root the db-manager serves in a network namespace of its own (tested with the foreign
suggestion services in tests/plugins/test_e2e_custom_algorithms.py). Here Pods share the host's
network (`--no-pod-netns`, what non-root hosts get): the db-manager takes another port, which
its Service and the operator name, and an Experiment's metrics still reach it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .operator_e2e import STARTUP_SECONDS, X_PARAMETER, _experiment, condition, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def test_up_without_pod_namespaces_moves_the_db_manager_off_a_taken_6789(tmp_path: Path) -> None:
    # gRPC's SO_REUSEPORT, so that other stacks on this machine keep their 6789 meanwhile; a plain
    # bind (what `katib-py up` probed with) still finds no address.
    with socket.socket() as host_process:
        host_process.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        host_process.bind(("0.0.0.0", 6789))
        host_process.listen()
        stack = start_stack(tmp_path, "--no-pod-netns")
    try:
        service = stack.get("service", "katib-db-manager", "kubeflow")
        endpoints = stack.get("endpoints", "katib-db-manager", "kubeflow")
        assert service is not None and endpoints is not None
        port = service["spec"]["ports"][0]["port"]
        assert port != 6789
        assert endpoints["subsets"][0]["ports"][0]["port"] == port
        assert "the db-manager serves on" in (stack.data_dir / "up.log").read_text()
        script = stack.gates / "report.sh"  # beside the data dir, which Pods do not see
        script.write_text(f"sleep {STARTUP_SECONDS}\necho accuracy=$1\n")
        stack.apply(_experiment("moved-db", ["/bin/sh", str(script), "${trialParameters.x}"], X_PARAMETER))
        exp = stack.wait_finished("moved-db", timeout=240)
        assert condition(exp, "Succeeded") is not None, exp["status"]
        assert exp["status"]["currentOptimalTrial"]["observation"]["metrics"][0]["name"] == "accuracy"
    finally:
        stop_stack(stack)
