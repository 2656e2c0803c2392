"""What the admission handlers need from their surroundings: the cluster client and settings.

Kept in one object so the operator configures it once (`configure`) and tests can point the
handlers at their own API server. Defaults come from the environment variables Katib uses.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from katib_py.api.config import KatibConfig, KatibConfigError, default_katib_config, load_katib_config
from katib_py.controller.kube import Kube
from katib_py.kubeclient import CONFIGMAPS

log = logging.getLogger(__name__)

KATIB_CONFIG_NAME = "katib-config"
KATIB_CONFIG_KEY = "katib-config.yaml"
DEFAULT_CORE_NAMESPACE = "kubeflow"
OPERATOR_SERVICE_ACCOUNT = "katib-controller"
NATIVE_SIDECAR_MIN_MINOR = 29  # native sidecars are on by default from Kubernetes 1.29


def core_namespace_from_env() -> str:
    return os.environ.get("KATIB_CORE_NAMESPACE") or DEFAULT_CORE_NAMESPACE


def db_manager_address_from_env() -> str:
    """Katib's GetDBManagerAddr: `<name>.<namespace>:<port>` from KATIB_DB_MANAGER_SERVICE_*."""
    namespace = os.environ.get("KATIB_DB_MANAGER_SERVICE_NAMESPACE") or core_namespace_from_env()
    name = os.environ.get("KATIB_DB_MANAGER_SERVICE_IP") or "katib-db-manager"
    port = os.environ.get("KATIB_DB_MANAGER_SERVICE_PORT") or "6789"
    return f"{name}.{namespace}:{port}" if namespace else f"{name}:{port}"


def _bool_env(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class WebhookContext:
    """The cluster and settings the admission handlers work with."""

    kube: Kube | None = None
    core_namespace: str = field(default_factory=core_namespace_from_env)
    db_manager_address: str = field(default_factory=db_manager_address_from_env)
    # Pods created by this user are never mutated (the matchCondition Katib's configuration has).
    operator_username: str | None = field(default_factory=lambda: os.environ.get("KATIB_OPERATOR_USERNAME"))
    # None: decided from the API server's version (native sidecars from 1.29 on).
    native_sidecar: bool | None = field(default_factory=lambda: _bool_env("KATIB_NATIVE_SIDECAR"))

    def client(self) -> Kube:
        if self.kube is None:
            self.kube = Kube.from_environment()
        return self.kube

    async def katib_config(self) -> KatibConfig:
        """The runtime katib-config, read from the cluster on every use as Katib does.

        A cluster without the ConfigMap gets the packaged default (the one `katib-py up` installs).
        """
        cm = await self.client().get_or_none(CONFIGMAPS, KATIB_CONFIG_NAME, self.core_namespace)
        text = ((cm or {}).get("data") or {}).get(KATIB_CONFIG_KEY)
        if text is None:
            return default_katib_config()
        try:
            return load_katib_config(text)
        except KatibConfigError:
            log.exception("katib-config in %s is invalid; using the packaged default", self.core_namespace)
            return default_katib_config()

    async def use_native_sidecar(self) -> bool:
        if self.native_sidecar is None:
            info = await self.client().request("GET", "/version")
            self.native_sidecar = supports_native_sidecars(info)
        return self.native_sidecar


def supports_native_sidecars(version_info: dict[str, object] | None) -> bool:
    """True for Kubernetes 1.29 and later (minor versions like "29+" included)."""
    info = version_info or {}
    try:
        major = int(str(info.get("major", "0")).rstrip("+"))
        minor = int(str(info.get("minor", "0")).rstrip("+"))
    except ValueError:
        return False
    return major > 1 or (major == 1 and minor >= NATIVE_SIDECAR_MIN_MINOR)


CONTEXT = WebhookContext()


def configure(**settings: object) -> WebhookContext:
    """Replace the handlers' context fields (e.g. `kube=`, `native_sidecar=`); returns the context."""
    for key, value in settings.items():
        if not hasattr(CONTEXT, key):
            raise TypeError(f"unknown webhook setting {key!r}")
        setattr(CONTEXT, key, value)
    return CONTEXT
