"""The names and addresses every Katib component derives, read from the environment in one place.

Like kopf's `OperatorSettings`: one typed object, built once per process by `Settings.from_env()`
and handed to the parts that need it (the operator's controllers, the admission webhooks), so
that the Suggestion's `db_manager_address`, the metrics collector's `-s-db` and the operator's
own db-manager client can never disagree.

Environment variables are Katib's (pkg/controller.v1beta1/consts/const.go, env.GetEnvOrDefault):
KATIB_CORE_NAMESPACE (default `kubeflow`), KATIB_DB_MANAGER_SERVICE_NAMESPACE (default: the core
namespace), KATIB_DB_MANAGER_SERVICE_IP (`katib-db-manager`), KATIB_DB_MANAGER_SERVICE_PORT
(6789). Two deliberate differences from Katib: a variable set to the empty string counts as unset
(a chart that renders an empty value gets the default, not a namespace-less address), and a
db-manager name that already holds a dot is a complete host name (Katib would append the
namespace and produce `katib-db-manager.kubeflow.svc.cluster.local.kubeflow`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from katib_py.api.config import KatibConfig, KatibConfigError, default_katib_config, load_katib_config
from katib_py.core.sharding import Shard, ShardError, parse_shard
from katib_py.kube.resource import CONFIGMAPS

if TYPE_CHECKING:
    from katib_py.kube.client import KubeClient

log = logging.getLogger(__name__)

DEFAULT_CORE_NAMESPACE = "kubeflow"
DB_MANAGER_SERVICE = "katib-db-manager"
DB_MANAGER_PORT = 6789


@dataclass(frozen=True)
class DBManagerSettings:
    service: str = DB_MANAGER_SERVICE
    namespace: str = DEFAULT_CORE_NAMESPACE
    port: int = DB_MANAGER_PORT

    @property
    def address(self) -> str:
        """`<service>.<namespace>:<port>` (Katib's GetDBManagerAddr), or `<host>:<port>` for a dotted name."""
        if "." in self.service or not self.namespace:
            return f"{self.service}:{self.port}"
        return f"{self.service}.{self.namespace}:{self.port}"


@dataclass(frozen=True)
class Settings:
    core_namespace: str = DEFAULT_CORE_NAMESPACE
    db_manager: DBManagerSettings = field(default_factory=DBManagerSettings)
    # The user the operator runs as: Pods it creates are never mutated by the webhook.
    operator_username: str | None = None
    # None: decided from the API server's version (native sidecars from Kubernetes 1.29 on).
    native_sidecar: bool | None = None
    # KATIB_OPERATOR_SHARD=I/N: this operator replica owns the Experiments of shard I of N
    shard: Shard = field(default_factory=Shard)

    @property
    def shard_instance(self) -> str:
        """The reportingInstance of a sharded operator's Events ("" unsharded)."""
        return f"shard-{self.shard.index}-of-{self.shard.count}" if self.shard.sharded else ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return env.get(name) or default

        core = get("KATIB_CORE_NAMESPACE", DEFAULT_CORE_NAMESPACE)
        port_text = get("KATIB_DB_MANAGER_SERVICE_PORT", str(DB_MANAGER_PORT))
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(
                f"KATIB_DB_MANAGER_SERVICE_PORT must be a port number, got {port_text!r}"
            ) from None
        return cls(
            core_namespace=core,
            db_manager=DBManagerSettings(
                service=get("KATIB_DB_MANAGER_SERVICE_IP", DB_MANAGER_SERVICE),
                namespace=get("KATIB_DB_MANAGER_SERVICE_NAMESPACE", core),
                port=port,
            ),
            operator_username=env.get("KATIB_OPERATOR_USERNAME") or None,
            native_sidecar=_bool(env.get("KATIB_NATIVE_SIDECAR")),
            shard=_shard(env.get("KATIB_OPERATOR_SHARD")),
        )


def _shard(value: str | None) -> Shard:
    if not value:
        return Shard()
    try:
        return parse_shard(value)
    except ShardError as exc:
        raise ValueError(f"KATIB_OPERATOR_SHARD: {exc}") from None


def _bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


KATIB_CONFIG_NAME = "katib-config"
KATIB_CONFIG_KEY = "katib-config.yaml"


class KatibConfigSource:
    """katib-config's runtime part, read from the ConfigMap in the core namespace on use, as Katib does.

    The controllers cache it for `ttl` seconds; the webhooks read it on every request (ttl 0). A
    cluster without the ConfigMap, or with an invalid one, gets the packaged default (the one
    `katib-py up` installs), with a log line saying so.
    """

    def __init__(self, kube: KubeClient, namespace: str, ttl: float = 2.0) -> None:
        self.kube = kube
        self.namespace = namespace
        self.ttl = ttl
        self._value: KatibConfig | None = None
        self._read_at = 0.0
        self._parsed: tuple[str, KatibConfig] | None = None  # the last text read and its model

    async def get(self) -> KatibConfig:
        if self._value is not None and time.monotonic() - self._read_at < self.ttl:
            return self._value
        cm = await self.kube.get_or_none(CONFIGMAPS, KATIB_CONFIG_NAME, self.namespace)
        text = ((cm or {}).get("data") or {}).get(KATIB_CONFIG_KEY)
        if text is None:
            log.warning(
                "ConfigMap %s/%s not found: using the packaged default", self.namespace, KATIB_CONFIG_NAME
            )
            value = default_katib_config()
        elif self._parsed is not None and self._parsed[0] == text:
            value = self._parsed[1]  # unchanged: parsing the YAML was a fifth of the operator's CPU
        else:
            try:
                value = load_katib_config(text)
            except KatibConfigError:
                log.exception("katib-config in %s is invalid: using the packaged default", self.namespace)
                value = default_katib_config()
            self._parsed = (text, value)
        self._value, self._read_at = value, time.monotonic()
        return value
