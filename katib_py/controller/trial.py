"""The Trial controller (Katib: pkg/controller.v1beta1/trial/trial_controller.go): run the trial's
job, follow it, collect its observation.

Any job kind works: the job is the rendered `runSpec` (unstructured), its state comes from the
trial's GJSON success/failure expressions, and its metrics from the db-manager. The
`clean-metrics-in-db` finalizer deletes the trial's observation log when the trial goes.
"""

from __future__ import annotations

import copy
import logging
import time
from datetime import UTC, datetime, timedelta

from katib_py.api.models import Trial
from katib_py.api.resources import TRIALS
from katib_py.controller.context import Context, strip_volatile
from katib_py.controller.services import ServiceUnavailable
from katib_py.core import infra_failure as infra
from katib_py.core import trial_status as ts
from katib_py.core.job_status import JobCondition, evaluate_job_status
from katib_py.core.observation import reduce_metric_logs
from katib_py.core.trial_instance import TRIAL_FINALIZER
from katib_py.kube.errors import ApiError, BadRequest, Conflict, Invalid, NotFound
from katib_py.kube.meta import Key, Obj, key_of, owner_reference
from katib_py.kube.resource import PODS, Resource
from katib_py.kube.rfc3339 import now_time, parse_time

log = logging.getLogger(__name__)

METRICS_POLL = 0.25  # while a succeeded job's metrics are awaited
PUSH_KINDS = ("Push", "None")

# trial uid -> monotonic time its job was first seen finished (when the job gives no completionTime)
_FINISHED_SEEN: dict[str, float] = {}


def job_cache_kind(kind: Resource) -> str:
    return f"{kind.plural}.{kind.version}.{kind.group}" if kind.group else f"{kind.plural}.{kind.version}"


async def reconcile_trial(ctx: Context, key: Key) -> float | None:
    namespace, name = key
    body = ctx.cache.get("trials", namespace, name)
    if body is None:
        return None
    try:
        was_created = ts.is_created(ctx.cache.model("trials", body, Trial))
        delay = await _reconcile(ctx, body)
        if await _write_created(ctx, namespace, name) and not was_created:
            ctx.metrics.trial_created.labels(namespace).inc()
        return delay
    except Conflict:
        return 0.05
    except ServiceUnavailable as exc:
        log.info("trial %s/%s: %s", namespace, name, exc)
        return 1.0


async def _write_created(ctx: Context, namespace: str, name: str) -> bool:
    """Write Created alone when the reconcile that added it wrote nothing (no job made yet, say);
    whether the trial is now Created.

    Normally Created goes out with Running, in the write that follows the job's creation: Katib
    writes them in two reconciles (trial_controller.go), one status write per trial more.
    """
    body = ctx.cache.get("trials", namespace, name)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return False
    trial = ctx.cache.model("trials", body, Trial)
    if not ts.is_created(trial):
        await _write(ctx, body, ts.mark_created(trial, now_time()).dump())
    return True


async def _write(ctx: Context, body: Obj, status: Obj) -> Obj:
    old = body.get("status") or {}
    if strip_volatile({**old, **status}) == strip_volatile(old):
        return body
    status["lastReconcileTime"] = now_time()
    return await ctx.write_status(TRIALS, "trials", body, status)


