"""A trial's run spec from the experiment's trial template.

Katib's `GetRunSpecWithHyperParameters` and `applyParameters`
(`pkg/controller.v1beta1/experiment/manifest/generator.go`).

The template is text: the inline `trialSpec` marshalled to JSON, or the raw string a ConfigMap
holds. Every `${trialParameters.<name>}` is replaced by the assignment the parameter references,
or by a metadata value for the `${trialSpec.Name|Namespace|Kind|APIVersion|Labels[k]|Annotations[k]}`
references, and the result gets the trial's name and namespace.

Katib replaces the placeholders in the text and parses the result, so a value holding `"` or a
newline changes the object's structure (a value can add a `command`). Here each placeholder is
replaced by a unique token first, the text is parsed, and the values go into the parsed strings:
a value is always data. A placeholder that is a whole unquoted YAML scalar still gets the value's
scalar type (a number, a boolean), as Katib's parse gives it. The primary container's argv is
also kept as segments (the author's text and the values), so that the Pod webhook can escape each
value for the shell (katib_py.core.shell).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from katib_py.api.models import ParameterAssignment, TrialParameterSpec, TrialTemplate
from katib_py.core.shell import Argv, Element, Part, Value

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


@dataclass(frozen=True)
class Rendered:
    run_spec: dict[str, Any]
    # every argv (command + args) of a container named primary_container_name, as segments
    primary_argvs: list[Argv] = field(default_factory=list)


def render_run_spec(
    template_text: str,
    *,
    trial_name: str,
    namespace: str,
    assignments: list[ParameterAssignment],
    trial_parameters: list[TrialParameterSpec],
) -> dict[str, Any]:
    """The trial's run spec: the template with parameters applied, named after the trial."""
    return render_trial(
        template_text,
        trial_name=trial_name,
        namespace=namespace,
        assignments=assignments,
        trial_parameters=trial_parameters,
    ).run_spec


def render_trial(
    template_text: str,
    *,
    trial_name: str,
    namespace: str,
    assignments: list[ParameterAssignment],
    trial_parameters: list[TrialParameterSpec],
    primary_container_name: str | None = None,
) -> Rendered:
    """The run spec, and the primary container's argvs as segments."""
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
    substitution = _Substitution(template_text, dict(values))
    parsed = _parse(substitution.text, "the rendered trial template")
    run_spec = substitution.apply(parsed)
    metadata = run_spec.get("metadata")
    if not isinstance(metadata, dict):
        metadata = run_spec["metadata"] = {}
    metadata["name"] = trial_name
    metadata["namespace"] = namespace
    argvs = substitution.container_argvs(parsed, primary_container_name) if primary_container_name else []
    return Rendered(run_spec, argvs)


class _Substitution:
    """The template with each placeholder occurrence replaced by a token, and what each token stands for."""

    def __init__(self, text: str, values: dict[str, str]) -> None:
        self._prefix = f"katibpyvalue{secrets.token_hex(8)}n"
        self._values: list[str] = []
        self._quoted: list[bool] = []
        if values:
            pattern = re.compile("|".join(re.escape(p) for p in sorted(values, key=len, reverse=True)))

            def token(m: re.Match[str]) -> str:
                before = text[m.start() - 1] if m.start() else ""
                self._values.append(values[m.group(0)])
                self._quoted.append(before in ("'", '"'))
                return f"{self._prefix}{len(self._values) - 1}z"

            text = pattern.sub(token, text)
        self.text = text
        self._token = re.compile(re.escape(self._prefix) + r"(\d+)z")

    def segments(self, text: str) -> Element:
        parts: list[Part] = []
        pos = 0
        for m in self._token.finditer(text):
            if m.start() > pos:
                parts.append(text[pos : m.start()])
            parts.append(Value(self._values[int(m.group(1))]))
            pos = m.end()
        if pos < len(text) or not parts:
            parts.append(text[pos:])
        return tuple(parts)

    def _string(self, text: str) -> Any:
        m = self._token.fullmatch(text)
        if m is not None:
            index = int(m.group(1))
            value = self._values[index]
            return value if self._quoted[index] else _scalar(value)
        if self._prefix not in text:
            return text
        return "".join(p.value if isinstance(p, Value) else p for p in self.segments(text))

    def apply(self, node: Any) -> Any:
        if isinstance(node, str):
            return self._string(node)
        if isinstance(node, list):
            return [self.apply(item) for item in node]
        if isinstance(node, dict):
            return {self._key(k): self.apply(v) for k, v in node.items()}
        return node

    def _key(self, key: Any) -> Any:
        if isinstance(key, str) and self._prefix in key:
            return "".join(p.value if isinstance(p, Value) else p for p in self.segments(key))
        return key

    def container_argvs(self, node: Any, name: str) -> list[Argv]:
        """command + args of every container named `name`, anywhere in the object, as segments."""
        found: list[Argv] = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "containers" and isinstance(value, list):
                    for c in value:
                        if not (isinstance(c, dict) and isinstance(c.get("name"), str)):
                            continue
                        argv = [*(c.get("command") or []), *(c.get("args") or [])]
                        if self._key(c["name"]) == name and argv and all(isinstance(a, str) for a in argv):
                            found.append(tuple(self.segments(a) for a in argv))
                found.extend(self.container_argvs(value, name))
        elif isinstance(node, list):
            for item in node:
                found.extend(self.container_argvs(item, name))
        return found


def _scalar(value: str) -> Any:
    """The value as a whole unquoted YAML scalar reads (Katib's parse of the substituted text)."""
    try:
        typed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return typed if isinstance(typed, bool | int | float) else value


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
