"""What to run for a container, decided in one pure function: `launch_spec(...) -> LaunchSpec`.

The kubelet's container-config step (Kubernetes: pkg/kubelet/kuberuntime/kuberuntime_container.go
generateContainerConfig; pkg/kubelet/kubelet_pods.go makeMounts, makeEnvironmentVariables): the
argv is `command + args`, each `$(VAR)`-expanded against the final environment; the environment
comes from `env.container_env`; the working directory is `workingDir`; the mounts are the
container's volumeMounts (a `subPath` selects a path inside its volume), the ServiceAccount
directory unless a volume already covers its path, the Pod's /etc/hosts and, in a mount namespace,
the file behind `terminationMessagePath`. Without namespaces (not root, not Linux) the ServiceAccount
path cannot be private: the container gets KUBECONFIG instead, and its other volumes are exposed
by symlinks at their mountPath (`LaunchSpec.links`).

Images are not pulled: the command runs on the host, as given; a container without a command runs
the entry point the node maps its image to (images.py), followed by its args. The runtime (runtime.py) fetches
the ConfigMaps and Secrets the environment names, calls `launch_spec`, prepares what the spec
names on disk, and hands `LaunchSpec.launcher_config()` to launcher.py.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from katib_py.kube.meta import Obj

from .env import SourceRef, container_env
from .errors import InvalidPath
from .expansion import expand_all
from .images import ImageCommands, image_command

SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
HOSTS_PATH = "/etc/hosts"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"  # the default terminationMessagePath


@dataclass(frozen=True)
class Mount:
    """A host path bind-mounted at `target` in the container's mount namespace."""

    source: str
    target: str
    read_only: bool = False
    volume: str | None = None  # a subPath mount: the volume directory `source` must stay inside


@dataclass(frozen=True)
class Sandbox:
    """What the Pod's sandbox gives each of its containers."""

    dir: Path
    volumes: Mapping[str, Path]  # volume name -> host path
    hosts_file: Path
    sa_dir: Path | None  # the ServiceAccount token directory, when automounted
    isolate: bool  # mount (and PID) namespaces are available
    pidns_pid: int | None  # the pause process holding a shared PID namespace
    host_env: Mapping[str, str]  # PATH and HOME, as an image would set them
    base_env: Mapping[str, str]  # the API service variables and the node's extras
    keep_visible: tuple[str, ...] = ()  # host paths a volume must not hide (the Python install)
    hide: tuple[str, ...] = ()  # host directories no container may see (the node's data directory)
    image_commands: ImageCommands = field(default_factory=dict)  # the node's image entry points
    netns: str | None = None  # the Pod's network namespace (a /run/netns path), None: the host's


# containerd's and CRI-O's default capability set for a container (kube adds/drops from it).
DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
    "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)  # fmt: skip


@dataclass(frozen=True)
class Identity:
    """Who the container's process runs as (securityContext; the container's wins over the Pod's).

    `uid`/`gid` None: as the kubelet (an image's default user is not known here). `capabilities`
    None: every capability (privileged).
    """

    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] = ()
    capabilities: tuple[str, ...] | None = DEFAULT_CAPABILITIES
    no_new_privs: bool = False

    def config(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "gid": self.gid,
            "groups": list(self.groups),
            "capabilities": None if self.capabilities is None else list(self.capabilities),
            "no_new_privs": self.no_new_privs,
        }


