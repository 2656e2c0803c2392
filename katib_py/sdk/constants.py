"""The constants of `kubeflow.katib.constants.constants` (same names, same values).

Katib's module also builds kubernetes-client objects for its LLM tune path
(STORAGE_INITIALIZER_VOLUME_MOUNT, ...); katib-py's SDK has no LLM path, so only the plain
values are kept.
"""

from __future__ import annotations

import os

# How long to wait in seconds for requests to the Kubernetes or gRPC API Server.
DEFAULT_TIMEOUT = 120

RFC3339_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Global CRD version (Katib lets EXPERIMENT_VERSION override it).
KATIB_VERSION = os.environ.get("EXPERIMENT_VERSION", "v1beta1")

KUBEFLOW_GROUP = "kubeflow.org"
API_VERSION = f"{KUBEFLOW_GROUP}/{KATIB_VERSION}"
EXPERIMENT_KIND = "Experiment"
EXPERIMENT_PLURAL = "experiments"
SUGGESTION_PLURAL = "suggestions"
TRIAL_PLURAL = "trials"

DEFAULT_PRIMARY_CONTAINER_NAME = "training-container"

# Label that ties a Trial (and its pods) to its Experiment.
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
# Label the pod webhook puts on every trial pod.
TRIAL_LABEL = "katib.kubeflow.org/trial"

CONDITION_STATUS_TRUE = "True"

EXPERIMENT_CONDITION_CREATED = "Created"
EXPERIMENT_CONDITION_RUNNING = "Running"
EXPERIMENT_CONDITION_RESTARTING = "Restarting"
EXPERIMENT_CONDITION_SUCCEEDED = "Succeeded"
EXPERIMENT_CONDITION_FAILED = "Failed"

TRIAL_CONDITION_SUCCEEDED = "Succeeded"

BASE_IMAGE_TENSORFLOW = "docker.io/tensorflow/tensorflow:2.13.0"
BASE_IMAGE_TENSORFLOW_GPU = "docker.io/tensorflow/tensorflow:2.13.0-gpu"
BASE_IMAGE_PYTORCH = "docker.io/pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime"
BASE_IMAGE_MXNET = "docker.io/mxnet/python:1.9.1_native_py3"

DEFAULT_DB_MANAGER_ADDRESS = "katib-db-manager.kubeflow:6789"

# Tune API values (the LLM path's PVC defaults are kept for name compatibility).
STORAGE_INITIALIZER = "storage-initializer"
PVC_DEFAULT_SIZE = "10Gi"
PVC_DEFAULT_ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany"]
STORAGE_INITIALIZER_IMAGE = "docker.io/kubeflow/storage-initializer"

# What tune() puts in the trial container (kubeflow-training's DEFAULT_COMMAND and entrypoints).
DEFAULT_COMMAND = ["bash", "-c"]
ENTRYPOINT_PYTHON = "python3 -u"
ENTRYPOINT_TORCH = "torchrun"
DEFAULT_PIP_INDEX_URL = "https://pypi.org/simple"

# PyTorchJob trials (tune() with TrainerResources).
PYTORCHJOB_API_VERSION = "kubeflow.org/v1"
PYTORCHJOB_KIND = "PyTorchJob"
PYTORCHJOB_CONTAINER = "pytorch"

# Sidecar whose log holds a StdOut trial's output.
METRICS_COLLECTOR_CONTAINER = "metrics-logger-and-collector"
ISTIO_SIDECAR_INJECTION = "sidecar.istio.io/inject"
