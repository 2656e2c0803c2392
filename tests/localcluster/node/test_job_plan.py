"""The Job controller's decisions (`job_plan.plan`), rule by rule, with no cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import pytest

from katib_py.localcluster.apiserver.patching import merge_patch
from katib_py.localcluster.controllers import job_plan as jp
from katib_py.localcluster.controllers.job_plan import Event, Memory, plan

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TEXT = "2024-05-01T12:00:00Z"
JOB_UID = "job-uid"


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_job(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    spec.setdefault("template", {"spec": {"restartPolicy": "Never", "containers": [{"name": "m"}]}})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "train", "namespace": "ns", "uid": JOB_UID, "resourceVersion": "7"},
        "spec": spec,
        "status": status or {},
    }


def make_pod(
    name: str,
    phase: str = "Running",
    *,
    job_uid: str = JOB_UID,
    tracked: bool = True,
    deleting: bool = False,
    ready: bool = False,
    restarts: int = 0,
    index: int | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "resourceVersion": "1",
        "ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "Job", "name": "train", "uid": job_uid, "controller": True}
        ],
    }
    if tracked:
        meta["finalizers"] = [jp.TRACKING_FINALIZER]
    if deleting:
        meta["deletionTimestamp"] = NOW_TEXT
    if index is not None:
        meta["annotations"] = {jp.INDEX_ANNOTATION: str(index)}
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{"name": "m", "restartCount": restarts}],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": status}


def conds(p: jp.Plan) -> dict[str, dict[str, Any]]:
    assert p.status is not None
    return {c["type"]: dict(c) for c in p.status["conditions"] or []}


def applied(job: dict[str, Any], p: jp.Plan) -> dict[str, Any]:
    """The Job as the API server keeps it once the plan's status patches are written."""
    status = job.get("status") or {}
    for patch in (p.count, p.status):
        if patch is not None:
            status = merge_patch(status, patch)
    return {**job, "status": status}


def run(job: dict[str, Any] | None, pods: list[dict[str, Any]], **kw: Any) -> jp.Plan:
    kw.setdefault("rng", Random(1))
    return plan(job, pods, now=NOW, **kw)


# ---------------------------------------------------------------- creation


def test_a_new_job_starts_and_creates_parallelism_pods() -> None:
    p = run(make_job(completions=3, parallelism=2), [])
    assert len(p.create) == 2
    assert p.status is not None
    assert (p.status["active"], p.status["startTime"]) == (2, NOW_TEXT)
    assert p.count is None and not p.release and not p.delete and not p.events
    pod = p.create[0]
    meta = pod["metadata"]
    assert meta["name"].startswith("train-") and len(meta["name"]) == len("train-") + 5
    assert meta["finalizers"] == [jp.TRACKING_FINALIZER]
    assert meta["labels"]["batch.kubernetes.io/job-name"] == "train"
    assert meta["labels"]["controller-uid"] == JOB_UID
    ref = meta["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
        "Job",
        JOB_UID,
        True,
        True,
    )
    assert pod["spec"]["restartPolicy"] == "Never"


def test_generated_names_come_from_the_given_rng() -> None:
    first = run(make_job(), [], rng=Random(5)).create[0]["metadata"]["name"]
    again = run(make_job(), [], rng=Random(5)).create[0]["metadata"]["name"]
    assert first == again


def test_a_long_job_name_is_cut_to_leave_room_for_the_suffix() -> None:
    job = make_job()
    job["metadata"]["name"] = "j" * 70
    name = run(job, []).create[0]["metadata"]["name"]
    assert len(name) == 62 and name.startswith("j" * 57)


def test_parallelism_defaults_to_one_and_counts_running_pods() -> None:
    assert len(run(make_job(completions=5), []).create) == 1
    assert not run(make_job(completions=5), [make_pod("a")]).create
    assert len(run(make_job(completions=5, parallelism=3), [make_pod("a")]).create) == 2


def test_no_more_pods_than_completions_left() -> None:
    job = make_job({"succeeded": 2}, completions=3, parallelism=3)
    assert len(run(job, []).create) == 1


def test_without_completions_no_pod_is_created_after_a_success() -> None:
    job = make_job({"succeeded": 1}, parallelism=2)
    p = run(job, [make_pod("a")])
    assert not p.create


def test_created_pods_not_seen_yet_count_as_active() -> None:
    memory = Memory(created={"train-abcde": NOW.timestamp() - 1})
    p = run(make_job(completions=2, parallelism=2), [], memory=memory)
    assert len(p.create) == 1
    assert p.status is not None and p.status["active"] == 2
    assert dict(p.memory.created) == {"train-abcde": NOW.timestamp() - 1}


