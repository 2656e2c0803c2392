"""The kopf admission handlers, called with AdmissionReview-shaped input against a real API server."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import jsonpatch
import kopf
import pytest

from katib_py.api.resources import SUGGESTIONS, TRIALS
from katib_py.kube.client import KubeClient
from katib_py.kube.resource import CONFIGMAPS, JOBS, PVS
from katib_py.webhook import context, handlers
from katib_py.webhook.server import handler_for_path, prepare_review

from .conftest import experiment, make_namespace


def review(
    obj: dict[str, Any],
    *,
    resource: tuple[str, str, str],
    namespace: str,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    username: str = "kubernetes-admin",
) -> dict[str, Any]:
    group, version, plural = resource
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": obj.get("kind", "")},
            "resource": {"group": group, "version": version, "resource": plural},
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": username, "groups": ["system:masters"]},
            "object": copy.deepcopy(obj),
            "oldObject": copy.deepcopy(old),
            "dryRun": False,
        },
    }


def handler_kwargs(admission_review: dict[str, Any]) -> dict[str, Any]:
    """What kopf passes a webhook handler for this review (after our server's preparation)."""
    request = prepare_review(admission_review)["request"]
    body = kopf.Body(request["object"])
    old = request.get("oldObject")
    return {
        "body": body,
        "old": kopf.Body(old) if old is not None else None,
        "patch": kopf.Patch(body=body),
        "operation": request["operation"],
        "userinfo": request["userInfo"],
        "namespace": body.get("metadata", {}).get("namespace"),
        "warnings": [],
    }


def patched(kwargs: dict[str, Any]) -> dict[str, Any]:
    ops = kwargs["patch"].as_json_patch()
    result: dict[str, Any] = jsonpatch.apply_patch(dict(kwargs["body"]), ops)
    return result


EXPERIMENTS = ("kubeflow.org", "v1beta1", "experiments")
PODS = ("", "v1", "pods")


# ---------------------------------------------------------------- defaulting


def test_defaulter_answers_katib_defaults_as_json_patch() -> None:
    exp = experiment(namespace="team-a")
    del exp["spec"]["parallelTrialCount"]
    kwargs = handler_kwargs(review(exp, resource=EXPERIMENTS, namespace="team-a"))
    handlers.experiment_defaulter(**kwargs)
    ops = kwargs["patch"].as_json_patch()
    assert ops and all(op["op"] in ("add", "replace") for op in ops)
    out = patched(kwargs)
    spec = out["spec"]
    assert spec["parallelTrialCount"] == 3
    assert spec["resumePolicy"] == "Never"
    assert spec["objective"]["metricStrategies"] == [{"name": "accuracy", "value": "max"}]
    assert (
        spec["trialTemplate"]["successCondition"]
        == 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    )
    assert spec["metricsCollectorSpec"] == {"collector": {"kind": "StdOut"}}
    assert spec["parameters"][0]["feasibleSpace"]["distribution"] == "uniform"


def test_defaulter_leaves_malformed_objects_to_validation() -> None:
    exp = experiment(parallelTrialCount="three")
    kwargs = handler_kwargs(review(exp, resource=EXPERIMENTS, namespace="default"))
    handlers.experiment_defaulter(**kwargs)
    assert kwargs["patch"].as_json_patch() == []


def defaulted(exp: dict[str, Any]) -> dict[str, Any]:
    kwargs = handler_kwargs(review(exp, resource=EXPERIMENTS, namespace=exp["metadata"]["namespace"]))
    handlers.experiment_defaulter(**kwargs)
    return patched(kwargs)


# ---------------------------------------------------------------- validation


async def validate(exp: dict[str, Any], *, old: dict[str, Any] | None = None) -> None:
    ns = exp["metadata"]["namespace"]
    kwargs = handler_kwargs(
        review(exp, resource=EXPERIMENTS, namespace=ns, operation="UPDATE" if old else "CREATE", old=old)
    )
    await handlers.experiment_validator(**kwargs)


async def test_validator_requires_the_namespace_label(kube: KubeClient) -> None:
    ns = await make_namespace(kube, labelled=False)
    with pytest.raises(kopf.AdmissionError) as err:
        await validate(defaulted(experiment(namespace=ns)))
    assert err.value.code == 400
    assert str(err.value) == (
        f'Cannot create the Experiment "random-exp" in namespace "{ns}": the namespace lacks label '
        '"katib.kubeflow.org/metrics-collector-injection: enabled"'
    )


async def test_validator_accepts_a_valid_experiment(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    await validate(defaulted(experiment(namespace=ns)))


async def test_validator_lists_every_field_error(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    exp = defaulted(experiment(namespace=ns, maxTrialCount=0, algorithm={"algorithmName": "nope"}))
    with pytest.raises(kopf.AdmissionError) as err:
        await validate(exp)
    message = str(err.value)
    assert "spec.maxTrialCount: " in message
    assert "spec.algorithm.algorithmName: " in message
    assert err.value.code == 400


async def test_validator_reads_katib_config_from_the_core_namespace(kube: KubeClient) -> None:
    core = await make_namespace(kube, labelled=False)
    context.configure(core_namespace=core)
    text = "runtime:\n  suggestions:\n    - algorithmName: grid\n      image: grid:1\n"
    await kube.create(
        CONFIGMAPS,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "katib-config"},
            "data": {"katib-config.yaml": text},
        },
        core,
    )
    ns = await make_namespace(kube)
    with pytest.raises(kopf.AdmissionError, match=r"spec\.algorithm\.algorithmName"):
        await validate(defaulted(experiment(namespace=ns)))


async def test_validator_loads_configmap_templates(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    exp = defaulted(experiment(namespace=ns))
    template = exp["spec"]["trialTemplate"]
    job_yaml = (
        "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n"
        "        - name: training-container\n          image: python:3.11\n"
        "          command: ['python3', '-c', 'print(${trialParameters.learningRate})']\n"
        "      restartPolicy: Never\n"
    )
    template.pop("trialSpec")
    template["configMap"] = {
        "configMapName": "templates",
        "configMapNamespace": ns,
        "templatePath": "job.yaml",
    }
    with pytest.raises(kopf.AdmissionError, match=r"spec\.trialTemplate"):
        await validate(exp)
    await kube.create(
        CONFIGMAPS,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "templates"},
            "data": {"job.yaml": job_yaml},
        },
        ns,
    )
    await validate(exp)


