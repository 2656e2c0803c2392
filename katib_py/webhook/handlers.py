"""Katib's three admission webhooks as kopf handlers, thin over the pure functions.

- `defaulter.experiment.katib.kubeflow.org`: Katib's defaults as a JSON patch
  (pkg/webhook/v1beta1/experiment/mutate_webhook.go, experiment_defaults.go).
- `validator.experiment.katib.kubeflow.org`: every field error at once, plus the checks that need
  the cluster: the namespace label, katib-config's algorithms, a loadable ConfigMap template, and
  no leftover FromVolume PersistentVolume (pkg/webhook/v1beta1/experiment/validation_webhook.go).
- `mutator.pod.katib.kubeflow.org`: the metrics collector for trial pods
  (pkg/webhook/v1beta1/pod/inject_webhook.go).

`register_handlers(registry)` registers them with kopf (the default registry when None). The
`*_review` coroutines hold the logic and are what the handlers call.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import jsonpatch
import kopf
from pydantic import ValidationError

from katib_py.api.defaults import default_patch
from katib_py.api.models import Experiment, Suggestion, Trial
from katib_py.api.resources import EXPERIMENTS, SUGGESTIONS, TRIALS
from katib_py.api.validation import FieldError, load_experiment, validate_experiment
from katib_py.api.validation._warm_start import is_experiment_name
from katib_py.core.pod_injection import (
    EXPERIMENT_LABEL,
    SUGGESTION_TRIAL_DIR_SETTING,
    InjectionError,
    mutate_trial_pod,
)
from katib_py.kube.errors import ApiError
from katib_py.kube.resource import CONFIGMAPS, NAMESPACES, PVS
from katib_py.webhook.context import CONTEXT, WebhookContext

log = logging.getLogger(__name__)

EXPERIMENT_DEFAULTER = "defaulter.experiment.katib.kubeflow.org"
EXPERIMENT_VALIDATOR = "validator.experiment.katib.kubeflow.org"
POD_MUTATOR = "mutator.pod.katib.kubeflow.org"
INJECTION_LABEL = "katib.kubeflow.org/metrics-collector-injection"
INJECTION_ENABLED = "enabled"
TRIAL_API_VERSION = "kubeflow.org/v1beta1"
EARLY_STOPPING_PORT = 6788
MAX_OWNER_DEPTH = 8  # a pod's owner chain (Pod <- Job <- JobSet <- TrainJob <- Trial) is short


def _go_quote(text: str) -> str:
    """Go's %q for the plain names Kubernetes allows."""
    return json.dumps(text)


# ---------------------------------------------------------------- experiment defaulting


