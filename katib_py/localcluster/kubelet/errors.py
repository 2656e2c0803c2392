"""Why a container cannot be created: for now (a source to wait for) or for good (an invalid path).

The kubelet reports both as the container waiting with reason CreateContainerConfigError and the
error as its message (Kubernetes: pkg/kubelet/kuberuntime/kuberuntime_container.go,
ErrCreateContainerConfig). `retry` says whether waiting can help: a missing ConfigMap may be
created later; a path that leaves its volume is in the Pod's spec, which does not change.
"""

from __future__ import annotations

from typing import ClassVar


class ContainerConfigError(Exception):
    """The container's configuration cannot be turned into a process."""

    retry: ClassVar[bool] = False


class VolumeNotReady(ContainerConfigError):
    """A volume's or env var's source does not exist yet; the container waits (FailedMount)."""

    retry = True


class InvalidPath(ContainerConfigError):
    """A subPath or a projected file's path leaves its volume: the container can never start."""

    retry = False