async def test_validator_refuses_from_volume_when_the_pv_is_left(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    exp = defaulted(experiment(name="resumable", namespace=ns, resumePolicy="FromVolume"))
    await validate(exp)
    pv_name = f"resumable-random-{ns}"
    await kube.create(
        PVS,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/x"},
            },
        },
    )
    with pytest.raises(kopf.AdmissionError) as err:
        await validate(exp)
    assert (
        str(err.value)
        == f"Cannot create the Experiment: resumable in namespace: {ns}, PV: {pv_name} is not deleted"
    )
    # on UPDATE the PV is expected to be there
    await validate(exp, old=exp)


async def test_validator_forbids_editing_other_spec_fields(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    old = defaulted(experiment(namespace=ns))
    new = copy.deepcopy(old)
    new["spec"]["parameters"][0]["feasibleSpace"]["max"] = "0.2"
    with pytest.raises(kopf.AdmissionError, match=r"only spec\.parallelTrialCount, spec\.maxTrialCount"):
        await validate(new, old=old)
    raised = copy.deepcopy(old)
    raised["spec"]["maxTrialCount"] = 8
    await validate(raised, old=old)


# ---------------------------------------------------------------- pod mutation


async def make_trial_job(
    kube: KubeClient,
    ns: str,
    *,
    trial_spec: dict[str, Any] | None = None,
    suggestion: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Trial and the (suspended) Job it owns, as the trial controller creates them."""
    name = f"exp-{uuid.uuid4().hex[:6]}"
    spec = trial_spec or {
        "objective": {
            "type": "maximize",
            "objectiveMetricName": "accuracy",
            "metricStrategies": [{"name": "accuracy", "value": "max"}],
        },
        "primaryContainerName": "training-container",
        "metricsCollector": {"collector": {"kind": "StdOut"}},
        "runSpec": {},
    }
    trial = await kube.create(
        TRIALS,
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Trial",
            "metadata": {"name": name, "labels": {"katib.kubeflow.org/experiment": "exp"}},
            "spec": spec,
        },
        ns,
    )
    if suggestion is not None:
        await kube.create_if_absent(SUGGESTIONS, suggestion, ns)
    job = await kube.create(
        JOBS,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "ownerReferences": [
                    {
                        "apiVersion": "kubeflow.org/v1beta1",
                        "kind": "Trial",
                        "name": name,
                        "uid": trial["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "training-container", "image": "x", "command": ["sh", "-c", "true"]}
                        ],
                        "restartPolicy": "Never",
                    }
                },
            },
        },
        ns,
    )
    return trial, job


def job_pod(job: dict[str, Any], command: list[str] | None = None) -> dict[str, Any]:
    """A pod as the Job controller sends it to admission: generateName, no namespace, owned by the Job."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{job['metadata']['name']}-",
            "labels": {"job-name": job["metadata"]["name"]},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job["metadata"]["name"],
                    "uid": job["metadata"]["uid"],
                }
            ],
        },
        "spec": {
            "containers": [
                {"name": "training-container", "image": "x", "command": command or ["python3", "train.py"]}
            ],
            "restartPolicy": "Never",
        },
    }


