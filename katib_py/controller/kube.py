"""The operator's Kubernetes client: katib_py.kubeclient with credentials and API discovery.

Credentials come from the same places kubectl and kopf use (in-cluster service account, or the
kubeconfig named by $KUBECONFIG), read by the `kubernetes` package's config loaders. Kinds that are
not known in advance (a trial's job, from `runSpec`) are resolved to their REST path through API
discovery.
"""

from __future__ import annotations

import ssl
from typing import Any

from katib_py.kubeclient import DEPLOYMENTS, JOBS, SERVICES, ApiError, KubeClient, Resource

EXPERIMENTS = Resource("kubeflow.org", "v1beta1", "experiments", "Experiment")
SUGGESTIONS = Resource("kubeflow.org", "v1beta1", "suggestions", "Suggestion")
TRIALS = Resource("kubeflow.org", "v1beta1", "trials", "Trial")

_KNOWN = {(k.api_version, k.kind): k for k in (EXPERIMENTS, SUGGESTIONS, TRIALS, DEPLOYMENTS, SERVICES, JOBS)}


class Kube(KubeClient):
    """KubeClient for the operator: built from kubeconfig or in-cluster credentials, with discovery."""

    def __init__(
        self,
        url: str,
        *,
        authorization: str | None = None,
        ssl_context: ssl.SSLContext | bool | None = None,
        user_agent: str = "katib-py-controller",
    ) -> None:
        super().__init__(url, authorization=authorization, ssl_context=ssl_context, user_agent=user_agent)
        self._kinds: dict[tuple[str, str], Resource] = dict(_KNOWN)

    @classmethod
    def from_environment(cls) -> Kube:
        """In-cluster credentials when running in a Pod, else the kubeconfig ($KUBECONFIG)."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        cfg = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=cfg)
        except ConfigException:
            config.load_kube_config(client_configuration=cfg)
        return cls._from_configuration(cfg)

    @classmethod
    def from_kubeconfig(cls, path: str) -> Kube:
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=path, client_configuration=cfg)
        return cls._from_configuration(cfg)

    @classmethod
    def _from_configuration(cls, cfg: Any) -> Kube:
        context: ssl.SSLContext | bool | None = None
        if cfg.host.startswith("https"):
            if not cfg.verify_ssl:
                context = False
            else:
                context = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
                if cfg.cert_file:
                    context.load_cert_chain(cfg.cert_file, cfg.key_file)
        auth = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
        return cls(cfg.host, authorization=auth, ssl_context=context)

    async def kind_for(self, api_version: str, kind: str) -> Resource:
        """The REST path of a kind, by API discovery (cached)."""
        key = (api_version, kind)
        if key in self._kinds:
            return self._kinds[key]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{api_version}" if group else f"/api/{version}"
        listing = await self.request("GET", path)
        for res in listing.get("resources") or []:
            if res.get("kind") == kind and "/" not in res.get("name", ""):
                found = Resource(group, version, res["name"], kind, bool(res.get("namespaced", True)))
                self._kinds[key] = found
                return found
        raise ApiError(404, {"message": f"the server has no resource of kind {kind} in {api_version}"})

    def remember_kind(self, kind: Resource) -> None:
        self._kinds[(kind.api_version, kind.kind)] = kind
