"""Image entry points on a node that pulls no images: a mapping from image to command, and the
admission check for a container that gives neither.

A container runtime runs an image's ENTRYPOINT when the container has no `command` (with the
container's `args`, else the image's CMD). The embedded kubelet cannot read an image, so the node
is given the entry points it should use (`katib-py up --image-command IMAGE=COMMAND`; Katib's own
suggestion and collector images are mapped to katib-py's services by default). An image matches
by its full reference first, then by its repository (the reference without tag or digest), so
`ghcr.io/kubeflow/katib/suggestion-hyperband:v0.17.0` matches a mapping of
`ghcr.io/kubeflow/katib/suggestion-hyperband`.

A container with no command, no args and no mapping cannot start at all. A Pod that is not
restarted for ever (restartPolicy Never or OnFailure: a Job's, a trial's) is rejected at admission
(phase Failed, reason `UnknownImageEntrypoint`, a message naming the container, the image and the
fix), so its controller counts a failure at once instead of a container retried until a timeout.
A restartPolicy Always Pod (a Deployment's) is admitted and its container fails to start
(StartError, CrashLoopBackOff), as on a node: failing it would make its controller replace it in
a tight loop. A container with args only keeps katib-py's rule: args[0] is the executable.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from katib_py.kube.meta import Obj

REASON_UNKNOWN_ENTRYPOINT = "UnknownImageEntrypoint"

ImageCommands = Mapping[str, tuple[str, ...]]


def image_repository(image: str) -> str:
    """The image reference without its digest and tag (`repo/name:tag@sha256:...` -> `repo/name`)."""
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def image_command(image: str, mapping: ImageCommands) -> tuple[str, ...] | None:
    """The entry point the node runs for `image`, if it has one."""
    return mapping.get(image) or mapping.get(image_repository(image)) or None


def parse_image_commands(items: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`IMAGE=COMMAND` settings (COMMAND split as a shell would); ValueError says which is wrong."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        image, sep, command = item.partition("=")
        image = image.strip()
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise ValueError(f"--image-command {item!r}: {exc}") from None
        if not sep or not image or not argv:
            raise ValueError(
                f"--image-command {item!r}: expected IMAGE=COMMAND, e.g. my/trainer=python3 /src/train.py"
            )
        out[image] = argv
    return out


def entrypoint_problem(pod: Obj, mapping: ImageCommands) -> str | None:
    """Why the Pod is rejected (a container with no command, no args and no mapped image in a Pod
    that is not restarted for ever), or None."""
    spec = pod.get("spec") or {}
    if spec.get("restartPolicy", "Always") == "Always":
        return None
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if container.get("command") or container.get("args"):
            continue
        image = str(container.get("image") or "")
        if image and image_command(image, mapping):
            continue
        repository = image_repository(image) or "IMAGE"
        return (
            f'container "{container.get("name")}" has no command, and image "{image}" has no entry point '
            "mapped on this node (the embedded kubelet runs commands, not images): give the container a "
            f"command, or map the image to one (katib-py up --image-command {repository}=COMMAND)"
        )
    return None
