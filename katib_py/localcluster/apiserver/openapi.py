"""/openapi/v3: an index plus one document per group/version.

Built-in kinds get a permissive schema (preserve unknown fields); CRD kinds get their own
openAPIV3Schema, so `kubectl explain` works. Every PATCH operation declares `fieldValidation`,
which is how kubectl decides to validate on the server instead of asking for --validate=false.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .discovery import KUBE_VERSION
from .registry import Registry, ResourceInfo

Obj = dict[str, Any]

_QUERY = ["dryRun", "fieldManager", "fieldValidation", "pretty"]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(info: ResourceInfo) -> str:
    reversed_group = ".".join(reversed(info.group.split("."))) if info.group else "io.k8s.api.core"
    return f"{reversed_group}.{info.version}.{info.kind}"


def _params(names: list[str]) -> list[Obj]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def _op(info: ResourceInfo, action: str, ref: str, extra: list[str]) -> Obj:
    return {
        "operationId": f"{action}{info.kind}",
        "parameters": _params(extra),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": info.group, "version": info.version, "kind": info.kind},
    }


def gv_document(registry: Registry, group: str, version: str) -> Obj | None:
    infos = registry.in_group_version(group, version)
    if not infos:
        return None
    paths: Obj = {}
    schemas: Obj = {}
    for info in infos:
        name = _schema_name(info)
        ref = f"#/components/schemas/{name}"
        schema: Obj = (
            dict(info.schema)
            if info.schema
            else {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
        )
        schema["x-kubernetes-group-version-kind"] = [
            {"group": info.group, "version": info.version, "kind": info.kind}
        ]
        schemas[name] = schema
        schemas[name + "List"] = {
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"$ref": ref}}},
            "x-kubernetes-group-version-kind": [
                {"group": info.group, "version": info.version, "kind": info.list_kind}
            ],
        }
        base = "/" + _gv_path(group, version)
        coll = (
            f"{base}/namespaces/{{namespace}}/{info.plural}" if info.namespaced else f"{base}/{info.plural}"
        )
        paths[coll] = {
            "get": _op(
                info,
                "list",
                ref + "List",
                [
                    "labelSelector",
                    "fieldSelector",
                    "limit",
                    "continue",
                    "resourceVersion",
                    "watch",
                    "timeoutSeconds",
                ],
            ),
            "post": _op(info, "post", ref, _QUERY),
            "delete": _op(info, "deletecollection", ref, ["labelSelector", "fieldSelector"]),
        }
        item = f"{coll}/{{name}}"
        paths[item] = {
            "get": _op(info, "get", ref, ["pretty"]),
            "put": _op(info, "put", ref, _QUERY),
            "patch": _op(info, "patch", ref, [*_QUERY, "force"]),
            "delete": _op(info, "delete", ref, ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
        }
        if info.has_status:
            paths[f"{item}/status"] = {
                "get": _op(info, "get", ref, ["pretty"]),
                "put": _op(info, "put", ref, _QUERY),
                "patch": _op(info, "patch", ref, [*_QUERY, "force"]),
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def doc_hash(doc: Obj) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def index(registry: Registry) -> tuple[Obj, dict[str, Obj]]:
    """The /openapi/v3 index, and the documents it points at by path."""
    docs: dict[str, Obj] = {}
    paths: Obj = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            doc = gv_document(registry, group, version)
            if doc is None:
                continue
            key = _gv_path(group, version)
            docs[key] = doc
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={doc_hash(doc)}"}
    return {"paths": paths}, docs
