"""The katib-config (`config.kubeflow.org/v1beta1`, kind KatibConfig) as typed models.

Layout and defaults follow Katib's `pkg/apis/config/v1beta1/types.go` and
`pkg/apis/config/v1beta1/defaults.go` (`SetDefaults_KatibConfig`). katib-py extensions, all
optional and ignored by Katib:

- `runtime.getSuggestionsTimeoutSeconds` (default 300): deadline of one GetSuggestions call
  (Katib hard-codes 60 s in `pkg/controller.v1beta1/suggestion/suggestionclient/suggestionclient.go`).
- `runtime.metricsUnavailableGracePeriodSeconds` (default 60): how long a succeeded job may wait
  for its metrics before the trial ends as MetricsUnavailable (Katib requeues such a trial
  forever: `pkg/controller.v1beta1/trial/trial_controller.go`).
- `runtime.earlyStoppings[].command` / `.args` / `.env`: run the early-stopping service with a
  given command instead of the image's entry point, as suggestions already can (their entry is an
  inline container). The default config uses this to run `katib-py suggestion serve`.

The packaged default (`katib-config.yaml` beside this module) runs every service as a `katib-py`
command, so it works on a real cluster (with the image) and on the embedded one (no image).
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CONFIG_API_VERSION = "config.kubeflow.org/v1beta1"
CONFIG_KIND = "KatibConfig"
# The one image name every runtime entry of the default config uses.
KATIB_PY_IMAGE = "ghcr.io/katib-py/katib-py:0.1.0"

DEFAULT_IMAGE_PULL_POLICY = "IfNotPresent"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
DEFAULT_REQUESTS = {"cpu": "50m", "memory": "10Mi", "ephemeral-storage": "500Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "100Mi", "ephemeral-storage": "5Gi"}
DEFAULT_VOLUME_MOUNT_PATH = "/opt/katib/data"
DEFAULT_VOLUME_ACCESS_MODE = "ReadWriteOnce"
DEFAULT_VOLUME_STORAGE = "1Gi"
DEFAULT_TRIAL_RESOURCES = ["Job.v1.batch"]
DEFAULT_GET_SUGGESTIONS_TIMEOUT_SECONDS = 300
DEFAULT_METRICS_UNAVAILABLE_GRACE_PERIOD_SECONDS = 60


class ConfigModel(BaseModel):
    """camelCase on the wire; unknown fields kept (inline corev1.Container fields live there)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------- init


class ControllerConfig(ConfigModel):
    experiment_suggestion_name: str = "default"
    metrics_addr: str = ":8080"
    healthz_addr: str = ":18080"
    inject_security_context: bool = False
    enable_grpc_probe_in_suggestion: bool = Field(default=True, alias="enableGRPCProbeInSuggestion")
    trial_resources: list[str] = Field(default_factory=lambda: list(DEFAULT_TRIAL_RESOURCES))
    webhook_port: int = 8443
    enable_leader_election: bool = False
    leader_election_id: str = Field(default="3fbc96e9.katib.kubeflow.org", alias="leaderElectionID")


class CertGeneratorConfig(ConfigModel):
    enable: bool = False
    webhook_service_name: str = ""
    webhook_secret_name: str = ""


class InitConfig(ConfigModel):
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    cert_generator: CertGeneratorConfig = Field(default_factory=CertGeneratorConfig)


# ---------------------------------------------------------------- runtime


class SuggestionConfig(ConfigModel):
    """`algorithmName` plus an inline corev1.Container (image, command, args, env, resources, ...)."""

    algorithm_name: str = ""
    image: str = ""
    image_pull_policy: str = ""
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[dict[str, Any]] | None = None
    resources: dict[str, Any] = Field(default_factory=dict)
    service_account_name: str | None = None
    volume_mount_path: str = ""
    persistent_volume_claim_spec: dict[str, Any] = Field(default_factory=dict)
    persistent_volume_spec: dict[str, Any] | None = None
    persistent_volume_labels: dict[str, str] | None = None

    def container(self, name: str = "suggestion") -> dict[str, Any]:
        """The corev1.Container this entry describes (the non-container fields left out)."""
        data = self.dump()
        for key in (
            "algorithmName",
            "serviceAccountName",
            "volumeMountPath",
            "persistentVolumeClaimSpec",
            "persistentVolumeSpec",
            "persistentVolumeLabels",
        ):
            data.pop(key, None)
        return {"name": name, **data}


class EarlyStoppingConfig(ConfigModel):
    algorithm_name: str = ""
    image: str = ""
    image_pull_policy: str = ""
    resources: dict[str, Any] = Field(default_factory=dict)
    # katib-py extensions: the command that runs the service (Katib uses the image's entry point).
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[dict[str, Any]] | None = None


class MetricsCollectorConfig(ConfigModel):
    kind: str = ""
    image: str = ""
    image_pull_policy: str = ""
    resources: dict[str, Any] = Field(default_factory=dict)
    wait_all_processes: bool | None = None
    # katib-py extension: the command that runs the collector (Katib uses the image's entry point).
    command: list[str] | None = None


class RuntimeConfig(ConfigModel):
    suggestions: list[SuggestionConfig] = Field(default_factory=list)
    early_stoppings: list[EarlyStoppingConfig] = Field(default_factory=list)
    metrics_collectors: list[MetricsCollectorConfig] = Field(default_factory=list)
    get_suggestions_timeout_seconds: int = DEFAULT_GET_SUGGESTIONS_TIMEOUT_SECONDS
    metrics_unavailable_grace_period_seconds: int = DEFAULT_METRICS_UNAVAILABLE_GRACE_PERIOD_SECONDS