def test_expectations_end_when_the_pod_is_seen_or_after_30_seconds() -> None:
    memory = Memory(created={"train-seen": NOW.timestamp(), "train-lost": NOW.timestamp() - 31})
    p = run(make_job(completions=2, parallelism=2), [make_pod("train-seen")], memory=memory)
    assert dict(p.memory.created) == {}
    assert len(p.create) == 1


# ---------------------------------------------------------------- counting and finalizers


def test_a_terminated_pod_is_counted_then_released() -> None:
    done = make_pod("a", "Succeeded")
    p = run(make_job(completions=2), [done])
    assert p.count == {
        "succeeded": 1,
        "failed": None,
        "uncountedTerminatedPods": {"succeeded": ["uid-a"], "failed": None},
    }
    assert p.release == (done,)
    assert p.status is not None
    assert p.status["succeeded"] == 1
    assert p.status["uncountedTerminatedPods"] == {"succeeded": None, "failed": None}


def test_a_pod_already_in_uncounted_is_not_counted_twice_but_released() -> None:
    done = make_pod("a", "Succeeded")
    status = {"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-a"]}}
    p = run(make_job(status, completions=2), [done])
    assert p.count is None
    assert p.release == (done,)
    assert p.status is not None and p.status["succeeded"] == 1
    assert p.status["uncountedTerminatedPods"] == {"succeeded": None, "failed": None}


def test_a_released_pod_is_not_counted_again() -> None:
    p = run(make_job({"succeeded": 1}, completions=2), [make_pod("a", "Succeeded", tracked=False)])
    assert p.count is None and not p.release
    assert p.status is not None and p.status["succeeded"] == 1


def test_a_pod_deleted_before_success_counts_as_failed_and_terminating() -> None:
    gone = make_pod("a", "Running", deleting=True)
    p = run(make_job({"startTime": ago(5)}, completions=1), [gone])
    assert p.count is not None and p.count["failed"] == 1
    assert p.count["uncountedTerminatedPods"] == {"succeeded": None, "failed": ["uid-a"]}
    assert p.status is not None
    assert (p.status["terminating"], p.status["failed"]) == (1, 1)
    assert p.memory.last_failure == NOW.timestamp()


def test_pods_of_an_earlier_job_of_the_same_name_are_released_not_counted() -> None:
    stray = make_pod("old", "Succeeded", job_uid="earlier")
    untracked = make_pod("older", "Succeeded", job_uid="earlier", tracked=False)
    p = run(make_job(completions=1), [stray, untracked])
    assert p.count is None
    assert p.release == (stray,)
    assert len(p.create) == 1


def test_a_deleted_job_only_releases_its_tracked_pods() -> None:
    tracked, untracked = make_pod("a"), make_pod("b", tracked=False)
    assert run(None, [tracked, untracked]) == jp.Plan(release=(tracked,))


def test_orphan_and_job_pod_tests() -> None:
    pod = make_pod("a")
    assert jp.is_job_pod(pod, "train") and not jp.is_job_pod(pod, "other")
    assert not jp.releasable_orphan(pod)
    pod["metadata"]["ownerReferences"] = []
    assert jp.releasable_orphan(pod)
    pod["metadata"]["finalizers"] = []
    assert not jp.releasable_orphan(pod)


# ---------------------------------------------------------------- failure


def test_more_failures_than_the_backoff_limit_fail_the_job_in_two_steps() -> None:
    job = make_job({"failed": 2, "startTime": ago(5)}, backoffLimit=2, completions=2, parallelism=2)
    failed, running = make_pod("a", "Failed"), make_pod("b")
    p = run(job, [failed, running])
    assert conds(p)["FailureTarget"] == {
        "type": "FailureTarget",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": jp.MSG_BACKOFF,
        "lastProbeTime": NOW_TEXT,
        "lastTransitionTime": NOW_TEXT,
    }
    assert "Failed" not in conds(p)  # a Pod still runs: it is deleted first
    assert p.delete == (running,) and not p.create
    assert p.events == (Event("BackoffLimitExceeded", jp.MSG_BACKOFF, warning=True),)
    assert p.status is not None and p.status["active"] is None

    # The next sync, with the Pod gone: Failed, with the target's reason and message.
    p2 = run(applied(job, p), [])
    assert conds(p2)["Failed"]["reason"] == "BackoffLimitExceeded"
    assert conds(p2)["Failed"]["message"] == jp.MSG_BACKOFF
    assert "completionTime" not in (p2.status or {})
    assert p2.events == (Event("BackoffLimitExceeded", jp.MSG_BACKOFF, warning=True),)
    assert not p2.create


