"""The Experiment controller (Katib: pkg/controller.v1beta1/experiment/experiment_controller.go):
count trials, decide the condition, create or delete trials.

Reads the experiment, its trials (from the cache's index) and its Suggestion, calls the pure
functions in `katib_py.core`, and writes the result. Trials are created from the assignments the
Suggestion holds, by name, so creating twice is harmless (409) and nothing is ever duplicated.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from katib_py.api.models import Experiment, Suggestion, Trial
from katib_py.api.resources import EXPERIMENTS, SUGGESTIONS, TRIALS
from katib_py.controller.context import Context, strip_volatile
from katib_py.core import experiment_status as es
from katib_py.core import suggestion_status as sst
from katib_py.core import suggestion_sync as ss
from katib_py.core import trial_status as ts
from katib_py.core.sharding import SHARD_ANNOTATION
from katib_py.core.template import TemplateError, trial_template_text
from katib_py.core.trial_counting import decide_trial_counts, incomplete_early_stopped
from katib_py.core.trial_facts import TrialFacts
from katib_py.core.trial_instance import build_trial
from katib_py.kube.errors import Conflict
from katib_py.kube.meta import Key, Obj, owner_reference
from katib_py.kube.resource import CONFIGMAPS
from katib_py.kube.rfc3339 import now_time

log = logging.getLogger(__name__)

FINALIZER = "update-prometheus-metrics"
# Seconds between two status writes of an experiment whose conditions stay the same: at hundreds
# of trials a minute every trial would otherwise cost up to three writes of a status that holds
# every trial's name (see core.experiment_status.status_write_wait).
STATUS_WRITE_INTERVAL = 0.5
# experiment uid -> time.monotonic() of this process's last write of its status
_LAST_WRITE: dict[str, float] = {}


async def reconcile_experiment(ctx: Context, key: Key) -> float | None:
    namespace, name = key
    body = ctx.cache.get("experiments", namespace, name)
    if body is None:
        return None
    try:
        return await _reconcile(ctx, body)
    except Conflict:
        return 0.05
    except TemplateError as exc:
        ctx.events.emit(body, "ReconcileError", f"Failed to create trials: {exc}", warning=True)
        return 10.0


async def _reconcile(ctx: Context, body: Obj) -> float | None:
    meta = body["metadata"]
    namespace, name = meta.get("namespace") or "default", meta["name"]
    finalizers = list(meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        if FINALIZER in finalizers:
            await ctx.patch_object(
                EXPERIMENTS,
                "experiments",
                body,
                {"metadata": {"finalizers": [f for f in finalizers if f != FINALIZER]}},
            )
            ctx.metrics.experiment_deleted.labels(namespace).inc()
        _LAST_WRITE.pop(_uid(body), None)
        return None
    stamp = str(ctx.shard) if ctx.shard.sharded else None
    stale = stamp is not None and (meta.get("annotations") or {}).get(SHARD_ANNOTATION) != stamp
    if FINALIZER not in finalizers or stale:
        # a sharded operator says which shard runs the experiment, in the same write as the finalizer
        patch: Obj = {"metadata": {}}
        if FINALIZER not in finalizers:
            patch["metadata"]["finalizers"] = [*finalizers, FINALIZER]
        if stale:
            patch["metadata"]["annotations"] = {SHARD_ANNOTATION: stamp}
        body = await ctx.patch_object(EXPERIMENTS, "experiments", body, patch)
        if FINALIZER not in finalizers:
            ctx.metrics.experiment_created.labels(namespace).inc()

    exp = Experiment.load(body)
    now = now_time()
    trial_bodies = ctx.cache.trials_of(namespace, name)
    objective = exp.spec.objective if exp.spec else None
    trials = ctx.cache.trial_models(trial_bodies)
    facts = ctx.cache.trial_facts(namespace, name, objective)
    suggestion_body = ctx.cache.get("suggestions", namespace, name)
    suggestion = Suggestion.load(suggestion_body) if suggestion_body else None

    if es.is_completed(exp):
        return await _reconcile_completed(ctx, body, exp, trial_bodies, facts, suggestion_body, now)

    if not es.is_created(exp):
        status = es.mark_created(exp, now)
        await _write(ctx, body, status.dump(), now)
        ctx.events.emit(body, "ExperimentCreated", "Experiment is created")
        return None

    summary = es.summarize_trials(exp, trials, facts)
    status = summary.status
    end_reached = ss.suggestion_end_reached(suggestion, _live_names(facts))
    deadline = es.duration_deadline(exp)
    left = None if deadline is None else (deadline - datetime.now(UTC)).total_seconds()
    spent = left is not None and left <= 0
    if trials or end_reached or spent:
        status = es.next_condition(
            exp,
            status,
            goal_reached=summary.goal_reached,
            suggestion_end_reached=end_reached,
            now=now,
            duration_spent=spent,
        )
    exp.status = status
    requeue: float | None = None
    if not es.is_completed(exp):
        if suggestion is not None and sst.is_failed(suggestion):
            exp.status = es.mark_failed(exp, es.REASON_FAILED, es.MSG_SUGGESTION_FAILED, now)
        else:
            requeue = await _reconcile_trials(ctx, body, exp, facts, suggestion_body, suggestion)
            if left is not None:  # come back when the time budget runs out
                requeue = left if requeue is None else min(requeue, left)
    status_dump = exp.status.dump()
    wait = es.status_write_wait(
        body.get("status"), status_dump, _since_last_write(body), STATUS_WRITE_INTERVAL
    )
    if wait > 0 and _changed(body, status_dump):  # counts alone, soon after a write: a little later
        return wait if requeue is None else min(requeue, wait)
    written = await _write(ctx, body, status_dump, now)
    if written and es.is_completed(exp):
        if es.is_succeeded(exp):
            ctx.metrics.experiment_succeeded.labels(namespace).inc()
        else:
            ctx.metrics.experiment_failed.labels(namespace).inc()
        last = (exp.status.conditions or [])[-1]
        ctx.events.emit(body, last.reason or "", last.message or "", warning=es.is_failed(exp))
        return 0.0  # go on to stop the active trials and finish the suggestion
    return requeue


def _changed(body: Obj, status: Obj) -> bool:
    old = body.get("status") or {}
    return strip_volatile({**old, **status}) != strip_volatile(old)


async def _write(ctx: Context, body: Obj, status: Obj, now: str) -> bool:
    if not _changed(body, status):
        return False
    status["lastReconcileTime"] = now
    await ctx.write_status(EXPERIMENTS, "experiments", body, status)
    _LAST_WRITE[_uid(body)] = time.monotonic()
    return True


def _uid(body: Obj) -> str:
    return str(body["metadata"].get("uid") or "")


def _since_last_write(body: Obj) -> float:
    """Seconds since this process last wrote the experiment's status (infinite if it never did)."""
    last = _LAST_WRITE.get(_uid(body))
    return float("inf") if last is None else time.monotonic() - last


