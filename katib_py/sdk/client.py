"""`KatibClient`: kubeflow-katib's client API over the Kubernetes API (and db-manager for metrics).

Same methods, arguments and errors as kubeflow-katib 0.19. Differences, on purpose:
- Objects come back as katib-py pydantic models (`katib_py.api.models.Experiment`, `Trial`, ...),
  not OpenAPI-generated `V1beta1*` classes. Field names are the same snake_case names
  (`experiment.status.current_optimal_trial.parameter_assignments`); `.dump()` gives the YAML form.
- create_experiment() and tune() return the created Experiment (Katib returns None).
- Errors carry the API server's reason (Katib replaces it with a bare "Failed to ...").
- list_suggestions() lists Suggestions (Katib 0.19 lists Experiments there by mistake).
- wait_for_experiment_condition() logs the trial counts instead of printing them, rejects an
  unknown condition name at once, and polls by deadline (Katib polls round(timeout/interval) times).
- tune() supports the custom-objective mode only (Job or PyTorchJob trials); the LLM fine-tuning
  mode (model/dataset/trainer parameters) raises ValueError.
- The kubeconfig is loaded into this client's own configuration, not the process-wide default,
  and $KUBECONFIG is read when the client is made.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from katib_py.api.models import (
    Condition,
    Experiment,
    Metric,
    OptimalTrial,
    ParameterAssignment,
    Suggestion,
    Trial,
)
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.sdk import constants
from katib_py.sdk.tune import build_experiment
from katib_py.sdk.wire import to_wire

logger = logging.getLogger(__name__)

TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

EXPERIMENT_CONDITIONS = (
    constants.EXPERIMENT_CONDITION_CREATED,
    constants.EXPERIMENT_CONDITION_RUNNING,
    constants.EXPERIMENT_CONDITION_RESTARTING,
    constants.EXPERIMENT_CONDITION_SUCCEEDED,
    constants.EXPERIMENT_CONDITION_FAILED,
)


def is_running_in_k8s() -> bool:
    """In a pod: a service-account token and the API server's address in the environment.

    (Katib only checks that /var/run/secrets/kubernetes.io/ exists, which an empty directory on
    a workstation also satisfies.)
    """
    return os.path.isfile(TOKEN_FILE) and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def get_default_target_namespace() -> str:
    """The pod's namespace when running in a cluster, else "default"."""
    if not is_running_in_k8s() or not os.path.isfile(NAMESPACE_FILE):
        return "default"
    with open(NAMESPACE_FILE) as fh:
        return fh.readline().strip() or "default"


