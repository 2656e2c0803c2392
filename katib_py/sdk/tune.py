"""Build the Experiment that `KatibClient.tune()` creates from an objective function.

The shape is Katib's (kubeflow-katib 0.19 `tune` custom-objective mode): the function source is
embedded in a bash script (`mktemp -d`, an unquoted heredoc, then `python3 -u` or `torchrun`),
each search parameter becomes a `${trialParameters.<name>}` placeholder in the call, and the
trial is a `batch/v1` Job whose container is `training-container` (or a PyTorchJob when
`resources_per_trial` is a `TrainerResources`). As in Katib, the heredoc is unquoted, so bash
expands `$`, backquotes and backslash escapes in the function source before Python sees it.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from katib_py.api.models import (
    AlgorithmSetting,
    AlgorithmSpec,
    CollectorSpec,
    Experiment,
    ExperimentSpec,
    MetricsCollectorSpec,
    ObjectiveSpec,
    ObjectMeta,
    ParameterSpec,
    TrialParameterSpec,
    TrialTemplate,
)
from katib_py.sdk import constants
from katib_py.sdk.types import TrainerResources
from katib_py.sdk.wire import to_wire


def validate_objective_function(objective: Any) -> None:
    """Katib's check: a callable that can be called with one dict."""
    if not callable(objective):
        raise ValueError(f"Objective function must be callable, got function type: {type(objective)}")
    signature = inspect.signature(objective)
    try:
        signature.bind({})
    except TypeError:
        raise ValueError(
            "Invalid args in the Objective function. "
            "The function args must have only 'parameters' dictionary. "
            f"Current Objective arguments: {signature}"
        ) from None


def as_parameter_spec(value: Any) -> ParameterSpec | None:
    """A search spec (ours, or kubeflow-katib's V1beta1ParameterSpec) as our model; None for constants."""
    if isinstance(value, ParameterSpec):
        return value.model_copy(deep=True)
    if type(value).__name__ == "V1beta1ParameterSpec":
        return ParameterSpec.load(to_wire(value))
    return None


def trial_substitutions(
    parameters: dict[str, Any],
) -> tuple[dict[str, Any], list[ParameterSpec], list[TrialParameterSpec]]:
    """The function's input (placeholders for search specs, constants as given), the experiment
    parameters and the trial parameters (name = reference = the key)."""
    inputs: dict[str, Any] = {}
    experiment_parameters: list[ParameterSpec] = []
    trial_parameters: list[TrialParameterSpec] = []
    for name, value in parameters.items():
        spec = as_parameter_spec(value)
        if spec is None:
            inputs[name] = value
            continue
        inputs[name] = f"${{trialParameters.{name}}}"
        spec.name = name
        experiment_parameters.append(spec)
        trial_parameters.append(TrialParameterSpec(name=name, reference=name))
    return inputs, experiment_parameters, trial_parameters


def packages_install_script(packages_to_install: list[str], pip_index_urls: list[str]) -> str:
    """Bash that installs `packages_to_install` with pip (first URL is the index, others extra)."""
    packages = " ".join(str(p) for p in packages_to_install)
    urls = pip_index_urls or [constants.DEFAULT_PIP_INDEX_URL]
    index = f"--index-url {urls[0]}" + "".join(f" --extra-index-url {u}" for u in urls[1:])
    return (
        "\n"
        'if ! [ -x "$(command -v pip)" ]; then\n'
        "    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\n"
        "fi\n"
        "\n"
        "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --prefer-binary --quiet \\\n"
        f"--no-warn-script-location {index} {packages}\n"
    )


