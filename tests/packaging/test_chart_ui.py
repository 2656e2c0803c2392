"""The chart's optional web UI: off by default; when on, least-privilege RBAC and a port-forward Service."""

from __future__ import annotations

from typing import Any

from .chart_tools import find, one, pod_specs, render

UI_RULES = [
    {"apiGroups": ["kubeflow.org"], "resources": ["experiments"],
     "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
    {"apiGroups": ["kubeflow.org"], "resources": ["trials", "suggestions"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]  # fmt: skip


def test_the_ui_is_off_by_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert not [o for o in rendered["defaults"] if "katib-py-ui" in o["metadata"]["name"]]


def test_the_ui_reads_katib_objects_pods_logs_events_and_writes_experiments_only(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["ui"]
    assert one(objects, "ClusterRole", "katib-py-ui")["rules"] == UI_RULES
    binding = one(objects, "ClusterRoleBinding", "katib-py-ui")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "katib-py-ui", "namespace": "kubeflow"}]
    assert not find(objects, "Role", "katib-py-ui")
    spec = dict(pod_specs(objects))["Deployment/katib-py-ui"]
    assert spec["serviceAccountName"] == "katib-py-ui"
    container = spec["containers"][0]
    assert container["args"][:1] == ["ui"]
    assert "katib-db-manager.kubeflow:6789" in container["args"]
    token = {e["name"]: e for e in container["env"]}["KATIB_PY_UI_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {"name": "katib-py-ui-token", "key": "token"}
    service = one(objects, "Service", "katib-py-ui")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["ports"][0]["targetPort"] == "http"


def test_a_given_token_is_used_and_a_generated_one_is_long() -> None:
    given = one(
        render({"ui": {"enabled": True, "token": "a-token-of-twenty-chars"}}), "Secret", "katib-py-ui-token"
    )
    assert given["stringData"]["token"] == "a-token-of-twenty-chars"
    generated = one(render({"ui": {"enabled": True}}), "Secret", "katib-py-ui-token")["stringData"]["token"]
    assert len(generated) >= 40
