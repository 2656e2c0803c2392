"""What the pod webhook does to a trial's pod.

Katib's `pkg/webhook/v1beta1/pod/inject_webhook.go` and `pkg/webhook/v1beta1/pod/utils.go`
(`wrapWorkerContainer`), with the constants of `pkg/webhook/v1beta1/pod/const.go`.

Every pod of a trial's job gets the trial's labels and the `KATIB_TRIAL_NAME` env var on its
primary container. The primary pod (all of them when `primaryPodLabels` is unset) of a trial
whose collector is not Push also gets the metrics collector sidecar with Katib's flags, the
shared `metrics-volume`, `shareProcessNamespace`, the PBT suggestion volume when the algorithm
asks for one, and, for StdOut/File/TensorFlowEvent, Katib's command wrapping that writes
`<pid>.pid` markers (byte-identical to Katib, `$$$$` included: Kubernetes turns `$$` into `$`).

Differences from Katib:
- A primary container without an explicit `command` is rejected (`InjectionError`): Katib pulls
  the image's config from its registry to learn the entry point; katib-py pulls no images.
- With `native_sidecar=True` the collector (not a Custom one) runs as a native sidecar
  (an init container with `restartPolicy: Always`), so the pod completes when training ends;
  the collector is stopped by SIGTERM after the main container exits and then flushes.
- The collector entry's command comes from katib-config (`command`, a katib-py extension;
  default `katib-py metrics-collector`), because the embedded cluster runs no images.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from katib_py.api.collector_flags import join_flag_list
from katib_py.api.config import KatibConfig, MetricsCollectorConfig
from katib_py.api.models import MetricsCollectorSpec, Trial, TrialSpec
from katib_py.core import shell
from katib_py.core.trial_instance import STOP_ON_ANY_RULE_ANNOTATION

TRIAL_LABEL = "katib.kubeflow.org/trial"
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
TRIAL_NAME_ENV = "KATIB_TRIAL_NAME"
METRICS_VOLUME = "metrics-volume"
SUGGESTION_VOLUME = "suggestion-volume"
SUGGESTION_TRIAL_DIR_SETTING = "suggestion_trial_dir"
DEFAULT_METRICS_FILE = "/var/log/katib/metrics.log"
LOGGER_AND_COLLECTOR_NAME = "metrics-logger-and-collector"
COLLECTOR_NAME = "metrics-collector"
# `env --block-signal=TERM` (GNU coreutils) holds a SIGTERM until the collector can take it: a
# native sidecar is told to stop as soon as a quick main container ends (katib_py.signals).
DEFAULT_COLLECTOR_COMMAND = ["env", "--block-signal=TERM", "katib-py", "metrics-collector"]
WRAPPED_KINDS = ("StdOut", "File", "TensorFlowEvent")
SHELLS = ("sh", "bash")
NO_SIDECAR_KINDS = ("Push", "None")  # "None" is Katib's pre-0.18 name for Push
TRAINING_COMPLETED = "completed"
TRAINING_EARLY_STOPPED = "early-stopped"


class InjectionError(ValueError):
    """The trial's pod cannot be mutated; the pod's creation is denied with this message."""


def mutate_trial_pod(
    pod: dict[str, Any],
    trial: Trial,
    *,
    config: KatibConfig,
    db_manager_address: str,
    earlystop_address: str | None,
    suggestion_trial_dir: str | None,
    suggestion_claim_name: str | None,
    native_sidecar: bool,
) -> dict[str, Any]:
    """The pod as it must be created; `pod` itself is left unchanged."""
    spec = trial.spec or TrialSpec()
    trial_name = trial.metadata.name if trial.metadata and trial.metadata.name else ""
    trial_labels = trial.metadata.labels if trial.metadata and trial.metadata.labels else {}
    primary = spec.primary_container_name or ""
    mutated = copy.deepcopy(pod)
    metadata = mutated.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **trial_labels, TRIAL_LABEL: trial_name}
    pod_spec = mutated.setdefault("spec", {})
    containers: list[dict[str, Any]] = pod_spec.setdefault("containers", [])
    index = _container_index(containers, primary)
    if index < 0:
        raise InjectionError(
            f"Unable to find primary container {primary!r} in the pod's containers "
            f"{[c.get('name') for c in containers]}"
        )
    _add_trial_name_env(containers[index])

    argvs = recorded_argvs(trial)
    mc = spec.metrics_collector or MetricsCollectorSpec()
    kind = (mc.collector.kind if mc.collector else None) or "StdOut"
    original_labels = (pod.get("metadata") or {}).get("labels") or {}
    primary_pod = spec.primary_pod_labels is None or is_primary_pod(original_labels, spec.primary_pod_labels)
    if not primary_pod or kind not in WRAPPED_KINDS:
        escape_own_shell(containers[index], argvs)
    if not primary_pod:
        return mutated
    if kind in NO_SIDECAR_KINDS:
        return mutated

    sidecar = _collector_container(
        trial, mc, kind, config, db_manager_address, earlystop_address, pod_containers=containers
    )
    native = native_sidecar and kind != "Custom"
    if native:
        sidecar["restartPolicy"] = "Always"
        pod_spec.setdefault("initContainers", []).append(sidecar)
    else:
        containers.append(sidecar)

    if suggestion_trial_dir:
        if not suggestion_claim_name:
            raise InjectionError("the suggestion has suggestion_trial_dir set but no volume claim name")
        experiment = trial_labels.get(EXPERIMENT_LABEL, "")
        pod_spec.setdefault("volumes", []).append(
            {"name": SUGGESTION_VOLUME, "persistentVolumeClaim": {"claimName": suggestion_claim_name}}
        )
        containers[index].setdefault("volumeMounts", []).append(
            {
                "name": SUGGESTION_VOLUME,
                "mountPath": suggestion_trial_dir,
                "subPath": go_join(experiment, trial_name),
            }
        )

    pod_spec["shareProcessNamespace"] = True

    mount_path, path_kind = metrics_mount_path(mc, kind)
    if mount_path:
        directory = go_dir(mount_path) if path_kind == "File" else mount_path
        pod_spec.setdefault("volumes", []).append({"name": METRICS_VOLUME, "emptyDir": {}})
        mount = {"name": METRICS_VOLUME, "mountPath": directory}
        sidecar_name = sidecar.get("name")
        for c in containers:
            if c.get("name") in (sidecar_name, primary):
                c.setdefault("volumeMounts", []).append(dict(mount))
        if native:
            sidecar.setdefault("volumeMounts", []).append(dict(mount))
    if kind in WRAPPED_KINDS:
        wrap_worker_container(containers[index], spec, kind, mount_path, path_kind, argvs)
    return mutated


def recorded_argvs(trial: Trial) -> list[shell.Argv]:
    """The primary container's argvs as segments, as the experiment controller rendered them."""
    annotations = (trial.metadata.annotations if trial.metadata else None) or {}
    text = annotations.get(shell.ARGV_ANNOTATION)
    if not text:
        return []
    try:
        return shell.decode(json.loads(text))
    except ValueError:
        return []


