"""Kubernetes RBAC, decided in pure functions: request attributes, rule matching, escalation.

- `request_attributes` reads an HTTP request as kube-apiserver's RequestInfoFactory does
  (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): verb from the method, `list`/`watch`
  for a GET without a name, `deletecollection` for a DELETE without one, namespace, resource,
  subresource; paths outside /api/v1/... and /apis/g/v/... are non-resource requests.
- `Policy` indexes Roles, ClusterRoles and their bindings by subject and answers `allows`
  (plugin/pkg/auth/authorizer/rbac/rbac.go: a request is allowed when any rule bound to the user
  or one of its groups matches; RoleBindings count only in their namespace).
- `escalation_problem` is pkg/registry/rbac/escalation_check.go with the policy-based storages of
  pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}: whoever writes a role or a
  binding must hold every rule it grants, unless they may `escalate` (roles) or `bind` (the
  referenced role).
- `BOOTSTRAP` is the part of plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go that
  kubectl and the helm chart rely on.

No I/O here: the API server builds a Policy from the stored objects after every RBAC write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from katib_py.kube.errors import ApiError, status_body

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
MASTERS = "system:masters"
SA_PREFIX = "system:serviceaccount:"
_SPECIAL_VERBS = {"proxy", "watch"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: who asks to do what, on which resource or path."""

    user: str
    groups: tuple[str, ...]
    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _name_from_field_selector(selector: str) -> str:
    """`metadata.name=x` (or `==`) in a list's fieldSelector narrows it to one name, as kube reads it."""
    for term in selector.split(","):
        for op in ("==", "="):
            key, sep, value = term.partition(op)
            if sep and key.strip() == "metadata.name" and not value.startswith("="):
                value = value.strip()
                return value if value and "/" not in value and value not in (".", "..") else ""
    return ""


def request_attributes(
    user: str, groups: Sequence[str], method: str, path: str, query: Mapping[str, str]
) -> Attributes:
    parts = [p for p in path.strip("/").split("/") if p]
    non_resource = Attributes(user, tuple(groups), method.lower(), resource_request=False, path=path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    rest = parts[1:]
    group = ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    if rest[0] in _SPECIAL_VERBS:
        verb, rest = rest[0], rest[1:]
        if not rest:
            return Attributes(user, tuple(groups), verb, api_group=group, api_version=version)
    else:
        verb = _METHOD_VERBS.get(method.upper(), "")
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "").lower() in ("true", "1") else "list"
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        user,
        tuple(groups),
        verb,
        namespace=namespace,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=sub,
        name=name,
        path=path,
    )


def review_attributes(user: str, groups: Sequence[str], spec: Mapping[str, Any]) -> Attributes:
    """The attributes a SelfSubjectAccessReview's spec asks about."""
    res = spec.get("resourceAttributes")
    if isinstance(res, dict):
        return Attributes(
            user,
            tuple(groups),
            str(res.get("verb") or ""),
            namespace=str(res.get("namespace") or ""),
            api_group=str(res.get("group") or ""),
            api_version=str(res.get("version") or ""),
            resource=str(res.get("resource") or ""),
            subresource=str(res.get("subresource") or ""),
            name=str(res.get("name") or ""),
        )
    non = spec.get("nonResourceAttributes") or {}
    return Attributes(
        user,
        tuple(groups),
        str(non.get("verb") or ""),
        resource_request=False,
        path=str(non.get("path") or ""),
    )


# ---- rules ----