async def mutate(
    pod: dict[str, Any], ns: str, username: str = "system:serviceaccount:kube-system:job-controller"
) -> dict[str, Any]:
    kwargs = handler_kwargs(review(pod, resource=PODS, namespace=ns, username=username))
    await handlers.pod_mutator(**kwargs)
    return patched(kwargs)


async def test_trial_pod_gets_env_labels_and_native_sidecar(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    trial, job = await make_trial_job(kube, ns)
    out = await mutate(job_pod(job), ns)
    name = trial["metadata"]["name"]
    assert out["metadata"]["namespace"] == ns
    assert out["metadata"]["labels"]["katib.kubeflow.org/trial"] == name
    assert out["metadata"]["labels"]["katib.kubeflow.org/experiment"] == "exp"
    main = out["spec"]["containers"][0]
    assert main["env"][0]["name"] == "KATIB_TRIAL_NAME"
    assert main["command"] == ["sh", "-c"]
    assert main["args"] == [
        "python3 train.py 1>/var/log/katib/metrics.log 2>&1 && echo completed > /var/log/katib/$$$$.pid"
    ]
    sidecar = out["spec"]["initContainers"][0]  # the embedded API server reports Kubernetes 1.32
    assert sidecar["name"] == "metrics-logger-and-collector"
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"][:8] == [
        "-t",
        name,
        "-m",
        "accuracy",
        "-o-type",
        "maximize",
        "-s-db",
        "katib-db-manager.kubeflow:6789",
    ]
    assert out["spec"]["shareProcessNamespace"] is True


async def test_regular_sidecar_when_native_sidecars_are_off(kube: KubeClient) -> None:
    context.configure(native_sidecar=False)
    ns = await make_namespace(kube)
    _trial, job = await make_trial_job(kube, ns)
    out = await mutate(job_pod(job), ns)
    assert [c["name"] for c in out["spec"]["containers"]] == [
        "training-container",
        "metrics-logger-and-collector",
    ]
    assert "initContainers" not in out["spec"]


async def test_owner_chain_is_walked_recursively(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    trial, job = await make_trial_job(kube, ns)
    # Pod <- ConfigMap <- Job <- Trial: any owner kind is fetched and walked
    middle = await kube.create(
        CONFIGMAPS,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "middle",
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job["metadata"]["name"],
                        "uid": job["metadata"]["uid"],
                    }
                ],
            },
        },
        ns,
    )
    pod = job_pod(job)
    pod["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "middle", "uid": middle["metadata"]["uid"]}
    ]
    assert await handlers.find_trial_job(
        prepare_review(review(pod, resource=PODS, namespace=ns))["request"]["object"], ns
    ) == (
        "Job",
        trial["metadata"]["name"],
    )
    out = await mutate(pod, ns)
    assert out["metadata"]["labels"]["katib.kubeflow.org/trial"] == trial["metadata"]["name"]


