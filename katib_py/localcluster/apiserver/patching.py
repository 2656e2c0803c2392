"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from katib_py.kube.errors import ApiError, api_error

Obj = dict[str, Any]

# Field name -> merge key for lists of objects in the built-in kinds (patchMergeKey in the Go types).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "ports": "containerPort",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "readinessGates": "conditionType",
}
# Lists of scalars merged as sets.
MERGED_SCALAR_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch. Neither argument is changed; the result shares the parts of `target`
    the patch leaves alone (one copy per patched level, not one of the whole object per level: an
    Experiment's status of 20,000 trial names was copied three times per write)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Obj, ops: Any) -> Obj:
    if not isinstance(ops, list):
        raise api_error(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        patched: Obj = jsonpatch.JsonPatch(ops).apply(target)
        return patched
    except jsonpatch.JsonPatchTestFailed as exc:
        raise _patch_invalid(ops, "test failed: " + str(exc).split(" (<class")[0]) from exc
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException, jsonpatch.InvalidJsonPatch) as exc:
        raise _patch_invalid(ops, str(exc)) from exc


def _patch_invalid(ops: Any, why: str) -> ApiError:
    shown = json.dumps(json.dumps(ops, separators=(",", ":")))
    message = "the server rejected our request due to an error in our request: "
    message += f"patch: Invalid value: {shown}: {why}"
    cause = {"reason": "FieldValueInvalid", "field": "patch", "message": why}
    return api_error(422, message, "Invalid", {"causes": [cause]})


def _merge_key(field: str, path: tuple[str, ...], kind: str) -> str | None:
    if field == "ports" and kind == "Service" and path[-1:] == ("spec",):
        return "port"
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    """Apply a strategic merge patch with the Kubernetes merge keys and $patch directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key, path, kind)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, kind, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: Any, patch: list[Any], field: str, path: tuple[str, ...], kind: str) -> list[Any]:
    cur = copy.deepcopy(current) if isinstance(current, list) else []
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    if field in MERGED_SCALAR_LISTS:
        return cur + [p for p in patch if p not in cur]
    key = _merge_key(field, path, kind)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return copy.deepcopy(patch)
    for item in patch:
        if key not in item:
            cur.append(copy.deepcopy(item))
            continue
        idx = next((i for i, c in enumerate(cur) if isinstance(c, dict) and c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del cur[idx]
            continue
        if idx is None:
            cur.append({k: v for k, v in copy.deepcopy(item).items() if k != "$patch"})
        else:
            cur[idx] = strategic_merge(cur[idx], item, kind, (*path, field))
    return cur
