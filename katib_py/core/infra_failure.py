"""Infrastructure failures of a trial's Pods, and what the trial does about them (katib-py addition).

A trial whose Pod was disrupted by the cluster (evicted, preempted, its node lost) or could not
start for a cluster reason (image pull, container start, configuration) did not fail because of
its training code, so it is retried with the same parameters up to `spec.infraRetryLimit` times
and does not count against `maxFailedTrialCount` (kubeflow/katib#433, #2452). A failure of the
code itself (a non-zero exit, OOMKilled by its own limit) is not an infrastructure failure.

The signals are Kubernetes' own:
- the `DisruptionTarget` Pod condition (KEP-3329, Kubernetes >= 1.26; reasons
  `EvictionByEvictionAPI`, `PreemptionByScheduler`, `DeletionByTaintManager`, `DeletionByPodGC`,
  `TerminationByKubelet`), set by kube-apiserver's eviction (pkg/registry/core/pod/storage/
  eviction.go), the scheduler, the taint manager, the Pod GC and the kubelet;
- the Pod's `status.reason` set by the kubelet when it rejects or evicts a Pod (`Evicted`,
  `OutOfcpu`, `UnexpectedAdmissionError`, `NodeAffinity`, graceful node shutdown);
- container states the kubelet reports when it cannot run a container (pkg/kubelet/images/types.go
  `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, ...; pkg/kubelet/container/sync_result.go
  `CreateContainerConfigError`, `CreateContainerError`, `RunContainerError`), and the terminated
  reasons of a container the runtime could not start (`StartError` from containerd,
  `ContainerCannotRun` from dockershim, exit code 128) or lost (`ContainerStatusUnknown`).

A volume mount failure shows as `CreateContainerConfigError` on katib-py's embedded kubelet; a
real kubelet leaves such a container `ContainerCreating` with `FailedMount` events only, which is
not told apart from a slow start here (`trialTimeoutSeconds` bounds it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from katib_py.api.models import Trial, TrialStatus
from katib_py.core.conditions import FALSE, TRUE, get_condition, remove_condition, set_condition

Obj = dict[str, Any]

DISRUPTION_TARGET = "DisruptionTarget"

# Pod status.reason values of a Pod the node rejected or gave up (kubelet: lifecycle/predicate.go,
# eviction/eviction_manager.go, nodeshutdown/nodeshutdown_manager_linux.go).
POD_REASONS = frozenset(
    {
        "Evicted",
        "Preempting",
        "NodeLost",
        "NodeAffinity",
        "UnexpectedAdmissionError",
        "Shutdown",
        "Terminated",
    }
)
POD_REASON_PREFIXES = ("OutOf",)  # OutOfcpu, OutOfmemory, OutOfpods: admission by resources

WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "RegistryUnavailable",
        "ImageInspectError",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "PreStartHookError",
    }
)
TERMINATED_REASONS = frozenset({"StartError", "ContainerCannotRun", "ContainerStatusUnknown"})

# Trial status reasons (katib-py).
REASON_RETRYING = "TrialInfrastructureRetry"
REASON_INFRA_FAILED = "TrialInfrastructureFailed"
EVENT_RETRIED = "TrialRetried"
MSG_RETRYING = "Trial is retried after an infrastructure failure ({n} of {limit}): {failure}"
MSG_INFRA_FAILED = "Trial has failed because its infrastructure failed {times} times: {failure}"


@dataclass(frozen=True)
class InfraFailure:
    """Why the cluster, not the code, ended (or blocked) a Pod."""

    pod: str
    reason: str
    message: str = ""

    def __str__(self) -> str:
        text = f"Pod {self.pod}: {self.reason}"
        return f"{text} ({self.message})" if self.message else text


def pod_infra_failure(pod: Obj) -> InfraFailure | None:
    """The infrastructure failure of one Pod, or None (running, succeeded, or the code's failure)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    name = str(meta.get("name") or "")
    if status.get("phase") == "Succeeded":
        return None
    for cond in status.get("conditions") or []:
        if cond.get("type") == DISRUPTION_TARGET and cond.get("status") == TRUE:
            return InfraFailure(
                name, str(cond.get("reason") or DISRUPTION_TARGET), str(cond.get("message") or "")
            )
    pod_reason = str(status.get("reason") or "")
    if pod_reason in POD_REASONS or pod_reason.startswith(POD_REASON_PREFIXES):
        return InfraFailure(name, pod_reason, str(status.get("message") or ""))
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        found = _container_failure(cs)
        if found is not None:
            reason, message = found
            return InfraFailure(
                name,
                reason,
                f"container {cs.get('name')}: {message}" if message else f"container {cs.get('name')}",
            )
    return None


def _container_failure(cs: Obj) -> tuple[str, str] | None:
    for state in (cs.get("state") or {}, cs.get("lastState") or {}):
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in WAITING_REASONS:
            return str(waiting["reason"]), str(waiting.get("message") or "")
        terminated = state.get("terminated") or {}
        if terminated.get("reason") in TERMINATED_REASONS:
            return str(terminated["reason"]), str(terminated.get("message") or "")
    return None


def infra_failure(pods: Iterable[Obj]) -> InfraFailure | None:
    """The first infrastructure failure among a job's Pods (by name, so the answer is stable)."""
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name") or "")):
        found = pod_infra_failure(pod)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- the trial's side


def retry_limit(trial: Trial) -> int:
    return (trial.spec.infra_retry_limit if trial.spec else None) or 0


def retries(trial: Trial) -> int:
    return (trial.status.infra_retries if trial.status else None) or 0


def is_retry_pending(trial: Trial) -> bool:
    """Retried, and the new job is not running yet (Running False with the retry reason)."""
    running = get_condition(trial.status.conditions if trial.status else None, "Running")
    return running is not None and running.status == FALSE and running.reason == REASON_RETRYING


def is_infra_failed(trial: Trial) -> bool:
    failed = get_condition(trial.status.conditions if trial.status else None, "Failed")
    return failed is not None and failed.status == TRUE and failed.reason == REASON_INFRA_FAILED


@dataclass(frozen=True)
class RetryDecision:
    """What to write after an infrastructure failure: retry (delete and recreate the job) or fail."""

    status: TrialStatus
    retry: bool
    message: str


def decide(trial: Trial, failure: InfraFailure, now: str) -> RetryDecision:
    """Retry while `status.infraRetries` < `spec.infraRetryLimit`, else Failed (counted as failed).

    A retry sets Running False with reason TrialInfrastructureRetry (a pending trial again, still
    counted as active), and the next Running condition comes when the new job runs.
    """
    status = trial.status.model_copy(deep=True) if trial.status else TrialStatus()
    done, limit = retries(trial), retry_limit(trial)
    if done < limit:
        status.infra_retries = done + 1
        message = MSG_RETRYING.format(n=done + 1, limit=limit, failure=failure)
        # re-set, so that each retry's message shows (Katib's rule keeps a message-only change out)
        conds = status.conditions
        if is_retry_pending(trial):
            conds = remove_condition(conds, "Running")
        status.conditions = set_condition(conds, "Running", FALSE, REASON_RETRYING, message, now)
        return RetryDecision(status, True, message)
    message = MSG_INFRA_FAILED.format(times=done + 1, failure=failure)
    running = get_condition(status.conditions, "Running")
    conds = status.conditions
    if running is not None:
        conds = set_condition(conds, "Running", FALSE, running.reason or "", running.message or "", now)
    status.conditions = set_condition(conds, "Failed", TRUE, REASON_INFRA_FAILED, message, now)
    status.completion_time = now
    return RetryDecision(status, False, message)
