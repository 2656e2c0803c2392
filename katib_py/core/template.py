"""A trial's run spec from the experiment's trial template.

Katib's `GetRunSpecWithHyperParameters` and `applyParameters`
(`pkg/controller.v1beta1/experiment/manifest/generator.go`).

The template is text: the inline `trialSpec` marshalled to JSON, or the raw string a ConfigMap
holds. Every `${trialParameters.<name>}` is replaced by plain substitution (no escaping, as in
Katib), by the assignment the parameter references or by a metadata value for the
`${trialSpec.Name|Namespace|Kind|APIVersion|Labels[k]|Annotations[k]}` references. The result is
parsed back and gets the trial's name and namespace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from katib_py.api.models import ParameterAssignment, TrialParameterSpec, TrialTemplate

META_REFERENCE = re.compile(r"\$\{trialSpec\.(.+?)\}")
META_INDEXED = re.compile(r"(.+)\[(.+)]")
PLACEHOLDER = "${{trialParameters.{}}}"

# (configMapName, namespace) -> the ConfigMap's data, or None when it does not exist
ConfigMapLoader = Callable[[str, str], dict[str, str] | None]


class TemplateError(ValueError):
    """The trial template cannot be loaded or rendered; the message says which part and why."""


def trial_template_text(template: TrialTemplate, load_configmap: ConfigMapLoader) -> str:
    """The template as text: `trialSpec` as JSON, or `data[templatePath]` of the ConfigMap source."""
    if template.trial_spec is not None:
        # Go's json.Marshal of an unstructured object: sorted keys, compact.
        return json.dumps(template.trial_spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    source = template.config_map
    if source is None:
        raise TemplateError("spec.trialTemplate has neither trialSpec nor configMap")
    name = source.config_map_name or ""
    namespace = source.config_map_namespace or ""
    path = source.template_path or ""
    if not (name and namespace and path):
        raise TemplateError(
            "spec.trialTemplate.configMap needs configMapName, configMapNamespace and templatePath"
        )
    data = load_configmap(name, namespace)
    if data is None:
        raise TemplateError(f"trial template ConfigMap {namespace}/{name} not found")
    if path not in data:
        raise TemplateError(f"trial template ConfigMap {namespace}/{name} has no key {path!r}")
    return data[path]


def render_run_spec(
    template_text: str,
    *,
    trial_name: str,
    namespace: str,
    assignments: list[ParameterAssignment],
    trial_parameters: list[TrialParameterSpec],
) -> dict[str, Any]:
    """The trial's run spec: the template with parameters applied, named after the trial."""
    assigned = {a.name or "": a.value or "" for a in assignments}
    template_object: dict[str, Any] | None = None  # parsed lazily, only for Kind/APIVersion/... refs
    values: list[tuple[str, str]] = []
    non_meta = 0
    for param in trial_parameters:
        reference = param.reference or ""
        placeholder = PLACEHOLDER.format(param.name or "")
        meta = META_REFERENCE.search(reference)
        if meta is None:
            if reference not in assigned:
                raise TemplateError(
                    f"trial parameter {param.name!r} references {reference!r}, which is not in the "
                    f"trial's parameter assignments {sorted(assigned)}"
                )
            values.append((placeholder, assigned[reference]))
            non_meta += 1
            continue
        key, index = meta.group(1), ""
        indexed = META_INDEXED.fullmatch(key)
        if indexed:
            key, index = indexed.group(1), indexed.group(2)
        if key == "Name":
            values.append((placeholder, trial_name))
        elif key == "Namespace":
            values.append((placeholder, namespace))
        elif key in ("Kind", "APIVersion", "Labels", "Annotations"):
            if template_object is None:
                template_object = _parse(template_text, "the trial template")
            values.append((placeholder, _meta_value(template_object, key, index, reference)))
        else:
            raise TemplateError(
                f"trial parameter {param.name!r} has an unknown metadata reference {reference!r}; "
                "use ${trialSpec.Name|Namespace|Kind|APIVersion|Labels[key]|Annotations[key]}"
            )
    if len(assignments) != non_meta:
        raise TemplateError(
            f"the trial has {len(assignments)} parameter assignments ({sorted(assigned)}) but "
            f"spec.trialTemplate.trialParameters references {non_meta} of them: every search "
            "parameter must be used by a trial parameter"
        )
    text = template_text
    for placeholder, value in values:
        text = text.replace(placeholder, value)
    run_spec = _parse(text, "the rendered trial template")
    metadata = run_spec.get("metadata")
    if not isinstance(metadata, dict):
        metadata = run_spec["metadata"] = {}
    metadata["name"] = trial_name
    metadata["namespace"] = namespace
    return run_spec


def _meta_value(obj: dict[str, Any], key: str, index: str, reference: str) -> str:
    if key == "Kind":
        return str(obj.get("kind") or "")
    if key == "APIVersion":
        return str(obj.get("apiVersion") or "")
    metadata = obj.get("metadata") or {}
    field = "labels" if key == "Labels" else "annotations"
    entries = metadata.get(field) or {} if isinstance(metadata, dict) else {}
    if not index:
        raise TemplateError(f"metadata reference {reference!r} needs a key, e.g. ${{trialSpec.{key}[key]}}")
    if index not in entries:
        raise TemplateError(
            f"metadata reference {reference!r}: the trial template has no metadata.{field}[{index!r}]"
        )
    return str(entries[index])


def _parse(text: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(f"{what} is neither valid JSON nor YAML: {exc}") from exc
    if not isinstance(parsed, dict):
        raise TemplateError(f"{what} must be an object (apiVersion, kind, metadata, spec)")
    return parsed
