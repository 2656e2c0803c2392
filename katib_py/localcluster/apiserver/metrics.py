"""`GET /metrics`: request counts in Prometheus text format, named and labelled as kube-apiserver's.

`apiserver_request_total{verb,group,version,resource,subresource,scope,code}` counts every request
when it ends (a watch when its stream closes), `apiserver_longrunning_requests{verb,group,version,
resource,subresource,scope}` is the number of watches and log streams open now
(k8s.io/apiserver/pkg/endpoints/metrics/metrics.go). The verb is kube's "clean" verb: LIST and
WATCH for collection GETs, APPLY for server-side apply, DELETECOLLECTION, else the HTTP method.
prometheus_client renders the text format, so any scraper or `kubectl get --raw /metrics` reads it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from .rbac import Attributes

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
APPLY_PATCH = "application/apply-patch+yaml"
LABELS = ("verb", "group", "version", "resource", "subresource", "scope")
# RBAC verb -> the verb label of kube-apiserver's metrics (metrics.CleanVerb)
_CLEAN_VERBS = {
    "get": "GET",
    "list": "LIST",
    "watch": "WATCH",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETECOLLECTION",
}


def labels(attrs: Attributes, method: str, content_type: str) -> dict[str, str]:
    """The metric labels of one request (a non-resource path such as /version counts by its method)."""
    if not attrs.resource_request or not attrs.resource:
        return {
            "verb": method.upper(),
            "group": "",
            "version": "",
            "resource": "",
            "subresource": "",
            "scope": "",
        }
    verb = _CLEAN_VERBS.get(attrs.verb, attrs.verb.upper())
    if verb == "PATCH" and content_type.split(";")[0].strip() == APPLY_PATCH:
        verb = "APPLY"
    if attrs.name:
        scope = "resource"
    elif attrs.namespace:
        scope = "namespace"
    else:
        scope = "cluster"
    return {
        "verb": verb,
        "group": attrs.api_group,
        "version": attrs.api_version,
        "resource": attrs.resource,
        "subresource": attrs.subresource,
        "scope": scope,
    }


class RequestMetrics:
    """The API server's own registry (never the process-global one: tests run several servers)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, group, version, resource, "
            "subresource, scope and HTTP response code.",
            [*LABELS, "code"],
            registry=self.registry,
        )
        self.longrunning = Gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests (watches, log streams).",
            LABELS,
            registry=self.registry,
        )

    def observe(self, request_labels: dict[str, str], code: int) -> None:
        self.requests.labels(**request_labels, code=str(code)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
