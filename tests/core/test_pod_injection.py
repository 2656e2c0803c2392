"""Pod mutation for trial pods: Katib's labels, env, sidecar flags and byte-identical command wrapping."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from katib_py.api.config import KatibConfig, default_katib_config, load_katib_config
from katib_py.api.models import Trial
from katib_py.core.pod_injection import (
    InjectionError,
    go_dir,
    go_join,
    mutate_trial_pod,
)

DB = "katib-db-manager.kubeflow:6789"
ES = "exp-medianstop.team-a:6788"
CONFIG = default_katib_config()
ES_TAIL = (
    "|| if test -f {d}/$$$$.pid && [ $(head -n 1 {d}/$$.pid) = early-stopped ]; "
    "then echo Training Container was Early Stopped; else echo Training Container was Failed; exit 1; fi"
)


def make_trial(
    kind: str = "StdOut",
    *,
    source: dict[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
    primary_pod_labels: dict[str, str] | None = None,
    custom: dict[str, Any] | None = None,
) -> Trial:
    collector: dict[str, Any] = {"kind": kind}
    if custom is not None:
        collector["customCollector"] = custom
    mc: dict[str, Any] = {"collector": collector}
    if source is not None:
        mc["source"] = source
    spec: dict[str, Any] = {
        "objective": {
            "type": "maximize",
            "objectiveMetricName": "accuracy",
            "additionalMetricNames": ["loss", "f1"],
        },
        "primaryContainerName": "training-container",
        "metricsCollector": mc,
    }
    if rules is not None:
        spec["earlyStoppingRules"] = rules
    if primary_pod_labels is not None:
        spec["primaryPodLabels"] = primary_pod_labels
    return Trial.load(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Trial",
            "metadata": {
                "name": "exp-x7k2",
                "namespace": "team-a",
                "labels": {"katib.kubeflow.org/experiment": "exp", "team": "ml"},
            },
            "spec": spec,
        }
    )


def make_pod(
    command: list[str] | None = None, args: list[str] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "training-container", "image": "python:3.11"}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "exp-x7k2-", "labels": labels or {"job-name": "exp-x7k2"}},
        "spec": {
            "containers": [container, {"name": "helper", "image": "busybox", "command": ["sleep", "1"]}],
            "restartPolicy": "Never",
        },
    }


def mutate(
    pod: dict[str, Any], trial: Trial, *, native: bool = False, config: KatibConfig = CONFIG, **kw: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "config": config,
        "db_manager_address": DB,
        "earlystop_address": ES,
        "suggestion_trial_dir": None,
        "suggestion_claim_name": None,
        "native_sidecar": native,
    }
    params.update(kw)
    return mutate_trial_pod(pod, trial, **params)


def primary(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["spec"]["containers"][0]


def sidecar(pod: dict[str, Any], native: bool = False) -> dict[str, Any]:
    if native:
        return pod["spec"]["initContainers"][-1]
    return pod["spec"]["containers"][-1]


TRAIN = ["python3", "/opt/train.py", "--lr=0.01"]


def test_stdout_wrapping_is_byte_identical() -> None:
    out = mutate(make_pod(TRAIN), make_trial())
    assert primary(out)["command"] == ["sh", "-c"]
    assert primary(out)["args"] == [
        "python3 /opt/train.py --lr=0.01 1>/var/log/katib/metrics.log 2>&1"
        " && echo completed > /var/log/katib/$$$$.pid"
    ]


def test_stdout_wrapping_with_early_stopping() -> None:
    rules = [{"name": "accuracy", "value": "0.6", "comparison": "less", "startStep": 4}]
    out = mutate(make_pod(TRAIN), make_trial(rules=rules))
    assert primary(out)["args"] == [
        "python3 /opt/train.py --lr=0.01 1>/var/log/katib/metrics.log 2>&1 "
        + ES_TAIL.format(d="/var/log/katib")
        + " && echo completed > /var/log/katib/$$$$.pid"
    ]


def test_file_wrapping_keeps_sh_c_and_args() -> None:
    source = {"fileSystemPath": {"path": "/var/log/custom/train.log", "kind": "File", "format": "JSON"}}
    out = mutate(
        make_pod(["sh", "-c"], ["python3 train.py --x=1 > /var/log/custom/train.log"]),
        make_trial("File", source=source),
    )
    assert primary(out)["command"] == ["sh", "-c"]
    assert primary(out)["args"] == [
        "python3 train.py --x=1 > /var/log/custom/train.log && echo completed > /var/log/custom/$$$$.pid"
    ]


def test_bash_c_is_kept() -> None:
    source = {"fileSystemPath": {"path": "/out/m.log", "kind": "File", "format": "TEXT"}}
    out = mutate(make_pod(["bash", "-c", "run.sh"]), make_trial("File", source=source))
    assert primary(out)["command"] == ["bash", "-c"]
    assert primary(out)["args"] == ["run.sh && echo completed > /out/$$$$.pid"]


def test_tensorflow_event_wrapping_uses_the_directory_itself() -> None:
    source = {"fileSystemPath": {"path": "/var/log/katib/tfevent/", "kind": "Directory"}}
    rules = [{"name": "loss", "value": "2", "comparison": "greater"}]
    out = mutate(make_pod(["python3", "mnist.py"]), make_trial("TensorFlowEvent", source=source, rules=rules))
    d = "/var/log/katib/tfevent"
    assert primary(out)["args"] == [
        "python3 mnist.py " + ES_TAIL.format(d=d) + f" && echo completed > {d}/$$$$.pid"
    ]
    assert {"name": "metrics-volume", "mountPath": "/var/log/katib/tfevent/"} in primary(out)["volumeMounts"]
    assert sidecar(out)["name"] == "metrics-collector"
    assert sidecar(out)["args"] == [
        "-t", "exp-x7k2", "-m", "accuracy;loss;f1", "-o-type", "maximize", "-s-db", DB,
        "-path", "/var/log/katib/tfevent/",
        "-stop-rule", "loss;2;greater;0", "-s-earlystop", ES,
    ]  # fmt: skip


def test_empty_rule_list_still_adds_early_stop_branch_as_katib() -> None:
    out = mutate(make_pod(TRAIN), make_trial(rules=[]))
    assert "Training Container was Early Stopped" in primary(out)["args"][0]
    assert "-s-earlystop" not in sidecar(out)["args"]


def test_stdout_sidecar_labels_env_volumes() -> None:
    pod = make_pod(TRAIN)
    before = copy.deepcopy(pod)
    out = mutate(pod, make_trial())
    assert pod == before  # the input is not modified
    assert out["metadata"]["labels"] == {
        "job-name": "exp-x7k2",
        "katib.kubeflow.org/experiment": "exp",
        "team": "ml",
        "katib.kubeflow.org/trial": "exp-x7k2",
    }
    assert primary(out)["env"] == [
        {
            "name": "KATIB_TRIAL_NAME",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['katib.kubeflow.org/trial']"}},
        }
    ]
    car = sidecar(out)
    assert car["name"] == "metrics-logger-and-collector"
    assert car["image"] == CONFIG.metrics_collector("StdOut").image  # type: ignore[union-attr]
    assert car["command"] == ["env", "--block-signal=TERM", "katib-py", "metrics-collector"]
    assert car["args"] == [
        "-t", "exp-x7k2", "-m", "accuracy;loss;f1", "-o-type", "maximize", "-s-db", DB,
        "-path", "/var/log/katib/metrics.log", "-format", "TEXT",
    ]  # fmt: skip
    assert car["imagePullPolicy"] == "IfNotPresent"
    assert car["resources"]["limits"]["memory"] == "100Mi"
    assert "restartPolicy" not in car
    assert out["spec"]["shareProcessNamespace"] is True
    assert out["spec"]["volumes"] == [{"name": "metrics-volume", "emptyDir": {}}]
    mount = {"name": "metrics-volume", "mountPath": "/var/log/katib"}
    assert primary(out)["volumeMounts"] == [mount]
    assert car["volumeMounts"] == [mount]
    assert "volumeMounts" not in out["spec"]["containers"][1]  # the helper container is untouched


def test_native_sidecar() -> None:
    out = mutate(make_pod(TRAIN), make_trial(), native=True)
    assert [c["name"] for c in out["spec"]["containers"]] == ["training-container", "helper"]
    car = sidecar(out, native=True)
    assert car["name"] == "metrics-logger-and-collector"
    assert car["restartPolicy"] == "Always"
    assert car["volumeMounts"] == [{"name": "metrics-volume", "mountPath": "/var/log/katib"}]
    assert primary(out)["args"][0].endswith("&& echo completed > /var/log/katib/$$$$.pid")


def test_file_collector_flags_with_filters_and_wait_all() -> None:
    text = """
