"""Admission webhooks: mutating then validating, called with AdmissionReview v1 as kube-apiserver does."""

from __future__ import annotations

import base64
import copy
import re
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jsonpatch

from katib_py.kube.errors import ApiError, api_error
from katib_py.kube.selectors import labels_match, selector_from_label_selector_object

from .auth import User
from .registry import ResourceInfo

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], Obj | None]

OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


@dataclass
class AdmissionRequest:
    info: ResourceInfo
    subresource: str
    operation: str  # CREATE | UPDATE | DELETE
    namespace: str
    name: str
    obj: Obj | None
    old: Obj | None
    user: User
    dry_run: bool
    options: Obj | None = None


# ---- matchConditions: the small CEL subset admission configs use in practice ----

_CEL_TOKEN = re.compile(
    r"\s*(?:(&&|\|\||==|!=|\(|\)|!)|(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|"
    r"(true|false)\b|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"
)


class CelError(ValueError):
    pass


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _CEL_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise CelError(
                f'unsupported matchCondition expression (only `path ==/!= "literal"`, '
                f"&&, ||, ! and parentheses are supported): {expr!r}"
            )
        pos = m.end()
        if m.group(1):
            out.append(("op", m.group(1)))
        elif m.group(2):
            out.append(("lit", m.group(2)[1:-1]))
        elif m.group(3):
            out.append(("bool", m.group(3)))
        else:
            out.append(("path", m.group(4)))
    return out


def eval_cel(expr: str, env: Obj) -> bool:
    toks = _tokens(expr)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise CelError(f"unexpected end of matchCondition expression: {expr!r}")
        pos += 1
        return toks[pos - 1]

    def value(tok: tuple[str, str]) -> Any:
        kind, text = tok
        if kind == "lit":
            return text
        if kind == "bool":
            return text == "true"
        if kind == "path":
            cur: Any = env
            for part in text.split("."):
                if not isinstance(cur, dict) or part not in cur:
                    raise CelError(f"no such key: {part} (in {text})")
                cur = cur[part]
            return cur
        raise CelError(f"unexpected {text!r} in matchCondition expression {expr!r}")

    def atom() -> bool:
        tok = take()
        if tok == ("op", "!"):
            return not atom()
        if tok == ("op", "("):
            result = disjunction()
            if take() != ("op", ")"):
                raise CelError(f"missing ')' in {expr!r}")
            return result
        left = value(tok)
        nxt = peek()
        if nxt in (("op", "=="), ("op", "!=")):
            take()
            right = value(take())
            return bool((left == right) == (nxt[1] == "=="))
        if isinstance(left, bool):
            return left
        raise CelError(f"matchCondition must evaluate to a boolean: {expr!r}")

    def conjunction() -> bool:
        result = atom()
        while peek() == ("op", "&&"):
            take()
            rhs = atom()
            result = result and rhs
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek() == ("op", "||"):
            take()
            rhs = conjunction()
            result = result or rhs
        return result

    out = disjunction()
    if pos != len(toks):
        raise CelError(f"unexpected trailing tokens in matchCondition expression {expr!r}")
    return out


def check_match_conditions(config: Obj) -> list[str]:
    """Syntax errors in a webhook configuration's matchConditions (checked at create/update)."""
    errors = []
    for i, hook in enumerate(config.get("webhooks") or []):
        for j, cond in enumerate(hook.get("matchConditions") or []):
            try:
                _tokens(cond.get("expression", ""))
            except CelError as exc:
                errors.append(f"webhooks[{i}].matchConditions[{j}].expression: Invalid value: {exc}")
    return errors


# ---- matching ----


def rule_matches(rule: Obj, req: AdmissionRequest) -> bool:
    ops = rule.get("operations") or []
    if "*" not in ops and req.operation not in ops:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and req.info.group not in groups:
        return False
    versions = rule.get("apiVersions") or []
    if "*" not in versions and req.info.version not in versions:
        return False
    scope = rule.get("scope", "*")
    if (scope == "Namespaced" and not req.info.namespaced) or (scope == "Cluster" and req.info.namespaced):
        return False
    for res in rule.get("resources") or []:
        if res == "*/*":
            return True
        main, _, sub = res.partition("/")
        if main not in ("*", req.info.plural):
            continue
        if sub == req.subresource or (sub == "*" and req.subresource):
            return True
    return False


