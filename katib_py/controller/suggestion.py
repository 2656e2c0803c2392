"""The Suggestion controller (Katib: pkg/controller.v1beta1/suggestion/suggestion_controller.go):
run the algorithm service and turn requests into assignments.

It owns the algorithm's Deployment and Service (and the early-stopping container, its RBAC, and
the volume for FromVolume), validates the settings once the service is ready, and calls
GetSuggestions for `spec.requests - status.suggestionCount` new assignments. It also prunes the
assignments of completed trials so that the Suggestion object stays small (see suggestion_sync).
"""

from __future__ import annotations

import logging

from katib_py.api.config import KatibConfig
from katib_py.api.models import AlgorithmSetting, Experiment, Suggestion, Trial
from katib_py.api.resources import SUGGESTIONS
from katib_py.controller.context import Context, strip_volatile
from katib_py.controller.services import ServiceUnavailable
from katib_py.core import experiment_status as es
from katib_py.core import suggestion_resources as sr
from katib_py.core import suggestion_status as sst
from katib_py.core import suggestion_sync as ss
from katib_py.core.proto_convert import (
    TrialsRequest,
    early_stopping_to_proto,
    experiment_to_proto,
    join_request,
    request_chunk,
    rules_from_proto,
)
from katib_py.kube.errors import Conflict, NotFound
from katib_py.kube.meta import Key, Obj
from katib_py.kube.resource import (
    DEPLOYMENTS,
    PVCS,
    PVS,
    ROLEBINDINGS,
    ROLES,
    SERVICEACCOUNTS,
    SERVICES,
    Resource,
)
from katib_py.kube.rfc3339 import now_time
from katib_py.proto import api_pb2

log = logging.getLogger(__name__)

RETRY_UNAVAILABLE = 3.0  # Katib's linear backoff between validation attempts
RETRY_NOT_NOW = 1.0  # the algorithm returned fewer assignments without ending: ask again soon


