"""The operator's Pod watch for katib-py's infrastructure retries: only failed Pods of trial jobs are
kept, they stay when the Pod changes or goes, and they go with their job."""

from __future__ import annotations

from typing import Any

from katib_py.controller.operator import Operator, OperatorOptions
from katib_py.controller.trial import job_cache_kind
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import JOBS


def _job(uid: str = "job-1") -> dict[str, Any]:
    owner = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Trial", "name": "t1", "uid": "trial-1"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "t1",
            "namespace": "ns",
            "uid": uid,
            "ownerReferences": [{**owner, "controller": True}],
        },
    }


def _pod(name: str, job_uid: str = "job-1", **status: Any) -> dict[str, Any]:
    owner = {"apiVersion": "batch/v1", "kind": "Job", "name": "t1", "uid": job_uid, "controller": True}
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "ownerReferences": [owner]},
        "status": {"phase": "Running", **status},
    }


EVICTED = {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"}]}


def test_failed_pods_of_trial_jobs_are_kept_until_their_job_goes() -> None:
    operator = Operator(
        KubeClient("https://127.0.0.1:1", authorization=None), OperatorOptions(metrics_addr="")
    )
    operator.job_kinds = [JOBS]
    cache_kind = job_cache_kind(JOBS)
    operator.cache.observe(cache_kind, _job())
    operator.on_pod({"type": "MODIFIED", "object": _pod("fine")})
    operator.on_pod({"type": "MODIFIED", "object": _pod("stale", job_uid="job-0", **EVICTED)})
    assert operator.cache.failed_pods_of("job-1") == [] and operator.cache.failed_pods_of("job-0") == []

    evicted = _pod("evicted", **EVICTED)
    operator.on_pod({"type": "MODIFIED", "object": evicted})
    # the kubelet's last word and the deletion do not erase what was seen
    operator.on_pod({"type": "MODIFIED", "object": _pod("evicted", phase="Failed", **EVICTED)})
    operator.on_pod({"type": "DELETED", "object": _pod("evicted", phase="Failed")})
    assert operator.cache.failed_pods_of("job-1") == [evicted]

    operator.on_job(cache_kind, {"type": "DELETED", "object": _job()})
    assert operator.cache.failed_pods_of("job-1") == []
