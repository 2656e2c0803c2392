"""The one REST client against a real API server: the error tree and re-login after a 401."""

from __future__ import annotations

from pathlib import Path

import pytest

from katib_py.kube.client import KubeClient
from katib_py.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
    from_response,
)
from katib_py.kube.resource import CONFIGMAPS, NAMESPACES
from katib_py.localcluster.apiserver import ApiServer


def _configmap(name: str, rv: str | None = None) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": "default"}
    if rv:
        meta["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}


async def test_each_failure_raises_its_class(apiserver: ApiServer, tmp_path: Path) -> None:
    client = KubeClient.from_kubeconfig(str(tmp_path / "kubeconfig"))
    try:
        with pytest.raises(NotFound) as missing:
            await client.get(CONFIGMAPS, "nope", "default")
        assert missing.value.status == 404 and missing.value.reason == "NotFound"
        assert missing.value.message == 'configmaps "nope" not found'
        assert await client.get_or_none(CONFIGMAPS, "nope", "default") is None

        created = await client.create(CONFIGMAPS, _configmap("one"))
        with pytest.raises(AlreadyExists) as twice:
            await client.create(CONFIGMAPS, _configmap("one"))
        assert isinstance(twice.value, Conflict) and twice.value.status == 409
        assert await client.create_if_absent(CONFIGMAPS, _configmap("one")) is None

        stale = _configmap("one", rv=str(int(created["metadata"]["resourceVersion"]) - 1))
        with pytest.raises(Conflict) as lost:
            await client.replace(CONFIGMAPS, stale)
        assert not isinstance(lost.value, AlreadyExists) and lost.value.reason == "Conflict"

        with pytest.raises(Invalid) as bad:
            await client.create(
                CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "default"
            )
        assert bad.value.status == 422 and "name or generateName is required" in bad.value.message
        assert await client.delete(CONFIGMAPS, "nope", "default") is False
    finally:
        await client.close()


def test_an_answer_that_is_not_a_status_keeps_its_text() -> None:
    err = from_response(502, "<html>bad gateway</html>")
    assert type(err) is ApiError and err.status == 502 and err.message == "<html>bad gateway</html>"
    assert str(err) == "502: <html>bad gateway</html>"


async def test_a_401_reads_the_credentials_again_and_retries_once(
    apiserver: ApiServer, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    good = kubeconfig.read_text()
    assert "the-admin-token" in good
    kubeconfig.write_text(good.replace("the-admin-token", "an-expired-token"))
    client = KubeClient.from_kubeconfig(str(kubeconfig))  # holds the expired token
    try:
        kubeconfig.write_text(good)  # the exec plugin / projected token rotated meanwhile
        names = [ns["metadata"]["name"] for ns in await client.list(NAMESPACES)]
        assert "default" in names
        # watches re-login the same way
        client._authorization = "Bearer an-expired-token"
        stream = client.watch(NAMESPACES, resource_version="0", timeout_seconds=1)
        kind, obj = await anext(stream)
        assert kind == "ADDED" and obj["kind"] == "Namespace"
        await stream.aclose()
    finally:
        await client.close()


async def test_a_401_stands_when_the_credentials_did_not_change(apiserver: ApiServer, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig.read_text().replace("the-admin-token", "a-wrong-token"))
    client = KubeClient.from_kubeconfig(str(kubeconfig))
    fixed = KubeClient(apiserver.url, authorization="Bearer a-wrong-token", ssl_context=False)
    try:
        for c in (client, fixed):
            with pytest.raises(Unauthorized) as denied:
                await c.list(NAMESPACES)
            assert denied.value.status == 401
    finally:
        await client.close()
        await fixed.close()