async def reconcile_suggestion(ctx: Context, key: Key) -> float | None:
    namespace, name = key
    body = ctx.cache.get("suggestions", namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    try:
        return await _reconcile(ctx, body)
    except Conflict:
        return 0.05
    except ServiceUnavailable as exc:
        log.info("suggestion %s/%s: %s", namespace, name, exc)
        return RETRY_UNAVAILABLE
    except sr.ComposeError as exc:
        ctx.events.emit(body, "ReconcileFailed", str(exc), warning=True)
        return 10.0


async def _write(ctx: Context, body: Obj, status: Obj) -> Obj:
    old = body.get("status") or {}
    if strip_volatile({**old, **status}) == strip_volatile(old):
        return body
    status["lastReconcileTime"] = now_time()
    return await ctx.write_status(SUGGESTIONS, "suggestions", body, status)


def _deployment_available(deployment: Obj | None) -> bool:
    if deployment is None:
        return False
    status = deployment.get("status") or {}
    if (status.get("availableReplicas") or 0) >= 1:
        return True
    return any(
        c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or []
    )


async def _reconcile(ctx: Context, body: Obj) -> float | None:
    s = Suggestion.load(body)
    namespace, name = body["metadata"].get("namespace") or "default", body["metadata"]["name"]
    resource = sr.resource_name(s)
    now = now_time()
    if sst.is_succeeded(s):
        # The experiment is done: remove the service, keep any volume (FromVolume can restart).
        deployment = ctx.cache.get("deployments", namespace, resource)
        if deployment is not None and not deployment["metadata"].get("deletionTimestamp"):
            await ctx.kube.delete(DEPLOYMENTS, resource, namespace, propagation="Foreground")
            await ctx.kube.delete(SERVICES, resource, namespace)
            # deleting until its watch event says so (bench.scale_bench saw both deleted twice)
            if ctx.cache.get("deployments", namespace, resource) is not None:
                meta = {**deployment["metadata"], "deletionTimestamp": now}
                ctx.cache.observe("deployments", {**deployment, "metadata": meta})
        await _prune_at_the_end(ctx, body, s)
        return None
    if sst.is_failed(s):
        return None
    if not sst.is_created(s):
        await _write(ctx, body, sst.mark_created(s, now).dump())
        return None

    config = await ctx.config.get()
    await _ensure_resources(ctx, s, config)
    deployment = ctx.cache.get("deployments", namespace, resource)
    if not _deployment_available(deployment):
        await _write(ctx, body, sst.mark_deployment_ready(s, False, now).dump())
        return 5.0  # deployment events wake us sooner
    body = await _write(ctx, body, sst.mark_deployment_ready(s, True, now).dump())
    s = Suggestion.load(body)

    exp_body = ctx.cache.get("experiments", namespace, name)
    if exp_body is None:
        return None
    exp = Experiment.load(exp_body)
    address = f"{resource}.{namespace}:{sr.SUGGESTION_PORT}"
    es_address = f"{resource}.{namespace}:{sr.EARLY_STOPPING_PORT}"
    if not sst.is_running(s):
        failure = await ctx.services.validate_algorithm_settings(address, experiment_to_proto(exp))
        if failure is None and sr.has_early_stopping(s) and exp.spec is not None:
            failure = await ctx.services.validate_early_stopping_settings(
                es_address, early_stopping_to_proto(exp.spec)
            )
        if failure is not None:
            message = f"Validation failed: {failure.message}"
            await _write(ctx, body, sst.mark_failed(s, message, now).dump())
            ctx.events.emit(body, sst.REASON_FAILED, message, warning=True)
            return None
        body = await _write(ctx, body, sst.mark_running(s, now).dump())
        s = Suggestion.load(body)

    trial_bodies = ctx.cache.trials_of(namespace, name)
    objective = exp.spec.objective if exp.spec else None
    pruned = ss.prune_completed(s, ctx.cache.trial_facts(namespace, name, objective))
    wanted = ss.current_requests(s) - ss.suggestion_count(s)
    settings = s.status.algorithm_settings if s.status else None
    if wanted <= 0 or ss.is_end_reached(settings):
        # Completed trials' assignments leave with the next new ones (a write of their own cost
        # most of a Suggestion write per trial): until then at most one round of them stays. When
        # no new ones will come (the algorithm's end, the experiment's), they go on their own.
        if pruned is not None and (ss.is_end_reached(settings) or es.is_completed(exp)):
            await ctx.write_status(SUGGESTIONS, "suggestions", body, pruned.dump())
        return None
    if pruned is not None:
        # the completed trials' assignments leave with the new ones arriving: one status write
        s = s.model_copy(update={"status": pruned})
    return await _sync_assignments(ctx, body, s, exp, trial_bodies, wanted, address, es_address, config)


async def _prune_at_the_end(ctx: Context, body: Obj, s: Suggestion) -> None:
    """A finished Suggestion drops the assignments of its completed trials (its trials may still be
    completing, killed by the experiment's end: each one's change brings the Suggestion here)."""
    namespace, name = body["metadata"].get("namespace") or "default", body["metadata"]["name"]
    exp_body = ctx.cache.get("experiments", namespace, name)
    exp = Experiment.load(exp_body) if exp_body is not None else None
    objective = exp.spec.objective if exp is not None and exp.spec else None
    pruned = ss.prune_completed(s, ctx.cache.trial_facts(namespace, name, objective))
    if pruned is not None:
        await ctx.write_status(SUGGESTIONS, "suggestions", body, pruned.dump())


async def _sync_assignments(
    ctx: Context,
    body: Obj,
    s: Suggestion,
    exp: Experiment,
    trial_bodies: list[Obj],
    wanted: int,
    address: str,
    es_address: str,
    config: KatibConfig,
) -> float | None:
    """SyncAssignments: ask the algorithm for `wanted` more and record them."""
    algorithm = exp.spec.algorithm if exp.spec else None
    merged = ss.merge_settings(
        algorithm.algorithm_settings if algorithm else None,
        (s.status.algorithm_settings if s.status else None) or [],
    )
    exp_proto = experiment_to_proto(exp, merged)

    def chunks(request_type: type[TrialsRequest], bodies: list[Obj]) -> list[bytes]:
        name = request_type.DESCRIPTOR.name
        return [
            ctx.cache.derived(
                "trials", b, name, lambda b: request_chunk(ctx.cache.model("trials", b, Trial), request_type)
            )
            for b in bodies
        ]

    # katib-py's warm start: the points first, then the algorithm, which also learns from the
    # trials of the seeding experiments (sent along with this experiment's own).
    replies = ss.warm_start_replies(exp, s, wanted)
    reply_settings: list[AlgorithmSetting] = []
    ask = wanted - len(replies)
    if ask > 0:
        namespace = body["metadata"].get("namespace") or "default"
        seeds = [
            b
            for other in ss.seed_experiments(exp)
            for b in ctx.cache.trials_of(namespace, other)
            if ss.is_seed(ctx.cache.model("trials", b, Trial))
        ]
        head = api_pb2.GetSuggestionsRequest(
            experiment=exp_proto, current_request_number=ask, total_request_number=ss.current_requests(s)
        )
        request = join_request(head, chunks(api_pb2.GetSuggestionsRequest, [*seeds, *trial_bodies]))
        timeout = float(config.runtime.get_suggestions_timeout_seconds)
        reply = await ctx.services.get_suggestions(address, request, timeout)
        replies += [
            ss.ReplyAssignment([(a.name, a.value) for a in pa.assignments], pa.trial_name, dict(pa.labels))
            for pa in reply.parameter_assignments
        ][:ask]
        reply_settings = [
            AlgorithmSetting(name=x.name, value=x.value) for x in reply.algorithm.algorithm_settings
        ]
    rules = None
    if sr.has_early_stopping(s) and replies:
        rules = rules_from_proto(
            await ctx.services.get_early_stopping_rules(
                es_address,
                join_request(
                    api_pb2.GetEarlyStoppingRulesRequest(
                        experiment=exp_proto, db_manager_address=ctx.settings.db_manager.address
                    ),
                    chunks(api_pb2.GetEarlyStoppingRulesRequest, trial_bodies),
                ),
            )
        )
    taken = ctx.cache.trial_names(body["metadata"].get("namespace") or "default", body["metadata"]["name"])
    for _attempt in range(10):
        status = ss.append_assignments(
            s, replies, rules=rules, reply_settings=reply_settings, rng=ctx.rng, taken_names=taken
        )
        try:
            await ctx.write_status(SUGGESTIONS, "suggestions", body, status.dump())
            break
        except Conflict:
            fresh = ctx.cache.get(
                "suggestions", body["metadata"].get("namespace") or "default", body["metadata"]["name"]
            )
            if fresh is None:
                return None
            body, s = fresh, Suggestion.load(fresh)
    else:
        return 0.1
    if len(replies) < wanted and not ss.is_end_reached(reply_settings):
        return RETRY_NOT_NOW
    return None


async def _ensure_resources(ctx: Context, s: Suggestion, config: KatibConfig) -> None:
    """Create what is missing; never update (Katib's deployment is create-only)."""
    namespace = (s.metadata.namespace if s.metadata else None) or "default"
    resource = sr.resource_name(s)
    uid = (s.metadata.uid if s.metadata else None) or ""
    memo_key = (namespace, resource, uid)
    if ctx.cache.get("deployments", namespace, resource) is not None and memo_key in _ENSURED:
        return
    if s.spec and s.spec.resume_policy == "FromVolume":
        pv = sr.persistent_volume(s, config)
        if pv is not None:
            await _create(ctx, PVS, pv, None)
        await _create(ctx, PVCS, sr.persistent_volume_claim(s, config), namespace)
    await _create(ctx, SERVICES, sr.service(s), namespace)
    if sr.has_early_stopping(s) and sr.service_account_name(s, config) == resource:
        await _create(ctx, SERVICEACCOUNTS, sr.service_account(s), namespace)
        await _create(ctx, ROLES, sr.role(s), namespace)
        await _create(ctx, ROLEBINDINGS, sr.role_binding(s), namespace)
    if ctx.cache.get("deployments", namespace, resource) is None:
        created = await ctx.kube.create_if_absent(DEPLOYMENTS, sr.deployment(s, config), namespace)
        if created is not None:
            ctx.cache.observe("deployments", created)
    _ENSURED.add(memo_key)


async def _create(ctx: Context, kind: Resource, obj: Obj, namespace: str | None) -> None:
    try:
        await ctx.kube.create_if_absent(kind, obj, namespace)
    except NotFound as exc:
        if kind in (ROLES, ROLEBINDINGS, PVS):
            log.info("%s not served by this cluster: %s", kind.kind, exc)
            return
        raise


# (namespace, resource, suggestion uid) whose child objects were created by this process
_ENSURED: set[tuple[str, str, str]] = set()