@dataclass(frozen=True)
class Rule:
    """rbacv1.PolicyRule, as sets."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> Rule:
        def s(key: str) -> frozenset[str]:
            value = rule.get(key) or []
            return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()

        return cls(s("verbs"), s("apiGroups"), s("resources"), s("resourceNames"), s("nonResourceURLs"))

    def allows(self, a: Attributes) -> bool:
        if not ("*" in self.verbs or a.verb in self.verbs):
            return False
        if not a.resource_request:
            return _url_matches(self.non_resource_urls, a.path)
        return (
            ("*" in self.api_groups or a.api_group in self.api_groups)
            and _resource_matches(self.resources, a.combined_resource, a.subresource)
            and (not self.resource_names or a.name in self.resource_names)
        )

    def compact(self) -> str:
        """rbacv1helpers.CompactString, for the escalation message."""
        parts = []
        for label, values in (
            ("APIGroups", self.api_groups),
            ("Resources", self.resources),
            ("NonResourceURLs", self.non_resource_urls),
            ("ResourceNames", self.resource_names),
            ("Verbs", self.verbs),
        ):
            if values:
                parts.append(f"{label}:[{' '.join(_quote(v) for v in sorted(values))}]")
        return "{" + ", ".join(parts) + "}"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _resource_matches(resources: frozenset[str], combined: str, sub: str) -> bool:
    return "*" in resources or combined in resources or (bool(sub) and f"*/{sub}" in resources)


def _url_matches(urls: frozenset[str], path: str) -> bool:
    """A nonResourceURL rule: exact, `*`, or a prefix ending in `*`."""
    return any(url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])) for url in urls)


def parse_rules(obj: Mapping[str, Any] | None) -> tuple[Rule, ...]:
    rules = (obj or {}).get("rules") or []
    return tuple(Rule.parse(r) for r in rules if isinstance(r, dict))


# ---- the policy index ----


def _subject_keys(binding: Mapping[str, Any]) -> list[tuple[str, str]]:
    """("user", name) or ("group", name) for each subject (ServiceAccounts become their user name)."""
    keys = []
    for subject in binding.get("subjects") or []:
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), str(subject.get("name") or "")
        if kind == "User":
            keys.append(("user", name))
        elif kind == "Group":
            keys.append(("group", name))
        elif kind == "ServiceAccount" and subject.get("namespace"):
            keys.append(("user", f"{SA_PREFIX}{subject['namespace']}:{name}"))
    return keys


@dataclass
class Policy:
    """Every binding's rules, indexed by subject (cluster-wide, and per namespace for RoleBindings).

    Built once per RBAC change; decisions for one user in one namespace are cached on it.
    """

    cluster_roles: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    roles: dict[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict)
    cluster: dict[tuple[str, str], list[tuple[Rule, ...]]] = field(default_factory=dict)
    namespaced: dict[str, dict[tuple[str, str], list[tuple[Rule, ...]]]] = field(default_factory=dict)
    _rules_cache: dict[tuple[str, tuple[str, ...], str], tuple[Rule, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        cluster_roles: Iterable[Obj],
        roles: Iterable[Obj],
        cluster_role_bindings: Iterable[Obj],
        role_bindings: Iterable[Obj],
    ) -> Policy:
        p = cls()
        for cr in cluster_roles:
            p.cluster_roles[cr["metadata"]["name"]] = parse_rules(cr)
        for r in roles:
            meta = r["metadata"]
            p.roles[(meta.get("namespace", ""), meta["name"])] = parse_rules(r)
        for b in cluster_role_bindings:
            rules = p.role_ref_rules(b.get("roleRef") or {}, "")
            for key in _subject_keys(b):
                p.cluster.setdefault(key, []).append(rules)
        for b in role_bindings:
            ns = b["metadata"].get("namespace", "")
            rules = p.role_ref_rules(b.get("roleRef") or {}, ns)
            by_subject = p.namespaced.setdefault(ns, {})
            for key in _subject_keys(b):
                by_subject.setdefault(key, []).append(rules)
        return p

    def role_ref_rules(self, ref: Mapping[str, Any], namespace: str) -> tuple[Rule, ...]:
        """The rules a roleRef names (none when it names nothing that exists, as kube treats it)."""
        name = str(ref.get("name") or "")
        if ref.get("kind") == "ClusterRole":
            return self.cluster_roles.get(name, ())
        if ref.get("kind") == "Role" and namespace:
            return self.roles.get((namespace, name), ())
        return ()

    def rules_for(self, user: str, groups: Sequence[str], namespace: str) -> tuple[Rule, ...]:
        """Every rule that applies to the user in `namespace` ("" = cluster-wide rules only)."""
        key = (user, tuple(groups), namespace)
        cached = self._rules_cache.get(key)
        if cached is not None:
            return cached
        subjects = [("user", user), *(("group", g) for g in groups)]
        out: list[Rule] = []
        for subject in subjects:
            for rules in self.cluster.get(subject, ()):
                out.extend(rules)
        if namespace:
            by_subject = self.namespaced.get(namespace, {})
            for subject in subjects:
                for rules in by_subject.get(subject, ()):
                    out.extend(rules)
        result = tuple(dict.fromkeys(out))
        if len(self._rules_cache) > 10_000:
            self._rules_cache.clear()
        self._rules_cache[key] = result
        return result

    def allows(self, a: Attributes) -> bool:
        if MASTERS in a.groups:
            return True
        return any(rule.allows(a) for rule in self.rules_for(a.user, a.groups, a.namespace))


# ---- denial ----


def forbidden(a: Attributes, reason: str = "") -> ApiError:
    """kube's 403: responsewriters.Forbidden (forbiddenMessage) wrapped by errors.NewForbidden."""
    who = _go_quote(a.user)
    if not a.resource_request:
        text = f"User {who} cannot {a.verb} path {_go_quote(a.path)}"
    elif a.namespace:
        text = (
            f"User {who} cannot {a.verb} resource {_go_quote(a.combined_resource)} in API group "
            f"{_go_quote(a.api_group)} in the namespace {_go_quote(a.namespace)}"
        )
    else:
        text = (
            f"User {who} cannot {a.verb} resource {_go_quote(a.combined_resource)} in API group "
            f"{_go_quote(a.api_group)} at the cluster scope"
        )
    if reason:
        text = f"{text}: {reason}"
    return forbidden_error(a.api_group, a.resource, a.name, text)