def _object_selector_matches(hook: Obj, req: AdmissionRequest) -> bool:
    reqs = selector_from_label_selector_object(hook.get("objectSelector"))
    if not reqs:
        return True
    return any(o is not None and labels_match(reqs, o) for o in (req.obj, req.old))


def _namespace_selector_matches(hook: Obj, req: AdmissionRequest, lookup: Lookup) -> bool:
    reqs = selector_from_label_selector_object(hook.get("namespaceSelector"))
    if not reqs:
        return True
    if req.info.group == "" and req.info.plural == "namespaces":
        target = req.obj or req.old
        return target is not None and labels_match(reqs, target)
    if not req.info.namespaced:
        return True
    ns = lookup("core/namespaces", "", req.namespace)
    return labels_match(reqs, ns or {"metadata": {"name": req.namespace}})


def _review(req: AdmissionRequest, uid: str, obj: Obj | None) -> Obj:
    gvk = {"group": req.info.group, "version": req.info.version, "kind": req.info.kind}
    gvr = {"group": req.info.group, "version": req.info.version, "resource": req.info.plural}
    request: Obj = {
        "uid": uid,
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": req.name,
        "namespace": req.namespace or None,
        "operation": req.operation,
        "userInfo": req.user.info(),
        "object": obj,
        "oldObject": req.old,
        "dryRun": req.dry_run,
        "options": {
            "kind": OPTIONS_KIND[req.operation],
            "apiVersion": "meta.k8s.io/v1",
            **(req.options or {}),
        },
    }
    if req.subresource:
        request["subResource"] = req.subresource
        request["requestSubResource"] = req.subresource
    if not req.namespace:
        del request["namespace"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


class AdmissionChain:
    """Finds the webhooks that apply to a request and calls them in kube's order."""

    def __init__(self, lookup: Lookup, lister: Callable[[str], list[Obj]]) -> None:
        self._lookup = lookup
        self._list = lister
        self._session: aiohttp.ClientSession | None = None
        # RBAC escalation prevention (authz.Authorizer.check_escalation), run before validating webhooks
        # as kube's RBAC storages do it before the store's create/update.
        self.rbac_check: Callable[[AdmissionRequest, Obj | None], ApiError | None] | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _hooks(self, plural: str, req: AdmissionRequest) -> list[Obj]:
        hooks = []
        for config in self._list(f"admissionregistration.k8s.io/{plural}"):
            for hook in config.get("webhooks") or []:
                if not any(rule_matches(rule, req) for rule in hook.get("rules") or []):
                    continue
                if not _namespace_selector_matches(hook, req, self._lookup):
                    continue
                if not _object_selector_matches(hook, req):
                    continue
                hooks.append(hook)
        return hooks

    async def admit(self, req: AdmissionRequest, mutate: bool = True, validate: bool = True) -> Obj | None:
        """Run mutating then validating webhooks; returns the (possibly mutated) object."""
        if req.info.group == "admissionregistration.k8s.io":
            return req.obj
        obj = req.obj
        if mutate:
            for hook in self._hooks("mutatingwebhookconfigurations", req):
                obj = await self._call(hook, req, obj, mutating=True)
        if validate:
            if self.rbac_check is not None and req.operation in ("CREATE", "UPDATE") and not req.subresource:
                refused = self.rbac_check(req, obj)
                if refused is not None:
                    raise refused
            for hook in self._hooks("validatingwebhookconfigurations", req):
                await self._call(hook, req, obj, mutating=False)
        return obj

    def _conditions_pass(self, hook: Obj, review: Obj) -> bool:
        env = {
            "request": review["request"],
            "object": review["request"].get("object"),
            "oldObject": review["request"].get("oldObject"),
        }
        return all(eval_cel(cond.get("expression", ""), env) for cond in hook.get("matchConditions") or [])

    async def _call(self, hook: Obj, req: AdmissionRequest, obj: Obj | None, mutating: bool) -> Obj | None:
        name = hook.get("name", "")
        uid = str(uuid.uuid4())
        review = _review(req, uid, obj)
        fail_closed = hook.get("failurePolicy", "Fail") != "Ignore"
        try:
            if not self._conditions_pass(hook, review):
                return obj
            url, ssl_ctx, server_hostname = self._endpoint(hook)
            response = await self._post(
                url, review, ssl_ctx, server_hostname, float(hook.get("timeoutSeconds") or 10)
            )
        except (TimeoutError, CelError, aiohttp.ClientError, OSError, ValueError) as exc:
            if not fail_closed:
                return obj
            raise api_error(
                500,
                f'Internal error occurred: failed calling webhook "{name}": failed to call webhook: {exc}',
                "InternalError",
            ) from exc
        result = response.get("response") or {}
        if not result.get("allowed"):
            status = result.get("status") or {}
            code = int(status.get("code") or 400)
            code = 400 if code < 400 else code
            denied = f'admission webhook "{name}" denied the request'
            detail = status.get("message") or status.get("reason")
            message = f"{denied}: {detail}" if detail else f"{denied} without explanation"
            raise api_error(
                code, message, status.get("reason") or ("Forbidden" if code == 403 else "BadRequest")
            )
        if mutating and result.get("patch") and obj is not None:
            ops = jsonpatch.JsonPatch.from_string(base64.b64decode(result["patch"]).decode())
            obj = ops.apply(copy.deepcopy(obj))
        return obj

    def _endpoint(self, hook: Obj) -> tuple[str, ssl.SSLContext | None, str | None]:
        cc = hook.get("clientConfig") or {}
        ca = cc.get("caBundle")
        if cc.get("url"):
            url = cc["url"]
            ctx = None
            if url.startswith("https"):
                ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode() if ca else None)
            return url, ctx, None
        svc_ref = cc.get("service")
        if not svc_ref:
            raise ValueError("webhook clientConfig has neither url nor service")
        ns, name = svc_ref.get("namespace", ""), svc_ref.get("name", "")
        port = int(svc_ref.get("port") or 443)
        host, real_port = self._resolve_service(ns, name, port)
        ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode() if ca else None)
        path = svc_ref.get("path") or "/"
        return f"https://{host}:{real_port}{path}", ctx, f"{name}.{ns}.svc"

    def _resolve_service(self, ns: str, name: str, port: int) -> tuple[str, int]:
        svc = self._lookup("core/services", ns, name)
        if svc is None:
            raise ValueError(f'service "{name}" not found')
        target: Any = port
        port_name = None
        for p in (svc.get("spec") or {}).get("ports") or []:
            if int(p.get("port", 0)) == port:
                target = p.get("targetPort", port)
                port_name = p.get("name")
        ep = self._lookup("core/endpoints", ns, name)
        for subset in (ep or {}).get("subsets") or []:
            addrs = subset.get("addresses") or []
            if not addrs:
                continue
            for p in subset.get("ports") or []:
                if (
                    (port_name and p.get("name") == port_name)
                    or (isinstance(target, int) and p.get("port") == target)
                    or len(subset.get("ports")) == 1
                ):
                    return addrs[0]["ip"], int(p["port"])
        cluster_ip = (svc.get("spec") or {}).get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return cluster_ip, int(target) if isinstance(target, int) else port
        raise ValueError(f'no endpoints available for service "{name}"')

    async def _post(
        self, url: str, review: Obj, ctx: ssl.SSLContext | None, server_hostname: str | None, timeout: float
    ) -> Obj:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        kwargs: dict[str, Any] = {"json": review, "timeout": aiohttp.ClientTimeout(total=timeout)}
        if ctx is not None:
            kwargs["ssl"] = ctx
        if server_hostname is not None:
            kwargs["server_hostname"] = server_hostname
        async with self._session.post(url, **kwargs) as resp:
            if resp.status != 200:
                raise ValueError(f"webhook responded with HTTP {resp.status}")
            data = await resp.json(content_type=None)
            if not isinstance(data, dict):
                raise ValueError("webhook response is not an AdmissionReview")
            return data
