"""The KatibConfig model: Katib's defaults (spec 7.1), katib-py extensions and the packaged config."""

from __future__ import annotations

import pytest

from katib_py.api.algorithms import EARLY_STOPPING_ALGORITHMS, SUGGESTION_ALGORITHMS
from katib_py.api.config import (
    KATIB_PY_IMAGE,
    KatibConfigError,
    default_config_text,
    default_katib_config,
    load_katib_config,
)

HEADER = "apiVersion: config.kubeflow.org/v1beta1\nkind: KatibConfig\n"
DEFAULT_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "10Mi", "ephemeral-storage": "500Mi"},
    "limits": {"cpu": "500m", "memory": "100Mi", "ephemeral-storage": "5Gi"},
}


def test_empty_config_gets_katib_init_defaults() -> None:
    cfg = load_katib_config(HEADER)
    c = cfg.init.controller
    assert (c.experiment_suggestion_name, c.metrics_addr, c.healthz_addr) == ("default", ":8080", ":18080")
    assert (c.webhook_port, c.enable_grpc_probe_in_suggestion, c.inject_security_context) == (
        8443,
        True,
        False,
    )
    assert c.trial_resources == ["Job.v1.batch"]
    assert c.leader_election_id == "3fbc96e9.katib.kubeflow.org"
    assert cfg.init.cert_generator.enable is False
    assert cfg.runtime.get_suggestions_timeout_seconds == 300
    assert cfg.runtime.metrics_unavailable_grace_period_seconds == 60
    dumped = cfg.dump()["init"]["controller"]
    assert dumped["enableGRPCProbeInSuggestion"] is True and dumped["leaderElectionID"]


def test_cert_generator_names_force_enable() -> None:
    cfg = load_katib_config(HEADER + "init:\n  certGenerator:\n    webhookSecretName: my-cert\n")
    cert = cfg.init.cert_generator
    assert (cert.enable, cert.webhook_service_name, cert.webhook_secret_name) == (
        True,
        "katib-controller",
        "my-cert",
    )


def test_runtime_container_defaults() -> None:
    cfg = load_katib_config(
        HEADER
        + """
runtime:
  suggestions:
    - algorithmName: random
      image: example/random
      imagePullPolicy: Sometimes
  earlyStoppings:
    - algorithmName: medianstop
      image: example/median
      imagePullPolicy: Always
  metricsCollectors:
    - kind: StdOut
      image: example/collector
"""
    )
    s = cfg.runtime.suggestions[0]
    assert s.image_pull_policy == "IfNotPresent"
    assert s.resources == DEFAULT_RESOURCES
    assert s.volume_mount_path == "/opt/katib/data"
    assert s.persistent_volume_claim_spec == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    assert s.persistent_volume_spec is None
    e = cfg.runtime.early_stoppings[0]
    assert (e.image_pull_policy, e.resources) == ("Always", DEFAULT_RESOURCES)
    m = cfg.runtime.metrics_collectors[0]
    assert (m.image_pull_policy, m.resources) == ("IfNotPresent", DEFAULT_RESOURCES)


def test_negative_resource_deletes_the_default_and_set_values_stay() -> None:
    cfg = load_katib_config(
        HEADER
        + """
runtime:
  metricsCollectors:
    - kind: StdOut
      image: x
      resources:
        limits: {cpu: "-1", memory: 1Gi, ephemeral-storage: -5}
        requests: {memory: "-1"}
"""
    )
    res = cfg.runtime.metrics_collectors[0].resources
    assert res["limits"] == {"memory": "1Gi"}
    assert res["requests"] == {"cpu": "50m", "ephemeral-storage": "500Mi"}


def test_zero_resource_gets_the_default() -> None:
    cfg = load_katib_config(
        HEADER + "runtime:\n  metricsCollectors:\n    - {kind: File, image: x, resources: "
        "{limits: {cpu: '0'}}}\n"
    )
    assert cfg.runtime.metrics_collectors[0].resources["limits"]["cpu"] == "500m"