def forbidden_error(group: str, resource: str, name: str, text: str) -> ApiError:
    """errors.NewForbidden(GroupResource{group, resource}, name, text)."""
    qualified = f"{resource}.{group}" if group else resource
    if not resource:
        message = f"forbidden: {text}"
    elif name:
        message = f"{qualified} {_go_quote(name)} is forbidden: {text}"
    else:
        message = f"{qualified} is forbidden: {text}"
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", resource)) if v}
    body = status_body(403, message, "Forbidden", details)
    body.pop("metadata", None)
    return ApiError(body=body, status=403)


def _go_quote(value: str) -> str:
    """Go's %q for the printable strings of user names and paths."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ---- escalation ----


def _breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, name, verb) or (url, verb): validation.BreakdownRule."""
    out = []
    verbs = sorted(rule.verbs)
    for group in sorted(rule.api_groups):
        for resource in sorted(rule.resources):
            for verb in verbs:
                if rule.resource_names:
                    for name in sorted(rule.resource_names):
                        out.append(
                            Rule(
                                frozenset([verb]),
                                frozenset([group]),
                                frozenset([resource]),
                                frozenset([name]),
                            )
                        )
                else:
                    out.append(Rule(frozenset([verb]), frozenset([group]), frozenset([resource])))
    for url in sorted(rule.non_resource_urls):
        for verb in verbs:
            out.append(Rule(frozenset([verb]), non_resource_urls=frozenset([url])))
    return out


def _covers(owner: Rule, wanted: Rule) -> bool:
    """validation.ruleCovers for a broken-down `wanted` rule."""
    if not ("*" in owner.verbs or wanted.verbs <= owner.verbs):
        return False
    if wanted.non_resource_urls:
        return all(_url_matches(owner.non_resource_urls, u) for u in wanted.non_resource_urls)
    if not ("*" in owner.api_groups or wanted.api_groups <= owner.api_groups):
        return False
    for resource in wanted.resources:
        if "*" in owner.resources or resource in owner.resources:
            continue
        sub = resource.partition("/")[2]
        if not (sub and f"*/{sub}" in owner.resources):
            return False
    # Names cover only names (a named owner rule never covers a rule for every name).
    return not owner.resource_names or (
        bool(wanted.resource_names) and wanted.resource_names <= owner.resource_names
    )


