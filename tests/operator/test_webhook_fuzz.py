"""Hostile admission requests against the operator's webhooks on a running `katib-py up`.

Bounded in count and time, loopback only. For every request the webhook server must answer, with
a 4xx (or an AdmissionReview refusing with a 4xx status and a message), never a 5xx; the operator
stays up and its memory bounded, and a valid request right after is served as before.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests

from .operator_e2e import X_PARAMETER, Stack, _experiment

pytestmark = pytest.mark.e2e

PATHS = ("validate-experiment", "mutate-experiment", "mutate-pod")


def webhook_url(stack: Stack) -> str:
    configs = json.loads(stack.kubectl("get", "validatingwebhookconfigurations", "-o", "json").stdout)
    for config in configs["items"]:
        for hook in config.get("webhooks") or []:
            url = str((hook.get("clientConfig") or {}).get("url") or "")
            if url:
                return url.rsplit("/", 1)[0]
    raise AssertionError("no webhook configuration with a URL")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def review(
    obj: Any, *, kind: str = "Experiment", operation: str = "CREATE", old: Any = None
) -> dict[str, Any]:
    group = {"Experiment": ("kubeflow.org", "v1beta1", "experiments"), "Pod": ("", "v1", "pods")}[kind]
    request: dict[str, Any] = {
        "uid": "fuzz-uid",
        "kind": {"group": group[0], "version": group[1], "kind": kind},
        "resource": {"group": group[0], "version": group[1], "resource": group[2]},
        "namespace": "default",
        "operation": operation,
        "userInfo": {"username": "fuzzer"},
        "object": obj,
    }
    if old is not None:
        request["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def hostile_bodies(valid: dict[str, Any]) -> list[bytes]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"katib.kubeflow.org/trial": "t"}}}
    spec = valid["spec"]
    variants: list[Any] = [
        b"",
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        json.dumps({"request": "not an object"}).encode(),
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
        json.dumps(deep(900)).encode(),
        json.dumps(review(deep(900))).encode(),
        json.dumps(review("a string")).encode(),
        json.dumps(review([1, 2])).encode(),
        json.dumps(review({**valid, "metadata": {"name": "x" * 100_000}})).encode(),
        json.dumps(review({**valid, "metadata": "not a map"})).encode(),
        json.dumps(review({**valid, "spec": {**spec, "parameters": "nope"}})).encode(),
        json.dumps(review({**valid, "spec": {**spec, "parameters": [X_PARAMETER[0]] * 20_000}})).encode(),
        json.dumps(review({**valid, "spec": {**spec, "maxTrialCount": "1e999"}})).encode(),
        json.dumps(review({**valid, "spec": {**spec, "parallelTrialCount": 10**30}})).encode(),
        json.dumps(review({**valid, "spec": {**spec, "objective": {"goal": "NaN", "type": "up"}}})).encode(),
        json.dumps(
            review(
                {
                    **valid,
                    "spec": {
                        **spec,
                        "metricsCollectorSpec": {
                            "source": {"filter": {"metricsFormat": ["(a+)+$", "((" * 5000, "\\"]}}
                        },
                    },
                }
            )
        ).encode(),
        json.dumps(review({**valid, "spec": {**spec, "trialTemplate": deep(500)}})).encode(),
        json.dumps(review(valid, operation="UPDATE", old="garbage")).encode(),
        json.dumps(review(valid, operation="DELETE")).encode(),
        json.dumps(review({**pod, "spec": {"containers": "a string"}}, kind="Pod")).encode(),
        json.dumps(
            review({**pod, "spec": {"containers": [{"name": 5, "command": [1, None]}]}}, kind="Pod")
        ).encode(),
        json.dumps(review({**pod, "metadata": {"labels": ["x"]}}, kind="Pod")).encode(),
    ]
    rng = random.Random(20261207)
    for _ in range(120):  # random structural damage to a valid request
        broken = copy.deepcopy(review(valid))
        node: Any = broken["request"]["object"]
        for _depth in range(rng.randint(1, 5)):
            if isinstance(node, dict) and node:
                key = rng.choice(sorted(node))
                if rng.random() < 0.4 or not isinstance(node[key], dict | list):
                    node[key] = rng.choice(
                        [None, "", "x" * rng.randint(1, 5000), -1, 1.5e308, [], {}, True, [None]]
                    )
                    break
                node = node[key]
            elif isinstance(node, list) and node:
                index = rng.randrange(len(node))
                if rng.random() < 0.4 or not isinstance(node[index], dict | list):
                    node[index] = rng.choice([None, {}, "y", 0])
                    break
                node = node[index]
        variants.append(json.dumps(broken).encode())
    return variants


def check_answer(resp: requests.Response) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code != 200:
        return
    body = resp.json()
    answer = body.get("response") or {}
    assert isinstance(answer.get("allowed"), bool), body
    if not answer["allowed"]:
        status = answer.get("status") or {}
        assert 400 <= int(status.get("code") or 0) < 500, body
        assert status.get("message"), body


def test_hostile_admission_requests_get_a_4xx_and_the_webhooks_stay_up(stack: Stack) -> None:
    base = webhook_url(stack)
    operator_pid = int((stack.data_dir / "operator.pid").read_text())
    valid = _experiment("fuzzed", ["/bin/true", "${trialParameters.x}"], X_PARAMETER)
    valid["metadata"]["namespace"] = "default"
    session = requests.Session()
    ok = session.post(f"{base}/validate-experiment", json=review(valid), timeout=30)
    assert ok.status_code == 200, ok.text
    before = rss_kib(operator_pid)
    bodies = hostile_bodies(valid)
    for body in bodies:
        for path in PATHS:
            resp = session.post(
                f"{base}/{path}", data=body, headers={"Content-Type": "application/json"}, timeout=60
            )
            check_answer(resp)
    after = rss_kib(operator_pid)
    assert after - before < 300 * 1024, f"operator RSS grew from {before} KiB to {after} KiB"
    again = session.post(f"{base}/mutate-experiment", json=review(valid), timeout=30).json()
    assert again["response"]["allowed"] is True and again["response"].get("patch")
    assert int((stack.data_dir / "operator.pid").read_text()) == operator_pid  # never restarted