def objective_script(
    objective: Callable[..., Any],
    inputs: dict[str, Any],
    entrypoint: str = constants.ENTRYPOINT_PYTHON,
    packages_to_install: list[str] | None = None,
    pip_index_urls: list[str] | None = None,
) -> str:
    """The bash script a trial container runs: write the function plus its call to a file, run it."""
    validate_objective_function(objective)
    source = textwrap.dedent(inspect.getsource(objective))
    code = f"{source}\n{objective.__name__}({inputs})\n"
    script = (
        "\n"
        "program_path=$(mktemp -d)\n"
        "read -r -d '' SCRIPT << EOM\n"
        "\n"
        f"{code}\n"
        "EOM\n"
        'printf "%s" "$SCRIPT" > "$program_path/ephemeral_script.py"\n'
        f'{entrypoint} "$program_path/ephemeral_script.py"'
    )
    if packages_to_install is not None:
        script = packages_install_script(packages_to_install, pip_index_urls or []) + script
    return script


def resource_requirements(resources: Any) -> dict[str, Any] | None:
    """Katib's reading of resources_per_trial: a dict (cpu/memory/gpu; gpu means nvidia.com/gpu)
    becomes requests = limits; a V1ResourceRequirements (or its dict form) is used as is."""
    if resources is None:
        return None
    if isinstance(resources, dict) and not ({"requests", "limits", "claims"} & resources.keys()):
        amounts = {str(k): str(v) for k, v in resources.items()}
        if "gpu" in amounts:
            amounts["nvidia.com/gpu"] = amounts.pop("gpu")
        return {"requests": dict(amounts), "limits": dict(amounts)}
    wire = to_wire(resources)
    if not isinstance(wire, dict):
        raise ValueError(f"Incorrect value for resources_per_trial: {resources!r}")
    return wire