def has_condition(conditions: list[Condition] | None, condition_type: str) -> bool:
    """True when `condition_type` is among the conditions with status "True"."""
    return any(
        c.type == condition_type and c.status == constants.CONDITION_STATUS_TRUE for c in conditions or []
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}: {exc.body}" if exc.body else f"{exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _is_timeout(exc: Exception) -> bool:
    """A request that ran out of time (urllib3 files "connection refused" under timeouts too)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        exc = exc.reason  # type: ignore[assignment]
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError)


class KatibClient:
    def __init__(
        self,
        config_file: str | None = None,
        context: str | None = None,
        client_configuration: k8s.Configuration | None = None,
        namespace: str | None = None,
    ) -> None:
        """Connect with `client_configuration`, else the kubeconfig (`config_file`, `context`,
        default ~/.kube/config or $KUBECONFIG), else the in-cluster service account.
        `namespace` defaults to the pod's namespace in a cluster, else "default"."""
        self.in_cluster = False
        configuration = client_configuration
        if configuration is None:
            configuration = k8s.Configuration()
            if config_file or not is_running_in_k8s():
                # $KUBECONFIG is read now (the kubernetes client reads it once, at import).
                k8s_config.load_kube_config(
                    config_file=config_file or os.environ.get("KUBECONFIG") or None,
                    context=context,
                    client_configuration=configuration,
                )
            else:
                k8s_config.load_incluster_config(client_configuration=configuration)
                self.in_cluster = True
        self.api_client = k8s.ApiClient(configuration)
        self.custom_api = k8s.CustomObjectsApi(self.api_client)
        self.core_api = k8s.CoreV1Api(self.api_client)
        self.namespace = namespace or get_default_target_namespace()

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> KatibClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _call(self, what: str, target: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one API call, turning failures into Katib's TimeoutError / RuntimeError."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if _is_timeout(exc):
                raise TimeoutError(f"Timeout to {what}: {target}") from exc
            raise RuntimeError(f"Failed to {what}: {target} ({_reason(exc)})") from exc

    def _get(self, plural: str, name: str, namespace: str, timeout: int, what: str) -> dict[str, Any]:
        return self._call(  # type: ignore[no-any-return]
            what,
            f"{namespace}/{name}",
            self.custom_api.get_namespaced_custom_object,
            constants.KUBEFLOW_GROUP,
            constants.KATIB_VERSION,
            namespace,
            plural,
            name,
            _request_timeout=timeout,
        )

    def _list(
        self, plural: str, namespace: str, timeout: int, what: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"_request_timeout": timeout}
        if label_selector is not None:
            kwargs["label_selector"] = label_selector
        response = self._call(
            what,
            namespace,
            self.custom_api.list_namespaced_custom_object,
            constants.KUBEFLOW_GROUP,
            constants.KATIB_VERSION,
            namespace,
            plural,
            **kwargs,
        )
        return list(response.get("items") or [])

    # ------------------------------------------------------------------ experiments

    def create_experiment(self, experiment: Any, namespace: str | None = None) -> Experiment:
        """Create an Experiment given as a katib-py model, a dict, or a kubeflow-katib
        V1beta1Experiment (any object with `to_dict()`). Returns the created object."""
        namespace = namespace or self.namespace
        body = to_wire(experiment)
        if not isinstance(body, dict):
            raise ValueError(f"Experiment must be a mapping or a model, got {type(experiment).__name__}")
        metadata = body.get("metadata") or {}
        experiment_name = (
            metadata.get("name") or metadata.get("generateName") or metadata.get("generate_name")
        )
        if experiment_name is None:
            raise ValueError("Experiment must have a name or generateName")
        if "generate_name" in metadata and "generateName" not in metadata:
            metadata["generateName"] = metadata.pop("generate_name")
        try:
            created = self.custom_api.create_namespaced_custom_object(
                constants.KUBEFLOW_GROUP,
                constants.KATIB_VERSION,
                namespace,
                constants.EXPERIMENT_PLURAL,
                body,
                _request_timeout=constants.DEFAULT_TIMEOUT,
            )
        except Exception as exc:
            if _is_timeout(exc):
                raise TimeoutError(
                    f"Timeout to create Katib Experiment: {namespace}/{experiment_name}"
                ) from exc
            if isinstance(exc, ApiException) and exc.status == 409:
                raise RuntimeError(
                    f"A Katib Experiment with the name {namespace}/{experiment_name} already exists."
                ) from exc
            raise RuntimeError(
                f"Failed to create Katib Experiment: {namespace}/{experiment_name} ({_reason(exc)})"
            ) from exc
        logger.debug("Experiment %s/%s has been created", namespace, created["metadata"]["name"])
        return Experiment.load(created)

    def tune(
        self,
        name: str,
        model_provider_parameters: Any = None,
        dataset_provider_parameters: Any = None,
        trainer_parameters: Any = None,
        storage_config: dict[str, Any] | None = None,
        objective: Callable[..., Any] | None = None,
        base_image: str = constants.BASE_IMAGE_PYTORCH,
        parameters: dict[str, Any] | None = None,
        namespace: str | None = None,
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
        pip_index_url: str | None = None,
    ) -> Experiment:
        """Create a hyperparameter-tuning Experiment from an objective function (see katib_py.sdk.tune).

        `objective(parameters: dict)` is run in each trial with the sampled values (as strings)
        for the `katib.search.*` entries of `parameters` and the other entries as given; it prints
        `<metric>=<value>` lines (StdOut collector) or calls `katib.report_metrics` (Push).
        `pip_index_url` (one URL) is accepted as an alias of `pip_index_urls`.
        """
        llm = (
            model_provider_parameters is not None
            or dataset_provider_parameters is not None
            or trainer_parameters is not None
        )
        custom = objective is not None or parameters is not None
        if llm == custom:
            raise ValueError(
                "Invalid configuration for creating a Katib Experiment for hyperparameter "
                "optimization. You should specify one of the following options:\n"
                "1. Use external models and datasets: specify `model_provider_parameters`, "
                "`dataset_provider_parameters` and `trainer_parameters`;\n"
                "2. Use custom objective function: specify `objective`, `base_image` and "
                "`parameters`."
            )
        if llm:
            raise ValueError(
                "katib-py's SDK supports the custom-objective tune() only (objective + parameters, "
                "trials as a Job or a PyTorchJob); the LLM fine-tuning mode with "
                "model_provider_parameters / dataset_provider_parameters / trainer_parameters "
                "is not supported."
            )
        assert objective is not None or parameters is not None
        urls = list(pip_index_urls or [])
        if pip_index_url is not None:
            urls = [pip_index_url, *urls]
        namespace = namespace or self.namespace
        experiment = build_experiment(
            name,
            namespace,
            objective,  # type: ignore[arg-type]
            parameters or {},
            base_image=base_image,
            env_per_trial=env_per_trial,
            algorithm_name=algorithm_name,
            algorithm_settings=algorithm_settings,
            objective_metric_name=objective_metric_name,
            additional_metric_names=additional_metric_names,
            objective_type=objective_type,
            objective_goal=objective_goal,
            max_trial_count=max_trial_count,
            parallel_trial_count=parallel_trial_count,
            max_failed_trial_count=max_failed_trial_count,
            resources_per_trial=resources_per_trial,
            retain_trials=retain_trials,
            packages_to_install=packages_to_install,
            pip_index_urls=urls,
            metrics_collector_config=metrics_collector_config,
            trial_active_deadline_seconds=trial_active_deadline_seconds,
        )
        return self.create_experiment(experiment, namespace)

    def get_experiment(
        self, name: str, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> Experiment:
        namespace = namespace or self.namespace
        raw = self._get(constants.EXPERIMENT_PLURAL, name, namespace, timeout, "get Katib Experiment")
        return Experiment.load(raw)

    def list_experiments(
        self, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> list[Experiment]:
        namespace = namespace or self.namespace
        items = self._list(
            constants.EXPERIMENT_PLURAL, namespace, timeout, "list Katib Experiments in namespace"
        )
        return [Experiment.load(item) for item in items]

    def get_experiment_conditions(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> list[Condition]:
        """The Experiment's conditions ([] before the controller has set any)."""
        if experiment is None:
            experiment = self.get_experiment(name, namespace, timeout)
        if experiment.status and experiment.status.conditions:
            return experiment.status.conditions
        return []

    def _is(
        self, condition: str, name: str, namespace: str | None, experiment: Experiment | None, timeout: int
    ) -> bool:
        return has_condition(self.get_experiment_conditions(name, namespace, experiment, timeout), condition)

    def is_experiment_created(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> bool:
        return self._is(constants.EXPERIMENT_CONDITION_CREATED, name, namespace, experiment, timeout)

    def is_experiment_running(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> bool:
        return self._is(constants.EXPERIMENT_CONDITION_RUNNING, name, namespace, experiment, timeout)

    def is_experiment_restarting(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> bool:
        return self._is(constants.EXPERIMENT_CONDITION_RESTARTING, name, namespace, experiment, timeout)

    def is_experiment_succeeded(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> bool:
        return self._is(constants.EXPERIMENT_CONDITION_SUCCEEDED, name, namespace, experiment, timeout)

    def is_experiment_failed(
        self,
        name: str,
        namespace: str | None = None,
        experiment: Experiment | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> bool:
        return self._is(constants.EXPERIMENT_CONDITION_FAILED, name, namespace, experiment, timeout)

    def wait_for_experiment_condition(
        self,
        name: str,
        namespace: str | None = None,
        expected_condition: str = constants.EXPERIMENT_CONDITION_SUCCEEDED,
        timeout: float = 600,
        polling_interval: float = 15,
        apiserver_timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> Experiment:
        """Poll until the Experiment has `expected_condition`; returns it.

        Raises RuntimeError when it becomes Failed (unless Failed is awaited) and TimeoutError
        when `timeout` seconds pass first.
        """
        if expected_condition not in EXPERIMENT_CONDITIONS:
            raise ValueError(
                f"Unknown Experiment condition {expected_condition!r}: "
                f"expected one of {', '.join(EXPERIMENT_CONDITIONS)}"
            )
        namespace = namespace or self.namespace
        deadline = time.monotonic() + timeout
        while True:
            experiment = self.get_experiment(name, namespace, apiserver_timeout)
            conditions = self.get_experiment_conditions(name, namespace, experiment)
            failed = has_condition(conditions, constants.EXPERIMENT_CONDITION_FAILED)
            if failed and expected_condition != constants.EXPERIMENT_CONDITION_FAILED:
                raise RuntimeError(
                    f"Experiment: {namespace}/{name} is Failed. Experiment conditions: {conditions}"
                )
            if has_condition(conditions, expected_condition):
                logger.debug("Experiment %s/%s is %s", namespace, name, expected_condition)
                return experiment
            self._log_status(experiment, expected_condition)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"Timeout waiting for Experiment: {namespace}/{name} to reach {expected_condition} state"
                )
            time.sleep(min(polling_interval, remaining))

    @staticmethod
    def _log_status(experiment: Experiment, expected_condition: str) -> None:
        status = experiment.status
        if status is None:
            return
        logger.info(
            "Experiment %s: waiting for %s. Trials: %s, pending %s, running %s, succeeded %s, failed %s, "
            "early stopped %s, metrics unavailable %s",
            experiment.metadata.name if experiment.metadata else "?",
            expected_condition,
            status.trials or 0,
            status.trials_pending or 0,
            status.trials_running or 0,
            status.trials_succeeded or 0,
            status.trials_failed or 0,
            status.trials_early_stopped or 0,
            status.trial_metrics_unavailable or 0,
        )

    def edit_experiment_budget(
        self,
        name: str,
        namespace: str | None = None,
        max_trial_count: int | None = None,
        parallel_trial_count: int | None = None,
        max_failed_trial_count: int | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> None:
        """Change the trial budget (e.g. to resume a Succeeded LongRunning/FromVolume Experiment)."""
        namespace = namespace or self.namespace
        budget = {
            "maxTrialCount": max_trial_count,
            "parallelTrialCount": parallel_trial_count,
            "maxFailedTrialCount": max_failed_trial_count,
        }
        patch = {k: v for k, v in budget.items() if v is not None}
        if not patch:
            raise ValueError(
                "Invalid input arguments. "
                "You have to set max_trial_count, parallel_trial_count, or max_failed_trial_count "
                "to modify Experiment Trial budget."
            )
        self._call(
            "edit Katib Experiment",
            f"{namespace}/{name}",
            self.custom_api.patch_namespaced_custom_object,
            constants.KUBEFLOW_GROUP,
            constants.KATIB_VERSION,
            namespace,
            constants.EXPERIMENT_PLURAL,
            name,
            {"spec": patch},
            _request_timeout=timeout,
        )
        logger.debug("Experiment %s/%s has been updated", namespace, name)

    def delete_experiment(self, name: str, namespace: str | None = None, delete_options: Any = None) -> None:
        namespace = namespace or self.namespace
        kwargs: dict[str, Any] = {"_request_timeout": constants.DEFAULT_TIMEOUT}
        if delete_options is not None:
            kwargs["body"] = to_wire(delete_options)
        self._call(
            "delete Katib Experiment",
            f"{namespace}/{name}",
            self.custom_api.delete_namespaced_custom_object,
            constants.KUBEFLOW_GROUP,
            constants.KATIB_VERSION,
            namespace,
            constants.EXPERIMENT_PLURAL,
            name,
            **kwargs,
        )
        logger.debug("Experiment %s/%s has been deleted", namespace, name)

    # ------------------------------------------------------------------ suggestions and trials

    def get_suggestion(
        self, name: str, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> Suggestion:
        namespace = namespace or self.namespace
        raw = self._get(constants.SUGGESTION_PLURAL, name, namespace, timeout, "get Katib Suggestion")
        return Suggestion.load(raw)

    def list_suggestions(
        self, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> list[Suggestion]:
        namespace = namespace or self.namespace
        items = self._list(
            constants.SUGGESTION_PLURAL, namespace, timeout, "list Katib Suggestions in namespace"
        )
        return [Suggestion.load(item) for item in items]

    def get_trial(
        self, name: str, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> Trial:
        namespace = namespace or self.namespace
        raw = self._get(constants.TRIAL_PLURAL, name, namespace, timeout, "get Katib Trial")
        return Trial.load(raw)

    def list_trials(
        self,
        experiment_name: str | None = None,
        namespace: str | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> list[Trial]:
        """Trials of the namespace, or only those of `experiment_name` (by its label)."""
        namespace = namespace or self.namespace
        selector = None if experiment_name is None else f"{constants.EXPERIMENT_LABEL}={experiment_name}"
        items = self._list(
            constants.TRIAL_PLURAL, namespace, timeout, "list Katib Trials in namespace", selector
        )
        return [Trial.load(item) for item in items]

    def get_success_trial_details(
        self,
        experiment_name: str | None = None,
        namespace: str | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """[{name, parameter_assignments, metrics}] for each Succeeded trial."""
        result: list[dict[str, Any]] = []
        for trial in self.list_trials(experiment_name, namespace, timeout):
            if trial.status is None or not has_condition(
                trial.status.conditions, constants.TRIAL_CONDITION_SUCCEEDED
            ):
                continue
            assignments: list[ParameterAssignment] | None = (
                trial.spec.parameter_assignments if trial.spec else None
            )
            metrics: list[Metric] | None = (
                trial.status.observation.metrics if trial.status.observation else None
            )
            result.append(
                {
                    "name": trial.metadata.name if trial.metadata else None,
                    "parameter_assignments": assignments,
                    "metrics": metrics,
                }
            )
        return result

    def get_optimal_hyperparameters(
        self, name: str, namespace: str | None = None, timeout: int = constants.DEFAULT_TIMEOUT
    ) -> OptimalTrial | None:
        """The Experiment's currentOptimalTrial, or None while it has no metrics."""
        experiment = self.get_experiment(name, namespace, timeout)
        optimal = experiment.status.current_optimal_trial if experiment.status else None
        if optimal is not None and optimal.observation is not None and optimal.observation.metrics:
            return optimal
        return None

    def get_trial_metrics(
        self,
        name: str,
        namespace: str | None = None,
        db_manager_address: str = constants.DEFAULT_DB_MANAGER_ADDRESS,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> Any:
        """All metric logs of trial `name`, read from db-manager with GetObservationLog
        (a repeated `api_pb2.MetricLog`: `.time_stamp`, `.metric.name`, `.metric.value`)."""
        namespace = namespace or self.namespace
        options = [("grpc.max_receive_message_length", 1 << 30)]  # a long trial's log exceeds 4 MiB
        with grpc.insecure_channel(db_manager_address, options=options) as channel:
            stub = api_pb2_grpc.DBManagerStub(channel)
            try:
                reply = stub.GetObservationLog(
                    api_pb2.GetObservationLogRequest(trial_name=name), timeout=timeout
                )
            except grpc.RpcError as exc:
                raise RuntimeError(
                    f"Unable to get metrics for Trial {namespace}/{name}. Exception: {exc}"
                ) from exc
        return reply.observation_log.metric_logs

    # ------------------------------------------------------------------ logs

    def get_job_logs(
        self,
        name: str,
        trial_name: str | None = None,
        follow: bool = False,
        namespace: str | None = None,
        container: str | None = None,
        timeout: int = constants.DEFAULT_TIMEOUT,
    ) -> Iterator[str]:
        """Log lines of a trial's primary pod; `trial_name` None means the Experiment's optimal trial.

        The container (unless given) is `metrics-logger-and-collector` for StdOut collection (the
        training output goes through it), else the primary container. Pods exist only while the
        trial runs or when the Experiment retains trials (`retain_trials=True`).
        """
        namespace = namespace or self.namespace
        if trial_name is None:
            optimal = self.get_optimal_hyperparameters(name, namespace, timeout)
            if optimal is None or not optimal.best_trial_name:
                raise RuntimeError(f"Experiment {namespace}/{name} has no optimal Trial yet; pass trial_name")
            trial_name = optimal.best_trial_name
        trial = self.get_trial(trial_name, namespace, timeout)
        spec = trial.spec
        labels = {constants.TRIAL_LABEL: trial_name, **((spec.primary_pod_labels or {}) if spec else {})}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = self._call(
            "list Pods of Trial",
            f"{namespace}/{trial_name}",
            self.core_api.list_namespaced_pod,
            namespace,
            label_selector=selector,
            _request_timeout=timeout,
        ).items
        preferred = [p for p in pods if p.status and p.status.phase in ("Running", "Succeeded")]
        failed = [p for p in pods if p.status and p.status.phase == "Failed"]
        chosen = (preferred or failed or [None])[0]
        if chosen is None:
            raise RuntimeError(
                f"No pod of Trial {namespace}/{trial_name} found (set retain_trials=True to keep them)"
            )
        kind = (
            spec.metrics_collector.collector.kind
            if spec and spec.metrics_collector and spec.metrics_collector.collector
            else "StdOut"
        )
        container_names = [c.name for c in chosen.spec.containers]
        container_names += [c.name for c in chosen.spec.init_containers or []]
        if container is None:
            container = (
                spec.primary_container_name if spec else None
            ) or constants.DEFAULT_PRIMARY_CONTAINER_NAME
            if kind == "StdOut" and constants.METRICS_COLLECTOR_CONTAINER in container_names:
                container = constants.METRICS_COLLECTOR_CONTAINER
        return self._pod_log_lines(chosen.metadata.name, namespace, container, follow, timeout)

    def _pod_log_lines(
        self, pod_name: str, namespace: str, container: str, follow: bool, timeout: int
    ) -> Iterator[str]:
        response = self._call(
            "read logs of Pod",
            f"{namespace}/{pod_name}",
            self.core_api.read_namespaced_pod_log,
            pod_name,
            namespace,
            container=container,
            follow=follow,
            _preload_content=False,
            _request_timeout=None if follow else timeout,
        )
        try:
            pending = b""
            for chunk in response.stream(4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if pending:
                yield pending.decode(errors="replace")
        finally:
            response.release_conn()
