"""A Kubernetes-compatible API server for the embedded control plane (katib_py.localcluster).

Use:
    server = ApiServer(data_dir_or_None, port=0)
    await server.start()                      # server.url is https://127.0.0.1:PORT
    server.write_kubeconfig(path)             # token + CA, mode 0600 (kubectl, kubernetes, kopf)
    server.client_ssl_context()               # for aiohttp clients; server.ca_pem / server.ca_file
    server.mint_service_account_token(ns, name)
    server.set_log_provider(provider)         # pods/log: provider.read(ns, pod, container, follow,
                                              #   tail_lines, previous) -> AsyncIterator[bytes]
    await server.stop()

HTTPS is on by default because kubectl (client-go) never sends a bearer token over plain HTTP.
Bodies are JSON or YAML; protobuf bodies are accepted only for Namespace, ConfigMap, Secret and
ServiceAccount (what `kubectl create namespace|configmap|secret|serviceaccount` send), other
protobuf requests get 415; responses are always JSON. Aggregated discovery is not served
(kubectl falls back to /api and /apis); /openapi/v2 is 404, /openapi/v3 is served.
Pods with spec.nodeName that are not finished are deleted gracefully (deletionTimestamp first;
the kubelet completes with DELETE gracePeriodSeconds=0), and batch/v1 Jobs deleted without a
propagationPolicy get the `orphan` finalizer, both as kube-apiserver does.
"""

from .kubeconfig import write_kubeconfig
from .server import ApiServer

__all__ = ["ApiServer", "write_kubeconfig"]