def experiment_default_ops(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The defaulting JSON patch; nothing for an object too malformed to load (validation reports it)."""
    try:
        return default_patch(raw)
    except (ValidationError, ValueError, TypeError):
        return []


# ---------------------------------------------------------------- experiment validation


async def experiment_review_errors(
    raw: dict[str, Any],
    old_raw: dict[str, Any] | None,
    namespace: str,
    ctx: WebhookContext = CONTEXT,
) -> tuple[int, list[str]]:
    """(HTTP code, messages) for an Experiment under admission; no messages when it is accepted."""
    kube = ctx.client()
    name = (raw.get("metadata") or {}).get("name") or ""
    ns_obj = await kube.get_or_none(NAMESPACES, namespace)
    labels = ((ns_obj or {}).get("metadata") or {}).get("labels") or {}
    if labels.get(INJECTION_LABEL) != INJECTION_ENABLED:
        return 400, [
            f"Cannot create the Experiment {_go_quote(name)} in namespace {_go_quote(namespace)}: "
            f'the namespace lacks label "{INJECTION_LABEL}: {INJECTION_ENABLED}"'
        ]
    exp, load_errors = load_experiment(raw)
    if exp is None:
        return 400, [str(e) for e in load_errors]
    old: Experiment | None = None
    if old_raw is not None:
        try:
            old = Experiment.load(old_raw)
        except ValidationError:
            old = None
    config = await ctx.katib_config()
    templates = await _prefetch_template(exp, kube)
    seeds = await _prefetch_seeds(exp, kube, namespace)
    errors: list[FieldError] = validate_experiment(
        exp,
        old=old,
        config=config,
        load_template=lambda ns, cm, path: templates.get((ns, cm, path)),
        find_experiment=seeds.get,
    )
    if errors:
        return 400, [str(e) for e in errors]
    spec = exp.spec
    if old_raw is None and spec is not None and spec.resume_policy == "FromVolume":
        algorithm = spec.algorithm.algorithm_name if spec.algorithm else ""
        pv_name = f"{name}-{algorithm}-{namespace}"
        try:
            pv = await kube.get_or_none(PVS, pv_name)
        except ApiError as exc:
            return 400, [f"Cannot create the Experiment: {name} in namespace: {namespace}, error: {exc}"]
        if pv is not None:
            where = f"Cannot create the Experiment: {name} in namespace: {namespace}"
            return 400, [f"{where}, PV: {pv_name} is not deleted"]
    return 200, []


async def _prefetch_template(exp: Experiment, kube: Any) -> dict[tuple[str, str, str], str | None]:
    """The ConfigMap template text validation needs, read before the (synchronous) validation runs."""
    source = exp.spec.trial_template.config_map if exp.spec and exp.spec.trial_template else None
    if source is None:
        return {}
    ns, cm, path = source.config_map_namespace or "", source.config_map_name or "", source.template_path or ""
    if not (ns and cm and path):
        return {}
    obj = await kube.get_or_none(CONFIGMAPS, cm, ns)
    text = ((obj or {}).get("data") or {}).get(path) if obj is not None else None
    return {(ns, cm, path): text}


async def _prefetch_seeds(exp: Experiment, kube: Any, namespace: str) -> dict[str, Experiment]:
    """The experiments `spec.warmStart.experiments` names that exist (and load), by name."""
    warm = exp.spec.warm_start if exp.spec else None
    found: dict[str, Experiment] = {}
    for name in dict.fromkeys((warm.experiments if warm else None) or []):
        if not is_experiment_name(name):
            continue  # never put into a URL; validation reports it
        obj = await kube.get_or_none(EXPERIMENTS, name, namespace)
        if obj is not None:
            try:
                found[name] = Experiment.load(obj)
            except ValidationError:
                continue
    return found


# ---------------------------------------------------------------- pod mutation


async def find_trial_job(
    obj: dict[str, Any], namespace: str, ctx: WebhookContext = CONTEXT, depth: int = 0
) -> tuple[str, str] | None:
    """Katib's getKatibJob: (kind, name) of the object a Trial owns, walking owners recursively."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    for owner in owners:
        if owner.get("kind") == "Trial" and owner.get("apiVersion") == TRIAL_API_VERSION:
            return obj.get("kind") or "", (obj.get("metadata") or {}).get("name") or ""
    if depth >= MAX_OWNER_DEPTH:
        return None
    kube = ctx.client()
    for owner in owners:
        api_version, kind, owner_name = owner.get("apiVersion"), owner.get("kind"), owner.get("name")
        if not (api_version and kind and owner_name):
            continue
        try:
            rest = await kube.kind_for(api_version, kind)
            parent = await kube.get_or_none(rest, owner_name, namespace if rest.namespaced else None)
        except ApiError:
            continue
        if parent is None:
            continue
        found = await find_trial_job(parent, namespace, ctx, depth + 1)
        if found is not None:
            return found
    return None


async def pod_review(
    pod: dict[str, Any], namespace: str, username: str | None, ctx: WebhookContext = CONTEXT
) -> dict[str, Any] | None:
    """The mutated pod, or None when the pod is not a trial's (or was created by the operator)."""
    if ctx.operator_username and username == ctx.operator_username:
        return None
    found = await find_trial_job(pod, namespace, ctx)
    if found is None:
        return None
    _kind, trial_name = found
    kube = ctx.client()
    trial_obj = await kube.get_or_none(TRIALS, trial_name, namespace)
    if trial_obj is None:
        raise kopf.AdmissionError(
            f"Trial {namespace}/{trial_name} that owns the pod's job was not found", code=500
        )
    trial = Trial.load(trial_obj)
    experiment = ((trial.metadata.labels if trial.metadata else None) or {}).get(EXPERIMENT_LABEL, "")
    suggestion: Suggestion | None = None
    if experiment:
        suggestion_obj = await kube.get_or_none(SUGGESTIONS, experiment, namespace)
        suggestion = Suggestion.load(suggestion_obj) if suggestion_obj else None
    trial_dir, claim, earlystop = _suggestion_facts(suggestion, namespace)
    try:
        return mutate_trial_pod(
            pod,
            trial,
            config=await ctx.katib_config(),
            db_manager_address=ctx.db_manager_address,
            earlystop_address=earlystop,
            suggestion_trial_dir=trial_dir,
            suggestion_claim_name=claim,
            native_sidecar=await ctx.use_native_sidecar(),
        )
    except InjectionError as exc:
        raise kopf.AdmissionError(str(exc), code=400) from exc


def _suggestion_facts(
    suggestion: Suggestion | None, namespace: str
) -> tuple[str | None, str | None, str | None]:
    """(suggestion_trial_dir, PVC name, early-stopping address) from the experiment's Suggestion."""
    if suggestion is None or suggestion.spec is None or suggestion.spec.algorithm is None:
        return None, None, None
    algorithm = suggestion.spec.algorithm
    service = f"{suggestion.metadata.name if suggestion.metadata else ''}-{algorithm.algorithm_name or ''}"
    trial_dir = next(
        (
            s.value
            for s in algorithm.algorithm_settings or []
            if s.name == SUGGESTION_TRIAL_DIR_SETTING and s.value
        ),
        None,
    )
    return trial_dir, service, f"{service}.{namespace}:{EARLY_STOPPING_PORT}"


# ---------------------------------------------------------------- kopf registration


def _replace_body(target: dict[str, Any]) -> Callable[[Any], None]:
    def fn(body: Any) -> None:
        body.clear()
        body.update(copy.deepcopy(target))

    return fn


def _apply_ops(ops: list[dict[str, Any]]) -> Callable[[Any], None]:
    def fn(body: Any) -> None:
        jsonpatch.apply_patch(body, ops, in_place=True)

    return fn


def _namespace_of(body: Any, namespace: str | None) -> str:
    return namespace or ((body.get("metadata") or {}).get("namespace")) or ""


def experiment_defaulter(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    ops = experiment_default_ops(copy.deepcopy(dict(body)))
    if ops:
        patch.fns.append(_apply_ops(ops))


async def experiment_validator(body: kopf.Body, **kwargs: Any) -> None:
    old: kopf.Body | None = kwargs.get("old")
    namespace: str | None = kwargs.get("namespace")
    raw = copy.deepcopy(dict(body))
    old_raw = copy.deepcopy(dict(old)) if old is not None else None
    code, messages = await experiment_review_errors(raw, old_raw, _namespace_of(body, namespace))
    if messages:
        raise kopf.AdmissionError("; ".join(messages), code=code)


async def pod_mutator(body: kopf.Body, patch: kopf.Patch, **kwargs: Any) -> None:
    username = (kwargs.get("userinfo") or {}).get("username")
    raw = copy.deepcopy(dict(body))
    mutated = await pod_review(raw, _namespace_of(body, kwargs.get("namespace")), username)
    if mutated is not None:
        patch.fns.append(_replace_body(mutated))


def register_handlers(registry: kopf.OperatorRegistry | None = None) -> kopf.OperatorRegistry:
    """Register the three admission handlers (once per registry); returns the registry."""
    target = registry if registry is not None else kopf.get_default_registry()
    known = {h.id for h in target._webhooks.get_all_handlers()}
    experiments = ("kubeflow.org", "v1beta1", "experiments")
    if EXPERIMENT_DEFAULTER not in known:
        kopf.on.mutate(
            *experiments, id=EXPERIMENT_DEFAULTER, operations=["CREATE", "UPDATE"], registry=target
        )(experiment_defaulter)
    if EXPERIMENT_VALIDATOR not in known:
        kopf.on.validate(
            *experiments, id=EXPERIMENT_VALIDATOR, operations=["CREATE", "UPDATE"], registry=target
        )(experiment_validator)
    if POD_MUTATOR not in known:
        kopf.on.mutate("", "v1", "pods", id=POD_MUTATOR, operations=["CREATE"], registry=target)(pod_mutator)
    return target
