"""Run an ApiServer on its own event loop thread, so sync tests can drive it with kubectl."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import kubernetes

from katib_py.localcluster.apiserver import ApiServer

KUBECTL = "/usr/bin/kubectl"


class ServerThread:
    def __init__(self, workdir: Path, data_dir: Path | None = None, **kwargs: Any) -> None:
        self.workdir = workdir
        self.data_dir = data_dir
        self.kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: ApiServer | None = None
        self.kubeconfig = workdir / "kubeconfig"
        self.cache_dir = workdir / "kube-cache"

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, port: int = 0, token: str | None = None) -> ApiServer:
        server = ApiServer(self.data_dir, port=port, token=token, **self.kwargs)
        self.run(server.start())
        self.server = server
        server.write_kubeconfig(self.kubeconfig)
        return server

    def stop(self) -> None:
        if self.server is not None:
            self.run(self.server.stop())
            self.server = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the server's loop thread (the server is not thread-safe)."""

        async def wrapper() -> Any:
            return fn(*args)

        return self.run(wrapper())

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(
            [KUBECTL, f"--cache-dir={self.cache_dir}", *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def api_client(self) -> kubernetes.client.ApiClient:
        return kubernetes.config.new_client_from_config(str(self.kubeconfig))


WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Phase, type: string, jsonPath: '.status.conditions[-1:].type'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    - {name: Note, type: string, jsonPath: .spec.note, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a thing with a size and a color.
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [size]
            properties:
              size: {type: integer, minimum: 0, maximum: 100, description: How big the widget is.}
              color: {type: string, enum: [red, green, blue], default: red, description: Paint.}
              note: {type: string, maxLength: 20}
              labels: {type: object, additionalProperties: {type: string}}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""


def widget(name: str, size: int = 1, **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"size": size, **spec},
        }
    )


def raw(
    st: ServerThread,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    ctype: str = "application/json",
) -> tuple[int, Any]:
    """One HTTP request to the server; returns (status, parsed JSON body or text)."""
    import urllib.error
    import urllib.request

    assert st.server is not None
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Authorization": f"Bearer {token or st.server.token}", **(headers or {})}
    if data is not None:
        hdrs["Content-Type"] = ctype
    req = urllib.request.Request(st.server.url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, context=st.server.client_ssl_context(), timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def watch_events(st: ServerThread, path: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A bounded watch (the path carries timeoutSeconds): every event, in order."""
    status, text = raw(st, "GET", path, headers=headers)
    assert status == 200, text
    if isinstance(text, dict):
        return [text]
    return [json.loads(line) for line in text.splitlines() if line.strip()]
