"""The trial template: its source, its trial parameters, and the job it renders.

Katib's `validateTrialTemplate` and `isMetaKey`
(`pkg/webhook/v1beta1/experiment/validator/validator.go`), in Katib's order and with its words:
primaryContainerName, successCondition and failureCondition, trialParameters, exactly one of
trialSpec and configMap (a complete one); the template text (the trialSpec as JSON, or the
ConfigMap's `templatePath` key, as `GetTrialTemplate` in
`pkg/controller.v1beta1/experiment/manifest/generator.go` reads it); each trial parameter named,
unique, referencing a spec.parameter or a `${trialSpec.*}` meta key, and used in the template; no
placeholder left over; a parsable object without metadata.name and metadata.namespace, with
apiVersion and kind. Katib's `validateTrialJob` round trip of a batch/v1 Job is
`katib_py.api.trialjob`, which reports each problem at its own path.

Loading a ConfigMap needs the cluster: the webhook plugs it in as `load_template`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml

from katib_py.api.models import Experiment
from katib_py.api.trialjob import job_problems
from katib_py.api.validation._errors import FieldError

TRIAL_PARAM_FORMAT = "${{trialParameters.{}}}"
TRIAL_PARAM_LEFTOVER = re.compile(r"\$\{trialParameters\..+?\}")
META_REF = re.compile(r"\$\{trialSpec\.(.+?)\}")
META_INDEXED = re.compile(r"(.+)\[(.+)]")
META_KEYS = ("Name", "Namespace", "Kind", "APIVersion", "Annotations", "Labels")

# (namespace, configMapName, templatePath) -> template text, or None when not found
TemplateLoader = Callable[[str, str, str], str | None]


def _is_meta_key(reference: str) -> bool:
    m = META_REF.search(reference)
    if not m:
        return False
    key = m.group(1)
    if key in META_KEYS:
        return True
    sub = META_INDEXED.match(key)
    return bool(sub and sub.group(1) in META_KEYS)


def validate_trial_template(exp: Experiment, load_template: TemplateLoader | None) -> list[FieldError]:
    assert exp.spec is not None
    base = "spec.trialTemplate"
    tt = exp.spec.trial_template
    if tt is None:
        return [FieldError(base, "must be specified")]
    errors: list[FieldError] = []
    if not tt.primary_container_name:
        errors.append(FieldError(f"{base}.primaryContainerName", "must be specified"))
    if not tt.success_condition or not tt.failure_condition:
        errors.append(
            FieldError(
                base,
                "successCondition and failureCondition must be specified (they are defaulted only for a "
                "trialSpec of kind Job, TFJob, PyTorchJob, XGBoostJob, MPIJob or TrainJob)",
            )
        )
    if tt.trial_parameters is None:
        return [*errors, FieldError(f"{base}.trialParameters", "must be specified")]
    if tt.trial_spec is None and tt.config_map is None:
        return [
            *errors,
            FieldError(
                base, "spec.trialTemplate.trialSpec or spec.trialTemplate.configMap must be specified"
            ),
        ]
    if tt.trial_spec is not None and tt.config_map is not None:
        return [
            *errors,
            FieldError(
                base,
                "only one of spec.trialTemplate.trialSpec or spec.trialTemplate.configMap can be specified",
            ),
        ]
    cm = tt.config_map
    if cm is not None and not (cm.config_map_name and cm.config_map_namespace and cm.template_path):
        return [
            *errors,
            FieldError(
                f"{base}.configMap", "configMapName, configMapNamespace and templatePath must be specified"
            ),
        ]

    if tt.trial_spec is not None:
        text = json.dumps(tt.trial_spec)
    else:
        assert cm is not None and cm.config_map_namespace and cm.config_map_name and cm.template_path
        if load_template is None:
            return errors  # the template lives in the cluster: only the webhook can load it
        loaded = load_template(cm.config_map_namespace, cm.config_map_name, cm.template_path)
        if loaded is None:
            return [
                *errors,
                FieldError(
                    base,
                    "unable to parse spec.trialTemplate: ConfigMap "
                    f"{cm.config_map_namespace}/{cm.config_map_name} "
                    f"not found or has no key {cm.template_path!r}",
                ),
            ]
        text = loaded

    param_names = {p.name for p in exp.spec.parameters or []}
    names: set[str] = set()
    refs: set[str] = set()
    for i, tp in enumerate(tt.trial_parameters):
        path = f"{base}.trialParameters[{i}]"
        if not tp.name or not tp.reference or "{" in tp.name or "}" in tp.name:
            errors.append(
                FieldError(path, "name and reference must be specified and name must not contain '{' or '}'")
            )
            continue
        if tp.name in names:
            errors.append(
                FieldError(
                    f"{path}.name",
                    f"parameter name {tp.name} can't be duplicated in spec.trialTemplate.trialParameters",
                )
            )
            continue
        if tp.reference in refs:
            errors.append(
                FieldError(
                    f"{path}.reference",
                    f"parameter reference {tp.reference} can't be duplicated in "
                    "spec.trialTemplate.trialParameters",
                )
            )
            continue
        names.add(tp.name)
        refs.add(tp.reference)
        if param_names and not _is_meta_key(tp.reference) and tp.reference not in param_names:
            errors.append(
                FieldError(
                    f"{path}.reference",
                    f"parameter reference {tp.reference} does not exist in spec.parameters "
                    f"(names: {', '.join(sorted(n for n in param_names if n))})",
                )
            )
        placeholder = TRIAL_PARAM_FORMAT.format(tp.name)
        if placeholder not in text:
            errors.append(
                FieldError(
                    f"{path}.name",
                    f"parameter name: {tp.name} in spec.trialParameters not found in "
                    f"spec.trialTemplate (no {placeholder} in it)",
                )
            )
            return errors
        text = text.replace(placeholder, "test-value")

    leftover = TRIAL_PARAM_LEFTOVER.findall(text)
    if leftover:
        errors.append(
            FieldError(
                base,
                f"parameters: {', '.join(leftover)} in spec.trialTemplate not found in spec.trialParameters",
            )
        )
    try:
        run_spec = yaml.safe_load(text) if tt.trial_spec is None else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        errors.append(FieldError(base, f"unable to convert spec.trialTemplate to an object: {exc}"))
        return errors
    if not isinstance(run_spec, dict):
        errors.append(
            FieldError(base, "unable to convert spec.trialTemplate to an object: it is not a mapping")
        )
        return errors
    metadata = run_spec.get("metadata") or {}
    if isinstance(metadata, dict) and (metadata.get("name") or metadata.get("namespace")):
        errors.append(
            FieldError(base, "metadata.name and metadata.namespace in spec.trialTemplate must be omitted")
        )
    if not run_spec.get("apiVersion") or not run_spec.get("kind"):
        errors.append(FieldError(base, "APIVersion and Kind in spec.trialTemplate must be specified"))
    if run_spec.get("apiVersion") == "batch/v1" and run_spec.get("kind") == "Job":
        where = f"{base}.trialSpec" if tt.trial_spec is not None else base
        for suffix, message in job_problems(run_spec):
            errors.append(FieldError(f"{where}.{suffix}", f"invalid batch/v1 Job: {message}"))
    return errors
