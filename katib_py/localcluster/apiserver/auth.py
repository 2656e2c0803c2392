"""Bearer-token authentication: the admin token, extra tokens, and ServiceAccount tokens.

ServiceAccount tokens are minted as `sa.<b64 ns:name>.<hmac>` with a signing key kept in the
store, so they stay valid across restarts; tokens held in `kubernetes.io/service-account-token`
Secrets are accepted too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

ADMIN_USER = "kubernetes-admin"


@dataclass(frozen=True)
class User:
    username: str
    groups: tuple[str, ...] = field(default_factory=tuple)

    def info(self) -> dict[str, Any]:
        return {"username": self.username, "groups": list(self.groups)}


def service_account_user(namespace: str, name: str) -> User:
    return User(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
    )


class Authenticator:
    def __init__(self, admin_token: str, signing_key: bytes) -> None:
        self._tokens: dict[str, User] = {
            admin_token: User(ADMIN_USER, ("system:masters", "system:authenticated"))
        }
        self._key = signing_key
        self._secret_tokens: dict[str, tuple[str, str]] = {}  # token -> (ns, sa name)

    def add_token(self, token: str, username: str) -> None:
        self._tokens[token] = User(username, ("system:authenticated",))

    def mint(self, namespace: str, name: str) -> str:
        subject = base64.urlsafe_b64encode(f"{namespace}:{name}".encode()).decode().rstrip("=")
        return f"sa.{subject}.{self._sign(subject)}"

    def _sign(self, subject: str) -> str:
        return hmac.new(self._key, subject.encode(), hashlib.sha256).hexdigest()

    def note_secret(self, secret: dict[str, Any], deleted: bool = False) -> None:
        """Track tokens held in service-account-token Secrets (called on every Secret write)."""
        if secret.get("type") != "kubernetes.io/service-account-token":
            return
        raw = (secret.get("data") or {}).get("token")
        if not raw:
            return
        try:
            token = base64.b64decode(raw).decode()
        except (binascii.Error, UnicodeDecodeError):
            return
        if deleted:
            self._secret_tokens.pop(token, None)
            return
        meta = secret.get("metadata") or {}
        sa = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name", "default")
        self._secret_tokens[token] = (meta.get("namespace", ""), sa)

    def authenticate(self, header: str | None) -> User | None:
        # The scheme is case-insensitive (RFC 7235); the kubernetes client's in-cluster config sends "bearer".
        if not header or header[:7].lower() != "bearer ":
            return None
        token = header[7:].strip()
        user = self._tokens.get(token)
        if user is not None:
            return user
        if token in self._secret_tokens:
            return service_account_user(*self._secret_tokens[token])
        if token.startswith("sa.") and token.count(".") == 2:
            _, subject, sig = token.split(".")
            if hmac.compare_digest(sig, self._sign(subject)):
                padded = subject + "=" * (-len(subject) % 4)
                ns, _, name = base64.urlsafe_b64decode(padded).decode().partition(":")
                return service_account_user(ns, name)
        return None


def new_token() -> str:
    return secrets.token_urlsafe(32)