def test_persistent_volume_gets_delete_reclaim_policy() -> None:
    cfg = load_katib_config(
        HEADER + "runtime:\n  suggestions:\n    - algorithmName: pbt\n      image: x\n"
        "      persistentVolumeSpec: {capacity: {storage: 1Gi}, hostPath: {path: /tmp/x}}\n"
    )
    pv = cfg.runtime.suggestions[0].persistent_volume_spec
    assert pv == {
        "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/tmp/x"},
        "persistentVolumeReclaimPolicy": "Delete",
    }


def test_lookups_ignore_entries_without_image() -> None:
    cfg = load_katib_config(
        HEADER + "runtime:\n  suggestions:\n    - {algorithmName: tpe}\n    - {algorithmName: random, "
        "image: x}\n"
    )
    assert cfg.suggestion("tpe") is None
    assert cfg.suggestion("random") is not None
    assert cfg.suggestion("grid") is None


def test_inline_container_fields_are_kept() -> None:
    cfg = load_katib_config(
        HEADER + "runtime:\n  suggestions:\n    - algorithmName: random\n      image: x\n"
        "      workingDir: /w\n      serviceAccountName: sa\n"
    )
    entry = cfg.runtime.suggestions[0]
    assert entry.service_account_name == "sa"
    container = entry.container()
    assert container["workingDir"] == "/w" and container["name"] == "suggestion"
    assert "serviceAccountName" not in container and "algorithmName" not in container


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runtime: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("apiVersion: v1\nkind: KatibConfig\n", "apiVersion must be config.kubeflow.org/v1beta1"),
        ("apiVersion: config.kubeflow.org/v1beta1\nkind: ConfigMap\n", "kind must be KatibConfig"),
        (HEADER + "runtime:\n  getSuggestionsTimeoutSeconds: soon\n", "invalid katib-config"),
    ],
)
def test_bad_config_text(text: str, message: str) -> None:
    with pytest.raises(KatibConfigError, match=message):
        load_katib_config(text)


# ---------------------------------------------------------------- the packaged default config


def test_default_config_has_every_algorithm_as_a_katib_py_command() -> None:
    cfg = default_katib_config()
    assert sorted(s.algorithm_name for s in cfg.runtime.suggestions) == sorted(SUGGESTION_ALGORITHMS)
    for entry in cfg.runtime.suggestions:
        assert entry.image == KATIB_PY_IMAGE
        assert entry.command == ["katib-py"]
        assert entry.args == [
            "suggestion",
            "serve",
            "--algorithm",
            entry.algorithm_name,
            "--listen",
            "$(POD_IP):6789",
        ]
        assert entry.env == [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]


def test_default_config_early_stopping_and_collectors() -> None:
    cfg = default_katib_config()
    assert [e.algorithm_name for e in cfg.runtime.early_stoppings] == sorted(EARLY_STOPPING_ALGORITHMS)
    median = cfg.early_stopping("medianstop")
    assert median is not None and median.image == KATIB_PY_IMAGE
    assert median.command == ["katib-py"]
    assert median.args == ["suggestion", "serve", "--algorithm", "medianstop", "--listen", "$(POD_IP):6788"]
    kinds = [m.kind for m in cfg.runtime.metrics_collectors]
    assert kinds == ["StdOut", "File", "TensorFlowEvent"]
    for m in cfg.runtime.metrics_collectors:
        assert (m.image, m.command) == (
            KATIB_PY_IMAGE,
            ["env", "--block-signal=TERM", "katib-py", "metrics-collector"],
        )
    assert cfg.metrics_collector("PrometheusMetric") is None


def test_default_config_uses_the_one_image_constant() -> None:
    text = default_config_text()
    images = {line.split("image:")[1].strip() for line in text.splitlines() if "image:" in line}
    assert images == {KATIB_PY_IMAGE}