async def _reconcile(ctx: Context, body: Obj) -> float | None:
    meta = body["metadata"]
    namespace, name = meta.get("namespace") or "default", meta["name"]
    finalizers = list(meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        if TRIAL_FINALIZER in finalizers:
            await ctx.services.delete_observation_log(name)
            await ctx.patch_object(
                TRIALS,
                "trials",
                body,
                {"metadata": {"finalizers": [f for f in finalizers if f != TRIAL_FINALIZER]}},
            )
            ctx.metrics.trial_deleted.labels(namespace).inc()
        _FINISHED_SEEN.pop(meta.get("uid") or "", None)
        return None
    if TRIAL_FINALIZER not in finalizers:
        body = await ctx.patch_object(
            TRIALS, "trials", body, {"metadata": {"finalizers": [*finalizers, TRIAL_FINALIZER]}}
        )
    trial = Trial.load(body)
    now = now_time()
    if not ts.is_created(trial):
        # held in memory: written with this reconcile's next status (see _write_created)
        trial = Trial.load({**body, "status": ts.mark_created(trial, now).dump()})

    run_spec = trial.spec.run_spec if trial.spec else None
    if not run_spec:
        return None
    api_version, kind = str(run_spec.get("apiVersion") or ""), str(run_spec.get("kind") or "")
    try:
        job_kind = await ctx.kube.kind_for(api_version, kind)
    except NotFound:
        if ts.is_completed(trial):
            return None
        message = ts.kind_not_served_message(api_version, kind)
        await _not_created(ctx, body, trial, ts.REASON_KIND_NOT_SERVED, message, now)
        return None
    cache_kind = job_cache_kind(job_kind)
    job = ctx.cache.get(cache_kind, namespace, name)
    if job is None and cache_kind not in ctx.watched_jobs:
        job = await ctx.kube.get_or_none(job_kind, name, namespace)
    completed = ts.is_completed(trial)
    if job is not None and _controller_uid(job) not in (None, meta.get("uid")):
        # The job of an earlier trial of the same name (deleted by hand and recreated): let it go
        # before this trial's own job is created.
        if not (job.get("metadata") or {}).get("deletionTimestamp"):
            await ctx.kube.delete(job_kind, name, namespace, propagation="Background")
        return 0.5

    if job is None:
        if completed:
            return None
        if infra.is_retry_pending(trial):
            # The failed attempt's metrics must not count for the retry (its Pods are gone by now).
            await ctx.services.delete_observation_log(name)
        desired = copy.deepcopy(run_spec)
        job_meta = desired.setdefault("metadata", {})
        job_meta["name"], job_meta["namespace"] = name, namespace
        job_meta["ownerReferences"] = [owner_reference(body)]
        try:
            created = await ctx.kube.create_if_absent(job_kind, desired, namespace)
        except (Invalid, BadRequest) as exc:
            message = ts.job_rejected_message(kind, str(exc))
            await _not_created(ctx, body, trial, ts.REASON_JOB_REJECTED, message, now)
            return None
        if created is None:
            return _time_left(trial)  # a job that never changes must still time out
        ctx.cache.observe(cache_kind, created)
        ctx.events.emit(body, "JobCreated", f"Job {name} has been created")
        job = created  # as Katib: the new job's state (Running) is written in this reconcile

    if ts.is_early_stopped(trial) and not ts.is_observation_available(trial):
        body = await _update_observation(ctx, body, trial)
        trial = Trial.load(body)
    deleting = bool((job.get("metadata") or {}).get("deletionTimestamp"))
    if completed:
        # A timed-out job must stop, and deleting it is the one way that works for every kind; so
        # must a job whose Pods cannot run (an image that cannot be pulled waits for ever).
        retain = (
            bool(trial.spec and trial.spec.retain_run)
            and not ts.is_timed_out(trial)
            and not infra.is_infra_failed(trial)
        )
        if (
            not retain
            and not deleting
            and await ctx.kube.delete(job_kind, name, namespace, propagation="Foreground")
        ):
            ctx.events.emit(body, "JobDeleted", f"Job {name} has been deleted")
            # until the watch brings the deleting job: the trial's own status write wakes this
            # reconcile again first, which deleted the job a second time (bench.operator_bench)
            # (unless its DELETED event came first: then the cache has forgotten it, rightly)
            if ctx.cache.get(cache_kind, namespace, name) is not None:
                job_meta = {**(job.get("metadata") or {}), "deletionTimestamp": now}
                ctx.cache.observe(cache_kind, {**job, "metadata": job_meta})
        _FINISHED_SEEN.pop(meta.get("uid") or "", None)
        return None

    spec = trial.spec
    assert spec is not None
    outcome = evaluate_job_status(
        job, spec.success_condition or "", spec.failure_condition or "", trial_running=ts.is_running(trial)
    )
    if infra.is_retry_pending(trial) and deleting:
        return 0.5  # the failed attempt's job and Pods go first
    if infra.retry_limit(trial) > 0 and (outcome is None or outcome.state != ts.JOB_SUCCEEDED):
        # Without a limit nothing changes: such failures stay what they are in Katib.
        failure = infra.infra_failure(await _job_pods(ctx, trial, job, outcome))
        if failure is not None:
            return await _infra_failure(ctx, body, trial, job_kind, job, failure, now)
    left = _time_left(trial)
    finished = outcome is not None and outcome.state in (ts.JOB_SUCCEEDED, ts.JOB_FAILED)
    if left is not None and left <= 0 and not finished:
        await _write(ctx, body, ts.mark_timed_out(trial, now).dump())
        message = ts.MSG_TIMED_OUT.format(seconds=spec.timeout_seconds)
        ctx.events.emit(body, ts.REASON_TIMED_OUT, message, warning=True)
        ctx.metrics.trial_failed.labels(namespace).inc()
        return 0.0  # go on to delete the job
    if outcome is None:
        return left
    if outcome.state == ts.JOB_SUCCEEDED:
        # the observation goes out with the Succeeded condition: one status write, not two
        observation = await _read_observation(ctx, trial)
        if observation is not None:
            trial = Trial.load({**body, "status": {**(body.get("status") or {}), "observation": observation}})
    config = await ctx.config.get()
    collector = (
        spec.metrics_collector.collector.kind
        if spec.metrics_collector and spec.metrics_collector.collector
        else None
    )
    push = collector in PUSH_KINDS
    transition = ts.next_trial_status(
        trial,
        ts.JobOutcome(outcome.state, outcome.reason, outcome.message),
        now=now,
        job_finished_at=_finished_at(job, meta.get("uid") or "")
        if outcome.state == ts.JOB_SUCCEEDED
        else None,
        current_time=datetime.now(UTC),
        grace_seconds=float(config.runtime.metrics_unavailable_grace_period_seconds),
        push_collector=push,
    )
    if transition.waiting_for_metrics:
        return METRICS_POLL
    if (
        push
        and ts.is_metrics_unavailable(Trial(status=transition.status))
        and not ts.is_metrics_unavailable(trial)
    ):
        objective = spec.objective.objective_metric_name if spec.objective else None
        await ctx.services.report_unavailable(name, objective or "")
    await _write(ctx, body, transition.status.dump())
    if transition.event_reason:
        ctx.events.emit(body, transition.event_reason, transition.event_message, warning=transition.warning)
        counter = {
            "JobSucceeded": ctx.metrics.trial_succeeded,
            "JobFailed": ctx.metrics.trial_failed,
            "MetricsUnavailable": ctx.metrics.trial_metrics_unavailable,
        }.get(transition.event_reason)
        if counter is not None:
            counter.labels(namespace).inc()
    return None if finished else left


async def _not_created(ctx: Context, body: Obj, trial: Trial, reason: str, message: str, now: str) -> None:
    """The trial's job cannot be created (kind not served, template rejected): the trial fails."""
    await _write(ctx, body, ts.mark_job_not_created(trial, reason, message, now).dump())
    ctx.events.emit(body, reason, message, warning=True)
    ctx.metrics.trial_failed.labels(key_of(body)[0]).inc()


async def _job_pods(ctx: Context, trial: Trial, job: Obj, outcome: JobCondition | None) -> list[Obj]:
    """The job's failed Pods the operator's Pod watch kept; for a failed job also its Pods read
    afresh, since the Pod and job watches are separate streams and the job may be seen failed first."""
    uid = str((job.get("metadata") or {}).get("uid") or "")
    pods = ctx.cache.failed_pods_of(uid)
    if outcome is None or outcome.state != ts.JOB_FAILED:
        return pods
    namespace = (job.get("metadata") or {}).get("namespace")
    if job.get("kind") == "Job" and str(job.get("apiVersion") or "").startswith("batch/"):
        selector = f"controller-uid={uid}"
    else:
        labels = (trial.spec.primary_pod_labels if trial.spec else None) or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    try:
        listed = await ctx.kube.list(PODS, namespace, label_selector=selector or None)
    except ApiError as exc:
        log.info("pods of job %s not listed: %s", (job.get("metadata") or {}).get("name"), exc)
        return pods
    seen = {(p.get("metadata") or {}).get("uid") for p in pods}
    return pods + [
        p for p in listed if _controller_uid(p) == uid and (p.get("metadata") or {}).get("uid") not in seen
    ]


async def _infra_failure(
    ctx: Context, body: Obj, trial: Trial, job_kind: Resource, job: Obj, failure: infra.InfraFailure, now: str
) -> float:
    """Retry (delete the job, record the retry) or, with the retries spent, fail the trial.

    The job is deleted (once: a deleting job is not deleted again) before the status is written,
    so a retry is never counted twice. After a crash in between, the next reconcile still writes
    the retry if the job's Pods show the failure; if they are gone it goes uncounted and the
    failed attempt's metrics stay (one more retry than the limit, never a lost trial).
    """
    namespace, name = key_of(body)
    decision = infra.decide(trial, failure, now)
    if decision.retry:
        job_meta = job.get("metadata") or {}
        cache_kind = job_cache_kind(job_kind)
        if not job_meta.get("deletionTimestamp"):
            await ctx.kube.delete(
                job_kind, name, namespace, propagation="Foreground", uid=job_meta.get("uid")
            )
            if await ctx.refresh(job_kind, cache_kind, namespace, name) is None:
                ctx.cache.forget(cache_kind, job)
        await _write(ctx, body, decision.status.dump())
        ctx.events.emit(body, infra.EVENT_RETRIED, decision.message, warning=True)
        ctx.metrics.trial_retried.labels(namespace).inc()
        return 0.5
    await _write(ctx, body, decision.status.dump())
    ctx.events.emit(body, infra.REASON_INFRA_FAILED, decision.message, warning=True)
    ctx.metrics.trial_failed.labels(namespace).inc()
    return 0.0  # go on to delete the job


def _time_left(trial: Trial) -> float | None:
    """Seconds until the trial's timeout (katib-py's spec.timeoutSeconds), None without one."""
    deadline = ts.timeout_deadline(trial)
    return None if deadline is None else max(0.0, (deadline - datetime.now(UTC)).total_seconds())


def _controller_uid(obj: Obj) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


async def _read_observation(ctx: Context, trial: Trial) -> Obj | None:
    """The trial's observation reduced from its metric logs in the db-manager (None: no logs)."""
    spec = trial.spec
    objective = spec.objective if spec else None
    if objective is None or not objective.objective_metric_name:
        return None
    names = [objective.objective_metric_name, *(objective.additional_metric_names or [])]
    logs = await ctx.services.observation_logs((trial.metadata.name if trial.metadata else None) or "", names)
    if not logs:
        return None
    return reduce_metric_logs(logs, objective.metric_strategies or []).dump()


async def _update_observation(ctx: Context, body: Obj, trial: Trial) -> Obj:
    """Read the trial's metric logs from the db-manager and store the reduced observation."""
    observation = await _read_observation(ctx, trial)
    if observation is None:
        return body
    status = {"observation": observation}
    try:
        return await _write(ctx, body, status)
    except ApiError as exc:
        log.info("observation of %s not written: %s", (body.get("metadata") or {}).get("name"), exc)
        raise


def _finished_at(job: Obj, uid: str) -> datetime:
    """When the job finished: its completionTime, else when this process first saw it finished."""
    finished = parse_time((job.get("status") or {}).get("completionTime"))
    if finished is not None:
        return finished
    first = _FINISHED_SEEN.setdefault(uid, time.monotonic())
    return datetime.now(UTC) - timedelta(seconds=time.monotonic() - first)
