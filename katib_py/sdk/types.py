"""`TrainerResources` of `kubeflow.katib.types`: tune() runs each trial as a PyTorchJob with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrainerResources:
    """Workers of a PyTorchJob trial: how many, processes per worker, and resources of each."""

    num_workers: int
    num_procs_per_worker: int
    resources_per_worker: dict[str, Any] | Any