def _elements(argv: list[str], argvs: list[shell.Argv]) -> list[shell.Element]:
    """The argv as segments when it is the one rendered (values known), else all author text."""
    found = shell.match(argv, argvs)
    return list(found) if found is not None else [(a,) for a in argv]


def escape_own_shell(container: dict[str, Any], argvs: list[shell.Argv]) -> None:
    """An unwrapped container that runs its own `sh -c SCRIPT`: the values in SCRIPT are escaped too."""
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    if not (
        len(argv) >= 3 and argv[0] in SHELLS and argv[1] == "-c" and all(isinstance(a, str) for a in argv)
    ):
        return
    elements = _elements(argv, argvs)
    script = shell.shell_text(elements[2:3])
    if script != argv[2]:
        container["command"], container["args"] = [*argv[:2], script, *argv[3:]], []


def is_primary_pod(pod_labels: dict[str, str], primary_labels: dict[str, str]) -> bool:
    return all(pod_labels.get(key) == value for key, value in primary_labels.items())


def sidecar_container_name(kind: str) -> str:
    return LOGGER_AND_COLLECTOR_NAME if kind in ("StdOut", "File") else COLLECTOR_NAME


def metrics_mount_path(mc: MetricsCollectorSpec, kind: str) -> tuple[str, str]:
    """Katib's getMountPath: where the metrics live, and whether that is a File or a Directory."""
    fsp = mc.source.file_system_path if mc.source else None
    if kind == "StdOut":
        return DEFAULT_METRICS_FILE, "File"
    if kind in ("File", "TensorFlowEvent"):
        if fsp is None or not fsp.path:
            raise InjectionError(f"a {kind} metrics collector needs source.fileSystemPath.path")
        return fsp.path, "File" if kind == "File" else "Directory"
    if kind == "Custom" and fsp is not None:
        return fsp.path or "", fsp.kind or ""
    return "", "Invalid"