async def _reconcile_completed(
    ctx: Context,
    body: Obj,
    exp: Experiment,
    trial_bodies: list[Obj],
    facts: list[TrialFacts],
    suggestion_body: Obj | None,
    now: str,
) -> float | None:
    """Stop what still runs (a fix over Katib: README "Differences from Katib"), finish or restart the
    suggestion, keep counts fresh."""
    for trial_body, fact in zip(trial_bodies, facts, strict=True):
        if fact.active and not fact.deleting:
            trial = ctx.cache.model("trials", trial_body, Trial)
            await ctx.write_status(TRIALS, "trials", trial_body, ts.mark_killed(trial, now).dump())
    policy = es.resume_policy(exp)
    if es.should_restart(exp, datetime.now(UTC)):
        if policy == es.RESUME_FROM_VOLUME and suggestion_body is not None:
            suggestion = Suggestion.load(suggestion_body)
            await ctx.write_status(
                SUGGESTIONS, "suggestions", suggestion_body, sst.mark_restarting(suggestion, now).dump()
            )
        status = es.mark_restarting(exp, now)
        await _write(ctx, body, status.dump(), now)
        ctx.events.emit(body, es.REASON_RESTARTING, es.MSG_RESTARTING)
        return None
    if suggestion_body is not None and policy in (es.RESUME_NEVER, es.RESUME_FROM_VOLUME):
        suggestion = Suggestion.load(suggestion_body)
        if not sst.is_succeeded(suggestion) and not sst.is_restarting(suggestion):
            finished = sst.mark_succeeded(suggestion, policy == es.RESUME_FROM_VOLUME, now)
            await ctx.write_status(SUGGESTIONS, "suggestions", suggestion_body, finished.dump())
    namespace, name = _key(body)
    objective = exp.spec.objective if exp.spec else None
    summary = es.summarize_trials(
        exp,
        ctx.cache.trial_models(ctx.cache.trials_of(namespace, name)),
        ctx.cache.trial_facts(namespace, name, objective),
    )
    await _write(ctx, body, summary.status.dump(), now)
    return None


