"""Where a client finds its API server and credentials: in-cluster, or a kubeconfig.

The same places kubectl and kopf look, read by the `kubernetes` package's config loaders (which
know every kubeconfig form: tokens, client certificates, exec plugins, merged files). Each call
reads them afresh, so a client can call again after a 401 to pick up a rotated token.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Credentials:
    url: str
    authorization: str | None = None
    ssl_context: ssl.SSLContext | bool | None = None


def from_environment() -> Credentials:
    """In-cluster credentials when running in a Pod, else the kubeconfig ($KUBECONFIG, ~/.kube/config)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)
    except ConfigException:
        # $KUBECONFIG is read now: the kubernetes package captures it once, at import time.
        path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        config.load_kube_config(config_file=path, client_configuration=cfg)
    return _from_configuration(cfg)


def from_kubeconfig(path: str) -> Credentials:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=path, client_configuration=cfg)
    return _from_configuration(cfg)


_SSL_CONTEXTS: dict[tuple[str | None, str | None, str | None], ssl.SSLContext] = {}


def _from_configuration(cfg: Any) -> Credentials:
    context: ssl.SSLContext | bool | None = None
    if cfg.host.startswith("https"):
        if not cfg.verify_ssl:
            context = False
        else:
            # One context per CA and client certificate: a re-read that finds the same files keeps
            # the client's connection pool.
            key = (cfg.ssl_ca_cert or None, cfg.cert_file or None, cfg.key_file or None)
            context = _SSL_CONTEXTS.get(key)
            if context is None:
                context = ssl.create_default_context(cafile=key[0])
                if cfg.cert_file:
                    context.load_cert_chain(cfg.cert_file, cfg.key_file)
                _SSL_CONTEXTS[key] = context
    api_key = cfg.api_key or {}
    return Credentials(cfg.host, api_key.get("authorization") or api_key.get("BearerToken"), context)
