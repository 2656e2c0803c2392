"""A container's environment, built the way the kubelet builds it.

Order: a base (PATH with this Python's bin dir first, HOME, HOSTNAME), the API service variables
(KUBERNETES_SERVICE_HOST/PORT...), `envFrom` sources, then `env` entries in order, each value
`$(VAR)`-expanded against what came before it.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from katib_py.kube.client import Obj

from .expansion import expand
from .volumes import VolumeNotReady, field_value

Fetch = Callable[[str, str, str], Awaitable[Obj | None]]  # (kind configmap|secret, namespace, name)


def host_path() -> str:
    """The host PATH with the running interpreter's bin dir first (so python3/katib-py hit the venv)."""
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p]
    return os.pathsep.join([bindir, *[p for p in parts if p != bindir]])


def api_service_env(host: str, port: int) -> dict[str, str]:
    return {
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": str(port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
        "KUBERNETES_PORT_443_TCP": f"tcp://{host}:{port}",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": str(port),
        "KUBERNETES_PORT_443_TCP_ADDR": host,
    }


def _decode(kind: str, obj: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    if kind == "secret":
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v or "").decode(errors="replace")
        out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    else:
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
    return out


async def container_env(pod: Obj, container: Obj, base: dict[str, str], fetch: Fetch) -> dict[str, str]:
    """The final environment of `container`; raises VolumeNotReady for a missing required source."""
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {"PATH": host_path(), "HOME": os.environ.get("HOME", "/root")}
    env["HOSTNAME"] = (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"]
    env.update(base)
    for src in container.get("envFrom") or []:
        kind = "configmap" if "configMapRef" in src else "secret"
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        obj = await fetch(kind, namespace, ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                continue
            raise VolumeNotReady(f'{kind} "{ref.get("name")}" not found')
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
        if "fieldRef" in vf:
            value = field_value(pod, vf["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in vf:
            value = "0"
        elif "configMapKeyRef" in vf or "secretKeyRef" in vf:
            kind = "configmap" if "configMapKeyRef" in vf else "secret"
            ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef") or {}
            obj = await fetch(kind, namespace, ref.get("name", ""))
            data = _decode(kind, obj) if obj else {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise VolumeNotReady(
                    f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}"
                )
            value = data[ref["key"]]
        env[name] = value or ""
    return env