class KatibConfig(ConfigModel):
    api_version: str = Field(default=CONFIG_API_VERSION, alias="apiVersion")
    kind: str = CONFIG_KIND
    init: InitConfig = Field(default_factory=InitConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Self:
        """Parse and apply Katib's defaults (SetDefaults_KatibConfig)."""
        cfg = cls.model_validate(data)
        apply_config_defaults(cfg)
        return cfg

    # Lookups return None when the entry is missing or has no image, which Katib treats alike.
    def suggestion(self, algorithm_name: str) -> SuggestionConfig | None:
        for entry in self.runtime.suggestions:
            if entry.algorithm_name == algorithm_name:
                return entry if entry.image else None
        return None

    def early_stopping(self, algorithm_name: str) -> EarlyStoppingConfig | None:
        for entry in self.runtime.early_stoppings:
            if entry.algorithm_name == algorithm_name:
                return entry if entry.image else None
        return None

    def metrics_collector(self, kind: str) -> MetricsCollectorConfig | None:
        for entry in self.runtime.metrics_collectors:
            if entry.kind == kind:
                return entry if entry.image else None
        return None


# ---------------------------------------------------------------- defaulting (Katib's defaults.go)


def _image_pull_policy(value: str) -> str:
    return value if value in PULL_POLICIES else DEFAULT_IMAGE_PULL_POLICY


def _is_zero_quantity(value: Any) -> bool:
    if value is None or value == "":
        return True
    text = str(value).strip()
    digits = text.lstrip("+-").rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    try:
        return float(digits) == 0
    except ValueError:
        return False


def _is_negative_quantity(value: Any) -> bool:
    return value is not None and str(value).strip().startswith("-") and not _is_zero_quantity(value)


def default_resources(resources_: dict[str, Any]) -> dict[str, Any]:
    """Katib's setResourceRequirements: fill cpu/memory/ephemeral-storage, a negative value deletes."""
    out = copy.deepcopy(resources_)
    for key, defaults in (("requests", DEFAULT_REQUESTS), ("limits", DEFAULT_LIMITS)):
        section = dict(out.get(key) or {})
        for name, default in defaults.items():
            current = section.get(name)
            if _is_negative_quantity(current):
                section.pop(name, None)
            elif _is_zero_quantity(current):
                section[name] = default
        out[key] = section
    return out


def apply_config_defaults(cfg: KatibConfig) -> None:
    """SetDefaults_KatibConfig, in place."""
    cert = cfg.init.cert_generator
    if cert.webhook_service_name or cert.webhook_secret_name:
        cert.enable = True
    if cert.enable:
        cert.webhook_service_name = cert.webhook_service_name or "katib-controller"
        cert.webhook_secret_name = cert.webhook_secret_name or "katib-webhook-cert"
    if not cfg.init.controller.trial_resources:
        cfg.init.controller.trial_resources = list(DEFAULT_TRIAL_RESOURCES)
    for s in cfg.runtime.suggestions:
        s.image_pull_policy = _image_pull_policy(s.image_pull_policy)
        s.resources = default_resources(s.resources)
        s.volume_mount_path = s.volume_mount_path or DEFAULT_VOLUME_MOUNT_PATH
        pvc = copy.deepcopy(s.persistent_volume_claim_spec)
        if not pvc.get("accessModes"):
            pvc["accessModes"] = [DEFAULT_VOLUME_ACCESS_MODE]
        pvc_resources = dict(pvc.get("resources") or {})
        if not pvc_resources.get("requests"):
            pvc_resources["requests"] = {"storage": DEFAULT_VOLUME_STORAGE}
        pvc["resources"] = pvc_resources
        s.persistent_volume_claim_spec = pvc
        if s.persistent_volume_spec:
            s.persistent_volume_spec = {**s.persistent_volume_spec, "persistentVolumeReclaimPolicy": "Delete"}
    for e in cfg.runtime.early_stoppings:
        e.image_pull_policy = _image_pull_policy(e.image_pull_policy)
        e.resources = default_resources(e.resources)
    for m in cfg.runtime.metrics_collectors:
        m.image_pull_policy = _image_pull_policy(m.image_pull_policy)
        m.resources = default_resources(m.resources)


# ---------------------------------------------------------------- loading


class KatibConfigError(ValueError):
    """The katib-config text is not a valid KatibConfig."""


def load_katib_config(text: str) -> KatibConfig:
    """Parse the `katib-config.yaml` text (the ConfigMap key) and apply the defaults."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KatibConfigError(f"katib-config is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KatibConfigError("katib-config must be a YAML mapping")
    if data.get("apiVersion", CONFIG_API_VERSION) != CONFIG_API_VERSION:
        raise KatibConfigError(f"katib-config apiVersion must be {CONFIG_API_VERSION}")
    if data.get("kind", CONFIG_KIND) != CONFIG_KIND:
        raise KatibConfigError(f"katib-config kind must be {CONFIG_KIND}")
    try:
        return KatibConfig.load(data)
    except ValueError as exc:
        raise KatibConfigError(f"invalid katib-config: {exc}") from exc


def default_config_text() -> str:
    """The packaged default katib-config.yaml."""
    return resources.files("katib_py.api").joinpath("katib-config.yaml").read_text(encoding="utf-8")


def default_katib_config() -> KatibConfig:
    """The packaged default config, parsed and defaulted (a fresh object each call)."""
    return load_katib_config(default_config_text())