def metrics_collector_args(
    trial: Trial,
    mc: MetricsCollectorSpec,
    kind: str,
    entry: MetricsCollectorConfig,
    db_manager_address: str,
    earlystop_address: str | None,
) -> list[str]:
    """The sidecar's flags, in Katib's order (getMetricsCollectorArgs)."""
    spec = trial.spec or TrialSpec()
    objective = spec.objective
    names = [objective.objective_metric_name or ""] if objective else [""]
    names += list(objective.additional_metric_names or []) if objective else []
    trial_name = trial.metadata.name if trial.metadata and trial.metadata.name else ""
    objective_type = (objective.type if objective else None) or ""
    args = [
        "-t",
        trial_name,
        "-m",
        join_flag_list(names),
        "-o-type",
        objective_type,
        "-s-db",
        db_manager_address,
    ]
    mount_path, _ = metrics_mount_path(mc, kind)
    if mount_path:
        args += ["-path", mount_path]
    filters = mc.source.filter.metrics_format if mc.source and mc.source.filter else None
    if filters:
        args += ["-f", join_flag_list(filters)]
    if kind == "File" and mc.source is not None and mc.source.file_system_path is not None:
        args += ["-format", mc.source.file_system_path.format or ""]
    if kind == "StdOut":
        args += ["-format", "TEXT"]
    if entry.wait_all_processes is not None:
        args += ["-w", "true" if entry.wait_all_processes else "false"]
    rules = spec.early_stopping_rules or []
    if rules:
        for rule in rules:
            args += [
                "-stop-rule",
                f"{rule.name or ''};{rule.value or ''};{rule.comparison or ''};{rule.start_step or 0}",
            ]
        annotations = (trial.metadata.annotations if trial.metadata else None) or {}
        if annotations.get(STOP_ON_ANY_RULE_ANNOTATION) == "any":
            args += ["-stop-rule-mode", "any"]
        if not earlystop_address:
            raise InjectionError("the trial has early-stopping rules but no early-stopping service address")
        args += ["-s-earlystop", earlystop_address]
    return args


def wrap_worker_container(
    container: dict[str, Any],
    spec: TrialSpec,
    kind: str,
    metrics_path: str,
    path_kind: str,
    argvs: list[shell.Argv] | None = None,
) -> None:
    """Katib's wrapWorkerContainer: run the training command under `sh -c` with pid markers.

    The argv stays shell text as in Katib, but each trial parameter value in it is escaped for
    the shell (katib_py.core.shell), so that a value is never run as a command.
    """
    command = list(container.get("command") or [])
    if not command:
        raise InjectionError(
            f"katib-py needs an explicit command on the primary container {container.get('name')!r}; "
            "it does not pull images to read their entry point"
        )
    argv = command + list(container.get("args") or [])
    strays = [item for item in argv if not isinstance(item, str)]
    if strays:
        # A template that renders `--lr ${trialParameters.lr}` unquoted in YAML gives a number here;
        # the API server would refuse the Pod anyway, so say what is wrong instead of failing inside.
        raise InjectionError(
            f"command and args of container {container.get('name')!r} must be strings; "
            f"got {strays[0]!r} ({type(strays[0]).__name__}): quote it in the trial template"
        )
    elements = _elements(argv, argvs or [])
    wrapper = ["sh", "-c"]
    if argv[0] in SHELLS and len(argv) > 1 and argv[1] == "-c":
        wrapper, elements = argv[:2], elements[2:]
    tail: list[str] = []
    if kind == "StdOut":
        tail.append(f"1>{metrics_path} 2>&1")
    metrics_dir = go_dir(metrics_path) if path_kind == "File" else metrics_path
    if spec.early_stopping_rules is not None:
        tail += ["||", early_stopping_command(metrics_dir)]
    tail += ["&&", mark_completed_command(metrics_dir)]
    container["command"] = wrapper
    container["args"] = [shell.shell_text([*elements, *((t,) for t in tail)])]