runtime:
  metricsCollectors:
    - kind: File
      image: collector:1
      command: ["collect"]
      waitAllProcesses: false
"""
    config = load_katib_config(text)
    source = {
        "fileSystemPath": {"path": "/test/path", "kind": "File", "format": "TEXT"},
        "filter": {"metricsFormat": ["{mn1: ([a-b]), mv1: [0-9]}", "{mn2: ([a-b]), mv2: ([0-9])}"]},
    }
    out = mutate(make_pod(TRAIN), make_trial("File", source=source), config=config)
    car = sidecar(out)
    assert car["command"] == ["collect"]
    assert car["args"] == [
        "-t", "exp-x7k2", "-m", "accuracy;loss;f1", "-o-type", "maximize", "-s-db", DB,
        "-path", "/test/path",
        "-f", "{mn1: ([a-b]), mv1: [0-9]};{mn2: ([a-b]), mv2: ([0-9])}",
        "-format", "TEXT", "-w", "false",
    ]  # fmt: skip
    assert primary(out)["volumeMounts"] == [{"name": "metrics-volume", "mountPath": "/test"}]


def test_push_stops_after_labels_and_env() -> None:
    out = mutate(make_pod(TRAIN), make_trial("Push"))
    assert out["metadata"]["labels"]["katib.kubeflow.org/trial"] == "exp-x7k2"
    assert primary(out)["env"][0]["name"] == "KATIB_TRIAL_NAME"
    assert primary(out)["command"] == TRAIN
    assert len(out["spec"]["containers"]) == 2
    assert "shareProcessNamespace" not in out["spec"]
    assert "volumes" not in out["spec"]


def test_primary_pod_labels_mismatch_stops_after_env() -> None:
    trial = make_trial(primary_pod_labels={"training.kubeflow.org/job-role": "master"})
    worker = make_pod(TRAIN, labels={"training.kubeflow.org/job-role": "worker"})
    out = mutate(worker, trial)
    assert primary(out)["env"][0]["name"] == "KATIB_TRIAL_NAME"
    assert primary(out)["command"] == TRAIN
    assert len(out["spec"]["containers"]) == 2
    master = make_pod(TRAIN, labels={"training.kubeflow.org/job-role": "master"})
    assert len(mutate(master, trial)["spec"]["containers"]) == 3


def test_custom_collector_is_verbatim_and_not_wrapped() -> None:
    custom = {"name": "custom-metrics-logger-and-collector", "image": "my/collector", "args": ["-m", "x"]}
    source = {"fileSystemPath": {"path": "/var/log/katib/", "kind": "Directory"}}
    out = mutate(make_pod(TRAIN), make_trial("Custom", source=source, custom=custom), native=True)
    assert out["spec"]["containers"][-1] == {
        **custom,
        "volumeMounts": [{"name": "metrics-volume", "mountPath": "/var/log/katib/"}],
    }
    assert "initContainers" not in out["spec"]
    assert primary(out)["command"] == TRAIN


def test_prometheus_collector_has_no_volume_and_no_wrap() -> None:
    config = load_katib_config(
        "runtime:\n  metricsCollectors:\n    - kind: PrometheusMetric\n      image: prom:1\n"
    )
    out = mutate(make_pod(TRAIN), make_trial("PrometheusMetric"), config=config)
    assert sidecar(out)["name"] == "metrics-collector"
    assert "volumes" not in out["spec"]
    assert primary(out)["command"] == TRAIN


def test_suggestion_volume_for_pbt() -> None:
    out = mutate(
        make_pod(TRAIN),
        make_trial(),
        suggestion_trial_dir="/var/log/katib/checkpoints/",
        suggestion_claim_name="exp-pbt",
    )
    assert out["spec"]["volumes"][0] == {
        "name": "suggestion-volume",
        "persistentVolumeClaim": {"claimName": "exp-pbt"},
    }
    assert primary(out)["volumeMounts"][0] == {
        "name": "suggestion-volume",
        "mountPath": "/var/log/katib/checkpoints/",
        "subPath": "exp/exp-x7k2",
    }


@pytest.mark.parametrize(
    ("pod", "trial", "kw", "message"),
    [
        (make_pod(None, ["python", "train.py"]), make_trial(), {}, "needs an explicit command"),
        (
            make_pod(["python", "train.py"], ["--lr", 0.01]),  # type: ignore[list-item]
            make_trial(),
            {},
            r"command and args of container 'training-container' must be strings; got 0\.01 \(float\)",
        ),
        (
            {"metadata": {}, "spec": {"containers": [{"name": "other", "command": ["x"]}]}},
            make_trial(),
            {},
            "Unable to find primary container 'training-container'",
        ),
        (
            make_pod(TRAIN),
            make_trial(rules=[{"name": "a", "value": "1", "comparison": "less"}]),
            {"earlystop_address": None},
            "no early-stopping service address",
        ),
        (make_pod(TRAIN), make_trial("File"), {}, "needs source.fileSystemPath.path"),
        (make_pod(TRAIN), make_trial("PrometheusMetric"), {}, "no runtime.metricsCollectors entry"),
        (make_pod(TRAIN), make_trial("Custom"), {}, "needs collector.customCollector"),
        (make_pod(TRAIN), make_trial(), {"suggestion_trial_dir": "/ckpt"}, "no volume claim name"),
    ],
)
def test_injection_errors(pod: dict[str, Any], trial: Trial, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(InjectionError, match=message):
        mutate(pod, trial, **kw)


def test_existing_env_is_not_duplicated() -> None:
    pod = make_pod(TRAIN)
    pod["spec"]["containers"][0]["env"] = [{"name": "KATIB_TRIAL_NAME", "value": "x"}]
    assert primary(mutate(pod, make_trial("Push")))["env"] == [{"name": "KATIB_TRIAL_NAME", "value": "x"}]


def test_security_context_copied_when_configured() -> None:
    config = default_katib_config()
    config.init.controller.inject_security_context = True
    pod = make_pod(TRAIN)
    pod["spec"]["containers"][0]["securityContext"] = {"runAsUser": 1000}
    assert sidecar(mutate(pod, make_trial(), config=config))["securityContext"] == {"runAsUser": 1000}
    assert "securityContext" not in sidecar(mutate(pod, make_trial()))


def test_go_path_helpers() -> None:
    assert go_dir("/var/log/katib/metrics.log") == "/var/log/katib"
    assert go_dir("metric.log") == "."
    assert go_dir("/metrics.log") == "/"
    assert go_join(".", "$$$$.pid") == "$$$$.pid"
    assert go_join("/var/log/katib/tfevent/", "$$.pid") == "/var/log/katib/tfevent/$$.pid"
    assert go_join("//a/../b/", "c") == "/b/c"
    assert go_join("exp", "trial") == "exp/trial"


def test_relative_metrics_file_matches_katib_unit_test() -> None:
    # Katib's TestWrapWorkerContainer uses the relative file "metric.log": the pid file has no directory.
    source = {"fileSystemPath": {"path": "metric.log", "kind": "File", "format": "TEXT"}}
    out = mutate(make_pod(["python main.py"]), make_trial("File", source=source))
    assert primary(out)["args"] == ["python main.py && echo completed > $$$$.pid"]


def test_a_trial_of_an_any_rule_algorithm_gets_the_collector_s_any_mode() -> None:
    trial = make_trial(rules=[{"name": "accuracy", "value": "0.5", "comparison": "less", "startStep": 1}])
    assert trial.metadata is not None
    trial.metadata.annotations = {"katib-py.kubeflow.org/stop-rule-mode": "any"}
    args = sidecar(mutate(make_pod(TRAIN), trial))["args"]
    assert args[-4:] == ["-stop-rule-mode", "any", "-s-earlystop", ES]
    plain = sidecar(mutate(make_pod(TRAIN), make_trial(rules=[{"name": "accuracy", "value": "0.5"}])))
    assert "-stop-rule-mode" not in plain["args"]  # Katib's own collector knows no such flag
