"""Does a Pod fit on the node? The scheduler's NodeResourcesFit filter, for extended resources: pure.

The node advertises extended resources (`nvidia.com/gpu: 1`, set with `katib-py up
--node-resource`) in its capacity and allocatable; a Pod that asks for more of one than is left
once the other Pods bound here are counted stays Pending, unbound, with PodScheduled=False
(Unschedulable) and a FailedScheduling event worded as kube-scheduler words them
(pkg/scheduler/framework/plugins/noderesources/fit.go; the Pod's request is the larger of its
app containers' sum, native sidecars included, and its largest init container:
pkg/api/v1/resource/helpers.go PodRequests). A request for a resource the node does not
advertise at all is unschedulable the same way.

Only extended resources are accounted (names with a domain, `example.com/foo`, outside
`kubernetes.io/`): the node's cpu and memory are the host's, shared with everything else on it,
and Katib's examples ask for more cpu than a laptop has, so those requests are not enforced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from katib_py.kube.meta import Obj

UNSCHEDULABLE = "Unschedulable"
NATIVE_PREFIXES = ("kubernetes.io/", "requests.")  # not extended resources
_SUFFIXES = {
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "k": Decimal(1000),
    "M": Decimal(1000**2),
    "G": Decimal(1000**3),
    "T": Decimal(1000**4),
    "m": Decimal("0.001"),
}


def quantity(text: object) -> Decimal:
    """A resource quantity (`1`, `500m`, `2Gi`) as a number; ValueError when it is not one."""
    value = str(text).strip()
    for suffix, factor in _SUFFIXES.items():
        if value.endswith(suffix) and value != suffix:
            try:
                return Decimal(value[: -len(suffix)]) * factor
            except InvalidOperation:
                break
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a resource quantity") from None


def is_extended(name: str) -> bool:
    """An extended resource: a domain-qualified name outside kubernetes.io (`nvidia.com/gpu`)."""
    return "/" in name and not name.startswith(NATIVE_PREFIXES)


def parse_node_resources(items: Iterable[str]) -> dict[str, str]:
    """`NAME=QUANTITY` settings (`nvidia.com/gpu=1`) checked: ValueError says which one is wrong."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, amount = item.partition("=")
        name, amount = name.strip(), amount.strip()
        if not sep or not name or not amount:
            raise ValueError(f"--node-resource {item!r}: expected NAME=QUANTITY, e.g. nvidia.com/gpu=1")
        if not is_extended(name):
            raise ValueError(
                f"--node-resource {item!r}: {name!r} is not an extended resource "
                "(a domain-qualified name such as nvidia.com/gpu)"
            )
        if quantity(amount) < 0:
            raise ValueError(f"--node-resource {item!r}: the quantity must not be negative")
        out[name] = amount
    return out


def _container_requests(container: Obj) -> dict[str, Decimal]:
    resources = container.get("resources") or {}
    # An extended resource's request equals its limit; a limit alone stands for both.
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return {k: quantity(v) for k, v in merged.items() if is_extended(str(k))}


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """The extended resources a Pod holds while it runs."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}
    sidecars: dict[str, Decimal] = {}
    for c in spec.get("initContainers") or []:
        req = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            for k, v in req.items():
                sidecars[k] = sidecars.get(k, Decimal(0)) + v
            continue
        for k, v in req.items():
            init_peak[k] = max(init_peak.get(k, Decimal(0)), v + sidecars.get(k, Decimal(0)))
    for c in spec.get("containers") or []:
        for k, v in _container_requests(c).items():
            total[k] = total.get(k, Decimal(0)) + v
    for k, v in sidecars.items():
        total[k] = total.get(k, Decimal(0)) + v
    return {k: max(total.get(k, Decimal(0)), init_peak.get(k, Decimal(0))) for k in {*total, *init_peak}}


def holds_resources(pod: Obj) -> bool:
    """A Pod bound here that has not ended holds what it requested."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def unschedulable_message(pod: Obj, allocatable: Mapping[str, str], bound: Sequence[Obj]) -> str | None:
    """None when `pod` fits next to the `bound` Pods; else kube-scheduler's FailedScheduling message."""
    wanted = {k: v for k, v in pod_requests(pod).items() if v > 0}
    if not wanted:
        return None
    used: dict[str, Decimal] = {}
    for other in bound:
        if holds_resources(other):
            for k, v in pod_requests(other).items():
                used[k] = used.get(k, Decimal(0)) + v
    short = sorted(
        name
        for name, amount in wanted.items()
        if amount + used.get(name, Decimal(0)) > quantity(allocatable.get(name, "0"))
    )
    if not short:
        return None
    reasons = ", ".join(f"1 Insufficient {name}" for name in short)
    return (
        f"0/1 nodes are available: {reasons}. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."
    )
