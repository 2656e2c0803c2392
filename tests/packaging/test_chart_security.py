"""Least privilege, checked on every rendering: no wildcard in any RBAC rule, every workload non-root
with a read-only root filesystem, no capabilities, RuntimeDefault seccomp, resources and probes."""

from __future__ import annotations

from typing import Any

import pytest

from .chart_tools import VARIANTS, find, one, pod_specs

RBAC_KINDS = ("Role", "ClusterRole")
RULE_FIELDS = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")


def wildcard_rules(objects: list[dict[str, Any]]) -> list[str]:
    """Every RBAC rule field holding `*` (or a `*` sub-resource such as `pods/*`)."""
    found = []
    for obj in objects:
        if obj["kind"] not in RBAC_KINDS:
            continue
        for index, rule in enumerate(obj.get("rules") or []):
            for field in RULE_FIELDS:
                if any("*" in value for value in rule.get(field) or []):
                    found.append(f"{obj['kind']}/{obj['metadata']['name']} rule {index} {field}")
    return found


def security_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for where, spec in pod_specs(objects):
        pod_ctx = spec.get("securityContext") or {}
        if pod_ctx.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod runAsNonRoot is not true")
        if pod_ctx.get("runAsUser") in (None, 0):
            problems.append(f"{where}: pod runAsUser is unset or 0")
        if (pod_ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccomp profile is not RuntimeDefault")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{where}: uses a host namespace")
        for container in spec.get("initContainers", []) + spec["containers"]:
            name = f"{where}/{container['name']}"
            ctx = container.get("securityContext") or {}
            if ctx.get("runAsNonRoot") is False or ctx.get("runAsUser") == 0:
                problems.append(f"{name}: runs as root")
            if ctx.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: allowPrivilegeEscalation is not false")
            if ctx.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{name}: root filesystem is writable")
            if ctx.get("privileged"):
                problems.append(f"{name}: privileged")
            capabilities = ctx.get("capabilities") or {}
            if capabilities.get("drop") != ["ALL"] or capabilities.get("add"):
                problems.append(f"{name}: capabilities not dropped (drop ALL, add nothing)")
            resources = container.get("resources") or {}
            if not resources.get("requests") or not (resources.get("limits") or {}).get("memory"):
                problems.append(f"{name}: no resource requests or memory limit")
            if "readinessProbe" not in container or "livenessProbe" not in container:
                problems.append(f"{name}: missing a readiness or liveness probe")
    return problems


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rbac_has_no_wildcards(variant: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert find(rendered[variant], "ClusterRole")
    assert wildcard_rules(rendered[variant]) == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_workload_runs_unprivileged(variant: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert len(list(pod_specs(rendered[variant]))) >= 2
    assert security_problems(rendered[variant]) == []


def test_the_checks_catch_violations(rendered: dict[str, list[dict[str, Any]]]) -> None:
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "bad"},
        "rules": [{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}],
    }
    assert wildcard_rules([role]) == ["ClusterRole/bad rule 0 resources"]
    deployment = one(rendered["defaults"], "Deployment", "katib-db-manager")
    spec = deployment["spec"]["template"]["spec"]
    rooted = {
        **deployment,
        "spec": {**deployment["spec"], "template": {"spec": {
            **spec,
            "securityContext": {**spec["securityContext"], "runAsUser": 0},
            "containers": [{**spec["containers"][0], "securityContext": {"readOnlyRootFilesystem": True}}],
        }}},
    }  # fmt: skip
    problems = security_problems([rooted])
    assert "Deployment/katib-db-manager: pod runAsUser is unset or 0" in problems
    assert any("allowPrivilegeEscalation" in p for p in problems)
    assert any("capabilities not dropped" in p for p in problems)


def test_secrets_are_reachable_only_in_the_operator_namespace(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for variant, objects in rendered.items():
        for cluster_role in find(objects, "ClusterRole"):
            for rule in cluster_role["rules"]:
                assert "secrets" not in rule["resources"], variant
        for role in find(objects, "Role", "katib-controller"):
            for rule in role["rules"]:
                if rule["resources"] == ["secrets"] and set(rule["verbs"]) != {"create"}:
                    assert rule["resourceNames"] == ["katib-webhook-cert"], variant


def test_api_free_workloads_mount_no_token(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for variant in ("defaults", "bundled-postgres"):
        for where, spec in pod_specs(rendered[variant]):
            if "katib-controller" in where:
                assert spec["serviceAccountName"] == "katib-controller"
            else:
                assert spec["automountServiceAccountToken"] is False, where


def test_the_operator_may_create_the_early_stopping_role(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """RBAC refuses a Role that grants more than its creator holds (escalation prevention): the
    Role the operator makes for an early-stopping Suggestion must be covered by the chart's
    operator ClusterRole, or early stopping breaks on a real cluster."""
    from katib_py.api.models import Suggestion
    from katib_py.core import suggestion_resources
    from katib_py.localcluster.apiserver import rbac

    cluster_role = one(rendered["defaults"], "ClusterRole", "katib-controller")
    suggestion = Suggestion.load(
        {
            "metadata": {"name": "exp", "namespace": "ns", "uid": "u1"},
            "spec": {
                "algorithm": {"algorithmName": "random"},
                "earlyStopping": {"algorithmName": "medianstop"},
            },
        }
    )
    role = suggestion_resources.role(suggestion)
    held = rbac.parse_rules(cluster_role)
    assert rbac.missing_rules(held, rbac.parse_rules(role)) == []
    # ... and the check does catch a rule the operator lacks (Katib's `*` on trials/status).
    katib_role = {"rules": [{"apiGroups": ["kubeflow.org"], "resources": ["trials/status"], "verbs": ["*"]}]}
    assert rbac.missing_rules(held, rbac.parse_rules(katib_role))
