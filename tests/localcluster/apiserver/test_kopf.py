"""A real `kopf run` operator against the API server: finalizers, status, children, managed webhooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from katib_py.localcluster.apiserver import tls

from .harness import ServerThread, raw, widget
from .test_admission import _free_port

OPERATOR = Path(__file__).with_name("kopf_operator.py")


def _eventually(fn: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def operator(
    cluster: ServerThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    work = Path(tmp_path_factory.mktemp("kopf"))
    material = tls.generate()
    (work / "hook.crt").write_bytes(material.cert_pem)
    (work / "hook.key").write_bytes(material.key_pem)
    (work / "ca.crt").write_bytes(material.ca_pem)
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "HOOK_PORT": str(_free_port()),
        "HOOK_CERT": str(work / "hook.crt"),
        "HOOK_KEY": str(work / "hook.key"),
        "HOOK_CA": str(work / "ca.crt"),
    }
    log = (work / "kopf.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-A", str(OPERATOR)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _eventually(
            lambda: (
                raw(
                    cluster,
                    "GET",
                    "/apis/admissionregistration.k8s.io/v1/"
                    "validatingwebhookconfigurations/widgets.example.com",
                )[0]
                == 200
            )
        )
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if proc.returncode not in (0, -15):
            sys.stderr.write((work / "kopf.log").read_text())


def test_kopf_handles_finalizer_status_and_children(
    cluster: ServerThread, operator: subprocess.Popen[bytes]
) -> None:
    cluster.kubectl("apply", "-f", "-", input=widget("kw", size=5))

    def handled() -> Any:
        obj = cluster.kubectl_json("get", "widget", "kw")
        return obj if (obj.get("status") or {}).get("create_child") else None

    obj = _eventually(handled)
    assert obj["status"]["create_child"] == {"child": "kw-child"}
    assert "example.com/kopf-finalizer" in obj["metadata"]["finalizers"]
    child = cluster.kubectl_json("get", "configmap", "kw-child")
    owner = child["metadata"]["ownerReferences"][0]
    assert owner["uid"] == obj["metadata"]["uid"] and owner["kind"] == "Widget"
    cluster.kubectl("delete", "widget", "kw", "--timeout=30s")
    assert cluster.kubectl("get", "widget", "kw", "--ignore-not-found").stdout == ""
    annotations = cluster.kubectl_json("get", "configmap", "kw-child")["metadata"]["annotations"]
    assert annotations["example.com/parent-deleted"] == "yes"


def test_kopf_managed_webhook_rejects_bad_objects(
    cluster: ServerThread, operator: subprocess.Popen[bytes]
) -> None:
    config = raw(
        cluster,
        "GET",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/widgets.example.com",
    )[1]
    assert config["webhooks"][0]["clientConfig"]["url"].startswith("https://127.0.0.1:")
    denied = cluster.kubectl("apply", "-f", "-", input=widget("kbad", size=99), check=False)
    assert denied.returncode != 0
    assert (
        'admission webhook "size-check.widgets.example.com" denied the request: size 99 is too big '
        "(asked by kubernetes-admin)" in denied.stderr
    ), denied.stderr
    assert cluster.kubectl("get", "widget", "kbad", "--ignore-not-found").stdout == ""
    assert json.loads(cluster.kubectl("get", "widgets", "-o", "json").stdout)["kind"] == "List"