def missing_rules(owned: Sequence[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """The broken-down rules of `wanted` that no owned rule covers (validation.Covers)."""
    missing = []
    for rule in wanted:
        for piece in _breakdown(rule):
            if not any(_covers(own, piece) for own in owned):
                missing.append(piece)
    return _compact(missing)


def _compact(rules: list[Rule]) -> list[Rule]:
    """Merge the verbs of rules on one group/resource without names (validation.CompactRules)."""
    merged: dict[tuple[frozenset[str], ...], set[str]] = {}
    for r in rules:
        key = (r.api_groups, r.resources, r.resource_names, r.non_resource_urls)
        merged.setdefault(key, set()).update(r.verbs)
    return [Rule(frozenset(v), k[0], k[1], k[2], k[3]) for k, v in merged.items()]


def escalation_problem(
    policy: Policy,
    user: str,
    groups: Sequence[str],
    kind: str,
    namespace: str,
    name: str,
    obj: Mapping[str, Any],
) -> ApiError | None:
    """The 403 for a Role/ClusterRole/(Cluster)RoleBinding write that grants more than the writer
    holds, else None. `kind` is the resource plural of the object written."""
    if MASTERS in groups:
        return None  # rbacregistry.EscalationAllowed: the privileged group

    def may(verb: str, resource: str, ns: str, target: str) -> bool:
        attrs = Attributes(
            user, tuple(groups), verb, namespace=ns, api_group=RBAC_GROUP, resource=resource, name=target
        )
        return policy.allows(attrs)

    if kind in ("roles", "clusterroles"):
        if may("escalate", kind, namespace, name):
            return None
        wanted = parse_rules(obj)
    elif kind in ("rolebindings", "clusterrolebindings"):
        ref = obj.get("roleRef") or {}
        ref_kind = {"Role": "roles", "ClusterRole": "clusterroles"}.get(str(ref.get("kind")), "")
        if ref_kind and may("bind", ref_kind, namespace, str(ref.get("name") or "")):
            return None
        wanted = policy.role_ref_rules(ref, namespace)
    else:
        return None
    missing = missing_rules(policy.rules_for(user, groups, namespace), wanted)
    if not missing:
        return None
    lines = "\n".join(sorted(r.compact() for r in missing))
    group_list = "[" + " ".join(_go_quote(g) for g in groups) + "]"
    text = (
        f"user {_go_quote(user)} (groups={group_list}) is attempting to grant RBAC permissions "
        f"not currently held:\n{lines}"
    )
    return forbidden_error(RBAC_GROUP, kind, name, text)


# ---- bootstrap policy ----


def _bootstrap(kind: str, name: str, **body: object) -> Obj:
    """A built-in RBAC object, labelled and annotated as kube-apiserver's bootstrap policy."""
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        **body,
    }


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return _bootstrap("ClusterRole", name, rules=rules)


def _cluster_role_binding(name: str, role: str, groups: list[str]) -> Obj:
    return _bootstrap(
        "ClusterRoleBinding",
        name,
        roleRef={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        subjects=[{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups],
    )


_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
# The namespaced kinds this server serves that the aggregated view/edit roles of kube cover.
_VIEWABLE = [
    (
        "",
        [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "pods/log",
            "pods/status",
            "replicationcontrollers",
            "services",
            "services/status",
            "serviceaccounts",
            "events",
            "limitranges",
            "resourcequotas",
            "resourcequotas/status",
            "namespaces",
            "namespaces/status",
        ],
    ),
    (
        "apps",
        [
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
            "daemonsets",
            "daemonsets/status",
        ],
    ),
    ("batch", ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
    ("policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    ("events.k8s.io", ["events"]),
]
_EDITABLE = [
    (
        "",
        [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "services",
            "serviceaccounts",
            "secrets",
            "events",
        ],
    ),
    (
        "apps",
        [
            "deployments",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
            "daemonsets",
        ],
    ),
    ("batch", ["jobs", "cronjobs"]),
    ("policy", ["poddisruptionbudgets"]),
    ("coordination.k8s.io", ["leases"]),
]


def _view_rules() -> list[Obj]:
    return [{"apiGroups": [g], "resources": r, "verbs": _READ} for g, r in _VIEWABLE]


def _edit_rules() -> list[Obj]:
    return [
        *_view_rules(),
        {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
        *({"apiGroups": [g], "resources": r, "verbs": _WRITE} for g, r in _EDITABLE),
    ]


def _admin_rules() -> list[Obj]:
    return [
        *_edit_rules(),
        {"apiGroups": [RBAC_GROUP], "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE},
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["localsubjectaccessreviews"],
            "verbs": ["create"],
        },
    ]


_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

BOOTSTRAP: list[tuple[str, Obj]] = [
    (
        "clusterroles",
        _cluster_role(
            "cluster-admin",
            [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        ),
    ),
    ("clusterroles", _cluster_role("admin", _admin_rules())),
    ("clusterroles", _cluster_role("edit", _edit_rules())),
    ("clusterroles", _cluster_role("view", _view_rules())),
    (
        "clusterroles",
        _cluster_role("system:discovery", [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]),
    ),
    (
        "clusterroles",
        _cluster_role("system:public-info-viewer", [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}]),
    ),
    (
        "clusterroles",
        _cluster_role(
            "system:basic-user",
            [
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["selfsubjectreviews"],
                    "verbs": ["create"],
                },
            ],
        ),
    ),
    ("clusterrolebindings", _cluster_role_binding("cluster-admin", "cluster-admin", [MASTERS])),
    (
        "clusterrolebindings",
        _cluster_role_binding("system:discovery", "system:discovery", ["system:authenticated"]),
    ),
    (
        "clusterrolebindings",
        _cluster_role_binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
    ),
    (
        "clusterrolebindings",
        _cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            ["system:authenticated", "system:unauthenticated"],
        ),
    ),
]
