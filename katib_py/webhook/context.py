"""What the admission handlers need from their surroundings: the cluster client and settings.

Kept in one object so the operator configures it once (`configure`) and tests can point the
handlers at their own API server. Defaults come from the environment variables Katib uses.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from katib_py.api.config import KatibConfig
from katib_py.kube.client import KubeClient
from katib_py.settings import KatibConfigSource, Settings

log = logging.getLogger(__name__)

NATIVE_SIDECAR_MIN_MINOR = 29  # native sidecars are on by default from Kubernetes 1.29


@dataclass
class WebhookContext:
    """The cluster and settings the admission handlers work with."""

    kube: KubeClient | None = None
    settings: Settings = field(default_factory=Settings.from_env)
    # None until decided from the API server's version (settings.native_sidecar unset).
    detected_native_sidecar: bool | None = None
    # read on every request; parsed again only when the ConfigMap's text changed
    config_source: KatibConfigSource | None = None

    @property
    def core_namespace(self) -> str:
        return self.settings.core_namespace

    @property
    def db_manager_address(self) -> str:
        return self.settings.db_manager.address

    @property
    def operator_username(self) -> str | None:
        return self.settings.operator_username

    def client(self) -> KubeClient:
        if self.kube is None:
            self.kube = KubeClient.from_environment(user_agent="katib-py-webhook")
        return self.kube

    async def katib_config(self) -> KatibConfig:
        """The runtime katib-config, read from the cluster on every use as Katib does."""
        if self.config_source is None:
            self.config_source = KatibConfigSource(self.client(), self.core_namespace, ttl=0)
        return await self.config_source.get()

    async def use_native_sidecar(self) -> bool:
        if self.settings.native_sidecar is not None:
            return self.settings.native_sidecar
        if self.detected_native_sidecar is None:
            info = await self.client().request("GET", "/version")
            self.detected_native_sidecar = supports_native_sidecars(info)
        return self.detected_native_sidecar


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


def configure(
    *, kube: KubeClient | None = None, settings: Settings | None = None, **overrides: Any
) -> WebhookContext:
    """Point the handlers at a cluster (`kube=`) and settings (`settings=`, or single fields of
    `Settings` such as `core_namespace=`, `native_sidecar=`); returns the context."""
    if kube is not None:
        CONTEXT.kube = kube
    CONTEXT.config_source = None  # another cluster or core namespace: read and parse afresh
    base = settings or CONTEXT.settings
    if overrides:
        base = dataclasses.replace(base, **overrides)
    if settings is not None or overrides:
        CONTEXT.settings = base
        CONTEXT.detected_native_sidecar = None
    return CONTEXT