def test_the_backoff_limit_defaults_to_six() -> None:
    assert "FailureTarget" not in conds(run(make_job({"failed": 6, "startTime": ago(1)}), []))
    assert "FailureTarget" in conds(run(make_job({"failed": 7, "startTime": ago(1)}), []))


@pytest.mark.parametrize(
    ("limit", "restarts", "fails"), [(2, 1, False), (2, 2, True), (0, 1, True), (0, 0, False)]
)
def test_on_failure_restarts_count_against_the_backoff_limit(limit: int, restarts: int, fails: bool) -> None:
    job = make_job(backoffLimit=limit)
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    p = run(job, [make_pod("a", restarts=restarts)])
    assert ("FailureTarget" in conds(p)) is fails


def test_restarts_do_not_count_under_restart_policy_never() -> None:
    assert "FailureTarget" not in conds(run(make_job(backoffLimit=1), [make_pod("a", restarts=5)]))


def test_active_deadline_exceeded() -> None:
    job = make_job({"startTime": ago(10)}, activeDeadlineSeconds=10)
    p = run(job, [make_pod("a")])
    assert conds(p)["FailureTarget"]["reason"] == "DeadlineExceeded"
    assert conds(p)["FailureTarget"]["message"] == jp.MSG_DEADLINE
    assert len(p.delete) == 1 and p.requeue_after is None


def test_before_the_deadline_the_job_is_looked_at_again_just_after_it() -> None:
    p = run(make_job({"startTime": ago(2)}, activeDeadlineSeconds=5), [make_pod("a")])
    assert "FailureTarget" not in conds(p)
    assert p.requeue_after == pytest.approx(3 + jp.DEADLINE_SLACK)


def test_the_deadline_counts_from_a_start_set_now() -> None:
    p = run(make_job(activeDeadlineSeconds=5), [])
    assert p.status is not None and p.status["startTime"] == NOW_TEXT
    assert p.requeue_after == pytest.approx(5 + jp.DEADLINE_SLACK)


# ---------------------------------------------------------------- success


def test_completions_reached_then_complete_once_nothing_runs() -> None:
    job = make_job({"succeeded": 1, "startTime": ago(5)}, completions=2, parallelism=2)
    done, other = make_pod("a", "Succeeded"), make_pod("b")
    p = run(job, [done, other])
    assert conds(p)["SuccessCriteriaMet"]["reason"] == "CompletionsReached"
    assert "Complete" not in conds(p)
    assert p.delete == (other,) and not p.events

    p2 = run(applied(job, p), [make_pod("a", "Succeeded", tracked=False)])
    complete = conds(p2)["Complete"]
    assert (complete["reason"], complete["message"]) == ("CompletionsReached", jp.MSG_COMPLETIONS)
    assert p2.status is not None and p2.status["completionTime"] == NOW_TEXT
    assert p2.events == (Event("Completed", "Job completed"),)


def test_the_terminal_condition_waits_for_created_pods_not_seen_yet() -> None:
    job = make_job({"succeeded": 1, "startTime": ago(5)}, completions=1)
    memory = Memory(created={"train-new": NOW.timestamp()})
    p = run(job, [], memory=memory)
    assert "SuccessCriteriaMet" in conds(p) and "Complete" not in conds(p)


def test_without_completions_success_waits_for_no_active_pod() -> None:
    job = make_job({"startTime": ago(5)}, parallelism=2)
    assert "SuccessCriteriaMet" not in conds(run(job, [make_pod("a", "Succeeded"), make_pod("b")]))
    assert "SuccessCriteriaMet" in conds(run(job, [make_pod("a", "Succeeded")]))


def test_a_finished_job_deletes_what_is_left_and_changes_nothing_else() -> None:
    status = {
        "startTime": ago(9),
        "completionTime": ago(1),
        "succeeded": 1,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
        ],
        "ready": 0,
        "terminating": 0,
    }
    straggler = make_pod("b")
    p = run(make_job(status, completions=1), [straggler])
    assert p.delete == (straggler,) and not p.create and not p.events
    assert p.status is None  # nothing to write


def test_an_unchanged_status_is_not_written() -> None:
    job = make_job(completions=1)
    first = run(job, [make_pod("a", ready=True)])
    assert first.status is not None and first.status["ready"] == 1
    assert run(applied(job, first), [make_pod("a", ready=True)]).status is None


