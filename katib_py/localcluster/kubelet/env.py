"""A container's environment, built the way the kubelet builds it (pure: sources are passed in).

Order (Kubernetes: pkg/kubelet/kubelet_pods.go, makeEnvironmentVariables): the host's PATH and
HOME (what the image would provide), HOSTNAME, the Pod's base (the API service variables
KUBERNETES_SERVICE_HOST/PORT... and the node's extras), `envFrom` sources, then `env` entries in
order, each value `$(VAR)`-expanded against what came before it. The ConfigMaps and Secrets named
by `env_sources(container)` are fetched by the caller and passed in; a missing required one
raises VolumeNotReady (the container waits).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from katib_py.kube.meta import Obj

from .errors import VolumeNotReady
from .expansion import expand

SourceRef = tuple[str, str]  # (configmap | secret, name) in the Pod's namespace


def field_value(pod: Obj, path: str) -> str | None:
    """A downward-API fieldRef value (metadata.*, spec.nodeName, status.podIP, ...)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path == prefix:
            items = sorted((meta.get(source) or {}).items())
            return "\n".join(f'{k}="{v}"' for k, v in items)
        if path.startswith(prefix + "[") and path.endswith("]"):
            key = path[len(prefix) + 1 : -1].strip("'\"")
            return str((meta.get(source) or {}).get(key, ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP") or "127.0.0.1",
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
        "status.hostIPs": status.get("hostIP") or "127.0.0.1",
    }
    value = simple.get(path)
    return None if value is None else str(value)


def _decode(kind: str, obj: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    if kind == "secret":
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v or "").decode(errors="replace")
        out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    else:
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
    return out


def _env_from_ref(src: Obj) -> tuple[SourceRef, Obj]:
    kind = "configmap" if "configMapRef" in src else "secret"
    ref = src.get("configMapRef") or src.get("secretRef") or {}
    return (kind, str(ref.get("name", ""))), ref


def _key_ref(value_from: Obj) -> tuple[SourceRef, Obj] | None:
    if "configMapKeyRef" not in value_from and "secretKeyRef" not in value_from:
        return None
    kind = "configmap" if "configMapKeyRef" in value_from else "secret"
    ref = value_from.get("configMapKeyRef") or value_from.get("secretKeyRef") or {}
    return (kind, str(ref.get("name", ""))), ref


def env_sources(container: Obj) -> list[SourceRef]:
    """The ConfigMaps and Secrets the container's environment reads, each once, in order."""
    refs: list[SourceRef] = [_env_from_ref(src)[0] for src in container.get("envFrom") or []]
    for item in container.get("env") or []:
        key_ref = _key_ref(item.get("valueFrom") or {})
        if key_ref is not None:
            refs.append(key_ref[0])
    return list(dict.fromkeys(refs))


def container_env(
    pod: Obj,
    container: Obj,
    sources: Mapping[SourceRef, Obj | None],
    *,
    host: Mapping[str, str],
    base: Mapping[str, str],
) -> dict[str, str]:
    """The final environment of `container`; raises VolumeNotReady for a missing required source."""
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = dict(host)
    env["HOSTNAME"] = (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"]
    env.update(base)
    for src in container.get("envFrom") or []:
        (kind, name), ref = _env_from_ref(src)
        obj = sources.get((kind, name))
        if obj is None:
            if ref.get("optional"):
                continue
            raise VolumeNotReady(f'{kind} "{name}" not found')
        prefix = src.get("prefix") or ""
        for k, v in _decode(kind, obj).items():
            env[prefix + k] = v
    for item in container.get("env") or []:
        name = item["name"]
        if "valueFrom" not in item:
            env[name] = expand(str(item.get("value") or ""), env.get)
            continue
        vf = item["valueFrom"]
        value: str | None = None
        key_ref = _key_ref(vf)
        if "fieldRef" in vf:
            value = field_value(pod, vf["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in vf:
            value = "0"
        elif key_ref is not None:
            (kind, source), ref = key_ref
            obj = sources.get((kind, source))
            data = _decode(kind, obj) if obj else {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise VolumeNotReady(f"couldn't find key {ref.get('key')} in {kind} {namespace}/{source}")
            value = data[ref["key"]]
        env[name] = value or ""
    return env
