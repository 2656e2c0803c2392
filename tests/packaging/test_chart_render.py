"""helm lint and helm template of the chart with its defaults and each documented option; every
rendered object validated strictly against its schema; the wiring each option promises."""

from __future__ import annotations

import base64
import subprocess
import textwrap
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from .chart_tools import (
    CHART,
    HELM,
    KUBERNETES_VERSIONS,
    NAMESPACE,
    ROOT,
    VARIANTS,
    find,
    helm_lint,
    one,
    render,
    validate_object,
)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_lint_passes(variant: str) -> None:
    out = helm_lint(VARIANTS[variant])
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_object_is_schema_valid(
    variant: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    objects = rendered[variant]
    assert len(objects) >= 10
    for obj in objects:
        validate_object(obj)


def test_kubernetes_validate_itself_accepts_the_defaults(rendered: dict[str, list[dict[str, Any]]]) -> None:
    # validate_object compiles kubernetes-validate's schemas once; its own entry point agrees.
    for obj in rendered["defaults"]:
        for version in KUBERNETES_VERSIONS:
            assert kubernetes_validate.validate(obj, version, strict=True) == version.rsplit(".", 1)[0]


def test_validation_catches_a_broken_object(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment = dict(one(rendered["defaults"], "Deployment", "katib-controller"))
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    with pytest.raises(jsonschema.ValidationError, match="'replica' was unexpected"):
        validate_object(deployment)
    certificate = one(rendered["cert-manager"], "Certificate", "katib-webhook-cert")
    broken = {**certificate, "spec": {**certificate["spec"], "dnsName": ["x"]}}
    with pytest.raises(jsonschema.ValidationError):
        validate_object(broken)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_object({"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {"name": "x"}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"database": {"typo": 1}}, "additional properties 'typo' not allowed"),
        ({"database": {"type": "sqlite"}}, "/database/type"),
        ({"database": {"bundled": {"enabled": False}}}, "/database/external/host"),
        ({"operator": {"replicas": 0}}, "/operator/replicas"),
        ({"webhook": {"failurePolicy": "Sometimes"}}, "/webhook/failurePolicy"),
        ({"webhook": {"insecure": True}}, "/webhook"),
        ({"webhook": {"url": "http://127.0.0.1:1"}}, "/webhook/url"),
        ({"katibConfig": {"trialResources": ["jobs"]}}, "/katibConfig/trialResources/0"),
    ],
)
def test_values_schema_rejects_bad_values(values: dict[str, Any], message: str, tmp_path: Any) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [str(HELM), "template", "x", str(CHART), "-f", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert message in proc.stderr


def test_katib_names_and_crds(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["defaults"]
    crds = {o["metadata"]["name"]: o for o in find(objects, "CustomResourceDefinition")}
    assert {"experiments.kubeflow.org", "suggestions.kubeflow.org", "trials.kubeflow.org"} <= set(crds)
    for name in ("experiments", "suggestions", "trials"):
        assert crds[f"{name}.kubeflow.org"]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    one(objects, "Deployment", "katib-controller")
    one(objects, "Deployment", "katib-db-manager")
    service = one(objects, "Service", "katib-db-manager")
    assert service["spec"]["ports"][0]["port"] == 6789
    one(objects, "ConfigMap", "katib-config")
    assert not find(rendered["no-crds-no-pdb"], "CustomResourceDefinition", "experiments.kubeflow.org")
    assert not find(rendered["no-crds-no-pdb"], "PodDisruptionBudget")


def test_webhook_configurations_match_katib(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["defaults"]
    mutating = one(objects, "MutatingWebhookConfiguration", "katib.kubeflow.org")
    validating = one(objects, "ValidatingWebhookConfiguration", "katib.kubeflow.org")
    hooks = {h["name"]: h for h in mutating["webhooks"] + validating["webhooks"]}
    paths = {name: h["clientConfig"]["service"]["path"] for name, h in hooks.items()}
    assert paths == {
        "defaulter.experiment.katib.kubeflow.org": "/mutate-experiment",
        "mutator.pod.katib.kubeflow.org": "/mutate-pod",
        "validator.experiment.katib.kubeflow.org": "/validate-experiment",
    }
    for hook in hooks.values():
        assert hook["clientConfig"]["service"]["name"] == "katib-controller"
        assert hook["clientConfig"]["service"]["namespace"] == NAMESPACE
        assert "caBundle" not in hook["clientConfig"]  # filled by the operator, never reset by an upgrade
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
    pod = hooks["mutator.pod.katib.kubeflow.org"]
    assert pod["namespaceSelector"] == {
        "matchLabels": {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
    }
    assert pod["rules"][0]["resources"] == ["pods"] and pod["rules"][0]["operations"] == ["CREATE"]
    assert pod["matchConditions"][0]["expression"] == (
        "request.userInfo.username != 'system:serviceaccount:kubeflow:katib-controller'"
    )
    for name in ("defaulter.experiment.katib.kubeflow.org", "validator.experiment.katib.kubeflow.org"):
        assert hooks[name]["rules"][0]["resources"] == ["experiments"]
        assert hooks[name]["rules"][0]["operations"] == ["CREATE", "UPDATE"]
        assert hooks[name]["failurePolicy"] == "Fail"
    service = one(objects, "Service", "katib-controller")
    webhook_port = next(p for p in service["spec"]["ports"] if p["name"] == "webhook")
    assert webhook_port["port"] == 443 and webhook_port["targetPort"] == "webhook"

    args = _container(objects, "Deployment", "katib-controller")["args"]
    assert "--no-webhook-configurations" in args and "--webhook-service=katib-controller" in args
    embedded = rendered["embedded-webhook"]
    url_hooks = one(embedded, "MutatingWebhookConfiguration", "katib.kubeflow.org")["webhooks"]
    assert {h["clientConfig"]["url"] for h in url_hooks} == {
        "http://127.0.0.1:18443/mutate-experiment",
        "http://127.0.0.1:18443/mutate-pod",
    }
    args = _container(embedded, "Deployment", "katib-controller")["args"]
    assert "--webhook-insecure" in args and "--webhook-url=http://127.0.0.1:18443" in args


def _container(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    container: dict[str, Any] = one(objects, kind, name)["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _katib_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        one(objects, "ConfigMap", "katib-config")["data"]["katib-config.yaml"]
    )
    return data


def test_self_generated_certificates_by_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["defaults"]
    assert not find(objects, "Certificate")
    cert = _katib_config(objects)["init"]["certGenerator"]
    assert cert == {
        "enable": True,
        "webhookServiceName": "katib-controller",
        "webhookSecretName": "katib-webhook-cert",
    }
    role = one(objects, "Role", "katib-controller")
    secret_rules = [r for r in role["rules"] if r["resources"] == ["secrets"]]
    assert {v for r in secret_rules for v in r["verbs"]} == {"create", "get", "patch"}
    cluster_role = one(objects, "ClusterRole", "katib-controller")
    webhook_rule = next(
        r for r in cluster_role["rules"] if r["apiGroups"] == ["admissionregistration.k8s.io"]
    )
    assert webhook_rule["resourceNames"] == ["katib.kubeflow.org"] and "patch" in webhook_rule["verbs"]


def test_cert_manager_option(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["cert-manager"]
    certificate = one(objects, "Certificate", "katib-webhook-cert")
    assert certificate["spec"]["secretName"] == "katib-webhook-cert"
    assert "katib-controller.kubeflow.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"]["name"] == "katib-selfsigned"
    one(objects, "Issuer", "katib-selfsigned")
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        annotations = one(objects, kind, "katib.kubeflow.org")["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "kubeflow/katib-webhook-cert"
    assert _katib_config(objects)["init"]["certGenerator"] == {"enable": False}
    assert set(certificate["spec"]["dnsNames"]) == {
        "katib-controller",
        "katib-controller.kubeflow",
        "katib-controller.kubeflow.svc",
        "katib-controller.kubeflow.svc.cluster.local",
    }
    cluster_role = one(objects, "ClusterRole", "katib-controller")
    assert not [r for r in cluster_role["rules"] if r["apiGroups"] == ["admissionregistration.k8s.io"]]
    role = one(objects, "Role", "katib-controller")
    secret_verbs = {v for r in role["rules"] if r["resources"] == ["secrets"] for v in r["verbs"]}
    assert secret_verbs == {"get"}

    cluster_issuer = rendered["cert-manager-cluster-issuer"]
    assert not find(cluster_issuer, "Issuer")
    ref = one(cluster_issuer, "Certificate", "katib-webhook-cert")["spec"]["issuerRef"]
    assert ref == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def test_bundled_mysql_by_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["defaults"]
    mysql = one(objects, "StatefulSet", "katib-mysql")
    assert mysql["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    one(objects, "Service", "katib-mysql")
    secret = one(objects, "Secret", "katib-mysql-secrets")
    password = secret["stringData"]["MYSQL_ROOT_PASSWORD"]
    assert len(password) == 32 and password.isalnum()
    env = _env(_container(objects, "Deployment", "katib-db-manager"))
    assert env["DB_NAME"] == "mysql"
    assert env["KATIB_MYSQL_DB_HOST"] == "katib-mysql"
    assert env["KATIB_MYSQL_DB_PORT"] == "3306"
    assert env["KATIB_MYSQL_DB_DATABASE"] == "katib"
    assert env["DB_PASSWORD"] == {
        "secretKeyRef": {"name": "katib-mysql-secrets", "key": "MYSQL_ROOT_PASSWORD"}
    }
    # A random password per render (helm keeps the live one on upgrade through lookup).
    again = one(render({}), "Secret", "katib-mysql-secrets")["stringData"]["MYSQL_ROOT_PASSWORD"]
    assert again != password


def test_external_database_options(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["external-mysql"]
    assert not find(objects, "StatefulSet")
    env = _env(_container(objects, "Deployment", "katib-db-manager"))
    assert env["KATIB_MYSQL_DB_HOST"] == "mysql.example.internal"
    assert env["KATIB_MYSQL_DB_PORT"] == "3307"
    assert env["DB_USER"] == {"secretKeyRef": {"name": "katib-mysql-secrets", "key": "DB_USER"}}
    assert one(objects, "Secret", "katib-mysql-secrets")["stringData"] == {
        "DB_USER": "katib",
        "DB_PASSWORD": "s3cret",
    }

    pg = rendered["external-postgres"]
    assert not find(pg, "StatefulSet") and not find(pg, "Secret")
    env = _env(_container(pg, "Deployment", "katib-db-manager"))
    assert env["DB_NAME"] == "postgres"
    assert env["KATIB_POSTGRESQL_DB_HOST"] == "pg.example.internal"
    assert env["KATIB_POSTGRESQL_SSL_MODE"] == "require"
    assert env["DB_PASSWORD"] == {"secretKeyRef": {"name": "my-db-credentials", "key": "DB_PASSWORD"}}


def test_bundled_postgres_option(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["bundled-postgres"]
    postgres = one(objects, "StatefulSet", "katib-postgres")
    container = postgres["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("postgres:")
    assert _env(container)["PGDATA"].startswith("/var/lib/postgresql/data/")
    assert set(one(objects, "Secret", "katib-postgres-secrets")["stringData"]) == {
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
    }
    env = _env(_container(objects, "Deployment", "katib-db-manager"))
    assert env["KATIB_POSTGRESQL_DB_HOST"] == "katib-postgres"
    assert env["KATIB_POSTGRESQL_DB_PORT"] == "5432"


def test_replicas_turn_on_leader_election(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert _katib_config(rendered["defaults"])["init"]["controller"]["enableLeaderElection"] is False
    role = one(rendered["defaults"], "Role", "katib-controller")
    assert not [r for r in role["rules"] if r["apiGroups"] == ["coordination.k8s.io"]]
    objects = rendered["replicas"]
    deployment = one(objects, "Deployment", "katib-controller")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert "podAntiAffinity" in deployment["spec"]["template"]["spec"]["affinity"]
    controller = _katib_config(objects)["init"]["controller"]
    assert controller["enableLeaderElection"] is True
    assert controller["leaderElectionID"] == "3fbc96e9.katib.kubeflow.org"
    lease_rules = [
        r for r in one(objects, "Role", "katib-controller")["rules"] if r["resources"] == ["leases"]
    ]
    assert {v for r in lease_rules for v in r["verbs"]} == {"create", "get", "update", "patch"}
    assert [r["resourceNames"] for r in lease_rules if "resourceNames" in r] == [
        ["3fbc96e9.katib.kubeflow.org"]
    ]
    assert one(objects, "Deployment", "katib-db-manager")["spec"]["replicas"] == 2


def test_network_policy_option(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert not find(rendered["defaults"], "NetworkPolicy")
    objects = rendered["network-policy"]
    policies = {p["metadata"]["name"]: p for p in find(objects, "NetworkPolicy")}
    assert set(policies) == {"katib-controller", "katib-db-manager", "katib-mysql"}
    mysql = policies["katib-mysql"]["spec"]
    (rule,) = mysql["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "katib-py", "app.kubernetes.io/instance": "katib-py",
        "app.kubernetes.io/component": "db-manager"}}}]  # fmt: skip
    db_manager_from = policies["katib-db-manager"]["spec"]["ingress"][0]["from"]
    assert {
        "namespaceSelector": {"matchLabels": {"katib.kubeflow.org/metrics-collector-injection": "enabled"}}
    } in (db_manager_from)


def test_service_monitor_option(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert not find(rendered["defaults"], "ServiceMonitor")
    objects = rendered["service-monitor"]
    monitor = one(objects, "ServiceMonitor", "katib-controller")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    service = one(objects, "Service", "katib-controller")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_trial_resources_drive_rbac(rendered: dict[str, list[dict[str, Any]]]) -> None:
    rules = one(rendered["defaults"], "ClusterRole", "katib-controller")["rules"]
    by_group = {r["apiGroups"][0]: r for r in rules if "create" in r["verbs"] and len(r["apiGroups"]) == 1}
    assert by_group["batch"]["resources"] == ["jobs"]
    assert set(by_group["kubeflow.org"]["resources"]) >= {"tfjobs", "pytorchjobs", "mpijobs", "xgboostjobs"}
    assert by_group["trainer.kubeflow.org"]["resources"] == ["trainjobs"]
    custom = one(rendered["katib-suggestion-image"], "ClusterRole", "katib-controller")["rules"]
    assert any(r["apiGroups"] == ["argoproj.io"] and r["resources"] == ["workflows"] for r in custom)


def test_db_secret_data_is_not_base64_twice(rendered: dict[str, list[dict[str, Any]]]) -> None:
    secret = one(rendered["external-mysql"], "Secret", "katib-mysql-secrets")
    assert "data" not in secret
    assert base64.b64encode(secret["stringData"]["DB_PASSWORD"].encode()) == b"czNjcmV0"


def test_notes_explain_the_label_and_a_valid_first_experiment(tmp_path: Any) -> None:
    proc = subprocess.run(
        [str(HELM), "install", "katib-py", str(CHART), "--namespace", NAMESPACE, "--dry-run=client"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kubectl label namespace default katib.kubeflow.org/metrics-collector-injection=enabled" in notes
    experiment = textwrap.dedent(notes.split("<<'YAML'", 1)[1].split("\n", 1)[1].split("   YAML\n", 1)[0])
    (tmp_path / "experiment.yaml").write_text(experiment)
    config = one(render({}), "ConfigMap", "katib-config")["data"]["katib-config.yaml"]
    (tmp_path / "katib-config.yaml").write_text(config)
    katib_py = str(ROOT / ".venv" / "bin" / "katib-py")
    config_path, experiment_path = str(tmp_path / "katib-config.yaml"), str(tmp_path / "experiment.yaml")
    validate = subprocess.run(
        [katib_py, "validate", "-q", "--config", config_path, experiment_path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert yaml.safe_load(experiment)["spec"]["algorithm"]["algorithmName"] == "random"
