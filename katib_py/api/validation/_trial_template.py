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

Katib puts most of these errors on `spec.trialTemplate`; here each names its own field (for
example `spec.trialTemplate.trialSpec.metadata.name`, `spec.trialTemplate.failureCondition`,
`spec.trialTemplate.configMap.templatePath`) and keeps Katib's message. A template read from a
ConfigMap has its fields named under `spec.trialTemplate` (`spec.trialTemplate.metadata.name`).

Loading a ConfigMap needs the cluster: the webhook plugs it in as `load_template`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import yaml

from katib_py.api import algorithms
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
    for field, condition in (
        ("successCondition", tt.success_condition),
        ("failureCondition", tt.failure_condition),
    ):
        if not condition:
            errors.append(
                FieldError(
                    f"{base}.{field}",
                    "successCondition and failureCondition must be specified (they are defaulted only for "
                    "a trialSpec of kind Job, TFJob, PyTorchJob, XGBoostJob, MPIJob or TrainJob)",
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
            *(
                FieldError(
                    f"{base}.configMap.{field}",
                    "configMapName, configMapNamespace and templatePath must be specified",
                )
                for field, value in (
                    ("configMapName", cm.config_map_name),
                    ("configMapNamespace", cm.config_map_namespace),
                    ("templatePath", cm.template_path),
                )
                if not value
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
                    f"{base}.configMap",
                    "unable to parse spec.trialTemplate: ConfigMap "
                    f"{cm.config_map_namespace}/{cm.config_map_name} "
                    f"not found or has no key {cm.template_path!r}",
                ),
            ]
        text = loaded

    param_names = {p.name for p in exp.spec.parameters or []}
    source = "spec.parameters"
    algorithm = exp.spec.algorithm.algorithm_name if exp.spec.algorithm else None
    nas = algorithms.SUGGESTION_ALGORITHMS.get(algorithm or "")
    if nas is not None and nas.nas and exp.spec.nas_config is not None:
        # What the NAS service assigns (Katib's enas and darts services): no other reference can render.
        param_names, source = set(nas.assignments), f"the assignments of algorithm {nas.name}"
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
                    f"parameter reference {tp.reference} does not exist in {source} "
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

    # Errors inside the template are named at their field: under spec.trialTemplate.trialSpec for
    # an inline template, under spec.trialTemplate for one read from a ConfigMap.
    where = f"{base}.trialSpec" if tt.trial_spec is not None else base
    try:
        run_spec: object = yaml.safe_load(text) if tt.trial_spec is None else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        errors.extend(_leftover_errors(text, None, where))
        errors.append(FieldError(base, f"unable to convert spec.trialTemplate to an object: {exc}"))
        return errors
    errors.extend(_leftover_errors(text, run_spec, where))
    if not isinstance(run_spec, dict):
        errors.append(
            FieldError(base, "unable to convert spec.trialTemplate to an object: it is not a mapping")
        )
        return errors
    metadata = run_spec.get("metadata") or {}
    for field in ("name", "namespace"):
        if isinstance(metadata, dict) and metadata.get(field):
            errors.append(
                FieldError(
                    f"{where}.metadata.{field}",
                    "metadata.name and metadata.namespace in spec.trialTemplate must be omitted",
                )
            )
    for field in ("apiVersion", "kind"):
        if not run_spec.get(field):
            errors.append(
                FieldError(f"{where}.{field}", "APIVersion and Kind in spec.trialTemplate must be specified")
            )
    if run_spec.get("apiVersion") == "batch/v1" and run_spec.get("kind") == "Job":
        for suffix, message in job_problems(run_spec):
            errors.append(FieldError(f"{where}.{suffix}", f"invalid batch/v1 Job: {message}"))
    return errors


def _leftover_errors(text: str, run_spec: object, where: str) -> list[FieldError]:
    """`${trialParameters.x}` placeholders that no trial parameter declares, named at their field.

    Katib names them all in one error on spec.trialTemplate; here each field that holds some gets
    its own error. Only when none is found in the parsed template (it did not parse) is the whole
    template named.
    """
    if not TRIAL_PARAM_LEFTOVER.search(text):
        return []
    located = [FieldError(path, _leftover_message(found)) for path, found in _placeholders(run_spec, where)]
    return located or [FieldError(where, _leftover_message(TRIAL_PARAM_LEFTOVER.findall(text)))]


def _leftover_message(placeholders: list[str]) -> str:
    return f"parameters: {', '.join(placeholders)} in spec.trialTemplate not found in spec.trialParameters"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _placeholders(value: object, path: str) -> Iterator[tuple[str, list[str]]]:
    """(path, placeholders) for every key and string of `value` that holds `${trialParameters.*}`."""
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            sub = f"{path}.{key_text}" if _PLAIN_KEY.fullmatch(key_text) else f"{path}[{key_text}]"
            if found := TRIAL_PARAM_LEFTOVER.findall(key_text):
                yield sub, found
            yield from _placeholders(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _placeholders(item, f"{path}[{i}]")
    elif isinstance(value, str) and (found := TRIAL_PARAM_LEFTOVER.findall(value)):
        yield path, found
