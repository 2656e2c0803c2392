"""The Job controller and kubelet, driven with the real kubectl."""

from __future__ import annotations

from typing import Any

from .conftest import get_json, kubectl, wait_for


def job_yaml(name: str, script: str, *, backoff: int = 0, extra: str = "", restart: str = "Never") -> str:
    return f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  backoffLimit: {backoff}
{extra}
  template:
    spec:
      restartPolicy: {restart}
      containers:
      - name: main
        image: busybox
        command: [sh, -c, "{script}"]
"""


def conditions(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (job.get("status") or {}).get("conditions") or []}


def test_failing_job_ends_failed_and_logs_are_served(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=job_yaml("fail", "echo hi; exit 3"))
    kubectl("wait", "-n", namespace, "--for=condition=failed", "job/fail", "--timeout=60s")
    job = get_json("-n", namespace, "job/fail")
    conds = conditions(job)
    assert conds["FailureTarget"]["reason"] == "BackoffLimitExceeded"
    assert conds["Failed"]["reason"] == "BackoffLimitExceeded"
    assert conds["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert "Complete" not in conds
    assert job["status"]["failed"] == 1 and "succeeded" not in job["status"]
    assert not job["status"].get("active") and "completionTime" not in job["status"]
    assert kubectl("logs", "-n", namespace, "job/fail").stdout == "hi\n"
    pod = get_json("-n", namespace, "pods", "-l", "job-name=fail")["items"][0]
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert pod["status"]["phase"] == "Failed"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "fail"
    ref = pod["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["controller"], ref["blockOwnerDeletion"]) == ("Job", True, True)
    assert not pod["metadata"].get("finalizers")  # the tracking finalizer is released once counted


def test_succeeding_job_completes(local_cluster: Any, namespace: str) -> None:
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=job_yaml("ok", "echo done", extra="  completions: 2\n  parallelism: 2"),
    )
    kubectl("wait", "-n", namespace, "--for=condition=complete", "job/ok", "--timeout=60s")
    job = get_json("-n", namespace, "job/ok")
    conds = conditions(job)
    assert conds["SuccessCriteriaMet"]["reason"] == "CompletionsReached"
    assert conds["Complete"]["reason"] == "CompletionsReached"
    assert conds["Complete"]["message"] == "Reached expected number of succeeded pods"
    assert job["status"]["succeeded"] == 2 and job["status"]["completionTime"]
    pods = get_json("-n", namespace, "pods", "-l", "job-name=ok")["items"]
    assert len(pods) == 2 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert {p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] for p in pods} == {
        "Completed"
    }


def test_backoff_limit_recreates_pods(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=job_yaml("retry", "exit 1", backoff=2))
    kubectl("wait", "-n", namespace, "--for=condition=failed", "job/retry", "--timeout=60s")
    job = get_json("-n", namespace, "job/retry")
    assert job["status"]["failed"] == 3
    assert len(get_json("-n", namespace, "pods", "-l", "job-name=retry")["items"]) == 3


def test_on_failure_restarts_count_against_backoff_limit(local_cluster: Any, namespace: str) -> None:
    kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=job_yaml("onf", "exit 1", backoff=2, restart="OnFailure")
    )
    kubectl("wait", "-n", namespace, "--for=condition=failed", "job/onf", "--timeout=60s")
    job = get_json("-n", namespace, "job/onf")
    assert conditions(job)["Failed"]["reason"] == "BackoffLimitExceeded"
    # One Pod only: the kubelet restarted its container in place; the restarts hit the limit.
    assert job["status"]["failed"] == 1


def test_active_deadline(local_cluster: Any, namespace: str) -> None:
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=job_yaml("slow", "sleep 30", extra="  activeDeadlineSeconds: 1"),
    )
    kubectl("wait", "-n", namespace, "--for=condition=failed", "job/slow", "--timeout=60s")
    conds = conditions(get_json("-n", namespace, "job/slow"))
    assert conds["Failed"]["reason"] == "DeadlineExceeded"
    assert conds["Failed"]["message"] == "Job was active longer than specified deadline"


def test_ttl_after_finished_deletes_the_job(local_cluster: Any, namespace: str) -> None:
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=job_yaml("ttl", "true", extra="  ttlSecondsAfterFinished: 0"),
    )
    wait_for(lambda: kubectl("get", "-n", namespace, "job/ttl", check=False).returncode != 0, timeout=60)
    wait_for(lambda: not get_json("-n", namespace, "pods", "-l", "job-name=ttl")["items"], timeout=60)


def test_indexed_job(local_cluster: Any, namespace: str) -> None:
    extra = "  completionMode: Indexed\n  completions: 3\n  parallelism: 3"
    kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=job_yaml("idx", "echo $JOB_COMPLETION_INDEX", extra=extra)
    )
    kubectl("wait", "-n", namespace, "--for=condition=complete", "job/idx", "--timeout=60s")
    job = get_json("-n", namespace, "job/idx")
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    pods = get_json("-n", namespace, "pods", "-l", "job-name=idx")["items"]
    outputs = sorted(kubectl("logs", "-n", namespace, p["metadata"]["name"]).stdout for p in pods)
    assert outputs == ["0\n", "1\n", "2\n"]


def test_suspended_job_creates_no_pods_until_resumed(local_cluster: Any, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=job_yaml("sus", "true", extra="  suspend: true"))
    wait_for(
        lambda: conditions(get_json("-n", namespace, "job/sus")).get("Suspended", {}).get("status") == "True"
    )
    assert not get_json("-n", namespace, "pods", "-l", "job-name=sus")["items"]
    kubectl("patch", "-n", namespace, "job/sus", "--type=merge", "-p", '{"spec": {"suspend": false}}')
    kubectl("wait", "-n", namespace, "--for=condition=complete", "job/sus", "--timeout=60s")
    assert conditions(get_json("-n", namespace, "job/sus"))["Suspended"]["reason"] == "JobResumed"
