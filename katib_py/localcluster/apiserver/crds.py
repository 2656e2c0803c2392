"""What a CustomResourceDefinition change does to the served resources, and the status it gets: pure.

`crd_sync(crd, deleted)` says which resources the CRD serves now (one per served version, the
storage version first; nothing once deleted) and, for a deleted CRD, which stored objects go
with it. objects.py applies it to the registry and the store after each CRD write.
`accepted_status(crd, now)` is what the apiextensions controllers write: NamesAccepted and
Established true, acceptedNames from spec.names (singular and listKind defaulted), storedVersions
(Kubernetes: k8s.io/apiextensions-apiserver/pkg/controller/status/naming_controller.go,
pkg/controller/establish/establishing_controller.go, pkg/apiserver/customresource_handler.go).

Differences: a deleted CRD's objects go at once (Kubernetes first lists and deletes them through the
`customresourcecleanup.apiextensions.k8s.io` finalizer), and storedVersions is the current storage
version only (Kubernetes keeps older ones until they are removed by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import ResourceInfo, infos_from_crd, storage_key

Obj = dict[str, Any]

NAMES_ACCEPTED = ("NamesAccepted", "NoConflicts", "no conflicts found")
ESTABLISHED = ("Established", "InitialNamesAccepted", "the initial names have been accepted")


@dataclass(frozen=True)
class CrdSync:
    """The registry and store after a CRD write: serve `serve` (replacing the CRD's), drop `drop`."""

    serve: tuple[ResourceInfo, ...]
    drop: str | None  # the storage key whose objects are deleted with the CRD


def crd_sync(crd: Obj, deleted: bool) -> CrdSync:
    """What writing (or deleting) `crd` does to the served resources and the stored objects."""
    if not deleted:
        return CrdSync(tuple(infos_from_crd(crd)), None)
    spec = crd.get("spec") or {}
    kind = ResourceInfo(
        group=spec.get("group", ""),
        version="",
        plural=(spec.get("names") or {}).get("plural", ""),
        kind=(spec.get("names") or {}).get("kind", ""),
        builtin=False,
    )
    return CrdSync((), storage_key(kind))


def accepted_status(crd: Obj, now: str) -> Obj:
    """The CRD's status once its names are accepted and it is established.

    A condition keeps its lastTransitionTime while its status does not change, so writing an
    unchanged CRD again changes nothing.
    """
    status = dict(crd.get("status") or {})
    names = (crd.get("spec") or {}).get("names") or {}
    accepted = dict(names)
    accepted.setdefault("singular", str(names.get("kind", "")).lower())
    accepted.setdefault("listKind", f"{names.get('kind', '')}List")
    status["acceptedNames"] = accepted
    previous = {c.get("type"): c for c in status.get("conditions") or []}
    conditions = []
    for ctype, reason, message in (NAMES_ACCEPTED, ESTABLISHED):
        before = previous.get(ctype) or {}
        since = before.get("lastTransitionTime") if before.get("status") == "True" else None
        conditions.append(
            {
                "type": ctype,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": since or now,
            }
        )
    status["conditions"] = conditions
    status["storedVersions"] = [
        v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")
    ]
    return status
