"""Object semantics: create, update, patch and delete with everything kube-apiserver adds.

Server-set fields, optimistic concurrency, generation, the status split, CRD schemas,
finalizers and deletionTimestamp, graceful Pod deletion, namespace lifecycle, admission and
the etcd size limit all happen here; handlers.py only translates HTTP. How a DELETE is decided
(preconditions, propagation finalizers, grace periods, when a marked object goes) is in
deletion.py, and what a CRD serves and the status it gets in crds.py, both pure; this module
applies their decisions to the store, the registry and the watch hub.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from katib_py.kube import errors
from katib_py.kube.errors import Forbidden, api_error
from katib_py.kube.meta import random_suffix
from katib_py.kube.rfc3339 import now_time

from . import crds, defaults, deletion, limits, patching, schema, validation
from .admission import AdmissionChain, AdmissionRequest, check_match_conditions
from .auth import Authenticator, User
from .registry import Registry, ResourceInfo, storage_key
from .store import Store
from .watch import Change, WatchHub

Obj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


@dataclass
class WriteOptions:
    user: User
    dry_run: bool = False
    strict: bool = False
    field_manager: str = ""
    ignore_unknown: bool = False


@dataclass
class Result:
    obj: Obj
    code: int
    warnings: list[str]
    dry_run: bool = False


def _spec_view(obj: Obj, has_status: bool) -> Obj:
    return {k: v for k, v in obj.items() if k != "metadata" and not (has_status and k == "status")}


class KeyedLocks:
    """One asyncio.Lock per object key, so read-modify-write spans admission awaits safely."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class ObjectService:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        hub: WatchHub,
        auth: Authenticator,
        admission: AdmissionChain,
        on_registry_change: Callable[[], None],
    ) -> None:
        self.store = store
        self.registry = registry
        self.hub = hub
        self.auth = auth
        self.admission = admission
        self._on_registry_change = on_registry_change
        self._locks = KeyedLocks()

    # ---- helpers ----

    def rkey(self, info: ResourceInfo) -> str:
        return storage_key(info)

    def get(self, info: ResourceInfo, ns: str, name: str) -> Obj:
        obj = self.store.get(self.rkey(info), ns, name)
        if obj is None:
            raise errors.not_found(info.plural, info.group, name)
        return obj

    def _write(self, info: ResourceInfo, obj: Obj, old: Obj | None, event: str) -> Obj:
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.store.next_rv())  # a refused write leaves a harmless gap
        ns = meta.get("namespace", "") if info.namespaced else ""
        rkey = self.rkey(info)
        before = self.store.text(rkey, ns, meta["name"]) or ""
        if event == "DELETED":
            self.store.delete(rkey, ns, meta["name"])
            size = 2 * len(before)
        else:
            text = json.dumps(obj, separators=(",", ":"))
            limits.check_object_size(text)
            self.store.put(rkey, ns, meta["name"], obj, text)
            size = len(text) + len(before)
        # committed: from here on nothing may fail the request (publish never raises)
        self.hub.publish(Change(int(meta["resourceVersion"]), event, rkey, ns, obj, old, size))
        self._after_write(info, obj, event)
        return obj

    def _after_write(self, info: ResourceInfo, obj: Obj, event: str) -> None:
        if info.group == "" and info.plural == "secrets":
            self.auth.note_secret(obj, deleted=event == "DELETED")
        elif info.group == "apiextensions.k8s.io" and info.plural == "customresourcedefinitions":
            self._sync_crd(obj, deleted=event == "DELETED")

    def _sync_crd(self, crd: Obj, deleted: bool) -> None:
        change = crds.crd_sync(crd, deleted)
        self.registry.remove_crd(crd["metadata"]["name"])
        for info in change.serve:
            self.registry.add(info)
        if change.drop is not None:
            for gone in self.store.drop_all(change.drop):
                rv = self.store.next_rv()
                gone = {**gone, "metadata": {**gone["metadata"], "resourceVersion": str(rv)}}
                self.store.persist_rv()
                namespace = gone["metadata"].get("namespace", "")
                size = len(json.dumps(gone, separators=(",", ":")))
                self.hub.publish(Change(rv, "DELETED", change.drop, namespace, gone, None, size))
        self._on_registry_change()

    def load_crds(self) -> None:
        for crd in self.store.list("apiextensions.k8s.io/customresourcedefinitions"):
            for info in crds.crd_sync(crd, deleted=False).serve:
                self.registry.add(info)

    def _check_namespace(self, info: ResourceInfo, ns: str, name: str) -> None:
        if not info.namespaced:
            return
        ns_obj = self.store.get("core/namespaces", "", ns)
        if ns_obj is None:
            raise errors.not_found("namespaces", "", ns)
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise Forbidden(
                f'{info.plural}{"." + info.group if info.group else ""} "{name}" is forbidden: '
                f"unable to create new content in namespace {ns} because it is being terminated",
                details={
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {ns} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ]
                },
            )

    def _apply_schema(self, info: ResourceInfo, obj: Obj, opts: WriteOptions) -> list[str]:
        if info.builtin or not info.schema:
            return []
        result = schema.process(obj, info.schema)
        name = obj.get("metadata", {}).get("name", "")
        if result.unknown and opts.strict:
            msgs = [f'unknown field "{p}"' for p in result.unknown]
            raise api_error(
                400,
                f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: '
                f"strict decoding error: {', '.join(msgs)}",
                "BadRequest",
            )
        if result.causes:
            raise errors.invalid(info.kind, info.group, name, result.causes)
        return [] if opts.ignore_unknown else [f'unknown field "{p}"' for p in result.unknown]

    def _validate_meta(self, info: ResourceInfo, obj: Obj) -> None:
        """Types (again: a mutating webhook may have changed them), then kube's metadata rules."""
        type_error = validation.type_error(info, obj)
        if type_error is not None:
            raise errors.bad_request(type_error)
        meta = obj["metadata"]
        name = str(meta.get("name") or "")
        causes = validation.meta_causes(info, meta)
        if causes:
            raise errors.invalid(info.kind, info.group, name, causes)
        if info.group == "admissionregistration.k8s.io":
            problems = check_match_conditions(obj)
            if problems:
                raise errors.invalid(
                    info.kind,
                    info.group,
                    name,
                    [{"reason": "FieldValueInvalid", "field": "", "message": p} for p in problems],
                )

    def _normalize_body(self, info: ResourceInfo, body: Any, ns: str, owned: bool = False) -> Obj:
        """The body checked and normalised; copied first unless `owned` (a PATCH's result, built
        from a copy: copying it again was a tenth of the API server's time)."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        type_error = validation.type_error(info, body)
        if type_error is not None:
            raise errors.bad_request(type_error)
        obj = body if owned else copy.deepcopy(body)
        validation.drop_nulls(info, obj)
        if info.group == "events.k8s.io":
            obj = defaults.event_to_core(obj)
            expected = "v1"
        else:
            expected = info.api_version
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != expected and info.group != "events.k8s.io":
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.api_version})"
            )
        if kind and kind != info.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        obj["apiVersion"] = expected
        obj["kind"] = info.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        meta.pop("managedFields", None)
        if info.group == "" and info.plural == "secrets" and isinstance(obj.get("stringData"), dict):
            # the API folds stringData into data, as the v1 -> internal conversion does
            obj.setdefault("data", {}).update(
                {k: base64.b64encode(str(v).encode()).decode() for k, v in obj.pop("stringData").items()}
            )
        if info.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and ns and body_ns != ns:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns or body_ns or "default"
        else:
            meta.pop("namespace", None)
        return obj

    # ---- create ----

    async def create(self, info: ResourceInfo, ns: str, body: Any, opts: WriteOptions) -> Result:
        obj = self._normalize_body(info, body, ns)
        meta = obj["metadata"]
        if not meta.get("name") and not meta.get("generateName"):
            raise errors.invalid(
                info.kind,
                info.group,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "metadata.name",
                        "message": "Required value: name or generateName is required",
                    }
                ],
            )
        ns = meta.get("namespace", "")
        self._check_namespace(info, ns, meta.get("name") or meta.get("generateName", ""))
        for key in (*_SERVER_META, "resourceVersion", "selfLink"):
            meta.pop(key, None)
        warnings = self._apply_schema(info, obj, opts)
        mutated = await self._admit(
            info, "", "CREATE", ns, meta.get("name", ""), obj, None, opts, mutating_only=True
        )
        if mutated is not obj:
            obj = mutated
            self._apply_schema(info, obj, opts)
        meta = obj["metadata"]
        if not meta.get("name"):
            rkey = self.rkey(info)
            for _ in range(10):
                candidate = meta["generateName"] + random_suffix()
                if self.store.get(rkey, ns, candidate) is None:
                    break
            meta["name"] = candidate
        self._validate_meta(info, obj)
        uid = str(uuid.uuid4())
        meta["uid"] = uid
        meta["creationTimestamp"] = now_time()
        meta["generation"] = 1
        defaults.on_create(info, obj, uid)
        if info.group == "apiextensions.k8s.io":
            obj["status"] = crds.accepted_status({**obj, "status": {}}, now_time())
        await self._admit(info, "", "CREATE", ns, meta["name"], obj, None, opts, validating_only=True)
        # no await between this check and the write: two creates of one name cannot both pass
        if self.store.get(self.rkey(info), ns if info.namespaced else "", meta["name"]) is not None:
            raise errors.already_exists(info.plural, info.group, meta["name"])
        if opts.dry_run:
            limits.check_object_size(json.dumps(obj))
            return Result(obj, 201, warnings)
        self._write(info, obj, None, "ADDED")
        if info.group == "" and info.plural == "namespaces":
            await self._default_service_account(meta["name"])
        return Result(obj, 201, warnings)

    async def _default_service_account(self, ns: str) -> None:
        """The ServiceAccount controller's job in kube: every namespace gets `default`."""
        info = self.registry.get("", "v1", "serviceaccounts")
        if info is None or self.store.get("core/serviceaccounts", ns, "default") is not None:
            return
        sa = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "default",
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now_time(),
            },
        }
        self._write(info, sa, None, "ADDED")

    async def _admit(
        self,
        info: ResourceInfo,
        sub: str,
        op: str,
        ns: str,
        name: str,
        obj: Obj | None,
        old: Obj | None,
        opts: WriteOptions,
        mutating_only: bool = False,
        validating_only: bool = False,
    ) -> Obj:
        req = AdmissionRequest(
            info, sub, op, ns if info.namespaced else "", name, obj, old, opts.user, opts.dry_run
        )
        result = await self.admission.admit(req, mutate=not validating_only, validate=not mutating_only)
        return result if result is not None else (obj or {})

    # ---- update / patch ----

    async def update(
        self, info: ResourceInfo, ns: str, name: str, body: Any, sub: str, opts: WriteOptions
    ) -> Result:
        async with self._locks.hold(self._key(info, ns, name)):
            return await self._update(info, ns, name, body, sub, opts)

    async def patch(
        self, info: ResourceInfo, ns: str, name: str, ctype: str, body: Any, sub: str, opts: WriteOptions
    ) -> Result:
        async with self._locks.hold(self._key(info, ns, name)):
            return await self._patch(info, ns, name, ctype, body, sub, opts)

    async def delete(
        self, info: ResourceInfo, ns: str, name: str, options: Obj, opts: WriteOptions
    ) -> Result:
        async with self._locks.hold(self._key(info, ns, name)):
            return await self._delete(info, ns, name, options, opts)

    def _key(self, info: ResourceInfo, ns: str, name: str) -> str:
        return f"{self.rkey(info)}/{ns if info.namespaced else ''}/{name}"

    async def _update(
        self,
        info: ResourceInfo,
        ns: str,
        name: str,
        body: Any,
        sub: str,
        opts: WriteOptions,
        precondition: bool = True,
        owned: bool = False,
    ) -> Result:
        old = self.get(info, ns, name)
        new = self._normalize_body(info, body, ns, owned)
        meta = new["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        rv = meta.get("resourceVersion")
        if precondition and rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(
                info.plural,
                info.group,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        return await self._replace(info, ns, name, old, new, sub, opts)

    async def _replace(
        self, info: ResourceInfo, ns: str, name: str, old: Obj, new: Obj, sub: str, opts: WriteOptions
    ) -> Result:
        if sub == "status":
            status = new.get("status")
            new = {k: copy.deepcopy(v) for k, v in old.items() if k != "status"}  # the old status goes
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif sub == "finalize":
            finalizers = (new.get("spec") or {}).get("finalizers") or []
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = finalizers
        elif info.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta, old_meta = new["metadata"], old["metadata"]
        for key in _SERVER_META:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if info.namespaced:
            meta["namespace"] = old_meta.get("namespace")
        if info.group == "" and info.plural == "namespaces" and sub != "status":
            new["status"] = copy.deepcopy(old.get("status", {}))
        if info.group == "apiextensions.k8s.io":
            new["status"] = copy.deepcopy(old.get("status", {}))
        warnings = self._apply_schema(info, new, opts)
        deletion.check_no_new_finalizers(info, old, new)
        mutated = await self._admit(info, sub, "UPDATE", ns, name, new, old, opts, mutating_only=True)
        if mutated is not new:
            new = mutated
            meta = new["metadata"]
            self._apply_schema(info, new, opts)
        if _spec_view(new, info.has_status) != _spec_view(old, info.has_status):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if info.group == "apiextensions.k8s.io":
            new["status"] = crds.accepted_status(new, now_time())
        self._validate_meta(info, new)
        await self._admit(info, sub, "UPDATE", ns, name, new, old, opts, validating_only=True)
        if new == old:
            return Result(old, 200, warnings)
        if opts.dry_run:
            return Result(new, 200, warnings)
        if old_meta.get("deletionTimestamp") and deletion.may_vanish(info, new):
            self._write(info, new, old, "DELETED")
            return Result(new, 200, warnings)
        self._write(info, new, old, "MODIFIED")
        return Result(new, 200, warnings)

    async def _patch(
        self, info: ResourceInfo, ns: str, name: str, ctype: str, body: Any, sub: str, opts: WriteOptions
    ) -> Result:
        if ctype == STRATEGIC_PATCH and not info.builtin:
            raise api_error(
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
                "UnsupportedMediaType",
            )
        current = self.store.get(self.rkey(info), ns, name)
        if current is None:
            if ctype == APPLY_PATCH and sub == "":
                return await self.create(info, ns, body, opts)
            raise errors.not_found(info.plural, info.group, name)
        base = copy.deepcopy(current)
        if info.group == "events.k8s.io":
            base = defaults.event_from_core(base)
        if ctype == JSON_PATCH:
            patched = patching.json_patch(base, body)
        elif ctype == MERGE_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("merge patch body must be a JSON object")
            patched = patching.merge_patch(base, body)
        elif ctype == STRATEGIC_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("strategic merge patch body must be a JSON object")
            patched = patching.strategic_merge(base, body, info.kind)
        elif ctype == APPLY_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("apply patch body must be an object")
            body = {k: v for k, v in body.items() if k != "status"} if sub == "" and info.has_status else body
            patched = (
                patching.strategic_merge(base, body, info.kind)
                if info.builtin
                else patching.merge_patch(base, body)
            )
        else:
            raise api_error(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}"
                f"{', ' + STRATEGIC_PATCH if info.builtin else ''}",
                "UnsupportedMediaType",
            )
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        meta = patched.setdefault("metadata", {})
        # metadata patched into a non-object is refused by the update's type check (a 400)
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(
                info.plural,
                info.group,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        return await self._update(info, ns, name, patched, sub, opts, precondition=False, owned=True)

    # ---- delete ----

    async def _delete(
        self, info: ResourceInfo, ns: str, name: str, options: Obj, opts: WriteOptions
    ) -> Result:
        current = self.get(info, ns, name)
        deletion.check_preconditions(info, current, options)
        await self._admit(info, "", "DELETE", ns, name, None, current, opts)
        decided = deletion.decide(info, current, options, now=datetime.now(UTC))
        if decided.action == "remove":
            if opts.dry_run:
                return Result(current, 200, [], dry_run=True)
            self._write(info, decided.obj, current, "DELETED")
        elif decided.action == "mark" and not opts.dry_run:
            self._write(info, decided.obj, current, "MODIFIED")
        return Result(decided.obj, decided.code, [])
