"""The informer against a real API server: one namespace, one label, through list and watch."""

from __future__ import annotations

import asyncio
from pathlib import Path

from katib_py.kube.client import KubeClient
from katib_py.kube.informer import Informer
from katib_py.kube.resource import CONFIGMAPS, NAMESPACES
from katib_py.localcluster.apiserver import ApiServer


def _configmap(name: str, namespace: str, app: str) -> dict[str, object]:
    meta = {"name": name, "namespace": namespace, "labels": {"app": app}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


async def test_an_informer_keeps_one_namespace_and_one_label(apiserver: ApiServer, tmp_path: Path) -> None:
    client = KubeClient.from_kubeconfig(str(tmp_path / "kubeconfig"))
    informer = Informer(client, CONFIGMAPS, namespace="default", label_selector="app=mine")
    seen: list[tuple[str, str]] = []
    informer.add_listener(lambda kind, obj, _: seen.append((kind, obj["metadata"]["name"])))
    try:
        await client.create(
            NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
        )
        await client.create(CONFIGMAPS, _configmap("listed", "default", "mine"))
        await client.create(CONFIGMAPS, _configmap("other-label", "default", "theirs"))
        await client.create(CONFIGMAPS, _configmap("other-namespace", "other", "mine"))
        informer.start()
        await asyncio.wait_for(informer.synced.wait(), 10)
        await client.create(CONFIGMAPS, _configmap("watched", "default", "mine"))
        await client.create(CONFIGMAPS, _configmap("watched-other", "default", "theirs"))
        await client.create(CONFIGMAPS, _configmap("watched-elsewhere", "other", "mine"))
        async with asyncio.timeout(10):
            while ("ADDED", "watched") not in seen:
                await asyncio.sleep(0.05)
        assert sorted(name for _, name in informer.cache) == ["listed", "watched"]
        assert seen == [("ADDED", "listed"), ("ADDED", "watched")]
    finally:
        await informer.stop()
        await client.close()
