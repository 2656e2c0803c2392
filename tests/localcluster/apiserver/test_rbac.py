"""RBAC on every request: a ServiceAccount token gets only what its bindings grant, denials are
kube's 403 Status, and nobody grants rights they do not hold (escalation prevention)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from katib_py.localcluster.apiserver import rbac

from .harness import ServerThread, raw

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _sa(cluster: ServerThread, ns: str, name: str) -> tuple[str, str]:
    assert cluster.server is not None
    return cluster.call(
        cluster.server.mint_service_account_token, ns, name
    ), f"system:serviceaccount:{ns}:{name}"


def _ns(cluster: ServerThread) -> str:
    name = f"rbac-{uuid.uuid4().hex[:6]}"
    assert raw(cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})[0] == 201
    return name


def _role(ns: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name},
        "rules": rules,
    }


def _binding(name: str, kind: str, role: str, sa_ns: str, sa: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
    }


def test_a_service_account_cannot_read_secrets_and_gets_kubes_403(cluster: ServerThread) -> None:
    ns = _ns(cluster)
    token, user = _sa(cluster, ns, "default")
    status, body = raw(cluster, "GET", f"/api/v1/namespaces/{ns}/secrets", token=token)
    assert status == 403
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": f'secrets is forbidden: User "{user}" cannot list resource "secrets" in API group "" '
        f'in the namespace "{ns}"',
        "reason": "Forbidden",
        "details": {"kind": "secrets"},
        "code": 403,
    }
    status, body = raw(cluster, "GET", f"/api/v1/namespaces/{ns}/secrets/x", token=token)
    assert body["message"] == (
        f'secrets "x" is forbidden: User "{user}" cannot get resource "secrets" in API group "" '
        f'in the namespace "{ns}"'
    )
    assert body["details"] == {"name": "x", "kind": "secrets"}
    status, body = raw(cluster, "GET", "/apis/apps/v1/deployments?watch=true", token=token)
    assert status == 403 and body["message"] == (
        f'deployments.apps is forbidden: User "{user}" cannot watch resource "deployments" in API group '
        '"apps" at the cluster scope'
    )
    status, body = raw(cluster, "GET", "/metrics", token=token)
    assert status == 403 and body["message"] == f'forbidden: User "{user}" cannot get path "/metrics"'
    # ... while discovery, which every authenticated user may read, works.
    for path in ("/api", "/apis", "/version", "/api/v1", "/apis/apps/v1", "/openapi/v3"):
        assert raw(cluster, "GET", path, token=token)[0] == 200, path


def test_bindings_grant_exactly_their_rules(cluster: ServerThread) -> None:
    ns, other = _ns(cluster), _ns(cluster)
    token, _ = _sa(cluster, ns, "reader")
    rules = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["mine"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", _role(ns, "reader", rules))[0] == 201
    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert raw(cluster, "GET", path, token=token)[0] == 403
    binding = _binding("reader", "Role", "reader", ns, "reader")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", binding)[0] == 201
    # The binding counts at once (the index is rebuilt after every RBAC write) ...
    assert raw(cluster, "GET", path, token=token)[0] == 200
    # ... only for its verbs, its namespace, its names and its subresources.
    assert raw(cluster, "GET", f"{path}?watch=true", token=token)[0] == 403
    assert raw(cluster, "POST", path, {"metadata": {"name": "c"}}, token=token)[0] == 403
    assert raw(cluster, "GET", f"/api/v1/namespaces/{other}/configmaps", token=token)[0] == 403
    assert raw(cluster, "GET", f"/api/v1/namespaces/{ns}/secrets/mine", token=token)[0] == 404
    assert raw(cluster, "GET", f"/api/v1/namespaces/{ns}/secrets/theirs", token=token)[0] == 403
    assert raw(cluster, "GET", f"/api/v1/namespaces/{ns}/pods/p/log", token=token)[0] == 404
    assert raw(cluster, "GET", f"/api/v1/namespaces/{ns}/pods/p", token=token)[0] == 403
    # A RoleBinding to a ClusterRole grants it in the binding's namespace only.
    view = _binding("view", "ClusterRole", "view", ns, "reader")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{other}/rolebindings", view)[0] == 201
    assert raw(cluster, "GET", f"/api/v1/namespaces/{other}/pods", token=token)[0] == 200
    assert raw(cluster, "GET", f"/api/v1/namespaces/{other}/secrets", token=token)[0] == 403
    assert raw(cluster, "GET", "/api/v1/pods", token=token)[0] == 403
    # Deleting the binding takes the rights away at once.
    assert raw(cluster, "DELETE", f"{RBAC}/namespaces/{ns}/rolebindings/reader")[0] == 200
    assert raw(cluster, "GET", path, token=token)[0] == 403


def test_no_one_grants_rights_they_do_not_hold(cluster: ServerThread) -> None:
    ns = _ns(cluster)
    token, user = _sa(cluster, ns, "granter")
    # The granter may write RBAC objects in its namespace and bindings cluster-wide, and read configmaps.
    rules = [
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["roles", "rolebindings"],
            "verbs": ["create"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    ]
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", _role(ns, "granter", rules))[0] == 201
    granter = _binding("granter", "Role", "granter", ns, "granter")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", granter)[0] == 201
    crb_rights = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"crb-writer-{ns}"},
        "rules": [
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterrolebindings"],
                "verbs": ["create"],
            }
        ],
    }
    assert raw(cluster, "POST", f"{RBAC}/clusterroles", crb_rights)[0] == 201
    crb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"crb-writer-{ns}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"crb-writer-{ns}",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "granter", "namespace": ns}],
    }
    assert raw(cluster, "POST", f"{RBAC}/clusterrolebindings", crb)[0] == 201

    # Binding itself cluster-admin: refused, it does not hold cluster-admin's rules.
    to_admin = {
        **crb,
        "metadata": {"name": f"pwn-{ns}"},
        "roleRef": {**crb["roleRef"], "name": "cluster-admin"},
    }
    status, body = raw(cluster, "POST", f"{RBAC}/clusterrolebindings", to_admin, token=token)
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"].startswith(
        f'clusterrolebindings.rbac.authorization.k8s.io "pwn-{ns}" is forbidden: user "{user}" (groups=['
        f'"system:serviceaccounts" "system:serviceaccounts:{ns}" "system:authenticated"]) is attempting to '
        "grant RBAC permissions not currently held:\n"
    )
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in body["message"]
    assert raw(cluster, "GET", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/pwn-{ns}")[0] == 404

    # A Role with rules it holds is fine; one more verb is not.
    held = _role(ns, "held", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", held, token=token)[0] == 201
    more = _role(ns, "more", [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get"]}])
    status, body = raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", more, token=token)
    assert status == 403
    assert body["message"].endswith('\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
    # Binding a role whose rules it holds works, and so does `bind` on the referenced role.
    bind_held = _binding("held", "Role", "held", ns, "default")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", bind_held, token=token)[0] == 201
    bind_edit = _binding("edit", "ClusterRole", "edit", ns, "default")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", bind_edit, token=token)[0] == 403
    may_bind = _role(
        ns,
        "may-bind",
        [
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "resourceNames": ["edit"],
                "verbs": ["bind"],
            },
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]},
        ],
    )
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", may_bind)[0] == 201
    grant = _binding("may-bind", "Role", "may-bind", ns, "granter")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", grant)[0] == 201
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", bind_edit, token=token)[0] == 201
    # `escalate` on roles lets it write the role it could not before.
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", more, token=token)[0] == 201


def test_kubectl_as_a_service_account_and_auth_can_i(cluster: ServerThread, tmp_path: Path) -> None:
    ns = _ns(cluster)
    token, user = _sa(cluster, ns, "kubectl")
    assert cluster.server is not None
    kubeconfig = tmp_path / "sa-kubeconfig"
    cluster.server.write_kubeconfig(kubeconfig)
    kubeconfig.write_text(kubeconfig.read_text().replace(cluster.server.token, token))
    sa_args = (f"--kubeconfig={kubeconfig}", "-n", ns)
    denied = cluster.kubectl(*sa_args, "get", "secrets", check=False)
    assert denied.returncode != 0
    assert (
        f'Error from server (Forbidden): secrets is forbidden: User "{user}" cannot list resource "secrets" '
        f'in API group "" in the namespace "{ns}"'
    ) in denied.stderr
    assert cluster.kubectl(*sa_args, "auth", "can-i", "list", "secrets", check=False).stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "list", "secrets", "-n", ns).stdout.strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"
    rules = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", _role(ns, "s", rules))[0] == 201
    binding = _binding("s", "Role", "s", ns, "kubectl")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", binding)[0] == 201
    assert cluster.kubectl(*sa_args, "auth", "can-i", "list", "secrets").stdout.strip() == "yes"
    assert cluster.kubectl(*sa_args, "auth", "can-i", "get", "secrets", check=False).stdout.strip() == "no"
    assert cluster.kubectl(*sa_args, "get", "secrets").returncode == 0
    # The admin kubeconfig still does everything, RBAC objects included.
    crb = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        f"metadata: {{name: admin-{ns}}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{kind: User, name: x}]\n"
    )
    cluster.kubectl("apply", "-f", "-", input=crb)
    cluster.kubectl("delete", "clusterrolebinding", f"admin-{ns}")


def test_the_bootstrap_roles_are_served(cluster: ServerThread) -> None:
    names = {o["metadata"]["name"] for o in cluster.kubectl_json("get", "clusterroles")["items"]}
    assert {"cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user"} <= names
    crb = cluster.kubectl_json("get", "clusterrolebinding", "cluster-admin")
    assert crb["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}
    ]


# ---- the pure part ----


def _attrs(method: str, path: str, **query: str) -> rbac.Attributes:
    return rbac.request_attributes("u", ["g"], method, path, query)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/a/pods", {}, ("list", "a", "", "pods", "", "")),
        ("GET", "/api/v1/namespaces/a/pods", {"watch": "true"}, ("watch", "a", "", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/a/pods/p", {}, ("watch", "a", "", "pods", "", "p")),
        ("GET", "/api/v1/namespaces/a/pods/p/log", {}, ("get", "a", "", "pods", "log", "p")),
        (
            "DELETE",
            "/apis/batch/v1/namespaces/a/jobs",
            {},
            ("deletecollection", "a", "batch", "jobs", "", ""),
        ),
        (
            "PATCH",
            "/apis/kubeflow.org/v1beta1/namespaces/a/trials/t/status",
            {},
            ("patch", "a", "kubeflow.org", "trials", "status", "t"),
        ),
        ("PUT", "/api/v1/namespaces/a/finalize", {}, ("update", "a", "", "namespaces", "finalize", "a")),
        ("GET", "/api/v1/namespaces/a", {}, ("get", "a", "", "namespaces", "", "a")),
        ("POST", "/api/v1/namespaces", {}, ("create", "", "", "namespaces", "", "")),
        ("GET", "/api/v1/nodes", {"fieldSelector": "metadata.name=n1"}, ("list", "", "", "nodes", "", "n1")),
    ],
)
def test_request_attributes_as_kube_reads_them(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    a = rbac.request_attributes("u", ["g"], method, path, query)
    assert a.resource_request
    assert (a.verb, a.namespace, a.api_group, a.resource, a.subresource, a.name) == expected


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/openapi/v3/x"]
)
def test_discovery_paths_are_non_resource_requests(path: str) -> None:
    a = _attrs("GET", path)
    assert not a.resource_request and a.verb == "get" and a.path == path


def test_wildcards_and_subresource_wildcards() -> None:
    rule = rbac.Rule.parse({"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["patch"]})
    assert rule.allows(_attrs("PATCH", "/apis/kubeflow.org/v1beta1/namespaces/a/trials/t/status"))
    assert not rule.allows(_attrs("PATCH", "/apis/kubeflow.org/v1beta1/namespaces/a/trials/t"))
    url = rbac.Rule.parse({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]})
    assert url.allows(_attrs("GET", "/apis/apps")) and not url.allows(_attrs("GET", "/api"))


def test_authorizer_cost_per_request() -> None:
    """Many bindings (1000 namespaces x 3) still cost microseconds per request: the index is by subject."""
    roles, bindings = [], []
    for i in range(1000):
        ns = f"ns{i}"
        for j in range(3):
            roles.append(
                {
                    "metadata": {"name": f"r{j}", "namespace": ns},
                    "rules": [
                        {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]},
                        {
                            "apiGroups": ["kubeflow.org"],
                            "resources": ["trials", "trials/status"],
                            "verbs": ["get", "patch"],
                        },
                    ],
                }
            )
            bindings.append(
                {
                    "metadata": {"name": f"b{j}", "namespace": ns},
                    "roleRef": {"kind": "Role", "name": f"r{j}"},
                    "subjects": [{"kind": "ServiceAccount", "name": f"sa{j}", "namespace": ns}],
                }
            )
    started = time.perf_counter()
    policy = rbac.Policy.build([], roles, [], bindings)
    build = time.perf_counter() - started
    user, groups = "system:serviceaccount:ns500:sa1", ("system:serviceaccounts", "system:authenticated")
    allowed = rbac.request_attributes(
        user, groups, "PATCH", "/apis/kubeflow.org/v1beta1/namespaces/ns500/trials/t/status", {}
    )
    denied = rbac.request_attributes(user, groups, "GET", "/api/v1/namespaces/ns500/secrets", {})
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        assert policy.allows(allowed)
        assert not policy.allows(denied)
    per_request = (time.perf_counter() - started) / (2 * n)
    print(
        f"policy build {build * 1000:.1f} ms for 3000 roles+bindings; {per_request * 1e6:.2f} us per decision"
    )
    assert per_request < 50e-6 and build < 2.0


def test_an_update_that_widens_a_role_is_refused_but_gc_fields_pass(cluster: ServerThread) -> None:
    ns = _ns(cluster)
    token, _ = _sa(cluster, ns, "updater")
    rules = [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["get", "patch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    ]
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", _role(ns, "updater", rules))[0] == 201
    binding = _binding("updater", "Role", "updater", ns, "updater")
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/rolebindings", binding)[0] == 201
    target = _role(ns, "target", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    assert raw(cluster, "POST", f"{RBAC}/namespaces/{ns}/roles", target)[0] == 201
    path = f"{RBAC}/namespaces/{ns}/roles/target"
    merge = "application/merge-patch+json"
    widen = {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}
    status, body = raw(cluster, "PATCH", path, widen, token=token, ctype=merge)
    assert status == 403 and "is attempting to grant RBAC permissions not currently held" in body["message"]
    # Only owner references or finalizers changed: the garbage collector's kind of write goes through.
    finalizer = {"metadata": {"finalizers": ["example.com/keep"]}}
    assert raw(cluster, "PATCH", path, finalizer, token=token, ctype=merge)[0] == 200
    narrow = {"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}
    assert raw(cluster, "PATCH", path, narrow, token=token, ctype=merge)[0] == 200
    assert raw(cluster, "PATCH", path, {"metadata": {"finalizers": None}}, ctype=merge)[0] == 200


def test_kubectl_create_role_and_bindings(cluster: ServerThread) -> None:
    """kubectl's generators send RBAC objects in protobuf: they are decoded field for field."""
    ns = _ns(cluster)
    cluster.kubectl(
        "create", "role", "pod-reader", "-n", ns, "--verb=get,list", "--resource=pods,deployments.apps",
        "--resource-name=p1",
    )  # fmt: skip
    role = cluster.kubectl_json("get", "role", "pod-reader", "-n", ns)
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["p1"], "verbs": ["get", "list"]},
        {
            "apiGroups": ["apps"],
            "resources": ["deployments"],
            "resourceNames": ["p1"],
            "verbs": ["get", "list"],
        },
    ]
    cluster.kubectl("create", "clusterrole", f"urls-{ns}", "--verb=get", "--non-resource-url=/logs/*")
    assert cluster.kubectl_json("get", "clusterrole", f"urls-{ns}")["rules"] == [
        {"nonResourceURLs": ["/logs/*"], "verbs": ["get"]}
    ]
    cluster.kubectl(
        "create", "rolebinding", "rb", "-n", ns, "--role=pod-reader", f"--serviceaccount={ns}:robot",
        "--user=alice", "--group=devs",
    )  # fmt: skip
    rb = cluster.kubectl_json("get", "rolebinding", "rb", "-n", ns)
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}
    assert sorted(rb["subjects"], key=lambda s: s["kind"]) == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"},
        {"kind": "ServiceAccount", "name": "robot", "namespace": ns},
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
    ]
    cluster.kubectl(
        "create", "clusterrolebinding", f"crb-{ns}", "--clusterrole=view", f"--serviceaccount={ns}:robot"
    )
    crb = cluster.kubectl_json("get", "clusterrolebinding", f"crb-{ns}")
    assert crb["roleRef"]["kind"] == "ClusterRole" and crb["subjects"][0]["name"] == "robot"
    token, _ = _sa(cluster, ns, "robot")
    assert raw(cluster, "GET", f"/api/v1/namespaces/{ns}/pods/p1", token=token)[0] == 404
    assert raw(cluster, "GET", "/apis/apps/v1/deployments", token=token)[0] == 200  # view, cluster-wide