def identity(pod: Obj, container: Obj) -> Identity:
    """The container's user, groups and capabilities, as the kubelet and runtime decide them
    (pkg/kubelet/kuberuntime/security_context.go determineEffectiveSecurityContext; the
    capability arithmetic is containerd's: drop ALL, else the defaults, then add)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def pick(key: str) -> int | None:
        value = sc.get(key, pod_sc.get(key))
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    uid, gid, fs_group = pick("runAsUser"), pick("runAsGroup"), pick("fsGroup")
    if uid is not None and gid is None:
        gid = 0 if uid == 0 else uid  # no image /etc/passwd to read the primary group from
    groups = [g for g in pod_sc.get("supplementalGroups") or [] if isinstance(g, int)]
    if fs_group is not None:
        groups.append(fs_group)
    caps_sc = sc.get("capabilities") or {}
    add = [str(c).upper().removeprefix("CAP_") for c in caps_sc.get("add") or []]
    drop = [str(c).upper().removeprefix("CAP_") for c in caps_sc.get("drop") or []]
    capabilities: tuple[str, ...] | None
    if sc.get("privileged") or "ALL" in add:
        capabilities = None
    else:
        base = [] if "ALL" in drop else [c for c in DEFAULT_CAPABILITIES if c not in drop]
        capabilities = tuple(dict.fromkeys([*base, *add]))
    return Identity(
        uid=uid,
        gid=gid,
        groups=tuple(dict.fromkeys(groups)),
        capabilities=capabilities,
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
    )


@dataclass(frozen=True)
class LaunchSpec:
    """One container process, fully decided: what launcher.py runs and what it mounts."""

    name: str
    argv: tuple[str, ...]
    termination_file: Path  # the host file behind terminationMessagePath
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    mounts: tuple[Mount, ...] = ()
    isolate: bool = False
    pidns_pid: int | None = None
    join_pid: int | None = None  # exec into the mount (and PID) namespace of this process
    scratch: str = ""
    keep_visible: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    user: Identity = field(default_factory=Identity)
    netns: str | None = None  # join this network namespace first (the Pod's)

    @property
    def links(self) -> tuple[Mount, ...]:
        """Without isolation: the volumes to expose by a symlink at their mountPath."""
        if self.isolate:
            return ()
        return tuple(m for m in self.mounts if m.target not in (SA_MOUNT_PATH, HOSTS_PATH))

    def launcher_config(self, error_fd: int, parent_pid: int = 0) -> dict[str, Any]:
        """The JSON document launcher.py reads (`error_fd`: the pipe its exec errors go to;
        `parent_pid`: the kubelet, with which the container dies)."""
        config: dict[str, Any] = {
            "argv": list(self.argv),
            "env": dict(self.env),
            "cwd": self.cwd,
            "mounts": [
                {"source": m.source, "target": m.target, "readOnly": m.read_only} for m in self.mounts
            ],
            "isolate": self.isolate,
            "pidns_pid": self.pidns_pid,
            "mount_proc": bool(self.pidns_pid),
            "scratch": self.scratch,
            "keep_visible": list(self.keep_visible),
            "hide": list(self.hide),
            "user": self.user.config() if self.isolate or self.join_pid else None,
            "parent_pid": parent_pid,
            "error_fd": error_fd,
            "netns": self.netns,
        }
        if self.join_pid:
            config["join_mnt_pid"] = self.join_pid
        return config


def path_problem(path: str) -> str | None:
    """Why `path` cannot name a place inside a volume, else None: it is absolute, or has a '..'.

    Kubernetes refuses both for a subPath (pkg/kubelet/kubelet_pods.go makeMounts,
    ValidatePathNoBacksteps) and for a projected file (pkg/volume/util/atomic_writer.go); symlinks
    are checked where the path meets the disk (volumes.is_within).
    """
    if posixpath.isabs(path):
        return "must be a relative path"
    if ".." in path.split("/"):
        return "must not contain '..'"
    return None


def volume_mounts(container: Obj, volumes: Mapping[str, Path]) -> list[Mount]:
    """The container's volumeMounts as host mounts; InvalidPath for a subPath that leaves its volume."""
    mounts: list[Mount] = []
    for vm in container.get("volumeMounts") or []:
        source = volumes.get(vm.get("name", ""))
        if source is None:
            continue
        read_only = bool(vm.get("readOnly"))
        sub = vm.get("subPath") or ""
        if not sub:
            mounts.append(Mount(str(source), vm["mountPath"], read_only))
            continue
        problem = path_problem(sub)
        if problem:
            raise InvalidPath(
                f'failed to prepare subPath for volumeMount "{vm.get("name")}" of container '
                f'"{container.get("name")}": subPath "{sub}" {problem}'
            )
        mounts.append(Mount(str(source / sub), vm["mountPath"], read_only, volume=str(source)))
    return mounts


def launch_spec(
    pod: Obj, container: Obj, sandbox: Sandbox, sources: Mapping[SourceRef, Obj | None]
) -> LaunchSpec:
    """What to run for `container` of `pod` (as the downward API sees it).

    Raises VolumeNotReady while a required ConfigMap/Secret is missing from `sources`, and
    InvalidPath for a subPath that is absolute or has a '..'.
    """
    name = str(container["name"])
    user = identity(pod, container)
    host_env = dict(sandbox.host_env)
    if sandbox.isolate and user.uid:
        host_env["HOME"] = "/"  # as a runtime does for a user without a home in the image
    env = container_env(pod, container, sources, host=host_env, base=sandbox.base_env)
    argv = expand_all([*(container.get("command") or []), *(container.get("args") or [])], env)
    if not container.get("command"):
        argv = [*(image_command(str(container.get("image") or ""), sandbox.image_commands) or ()), *argv]
    mounts = volume_mounts(container, sandbox.volumes)
    if sandbox.sa_dir is not None and all(m.target != SA_MOUNT_PATH for m in mounts):
        mounts.append(Mount(str(sandbox.sa_dir), SA_MOUNT_PATH, read_only=True))
    mounts.append(Mount(str(sandbox.hosts_file), HOSTS_PATH))
    termination_file = sandbox.dir / "termination" / name
    if sandbox.isolate:
        target = container.get("terminationMessagePath") or TERMINATION_MESSAGE_PATH
        mounts.append(Mount(str(termination_file), target))
    elif sandbox.sa_dir is not None:
        # No mount namespace: in-cluster clients find the API through a kubeconfig instead.
        env.setdefault("KUBECONFIG", str(sandbox.sa_dir / "kubeconfig"))
    return LaunchSpec(
        name=name,
        argv=tuple(argv),
        env=env,
        cwd=container.get("workingDir") or "",
        mounts=tuple(mounts),
        termination_file=termination_file,
        isolate=sandbox.isolate,
        pidns_pid=sandbox.pidns_pid,
        scratch=str(sandbox.dir / "scratch"),
        keep_visible=sandbox.keep_visible,
        hide=sandbox.hide if sandbox.isolate else (),
        user=user,
        netns=sandbox.netns,
    )


def exec_spec(container: LaunchSpec, command: Sequence[str], container_pid: int | None) -> LaunchSpec:
    """An exec probe's command, run in the container's namespaces (once its process is known)."""
    join = container_pid if container.isolate else None
    return replace(
        container,
        argv=tuple(expand_all(list(command), container.env)),
        mounts=(),
        isolate=False,
        pidns_pid=container.pidns_pid if join else None,
        join_pid=join,
    )
