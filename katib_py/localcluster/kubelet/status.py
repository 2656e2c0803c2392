"""Pure: Kubernetes container statuses, Pod phase and Pod conditions from process state.

The runtime records what happened to each container process (`ContainerRecord`); these functions
turn that into the exact shapes a kubelet reports, so the rules can be unit-tested without
running anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from katib_py.kube.rfc3339 import now_time

Obj = dict[str, Any]


@dataclass
class ContainerRecord:
    """The observed state of one container: waiting, running or terminated."""

    name: str
    image: str = ""
    state: str = "waiting"  # waiting | running | terminated
    reason: str = "ContainerCreating"
    message: str = ""
    exit_code: int = 0
    signal: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    last_terminated: Obj | None = None
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def terminated_body(self) -> Obj:
        body: Obj = {"exitCode": self.exit_code, "reason": self.reason}
        if self.signal:
            body["signal"] = self.signal
        if self.message:
            body["message"] = self.message
        if self.started_at:
            body["startedAt"] = self.started_at
        body["finishedAt"] = self.finished_at or now_time()
        body["containerID"] = f"local://{self.extra.get('cid', self.name)}"
        return body


def terminated_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def exit_code_of(returncode: int) -> tuple[int, int | None]:
    """(exitCode, signal) as a container runtime reports them: a signal n becomes 128+n."""
    if returncode < 0:
        return 128 - returncode, -returncode
    return returncode, None


def container_status(rec: ContainerRecord) -> Obj:
    state: Obj
    if rec.state == "running":
        state = {"running": {"startedAt": rec.started_at or now_time()}}
    elif rec.state == "terminated":
        state = {"terminated": rec.terminated_body()}
    else:
        waiting: Obj = {"reason": rec.reason}
        if rec.message:
            waiting["message"] = rec.message
        state = {"waiting": waiting}
    status: Obj = {
        "name": rec.name,
        "image": rec.image,
        "imageID": "",
        "ready": rec.ready,
        "restartCount": rec.restart_count,
        "started": rec.started,
        "state": state,
        "lastState": {"terminated": rec.last_terminated} if rec.last_terminated else {},
    }
    if rec.state != "waiting" or rec.restart_count:
        status["containerID"] = f"local://{rec.extra.get('cid', rec.name)}"
    return status


def _cond(ctype: str, ok: bool, reason: str = "", message: str = "", since: str | None = None) -> Obj:
    c: Obj = {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None}
    c["lastTransitionTime"] = since or now_time()
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def pod_conditions(
    *,
    sandbox_ready: bool,
    initialized: bool,
    pending_init: list[str],
    not_ready: list[str],
    phase: str,
    previous: list[Obj] | None = None,
) -> list[Obj]:
    """The five Pod conditions; lastTransitionTime kept from `previous` when status did not change."""
    terminal = phase in ("Succeeded", "Failed")
    conds: list[Obj] = [_cond("PodReadyToStartContainers", sandbox_ready and not terminal)]
    if terminal:
        conds.append(_cond("Initialized", True, "PodCompleted" if phase == "Succeeded" else ""))
    elif initialized:
        conds.append(_cond("Initialized", True))
    else:
        names = " ".join(pending_init)
        conds.append(
            _cond(
                "Initialized",
                False,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{names}]",
            )
        )
    if terminal:
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        conds.append(_cond("Ready", False, reason))
        conds.append(_cond("ContainersReady", False, reason))
    elif not not_ready and initialized:
        conds.append(_cond("Ready", True))
        conds.append(_cond("ContainersReady", True))
    else:
        names = " ".join(not_ready)
        msg = f"containers with unready status: [{names}]"
        conds.append(_cond("Ready", False, "ContainersNotReady", msg))
        conds.append(_cond("ContainersReady", False, "ContainersNotReady", msg))
    conds.append(_cond("PodScheduled", True))
    old = {c.get("type"): c for c in previous or []}
    for c in conds:
        prev = old.get(c["type"])
        if prev and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c["lastTransitionTime"] = prev["lastTransitionTime"]
    return conds


KUBELET_CONDITIONS = frozenset(
    {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}
)


def foreign_conditions(previous: list[Obj] | None) -> list[Obj]:
    """Conditions others own (DisruptionTarget from an eviction, readiness gates): the kubelet keeps
    them in its status writes (Kubernetes: pkg/kubelet/status/status_manager.go mergePodStatus)."""
    return [c for c in previous or [] if c.get("type") not in KUBELET_CONDITIONS]


def pod_phase(
    *,
    restart_policy: str,
    init_failed: bool,
    initialized: bool,
    main: list[ContainerRecord],
    finished: bool,
) -> str:
    """Pod phase as the kubelet computes it from container states.

    `finished` means the runtime will not start any container again (all main containers ended
    under the restart policy, or the pod is being torn down).
    """
    if init_failed and restart_policy == "Never":
        return "Failed"
    if not initialized:
        return "Pending"
    running = sum(1 for c in main if c.state == "running")
    waiting = sum(1 for c in main if c.state == "waiting")
    failed = sum(1 for c in main if c.state == "terminated" and c.exit_code != 0)
    succeeded = sum(1 for c in main if c.state == "terminated" and c.exit_code == 0)
    if finished and waiting + running == 0:
        return "Failed" if failed else "Succeeded"
    if waiting and not running and not (succeeded or failed) and not any(c.restart_count for c in main):
        return "Pending"
    return "Running"
