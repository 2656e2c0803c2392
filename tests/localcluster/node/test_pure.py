"""Pure pieces of the node: $(VAR) expansion, container/pod status shapes, endpoint subsets."""

from __future__ import annotations

import pytest

from katib_py.localcluster.controllers.deployment import template_hash
from katib_py.localcluster.controllers.endpoints import choose_cluster_ip, endpoint_subsets
from katib_py.localcluster.controllers.job_plan import format_indexes, parse_indexes
from katib_py.localcluster.kubelet import status as st
from katib_py.localcluster.kubelet.expansion import expand, expand_all
from katib_py.localcluster.kubelet.node import IpPool, hosts_file_text

ENV = {"A": "x", "B": "y", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "x"),
        ("$(A)$(B)", "xy"),
        ("pre-$(A)-post", "pre-x-post"),
        ("$(UNDEFINED)", "$(UNDEFINED)"),
        ("$(EMPTY)", ""),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$x"),
        ("$$$$(A)", "$$(A)"),
        ("$$", "$"),
        ("$$$$", "$$"),
        ("$A", "$A"),
        ("$", "$"),
        ("a$", "a$"),
        ("$(A", "$(A"),
        ("$()", "$()"),
        ("$(A)$", "x$"),
        ("echo $$HOME $(A)", "echo $HOME x"),
        ("$($(A))", "$($(A))"),
        ("(A)", "(A)"),
    ],
)
def test_expand_matches_kubernetes(text: str, expected: str) -> None:
    assert expand(text, ENV.get) == expected


def test_expand_all_uses_the_final_environment() -> None:
    assert expand_all(["sh", "-c", "echo $(A) $$(B)"], ENV) == ["sh", "-c", "echo x $(B)"]


def test_exit_codes_follow_the_runtime_convention() -> None:
    assert st.exit_code_of(0) == (0, None)
    assert st.exit_code_of(3) == (3, None)
    assert st.exit_code_of(-9) == (137, 9)
    assert st.terminated_reason(0) == "Completed"
    assert st.terminated_reason(2) == "Error"


def _rec(state: str, code: int = 0, restarts: int = 0) -> st.ContainerRecord:
    return st.ContainerRecord(name="c", state=state, exit_code=code, restart_count=restarts)


def test_pod_phase() -> None:
    kw = {"restart_policy": "Never", "init_failed": False, "initialized": True}
    assert st.pod_phase(**kw, main=[_rec("waiting")], finished=False) == "Pending"  # type: ignore[arg-type]
    assert st.pod_phase(**kw, main=[_rec("running")], finished=False) == "Running"  # type: ignore[arg-type]
    assert st.pod_phase(**kw, main=[_rec("terminated", 0)], finished=True) == "Succeeded"  # type: ignore[arg-type]
    assert st.pod_phase(**kw, main=[_rec("terminated", 0), _rec("terminated", 1)], finished=True) == "Failed"  # type: ignore[arg-type]
    assert (
        st.pod_phase(restart_policy="Never", init_failed=True, initialized=False, main=[], finished=True)
        == "Failed"
    )
    assert (
        st.pod_phase(restart_policy="Always", init_failed=False, initialized=False, main=[], finished=False)
        == "Pending"
    )
    # Restarting under Always: still Running while waiting in back-off.
    assert (
        st.pod_phase(
            restart_policy="Always",
            init_failed=False,
            initialized=True,
            main=[_rec("waiting", restarts=1)],
            finished=False,
        )
        == "Running"
    )


