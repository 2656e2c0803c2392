import pytest

from katib_py.api.config import default_katib_config, load_katib_config
from katib_py.api.models import Suggestion
from katib_py.core import suggestion_resources as sr


def _suggestion(**spec: object) -> Suggestion:
    return Suggestion.load(
        {
            "metadata": {"name": "exp", "namespace": "ns", "uid": "u1", "labels": {"team": "a"}},
            "spec": {"algorithm": {"algorithmName": "random"}, "requests": 3, **spec},
        }
    )


def test_deployment_and_service() -> None:
    s = _suggestion()
    d = sr.deployment(s, default_katib_config())
    assert d["metadata"]["name"] == "exp-random" and d["metadata"]["namespace"] == "ns"
    assert d["metadata"]["ownerReferences"][0]["kind"] == "Suggestion"
    assert d["metadata"]["ownerReferences"][0]["controller"] is True
    selector = d["spec"]["selector"]["matchLabels"]
    assert selector == {
        "katib.kubeflow.org/deployment": "exp-random",
        "katib.kubeflow.org/experiment": "exp",
        "katib.kubeflow.org/suggestion": "exp",
    }
    pod = d["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "a"
    assert pod["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    (c,) = pod["spec"]["containers"]
    assert c["name"] == "suggestion"
    assert {"name": "suggestion-api", "containerPort": 6789} in c["ports"]
    assert c["readinessProbe"]["grpc"] == {"port": 6789, "service": "manager.v1beta1.Suggestion"}
    assert c["livenessProbe"]["failureThreshold"] == 12
    # no fixed delay: a startup probe every second gates readiness and liveness
    assert c["startupProbe"] == {
        "grpc": {"port": 6789, "service": "manager.v1beta1.Suggestion"},
        "initialDelaySeconds": 0,
        "periodSeconds": 1,
        "failureThreshold": 120,
    }
    assert c["readinessProbe"]["initialDelaySeconds"] == c["livenessProbe"]["initialDelaySeconds"] == 0
    assert "--algorithm" in c["args"] and "serviceAccountName" not in pod["spec"]
    svc = sr.service(s)
    assert svc["spec"]["selector"] == selector
    assert [p["port"] for p in svc["spec"]["ports"]] == [6789]


def test_early_stopping_adds_container_port_and_rbac() -> None:
    s = _suggestion(earlyStopping={"algorithmName": "medianstop"})
    d = sr.deployment(s, default_katib_config())
    names = [c["name"] for c in d["spec"]["template"]["spec"]["containers"]]
    assert names == ["suggestion", "early-stopping"]
    assert d["spec"]["template"]["spec"]["serviceAccountName"] == "exp-random"
    assert [p["port"] for p in sr.service(s)["spec"]["ports"]] == [6789, 6788]
    assert [r["resources"] for r in sr.role(s)["rules"]] == [["trials"], ["trials/status"]]
    assert sr.role_binding(s)["subjects"][0]["name"] == "exp-random"


def test_from_volume_mounts_pvc_and_pv() -> None:
    text = """
runtime:
  suggestions:
    - algorithmName: random
      image: img
      persistentVolumeSpec: {capacity: {storage: 1Gi}, hostPath: {path: /tmp/x}}
      persistentVolumeLabels: {type: local}
"""
    cfg = load_katib_config(text)
    s = _suggestion(resumePolicy="FromVolume")
    d = sr.deployment(s, cfg)
    pod = d["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "suggestion-volume", "persistentVolumeClaim": {"claimName": "exp-random"}}
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "suggestion-volume", "mountPath": "/opt/katib/data"}
    ]
    pvc = sr.persistent_volume_claim(s, cfg)
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["spec"]["volumeName"] == "exp-random-ns"
    pv = sr.persistent_volume(s, cfg)
    assert pv is not None and pv["metadata"] == {"name": "exp-random-ns", "labels": {"type": "local"}}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert sr.persistent_volume(s, default_katib_config()) is None


def test_missing_algorithm_or_conflicting_port_is_an_error() -> None:
    with pytest.raises(sr.ComposeError, match="no suggestion entry"):
        sr.deployment(
            Suggestion.load({"metadata": {"name": "e"}, "spec": {"algorithm": {"algorithmName": "nope"}}}),
            default_katib_config(),
        )
    cfg = load_katib_config(
        "runtime:\n  suggestions:\n    - algorithmName: random\n      image: img\n"
        "      ports: [{containerPort: 6789}]\n"
    )
    with pytest.raises(sr.ComposeError, match="must not declare port"):
        sr.deployment(_suggestion(), cfg)


def test_probes_from_katib_config_win_and_can_be_turned_off() -> None:
    cfg = load_katib_config(
        "runtime:\n  suggestions:\n    - algorithmName: random\n      image: img\n"
        "      startupProbe: {tcpSocket: {port: 6789}, periodSeconds: 5}\n"
    )
    (c,) = sr.deployment(_suggestion(), cfg)["spec"]["template"]["spec"]["containers"]
    assert c["startupProbe"] == {"tcpSocket": {"port": 6789}, "periodSeconds": 5}
    assert c["readinessProbe"]["grpc"]["port"] == 6789
    off = load_katib_config(
        "init:\n  controller:\n    enableGRPCProbeInSuggestion: false\n"
        "runtime:\n  suggestions:\n    - algorithmName: random\n      image: img\n"
    )
    (c,) = sr.deployment(_suggestion(), off)["spec"]["template"]["spec"]["containers"]
    assert not {"startupProbe", "readinessProbe", "livenessProbe"} & set(c)