def env_vars(env_per_trial: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`env` and `envFrom` from a dict (name -> value) or a list of V1EnvVar / V1EnvFromSource."""
    env: list[dict[str, Any]] = []
    env_from: list[dict[str, Any]] = []
    if isinstance(env_per_trial, dict):
        env = [{"name": str(k), "value": str(v)} for k, v in env_per_trial.items()]
    elif env_per_trial:
        for item in env_per_trial:
            wire = to_wire(item)
            kind = type(item).__name__
            if kind == "V1EnvVar" or (isinstance(wire, dict) and "name" in wire):
                env.append(wire)
            elif kind == "V1EnvFromSource" or (
                isinstance(wire, dict) and ({"configMapRef", "secretRef"} & wire.keys())
            ):
                env_from.append(wire)
            else:
                raise ValueError(f"Incorrect value for env_per_trial: {env_per_trial}")
    return env, env_from


def pod_template(container: dict[str, Any], restart_policy: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [container]}
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    return {"metadata": {"annotations": {constants.ISTIO_SIDECAR_INJECTION: "false"}}, "spec": spec}


def job_trial_spec(container: dict[str, Any], active_deadline_seconds: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": pod_template(container, "Never")}
    if active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = active_deadline_seconds
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": spec}


def pytorchjob_trial_spec(container: dict[str, Any], resources: TrainerResources) -> dict[str, Any]:
    replicas: dict[str, Any] = {"Master": {"replicas": 1, "template": pod_template(container, None)}}
    if resources.num_workers > 1:
        replicas["Worker"] = {
            "replicas": resources.num_workers - 1,
            "template": pod_template(container, None),
        }
    return {
        "apiVersion": constants.PYTORCHJOB_API_VERSION,
        "kind": constants.PYTORCHJOB_KIND,
        "spec": {
            "runPolicy": {},
            "nprocPerNode": str(resources.num_procs_per_worker),
            "pytorchReplicaSpecs": replicas,
        },
    }


def algorithm_spec(algorithm_name: str, algorithm_settings: Any) -> AlgorithmSpec:
    if isinstance(algorithm_settings, dict):
        settings: list[AlgorithmSetting] | None = [
            AlgorithmSetting(name=str(k), value=str(v)) for k, v in algorithm_settings.items()
        ]
    elif algorithm_settings is None:
        settings = None
    else:
        settings = [AlgorithmSetting.load(to_wire(s)) for s in algorithm_settings]
    spec = AlgorithmSpec(algorithm_name=algorithm_name)
    if settings is not None:
        spec.algorithm_settings = settings
    return spec


def build_experiment(
    name: str,
    namespace: str,
    objective: Callable[..., Any],
    parameters: dict[str, Any],
    *,
    base_image: str = constants.BASE_IMAGE_PYTORCH,
    env_per_trial: Any = None,
    algorithm_name: str = "random",
    algorithm_settings: Any = None,
    objective_metric_name: str | None = None,
    additional_metric_names: list[str] | None = None,
    objective_type: str = "maximize",
    objective_goal: float | None = None,
    max_trial_count: int | None = None,
    parallel_trial_count: int | None = None,
    max_failed_trial_count: int | None = None,
    resources_per_trial: Any = None,
    retain_trials: bool = False,
    packages_to_install: list[str] | None = None,
    pip_index_urls: list[str] | None = None,
    metrics_collector_config: dict[str, Any] | None = None,
    trial_active_deadline_seconds: int | None = None,
) -> Experiment:
    """The Experiment tune() submits (custom-objective mode), not yet created."""
    if not name:
        raise ValueError("Please specify name for the Experiment.")
    if objective is None or not parameters:
        raise ValueError("One of the required parameters is None")
    collector = metrics_collector_config or {"kind": "StdOut"}
    if "kind" not in collector:
        raise ValueError(f"metrics_collector_config needs a 'kind' (StdOut or Push): {collector!r}")

    spec = ExperimentSpec(
        objective=ObjectiveSpec(
            type=objective_type,
            objective_metric_name=objective_metric_name,
            additional_metric_names=list(additional_metric_names or []),
        ),
        algorithm=algorithm_spec(algorithm_name, algorithm_settings),
        metrics_collector_spec=MetricsCollectorSpec(collector=CollectorSpec(kind=collector["kind"])),
    )
    if objective_goal is not None:
        spec.objective.goal = objective_goal  # type: ignore[union-attr]
    if max_trial_count is not None:
        spec.max_trial_count = max_trial_count
    if parallel_trial_count is not None:
        spec.parallel_trial_count = parallel_trial_count
    if max_failed_trial_count is not None:
        spec.max_failed_trial_count = max_failed_trial_count

    inputs, experiment_parameters, trial_parameters = trial_substitutions(parameters)
    distributed = isinstance(resources_per_trial, TrainerResources)
    entrypoint = constants.ENTRYPOINT_PYTHON
    if isinstance(resources_per_trial, TrainerResources) and (
        resources_per_trial.num_workers > 1 or resources_per_trial.num_procs_per_worker > 1
    ):
        entrypoint = constants.ENTRYPOINT_TORCH
    script = objective_script(objective, inputs, entrypoint, packages_to_install, pip_index_urls)

    container: dict[str, Any] = {
        "name": constants.PYTORCHJOB_CONTAINER if distributed else constants.DEFAULT_PRIMARY_CONTAINER_NAME,
        "image": base_image,
        "command": list(constants.DEFAULT_COMMAND),
        "args": [script],
    }
    resources = resource_requirements(
        resources_per_trial.resources_per_worker
        if isinstance(resources_per_trial, TrainerResources)
        else resources_per_trial
    )
    if resources is not None:
        container["resources"] = resources
    env, env_from = env_vars(env_per_trial)
    if env:
        container["env"] = env
    if env_from:
        container["envFrom"] = env_from

    if isinstance(resources_per_trial, TrainerResources):
        trial_spec = pytorchjob_trial_spec(container, resources_per_trial)
    else:
        trial_spec = job_trial_spec(container, trial_active_deadline_seconds)
    spec.trial_template = TrialTemplate(
        primary_container_name=container["name"],
        retain=retain_trials,
        trial_parameters=trial_parameters,
        trial_spec=trial_spec,
    )
    spec.parameters = experiment_parameters
    return Experiment(
        api_version=constants.API_VERSION,
        kind=constants.EXPERIMENT_KIND,
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=spec,
    )