def test_container_status_shapes() -> None:
    rec = st.ContainerRecord(
        name="main",
        image="busybox",
        state="terminated",
        exit_code=3,
        reason="Error",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
    )
    cs = st.container_status(rec)
    term = cs["state"]["terminated"]
    assert (term["exitCode"], term["reason"], term["startedAt"]) == (3, "Error", "2026-01-01T00:00:00Z")
    assert cs["ready"] is False and cs["restartCount"] == 0 and cs["name"] == "main"
    waiting = st.container_status(st.ContainerRecord(name="w", reason="CrashLoopBackOff", message="back-off"))
    assert waiting["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}


def test_pod_conditions() -> None:
    conds = {
        c["type"]: c
        for c in st.pod_conditions(
            sandbox_ready=True, initialized=True, pending_init=[], not_ready=["b"], phase="Running"
        )
    }
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "ContainersNotReady"
    assert conds["Ready"]["message"] == "containers with unready status: [b]"
    assert conds["Initialized"]["status"] == "True" and conds["PodScheduled"]["status"] == "True"
    done = {
        c["type"]: c
        for c in st.pod_conditions(
            sandbox_ready=True, initialized=True, pending_init=[], not_ready=[], phase="Succeeded"
        )
    }
    assert (
        done["Ready"]["reason"] == "PodCompleted" and done["PodReadyToStartContainers"]["status"] == "False"
    )
    init = {
        c["type"]: c
        for c in st.pod_conditions(
            sandbox_ready=True, initialized=False, pending_init=["i"], not_ready=["m"], phase="Pending"
        )
    }
    assert init["Initialized"]["reason"] == "ContainersNotInitialized"


def test_completed_indexes_round_trip() -> None:
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert parse_indexes("0-2,4,6-7") == {0, 1, 2, 4, 6, 7}
    assert format_indexes(set()) == ""


def test_template_hash_is_stable_and_sensitive() -> None:
    t1 = {"spec": {"containers": [{"name": "a", "image": "x"}]}}
    t2 = {"spec": {"containers": [{"name": "a", "image": "y"}]}}
    assert template_hash(t1) == template_hash({"spec": {"containers": [{"image": "x", "name": "a"}]}})
    assert template_hash(t1) != template_hash(t2)
    assert template_hash(t1).isalnum()


def _pod(name: str, ip: str, ready: bool, labels: dict[str, str], port_name: str = "http") -> dict:  # type: ignore[type-arg]
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": 8080}]}]},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_endpoint_subsets_split_ready_and_resolve_named_ports() -> None:
    svc = {
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {"selector": {"app": "a"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]},
    }
    pods = [
        _pod("p1", "127.1.0.2", True, {"app": "a"}),
        _pod("p2", "127.1.0.3", False, {"app": "a"}),
        _pod("p3", "127.1.0.4", True, {"app": "other"}),
    ]
    subsets = endpoint_subsets(svc, pods)
    assert len(subsets) == 1
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["127.1.0.2"]
    assert [a["ip"] for a in subsets[0]["notReadyAddresses"]] == ["127.1.0.3"]
    assert subsets[0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert choose_cluster_ip("", subsets) == "127.1.0.2"
    assert choose_cluster_ip("127.9.9.9", []) == "127.9.9.9"


def test_hosts_file_maps_every_service_name() -> None:
    svc = {"metadata": {"name": "db", "namespace": "kb"}, "spec": {"clusterIP": "127.1.0.9"}}
    headless = {"metadata": {"name": "h", "namespace": "kb"}, "spec": {"clusterIP": "None"}}
    text = hosts_file_text([svc, headless], "127.1.0.5", "mypod")
    assert "127.1.0.5\tmypod" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("127.1.0.9"))
    assert set(line.split()[1:]) == {"db", "db.kb", "db.kb.svc", "db.kb.svc.cluster.local"}
    assert "\th" not in text


def test_a_headless_service_names_its_ready_endpoints() -> None:
    headless = {"metadata": {"name": "h", "namespace": "kb"}, "spec": {"clusterIP": "None"}}
    endpoints = {
        "metadata": {"name": "h", "namespace": "kb"},
        "subsets": [{"addresses": [{"ip": "127.1.0.7"}], "notReadyAddresses": [{"ip": "127.1.0.8"}]}],
    }
    text = hosts_file_text([headless], "127.1.0.5", "mypod", endpoints=[endpoints])
    lines = [ln for ln in text.splitlines() if ln.endswith(" h")]
    assert lines == ["127.1.0.7\th.kb.svc.cluster.local h.kb.svc h.kb h"]


def test_ip_pool_never_hands_out_an_address_twice() -> None:
    pool = IpPool()
    a, b = pool.allocate(), pool.allocate()
    assert a != b and a.startswith("127.1.")
    pool.release(a)
    assert pool.allocate() not in {b}


def test_hosts_file_gives_bare_names_only_to_the_pods_own_namespace() -> None:
    """Two namespaces with a `backend` Service: a bare `backend` is the Pod's own namespace's."""
    mine = {"metadata": {"name": "backend", "namespace": "a"}, "spec": {"clusterIP": "127.1.0.9"}}
    theirs = {"metadata": {"name": "backend", "namespace": "b"}, "spec": {"clusterIP": "127.1.0.8"}}
    text = hosts_file_text([theirs, mine], "127.1.0.5", "p", namespace="a")
    names = {ln.split()[0]: ln.split()[1:] for ln in text.splitlines()}
    assert "backend" in names["127.1.0.9"] and "backend.b" in names["127.1.0.8"]
    assert "backend" not in names["127.1.0.8"]