def early_stopping_command(metrics_dir: str) -> str:
    # `$$$$` reaches the shell as `$$` (its pid); inside `$(...)` Kubernetes leaves `$$` alone.
    pid_file = go_join(metrics_dir, "$$$$.pid")
    pid_file_condition = go_join(metrics_dir, "$$.pid")
    return (
        f"if test -f {pid_file} && [ $(head -n 1 {pid_file_condition}) = {TRAINING_EARLY_STOPPED} ]; "
        "then echo Training Container was Early Stopped; "
        "else echo Training Container was Failed; exit 1; fi"
    )


def mark_completed_command(metrics_dir: str) -> str:
    return f"echo {TRAINING_COMPLETED} > {go_join(metrics_dir, '$$$$.pid')}"


def go_clean(path: str) -> str:
    """Go's path.Clean (the shortest equivalent path), which filepath.Join/Dir apply."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(segment)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def go_dir(path: str) -> str:
    """Go's filepath.Dir: everything before the last slash, cleaned."""
    return go_clean(path[: path.rfind("/") + 1])


def go_join(*elements: str) -> str:
    """Go's filepath.Join: the non-empty elements joined with slashes, cleaned."""
    kept = [e for e in elements if e]
    return go_clean("/".join(kept)) if kept else ""


def _container_index(containers: list[dict[str, Any]], name: str) -> int:
    for i, c in enumerate(containers):
        if c.get("name") == name:
            return i
    return -1


def _add_trial_name_env(container: dict[str, Any]) -> None:
    env: list[dict[str, Any]] = container.setdefault("env", [])
    if any(e.get("name") == TRIAL_NAME_ENV for e in env):
        return
    env.append(
        {
            "name": TRIAL_NAME_ENV,
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{TRIAL_LABEL}']"}},
        }
    )


def _collector_container(
    trial: Trial,
    mc: MetricsCollectorSpec,
    kind: str,
    config: KatibConfig,
    db_manager_address: str,
    earlystop_address: str | None,
    *,
    pod_containers: list[dict[str, Any]],
) -> dict[str, Any]:
    if kind == "Custom":
        custom = mc.collector.custom_collector if mc.collector else None
        if not custom:
            raise InjectionError("a Custom metrics collector needs collector.customCollector")
        return copy.deepcopy(custom)
    entry = config.metrics_collector(kind)
    if entry is None:
        raise InjectionError(
            f"katib-config has no runtime.metricsCollectors entry with an image for kind {kind}"
        )
    extra_args = list((entry.model_extra or {}).get("args") or [])
    container: dict[str, Any] = {
        "name": sidecar_container_name(kind),
        "image": entry.image,
        "command": list(entry.command or DEFAULT_COLLECTOR_COMMAND),
        "args": extra_args
        + metrics_collector_args(trial, mc, kind, entry, db_manager_address, earlystop_address),
    }
    if entry.image_pull_policy:
        container["imagePullPolicy"] = entry.image_pull_policy
    if entry.resources:
        container["resources"] = copy.deepcopy(entry.resources)
    if config.init.controller.inject_security_context and pod_containers:
        security_context = pod_containers[0].get("securityContext")
        if security_context is not None:
            container["securityContext"] = copy.deepcopy(security_context)
    return container