def _live_names(facts: list[TrialFacts]) -> set[str]:
    """Names of the trials that exist and are not being deleted."""
    return {f.name for f in facts if not f.deleting}


def _key(body: Obj) -> Key:
    return (body["metadata"].get("namespace") or "default", body["metadata"]["name"])


async def _reconcile_trials(
    ctx: Context,
    body: Obj,
    exp: Experiment,
    facts: list[TrialFacts],
    suggestion_body: Obj | None,
    suggestion: Suggestion | None,
) -> float | None:
    """ReconcileTrials: delete surplus active trials, or create trials and ask for more assignments."""
    namespace, name = _key(body)
    decision = decide_trial_counts(exp, facts)
    if decision.delete:
        doomed = set(decision.delete)
        if suggestion_body is not None and suggestion is not None:
            status = ss.remove_assignments(suggestion, doomed)
            if status is not None:
                await ctx.write_status(SUGGESTIONS, "suggestions", suggestion_body, status.dump())
        for trial_name in decision.delete:
            if await ctx.kube.delete(TRIALS, trial_name, namespace):
                ctx.events.emit(
                    body, "TrialDeleted", f"Trial {trial_name} is deleted: parallelTrialCount lowered"
                )
        return None
    names = ctx.cache.trial_names(namespace, name)
    # A trial deleted by hand that is still going away keeps its assignment: it is recreated
    # (same name) once gone, so it counts as pending, not as a reason to ask for a new one.
    live = _live_names(facts)
    ies = incomplete_early_stopped(facts)
    if suggestion is None:
        requests = ss.wanted_requests(None, live, decision.add, ies)
        await _create_suggestion(ctx, body, exp, requests)
        return None
    to_create = ss.assignments_to_create(suggestion, names, decision.add)
    if to_create:
        text = await _template_text(ctx, exp)
        for assignment in to_create:
            trial = build_trial(exp, assignment, text)
            created = await ctx.kube.create_if_absent(TRIALS, trial, namespace)
            if created is not None:
                ctx.cache.observe("trials", created)
    requests = ss.wanted_requests(suggestion, live, decision.add, ies)
    if requests != ss.current_requests(suggestion) and not sst.is_succeeded(suggestion):
        updated = await ctx.kube.patch(SUGGESTIONS, name, {"spec": {"requests": requests}}, namespace)
        ctx.cache.observe("suggestions", updated)
    return None


async def _template_text(ctx: Context, exp: Experiment) -> str:
    template = exp.spec.trial_template if exp.spec else None
    if template is None:
        raise TemplateError("spec.trialTemplate is missing")
    data: dict[str, str] | None = None
    source = template.config_map
    if template.trial_spec is None and source is not None and source.config_map_name:
        cm = await ctx.kube.get_or_none(
            CONFIGMAPS, source.config_map_name, source.config_map_namespace or "default"
        )
        data = None if cm is None else dict(cm.get("data") or {})
    return trial_template_text(template, lambda _name, _ns: data)


async def _create_suggestion(ctx: Context, body: Obj, exp: Experiment, requests: int) -> None:
    meta = body["metadata"]
    spec = exp.spec
    assert spec is not None
    suggestion: Obj = {
        "apiVersion": body.get("apiVersion") or "kubeflow.org/v1beta1",
        "kind": "Suggestion",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": dict(meta.get("labels") or {}),
            "annotations": {
                k: v
                for k, v in (meta.get("annotations") or {}).items()
                if not k.startswith("kubectl.kubernetes.io/")
            },
            "ownerReferences": [owner_reference(body)],
        },
        "spec": {
            "algorithm": spec.algorithm.dump() if spec.algorithm else {},
            "requests": requests,
            "resumePolicy": es.resume_policy(exp),
        },
    }
    if spec.early_stopping is not None:
        suggestion["spec"]["earlyStopping"] = spec.early_stopping.dump()
    created = await ctx.kube.create_if_absent(SUGGESTIONS, suggestion, meta.get("namespace"))
    if created is not None:
        ctx.cache.observe("suggestions", created)