# ---------------------------------------------------------------- Indexed


def test_indexed_job_creates_one_pod_per_missing_index() -> None:
    job = make_job({"succeeded": 1, "completedIndexes": "0", "startTime": ago(1)}, completionMode="Indexed")
    job["spec"].update(completions=4, parallelism=2)
    p = run(job, [make_pod("b", index=2)])
    assert [c["metadata"]["annotations"][jp.INDEX_ANNOTATION] for c in p.create] == ["1"]
    pod = p.create[0]
    assert pod["metadata"]["name"].startswith("train-1-")
    assert pod["metadata"]["labels"][jp.INDEX_ANNOTATION] == "1"
    assert pod["spec"]["hostname"] == "train-1"
    env = pod["spec"]["containers"][0]["env"]
    assert env == [
        {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{jp.INDEX_ANNOTATION}']"}},
        }
    ]
    assert p.status is not None and p.status["completedIndexes"] == "0"


def test_indexed_job_counts_completed_indexes_and_succeeds_when_all_are_done() -> None:
    job = make_job({"succeeded": 2, "completedIndexes": "0,2", "startTime": ago(1)}, completionMode="Indexed")
    job["spec"].update(completions=3, parallelism=3)
    p = run(job, [make_pod("b", "Succeeded", index=1)])
    assert p.count is not None and p.count["completedIndexes"] == "0-2"
    assert p.status is not None and p.status["completedIndexes"] == "0-2"
    assert "SuccessCriteriaMet" in conds(p) and "Complete" in conds(p)


# ---------------------------------------------------------------- suspend


def test_suspend_deletes_active_pods_and_clears_the_start_time() -> None:
    running = make_pod("a")
    p = run(make_job({"startTime": ago(3)}, suspend=True), [running])
    assert p.delete == (running,) and not p.create
    suspended = conds(p)["Suspended"]
    assert (suspended["status"], suspended["reason"], suspended["message"]) == (
        "True",
        "JobSuspended",
        "Job suspended",
    )
    assert p.status is not None and p.status["startTime"] is None and p.status["active"] is None


def test_resuming_sets_suspended_false_and_creates_pods() -> None:
    status = {"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]}
    p = run(make_job(status, suspend=False), [])
    resumed = conds(p)["Suspended"]
    assert (resumed["status"], resumed["reason"], resumed["message"]) == (
        "False",
        "JobResumed",
        "Job resumed",
    )
    assert len(p.create) == 1 and p.status is not None and p.status["startTime"] == NOW_TEXT


# ---------------------------------------------------------------- back-off


def test_a_counted_failure_delays_the_replacement_by_the_backoff() -> None:
    p = run(make_job({"startTime": ago(5)}, backoffLimit=3), [make_pod("a", "Failed")], backoff_base=10)
    assert not p.create and p.requeue_after == 10
    assert p.status is not None and p.status["active"] is None


def test_the_backoff_doubles_per_failure_and_ends() -> None:
    job = make_job({"failed": 2, "startTime": ago(30)}, backoffLimit=5)
    waiting = run(job, [], memory=Memory(last_failure=NOW.timestamp() - 5), backoff_base=10)
    assert not waiting.create and waiting.requeue_after == pytest.approx(15)  # 10 * 2 - 5
    assert waiting.memory.last_failure == NOW.timestamp() - 5
    over = run(job, [], memory=Memory(last_failure=NOW.timestamp() - 21), backoff_base=10)
    assert len(over.create) == 1 and over.requeue_after is None


def test_the_backoff_is_capped_at_six_minutes() -> None:
    assert jp.backoff_wait(40, NOW.timestamp(), NOW.timestamp(), 10.0) == jp.MAX_BACKOFF
    assert jp.backoff_wait(10_000, NOW.timestamp(), NOW.timestamp(), 10.0) == jp.MAX_BACKOFF
    assert jp.backoff_wait(3, None, NOW.timestamp(), 10.0) == 0.0
    assert jp.backoff_wait(0, NOW.timestamp(), NOW.timestamp(), 10.0) == 0.0


def test_status_changed_ignores_nulls_for_absent_fields() -> None:
    assert not jp.status_changed(
        {}, {"active": None, "uncountedTerminatedPods": {"succeeded": None, "failed": None}}
    )
    assert jp.status_changed({"active": 1}, {"active": None})
    assert jp.status_changed(
        {"uncountedTerminatedPods": {"failed": ["x"]}},
        {"uncountedTerminatedPods": {"succeeded": None, "failed": None}},
    )
