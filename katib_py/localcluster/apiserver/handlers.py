"""HTTP: path routing, body/query decoding and response encoding for the Kubernetes REST API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from aiohttp import web

from katib_py.kube import errors
from katib_py.kube.errors import ApiError, api_error
from katib_py.kube.selectors import labels_match, parse_label_selector

from . import decoding, defaults, discovery, eviction, metrics, protobuf, rbac, validation
from .auth import Authenticator, User
from .authz import Authorizer
from .objects import APPLY_PATCH, ObjectService, WriteOptions
from .registry import Registry, ResourceInfo
from .selectors import parse_field_selector
from .table import TABLE_MEDIA, to_table, wants_table
from .watch import Change, Event, Watcher, WatchHub, translate

Obj = dict[str, Any]
JSON = "application/json"
OPEN_PATHS = {"/healthz", "/livez", "/readyz"}
METRICS_PATH = "/metrics"
log = logging.getLogger(__name__)
USER_KEY = web.RequestKey("user", User)


class LogProvider(Protocol):
    """What the kubelet side offers for pods/log."""

    def read(
        self, namespace: str, pod: str, container: str, follow: bool, tail_lines: int | None, previous: bool
    ) -> AsyncIterator[bytes]: ...


class ServedState(Protocol):
    """What the handlers read of the server that mounts them (ApiServer), kept to an interface so
    that the server imports the handlers and not the other way round."""

    host: str
    port: int
    registry: Registry
    objects: ObjectService
    auth: Authenticator
    authorizer: Authorizer
    hub: WatchHub
    max_request_bytes: int
    watch_timeout: float
    bookmark_interval: float
    log_provider: LogProvider | None
    metrics: metrics.RequestMetrics

    def openapi_docs(self) -> tuple[dict[str, Any], dict[str, Any]]: ...


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(
    obj: Any, status: int = 200, content_type: str = JSON, warnings: list[str] | None = None
) -> web.Response:
    resp = web.Response(body=dumps(obj), status=status, content_type=content_type.split(";")[0])
    if ";" in content_type:
        resp.headers["Content-Type"] = content_type
    for w in warnings or []:
        resp.headers.add("Warning", f'299 - "{w}"')
    return resp


def error_response(exc: ApiError) -> web.Response:
    return json_response(exc.body, exc.status)


# Bodies up to this size are decoded on the event loop; larger ones in a worker thread, so that a
# 3 MiB body does not stall every other request while it is parsed.
INLINE_DECODE_BYTES = 64 * 1024


@web.middleware
async def no_plain_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The outermost middleware: whatever fails, the client gets a Status body, never aiohttp's
    plain-text 500 (kube-apiserver's panic recovery answers an InternalError Status the same way)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(api_error(exc.status, exc.reason, exc.reason.replace(" ", "")))
    except ApiError as exc:
        return error_response(exc)
    except UnicodeDecodeError as exc:  # a path segment escaping bytes that are not UTF-8
        return error_response(errors.bad_request(f"the request path is not valid UTF-8: {exc}"))
    except Exception as exc:
        log.exception("internal error serving %s %s", request.method, request.path)
        return error_response(
            api_error(500, f"Internal error occurred: {type(exc).__name__}: {exc}"[:1000], "InternalError")
        )


@dataclass
class Target:
    info: ResourceInfo
    namespace: str
    name: str
    subresource: str
    watch: bool


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


class Handlers:
    def __init__(self, server: ServedState) -> None:
        self.server = server

    @property
    def svc(self) -> ObjectService:
        return self.server.objects

    # ---- middleware ----

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return web.Response(text="ok")
        user = self.server.auth.authenticate(request.headers.get("Authorization"))
        if user is None:
            return error_response(api_error(401, "Unauthorized", "Unauthorized"))
        request[USER_KEY] = user
        attrs = rbac.request_attributes(
            user.username, user.groups, request.method, request.path, request.query
        )
        request_labels = metrics.labels(attrs, request.method, request.content_type)
        longrunning = request_labels["verb"] == "WATCH" or (
            attrs.subresource == "log" and _bool(request.query.get("follow"))
        )
        gauge = self.server.metrics.longrunning.labels(**request_labels) if longrunning else None
        if gauge is not None:
            gauge.inc()
        code = 500  # what no_plain_errors answers for anything unexpected
        try:
            resp = await self._authorized(request, attrs, handler)
            code = resp.status
            return resp
        except web.HTTPException as exc:
            code = exc.status
            raise
        finally:
            if gauge is not None:
                gauge.dec()
            self.server.metrics.observe(request_labels, code)

    async def _authorized(
        self,
        request: web.Request,
        attrs: rbac.Attributes,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            self.server.authorizer.check(attrs)
            if request.path == METRICS_PATH:
                resp = web.Response(body=self.server.metrics.render())
                resp.headers["Content-Type"] = metrics.CONTENT_TYPE
                return resp
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                api_error(413, "Request entity too large: limit is 3145728", "RequestEntityTooLarge")
            )

    # ---- entry ----

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        # split before unquoting: an escaped "/" (%2F) is part of a name, never a separator, so
        # that DELETE .../configmaps/%2F is not a DELETE of the whole collection
        parts = [unquote(p, errors="strict") for p in request.raw_path.split("?", 1)[0].split("/") if p]
        path = "/" + "/".join(parts)
        if path == "/version":
            return json_response(discovery.KUBE_VERSION)
        if path == "/api":
            return json_response(discovery.core_versions(f"{self.server.host}:{self.server.port}"))
        if path == "/apis":
            return json_response(discovery.group_list(self.server.registry))
        if parts[:1] == ["openapi"]:
            return self._openapi(parts)
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                doc = discovery.api_group(self.server.registry, parts[1])
                if doc is None:
                    raise _no_route(path)
                return json_response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _no_route(path)
        if not rest:
            doc = discovery.resource_list(self.server.registry, group, version)
            if doc is None:
                raise _no_route(path)
            return json_response(doc)
        target = self._target(group, version, rest, path)
        return await self._resource(request, target)

    def _openapi(self, parts: list[str]) -> web.Response:
        if parts[1:2] != ["v3"]:
            raise _no_route("/" + "/".join(parts))
        index, docs = self.server.openapi_docs()
        if len(parts) == 2:
            return json_response(index)
        doc = docs.get("/".join(parts[2:]))
        if doc is None:
            raise _no_route("/" + "/".join(parts))
        resp = json_response(doc)
        resp.headers["Cache-Control"] = "public, immutable"
        return resp

    def _target(self, group: str, version: str, rest: list[str], path: str) -> Target:
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns = ""
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _no_route(path)
        info = self.server.registry.get(group, version, rest[0])
        if info is None:
            raise _no_route(path)
        if ns and not info.namespaced:
            raise _no_route(path)
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        allowed_subs = (
            (["status"] if info.has_status else [])
            + (["scale"] if info.has_scale else [])
            + info.extra_subresources
        )
        if sub and sub not in allowed_subs:
            raise _no_route(path)
        return Target(info, ns, name, sub, watch)

    # ---- resources ----

    async def _resource(self, request: web.Request, t: Target) -> web.StreamResponse:
        method = request.method
        q = request.query
        if t.info.kind == "SelfSubjectAccessReview":
            if method != "POST" or t.name:
                raise _not_allowed()
            return json_response(
                self.server.authorizer.review(request[USER_KEY], await self._body(request)), 201
            )
        if t.name == "":
            if method == "GET":
                if t.watch or _bool(q.get("watch")):
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST" and (t.namespace or not t.info.namespaced):
                body = await self._body(request)
                res = await self.svc.create(t.info, t.namespace, body, self._opts(request))
                return json_response(self._out(t.info, res.obj), res.code, warnings=res.warnings)
            if method == "DELETE":
                return await self._delete_collection(request, t)
            raise _not_allowed()
        if t.info.namespaced and not t.namespace:
            raise _no_route(request.path)
        if t.subresource == "log":
            return await self._log(request, t)
        if t.subresource == "scale":
            return await self._scale(request, t)
        if t.subresource == "eviction":
            if method != "POST":
                raise _not_allowed()
            status = await eviction.evict(
                self.svc, t.info, t.namespace, t.name, await self._body(request), self._opts(request)
            )
            return json_response(status, 201)
        if method == "GET":
            if t.watch:
                return await self._watch(request, t)
            obj = self.svc.get(t.info, t.namespace, t.name)
            if wants_table(request.headers.get("Accept", "")):
                table = to_table(
                    t.info,
                    [self._out(t.info, obj)],
                    {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    q.get("includeObject", "Metadata"),
                )
                return json_response(table, content_type=TABLE_MEDIA)
            text = self._stored_text(t.info, obj)
            if text is not None:
                return web.Response(body=text.encode(), content_type=JSON)
            return json_response(self._out(t.info, obj))
        if method == "PUT":
            body = await self._body(request)
            res = await self.svc.update(t.info, t.namespace, t.name, body, t.subresource, self._opts(request))
            return json_response(self._out(t.info, res.obj), res.code, warnings=res.warnings)
        if method == "PATCH":
            ctype = request.content_type
            body = await self._body(request, yaml_ok=ctype == APPLY_PATCH)
            res = await self.svc.patch(
                t.info,
                t.namespace,
                t.name,
                ctype,
                body,
                t.subresource,
                self._opts(request),
            )
            return json_response(self._out(t.info, res.obj), res.code, warnings=res.warnings)
        if method == "DELETE" and not t.subresource:
            options = await self._delete_options(request)
            res = await self.svc.delete(t.info, t.namespace, t.name, options, self._opts(request))
            obj = res.obj
            still_there = self.svc.store.get(self.svc.rkey(t.info), t.namespace, t.name) is not None
            if not still_there and t.info.builtin and t.info.plural != "pods" and not res.dry_run:
                return json_response(
                    errors.success_status(
                        {
                            "name": t.name,
                            "group": t.info.group,
                            "kind": t.info.plural,
                            "uid": obj["metadata"].get("uid"),
                        }
                    ),
                    200,
                )
            return json_response(self._out(t.info, obj), res.code)
        raise api_error(
            405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
        )

    def _serves_as_stored(self, info: ResourceInfo, obj: Obj) -> bool:
        return info.group != "events.k8s.io" and obj.get("apiVersion") == info.api_version

    def _stored_text(self, info: ResourceInfo, obj: Obj) -> str | None:
        """The object's stored JSON when it can be served as is (no version or shape change)."""
        if not self._serves_as_stored(info, obj):
            return None
        meta = obj["metadata"]
        return self.svc.store.text(
            self.svc.rkey(info), meta.get("namespace", "") if info.namespaced else "", meta["name"]
        )

    def _out(self, info: ResourceInfo, obj: Obj) -> Obj:
        if info.group == "events.k8s.io":
            return defaults.event_from_core(obj)
        if obj.get("apiVersion") != info.api_version:
            return {**obj, "apiVersion": info.api_version}
        return obj

    def _opts(self, request: web.Request) -> WriteOptions:
        q = request.query
        return WriteOptions(
            user=request[USER_KEY],
            dry_run="All" in q.getall("dryRun", []),
            strict=q.get("fieldValidation", "") == "Strict",
            field_manager=q.get("fieldManager", ""),
            ignore_unknown=q.get("fieldValidation", "") == "Ignore",
        )

    async def _body(self, request: web.Request, yaml_ok: bool = False) -> Any:
        ctype = request.content_type
        if "protobuf" in ctype:
            return protobuf.decode(await request.read())
        raw = await request.read()
        if len(raw) > self.server.max_request_bytes:
            raise api_error(413, "Request entity too large: limit is 3145728", "RequestEntityTooLarge")
        if not raw:
            return None
        if len(raw) <= INLINE_DECODE_BYTES:
            return decoding.decode_body(raw, ctype, yaml_ok)
        return await asyncio.to_thread(decoding.decode_body, raw, ctype, yaml_ok)

    async def _delete_options(self, request: web.Request) -> Obj:
        body = await self._body(request) if request.can_read_body else None
        options: Obj = body if isinstance(body, dict) else {}
        problem = validation.options_type_error(options)
        if problem is not None:
            raise errors.bad_request(problem)
        q = request.query
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        grace = decoding.query_int(q, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if "orphanDependents" in q:
            options["orphanDependents"] = _bool(q["orphanDependents"])
        return options

    # ---- list ----

    def _selected(self, request: web.Request, t: Target) -> tuple[list[Obj], Callable[[Obj], bool]]:
        q = request.query
        labels = parse_label_selector(q.get("labelSelector"))
        fields = parse_field_selector(q.get("fieldSelector"), t.info.group, t.info.plural)

        def selects(obj: Obj) -> bool:
            return labels_match(labels, obj) and fields(obj)

        scope = t.namespace if t.info.namespaced and t.namespace else None
        items = self.svc.store.list(self.svc.rkey(t.info), scope)
        if t.name:
            items = [o for o in items if o["metadata"]["name"] == t.name]
        return [o for o in items if selects(o)], selects

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        items, _ = self._selected(request, t)
        list_rv = str(self.svc.store.rv)
        meta: Obj = {"resourceVersion": list_rv}
        cont = q.get("continue")
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode()))
                start = token["start"]
                if not isinstance(start, str):
                    raise ValueError("the key has no start")
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise errors.bad_request(f"continue key is not valid: {exc}") from exc
            items = [o for o in items if _item_key(o) > start]
        limit = decoding.query_int(q, "limit") or 0
        if limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            token = {"rv": list_rv, "start": _item_key(items[-1])}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            meta["remainingItemCount"] = remaining
        if wants_table(request.headers.get("Accept", "")):
            out_items = [self._out(t.info, o) for o in items]
            table = to_table(t.info, out_items, meta, q.get("includeObject", "Metadata"))
            return json_response(table, content_type=TABLE_MEDIA)
        texts = [text for text in (self._stored_text(t.info, o) for o in items) if text is not None]
        if len(texts) == len(items):
            head = dumps({"kind": t.info.list_kind, "apiVersion": t.info.api_version, "metadata": meta})
            body = head[:-1] + b',"items":[' + ",".join(texts).encode() + b"]}"
            return web.Response(body=body, content_type=JSON)
        out_items = [self._out(t.info, o) for o in items]
        return json_response(
            {"kind": t.info.list_kind, "apiVersion": t.info.api_version, "metadata": meta, "items": out_items}
        )

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        items, _ = self._selected(request, t)
        options = await self._delete_options(request)
        deleted = []
        for obj in items:
            meta = obj["metadata"]
            res = await self.svc.delete(
                t.info, meta.get("namespace", ""), meta["name"], options, self._opts(request)
            )
            deleted.append(self._out(t.info, res.obj))
        return json_response(
            {
                "kind": t.info.list_kind,
                "apiVersion": t.info.api_version,
                "metadata": {"resourceVersion": str(self.svc.store.rv)},
                "items": deleted,
            }
        )

    # ---- watch ----

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        _, selects = self._selected(request, t)
        if t.name:
            name, inner = t.name, selects
            selects = lambda o: o["metadata"]["name"] == name and inner(o)  # noqa: E731
        rkey = self.svc.rkey(t.info)
        scope = t.namespace if t.info.namespaced and t.namespace else None
        rv_param = q.get("resourceVersion", "")
        as_table = wants_table(request.headers.get("Accept", ""))
        include = q.get("includeObject", "Metadata")
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        send_initial = _bool(q.get("sendInitialEvents"))
        timeout = float(decoding.query_int(q, "timeoutSeconds") or self.server.watch_timeout)

        backlog: list[Event] = []
        expired = False
        if rv_param in ("", "0") or send_initial:
            for obj in self.svc.store.list(rkey, scope):
                if selects(obj):
                    backlog.append(("ADDED", obj, None))
        else:
            try:
                since = int(rv_param)
            except ValueError as exc:
                raise errors.bad_request(f'invalid resource version "{rv_param}"') from exc
            changes = self.server.hub.since(rkey, since)
            if changes is None:
                expired = True
            else:
                for change in changes:
                    ev = translate(change, scope, selects)
                    if ev is not None:
                        backlog.append((ev[0], ev[1], change))
        watcher = Watcher(rkey, scope, selects)
        if not expired:
            self.server.hub.subscribe(watcher)
        resp = web.StreamResponse(status=200)
        resp.content_type = JSON
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        first_table = [True]

        async def send(kind: str, obj: Obj, change: Change | None = None) -> None:
            if change is not None and not as_table and self._serves_as_stored(t.info, obj):
                line = self.server.hub.encoded(
                    change, kind, lambda: dumps({"type": kind, "object": obj}) + b"\n"
                )
                await resp.write(line)
                return
            if kind not in ("BOOKMARK", "ERROR"):
                obj = self._out(t.info, obj)
                if as_table:
                    obj = to_table(
                        t.info,
                        [obj],
                        {"resourceVersion": obj["metadata"]["resourceVersion"]},
                        include,
                        with_columns=first_table[0],
                    )
                    first_table[0] = False
            await resp.write(dumps({"type": kind, "object": obj}) + b"\n")

        try:
            if expired:
                msg = f"too old resource version: {rv_param} ({self.server.hub.compacted_rv})"
                await send("ERROR", errors.status_body(410, msg, "Expired"))
                return resp
            for kind, obj, cause in backlog:
                await send(kind, obj, cause)
            if send_initial and bookmarks:
                await send("BOOKMARK", self._bookmark(t.info, initial_end=True))
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.server.bookmark_interval
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline, next_bookmark) - now if bookmarks else deadline - now
                try:
                    item = await asyncio.wait_for(watcher.get(), timeout=max(wait, 0.001))
                except TimeoutError:
                    if bookmarks and time.monotonic() >= next_bookmark and watcher.queue.empty():
                        await send("BOOKMARK", self._bookmark(t.info))
                        next_bookmark = time.monotonic() + self.server.bookmark_interval
                    continue
                if item is None:
                    break
                await send(*item)
            if bookmarks and watcher.queue.empty():
                await send("BOOKMARK", self._bookmark(t.info))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        except Exception:  # the stream has begun: end it (the client resumes from its last event)
            log.exception("watch of %s ended by an internal error", t.info.plural)
        finally:
            self.server.hub.unsubscribe(watcher)
        return resp

    def _bookmark(self, info: ResourceInfo, initial_end: bool = False) -> Obj:
        meta: Obj = {"resourceVersion": str(self.svc.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        api_version = info.api_version
        return {"kind": info.kind, "apiVersion": api_version, "metadata": meta}

    # ---- pods/log and scale ----

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        if request.method != "GET":
            raise _not_allowed()
        pod = self.svc.get(t.info, t.namespace, t.name)
        q = request.query
        spec = pod.get("spec") or {}
        names = [c["name"] for c in spec.get("containers") or []]
        init_names = [c["name"] for c in spec.get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(names) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {t.name}, choose one of: "
                    f"[{' '.join(names)}]"
                    + (f" or one of the init containers: [{' '.join(init_names)}]" if init_names else "")
                )
            container = names[0]
        elif container not in names + init_names:
            raise errors.bad_request(f"container {container} is not valid for pod {t.name}")
        provider = self.server.log_provider
        if provider is None or not spec.get("nodeName"):
            raise (
                errors.bad_request(f"pod {t.name} does not have a host assigned")
                if not spec.get("nodeName")
                else api_error(
                    404, f"the server could not find the requested resource ( pods/log {t.name})", "NotFound"
                )
            )
        tail = decoding.query_int(q, "tailLines")
        stream = provider.read(
            t.namespace, t.name, container, _bool(q.get("follow")), tail, _bool(q.get("previous"))
        )
        resp = web.StreamResponse(status=200)
        resp.content_type = "text/plain"
        resp.enable_chunked_encoding()
        started = False
        try:
            async for chunk in stream:
                if not started:
                    await resp.prepare(request)
                    started = True
                await resp.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            return resp
        except ApiError:
            if not started:
                raise
            return resp  # the stream already began: end it, as kubelet log streams end
        if not started:
            await resp.prepare(request)
        return resp

    async def _scale(self, request: web.Request, t: Target) -> web.Response:
        obj = self.svc.get(t.info, t.namespace, t.name)
        if request.method in ("PUT", "PATCH"):
            body = await self._body(request)
            if request.method == "PATCH" and request.content_type == "application/json-patch+json":
                from .patching import json_patch

                body = json_patch(self._scale_obj(t, obj), body)
            replicas = validation.scale_replicas(body)
            if replicas is not None:
                patch = {"spec": {"replicas": replicas}}
                res = await self.svc.patch(
                    t.info,
                    t.namespace,
                    t.name,
                    "application/merge-patch+json",
                    patch,
                    "",
                    self._opts(request),
                )
                obj = res.obj
        elif request.method != "GET":
            raise _not_allowed()
        return json_response(self._scale_obj(t, obj))

    def _scale_obj(self, t: Target, obj: Obj) -> Obj:
        meta = obj["metadata"]
        sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta.get("creationTimestamp"),
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sel.items()),
            },
        }


def _item_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _no_route(path: str) -> ApiError:
    return api_error(
        404,
        "the server could not find the requested resource",
        "NotFound",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
    )


def _not_allowed() -> ApiError:
    return api_error(
        405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
    )
