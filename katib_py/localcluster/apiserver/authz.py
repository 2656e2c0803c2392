"""The RBAC authorizer of the API server: rbac.py's pure decisions over the stored RBAC objects.

The policy index is rebuilt on the first request after any Role, ClusterRole, RoleBinding or
ClusterRoleBinding write (the store tells us), so a request costs a dict lookup and a few rule
matches, not a scan of the bindings.
"""

from __future__ import annotations

import copy
from typing import Any

from katib_py.kube import errors
from katib_py.kube.errors import ApiError

from . import rbac
from .auth import User
from .store import Store

Obj = dict[str, Any]
RBAC_KEYS = {
    f"{rbac.RBAC_GROUP}/{p}" for p in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
}
_GC_ONLY = (
    "ownerReferences",
    "finalizers",
    "resourceVersion",
    "managedFields",
    "generation",
    "deletionTimestamp",
)


class Authorizer:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._policy: rbac.Policy | None = None
        store.on_write.append(self._changed)

    def _changed(self, rkey: str) -> None:
        if rkey in RBAC_KEYS:
            self._policy = None

    @property
    def policy(self) -> rbac.Policy:
        if self._policy is None:
            g = rbac.RBAC_GROUP
            self._policy = rbac.Policy.build(
                self._store.list(f"{g}/clusterroles"),
                self._store.list(f"{g}/roles"),
                self._store.list(f"{g}/clusterrolebindings"),
                self._store.list(f"{g}/rolebindings"),
            )
        return self._policy

    def check(self, attrs: rbac.Attributes) -> rbac.Attributes:
        """`attrs` when RBAC allows them; raises kube's 403 otherwise."""
        if not self.policy.allows(attrs):
            raise rbac.forbidden(attrs)
        return attrs

    def allows(self, attrs: rbac.Attributes) -> bool:
        return self.policy.allows(attrs)

    def check_escalation(
        self,
        user: User,
        plural: str,
        namespace: str,
        name: str,
        obj: Obj | None,
        old: Obj | None,
    ) -> ApiError | None:
        """The escalation check of kube's RBAC storages, for a create or an update of an RBAC object."""
        if obj is None or plural not in ("roles", "clusterroles", "rolebindings", "clusterrolebindings"):
            return None
        if old is not None and _only_gc_fields(obj, old):
            return None  # rbacregistry.IsOnlyMutatingGCFields: the garbage collector must get through
        return rbac.escalation_problem(self.policy, user.username, user.groups, plural, namespace, name, obj)

    def review(self, user: User, body: object) -> Obj:
        """A SelfSubjectAccessReview answered for the requester
        (pkg/registry/authorization/selfsubjectaccessreview/rest.go)."""
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, dict) or not (
            spec.get("resourceAttributes") or spec.get("nonResourceAttributes")
        ):
            raise errors.invalid(
                "SelfSubjectAccessReview",
                "authorization.k8s.io",
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "spec.resourceAttributes",
                        "message": "Required value: exactly one of nonResourceAttributes or "
                        "resourceAttributes must be specified",
                    }
                ],
            )
        attrs = rbac.review_attributes(user.username, user.groups, spec)
        allowed = self.policy.allows(attrs)
        out: Obj = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {"allowed": allowed},
        }
        if allowed:
            out["status"]["reason"] = "RBAC: allowed"
        return out

    def bootstrap_objects(self) -> list[tuple[str, Obj]]:
        """The built-in roles and bindings missing from the store (created at start, as kube does)."""
        return [
            (plural, copy.deepcopy(obj))
            for plural, obj in rbac.BOOTSTRAP
            if self._store.get(f"{rbac.RBAC_GROUP}/{plural}", "", obj["metadata"]["name"]) is None
        ]


def _only_gc_fields(obj: Obj, old: Obj) -> bool:
    def strip(o: Obj) -> Obj:
        meta = {k: v for k, v in (o.get("metadata") or {}).items() if k not in _GC_ONLY}
        return {**o, "metadata": meta}

    return strip(obj) == strip(old)
