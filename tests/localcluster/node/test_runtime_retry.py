"""A container waiting for its config retries in a loop: the kubelet's runtime, with no API server.

The Pod worker and its container runner are the real ones and the container really runs (through
the launcher, without namespaces); only the source of ConfigMaps is a function of this test, so
that the retry path can be driven past the interpreter's recursion limit with no delay.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from katib_py.kube.client import KubeClient
from katib_py.localcluster.kubelet.logs import LogStore
from katib_py.localcluster.kubelet.runtime import NodeConfig, PodWorker
from katib_py.localcluster.kubelet.volumes import VolumeBuilder


def node_config(data_dir: Path, fetch: Any) -> NodeConfig:
    return NodeConfig(
        node_name="local",
        data_dir=data_dir,
        api_host="127.0.0.1",
        api_port=6443,
        ca_pem=None,
        isolate=False,
        backoff_base=0.01,
        logs=LogStore(data_dir / "logs"),
        volumes=VolumeBuilder(KubeClient("http://127.0.0.1:6443"), data_dir, lambda _ns, _sa: ""),
        fetch=fetch,
        mint_token=lambda _ns, _sa: "",
        hosts_content=lambda _ip, _host, _ns: "",
        config_retry=0.0,
    )


async def test_waiting_for_a_missing_config_map_does_not_grow_the_stack(tmp_path: Path) -> None:
    retries = sys.getrecursionlimit() + 100
    calls = 0

    async def fetch(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        nonlocal calls
        calls += 1
        if calls <= retries:
            return None  # not created yet: the container waits in CreateContainerConfigError
        return {"metadata": {"name": name, "namespace": namespace}, "data": {"color": "blue"}}

    pod = {
        "metadata": {"name": "waits", "namespace": "ns", "uid": "uid-waits"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sh", "-c", "echo $COLOR"],
                    "env": [
                        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}}
                    ],
                }
            ],
        },
    }
    node = node_config(tmp_path, fetch)
    worker = PodWorker(node, pod, "127.0.0.1", lambda _w: None)
    runner = worker.main_runners[0]
    await asyncio.wait_for(runner.run(), 120)
    assert calls == retries + 1
    record = runner.record
    assert (record.state, record.exit_code, record.reason) == ("terminated", 0, "Completed")
    assert node.logs.path("ns", "waits", "main").read_text() == "blue\n"