async def test_non_trial_pods_are_untouched(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    plain: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "plain"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    kwargs = handler_kwargs(review(plain, resource=PODS, namespace=ns))
    await handlers.pod_mutator(**kwargs)
    assert kwargs["patch"].as_json_patch() == []
    orphan = copy.deepcopy(plain)
    orphan["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "gone", "uid": "u"}
    ]
    kwargs = handler_kwargs(review(orphan, resource=PODS, namespace=ns))
    await handlers.pod_mutator(**kwargs)
    assert kwargs["patch"].as_json_patch() == []


async def test_pods_created_by_the_operator_are_untouched(kube: KubeClient) -> None:
    context.configure(operator_username="system:serviceaccount:kubeflow:katib-controller")
    ns = await make_namespace(kube)
    _trial, job = await make_trial_job(kube, ns)
    kwargs = handler_kwargs(
        review(
            job_pod(job),
            resource=PODS,
            namespace=ns,
            username="system:serviceaccount:kubeflow:katib-controller",
        )
    )
    await handlers.pod_mutator(**kwargs)
    assert kwargs["patch"].as_json_patch() == []


async def test_missing_command_is_rejected_with_a_clear_message(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    _trial, job = await make_trial_job(kube, ns)
    pod = job_pod(job)
    del pod["spec"]["containers"][0]["command"]
    with pytest.raises(kopf.AdmissionError, match="needs an explicit command") as err:
        await mutate(pod, ns)
    assert err.value.code == 400


async def test_a_number_in_the_command_is_a_bad_request_not_a_server_error(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    _trial, job = await make_trial_job(kube, ns)
    pod = job_pod(job)
    pod["spec"]["containers"][0]["args"] = ["--lr", 0.01]  # an unquoted ${trialParameters.lr}
    with pytest.raises(kopf.AdmissionError, match=r"must be strings; got 0\.01 \(float\)") as err:
        await mutate(pod, ns)
    assert err.value.code == 400


async def test_early_stopping_and_pbt_come_from_the_suggestion(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    spec = {
        "objective": {"type": "minimize", "objectiveMetricName": "loss"},
        "primaryContainerName": "training-container",
        "metricsCollector": {"collector": {"kind": "StdOut"}},
        "earlyStoppingRules": [{"name": "loss", "value": "2", "comparison": "greater", "startStep": 3}],
        "runSpec": {},
    }
    suggestion = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Suggestion",
        "metadata": {"name": "exp"},
        "spec": {
            "algorithm": {
                "algorithmName": "pbt",
                "algorithmSettings": [{"name": "suggestion_trial_dir", "value": "/ckpt"}],
            },
            "requests": 1,
        },
    }
    trial, job = await make_trial_job(kube, ns, trial_spec=spec, suggestion=suggestion)
    out = await mutate(job_pod(job), ns)
    sidecar = out["spec"]["initContainers"][0]
    assert sidecar["args"][-4:] == ["-stop-rule", "loss;2;greater;3", "-s-earlystop", f"exp-pbt.{ns}:6788"]
    assert {"name": "suggestion-volume", "persistentVolumeClaim": {"claimName": "exp-pbt"}} in out["spec"][
        "volumes"
    ]
    mounts = out["spec"]["containers"][0]["volumeMounts"]
    assert {
        "name": "suggestion-volume",
        "mountPath": "/ckpt",
        "subPath": f"exp/{trial['metadata']['name']}",
    } in mounts
    assert "Training Container was Early Stopped" in out["spec"]["containers"][0]["args"][0]


def test_katib_paths_map_to_handler_ids() -> None:
    assert handler_for_path("mutate-experiment") == handlers.EXPERIMENT_DEFAULTER
    assert handler_for_path("/validate-experiment") == handlers.EXPERIMENT_VALIDATOR
    assert handler_for_path("mutate-pod") == handlers.POD_MUTATOR
    assert handler_for_path(handlers.POD_MUTATOR) == handlers.POD_MUTATOR
    assert handler_for_path(None) is None


def test_register_handlers_once_per_registry() -> None:
    registry = kopf.OperatorRegistry()
    handlers.register_handlers(registry)
    handlers.register_handlers(registry)
    ids = sorted(h.id for h in registry._webhooks.get_all_handlers())
    assert ids == sorted([handlers.EXPERIMENT_DEFAULTER, handlers.EXPERIMENT_VALIDATOR, handlers.POD_MUTATOR])


async def test_validator_names_the_trial_spec_field_it_refuses(kube: KubeClient) -> None:
    ns = await make_namespace(kube)
    exp = defaulted(experiment(namespace=ns))
    exp["spec"]["trialTemplate"]["trialSpec"]["metadata"] = {"namespace": "elsewhere"}
    with pytest.raises(kopf.AdmissionError) as err:
        await validate(exp)
    assert err.value.code == 400
    assert str(err.value) == (
        "spec.trialTemplate.trialSpec.metadata.namespace: "
        "metadata.name and metadata.namespace in spec.trialTemplate must be omitted"
    )
