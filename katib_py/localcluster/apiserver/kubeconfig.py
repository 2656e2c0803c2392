"""A kubeconfig for kubectl and the `kubernetes` client, written with mode 0600."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(
    path: Path, url: str, token: str, ca_pem: bytes | None = None, name: str = "katib-py-local"
) -> Path:
    """`ca_pem` is the server's CA (ApiServer.ca_pem). Without it an https URL is written with
    insecure-skip-tls-verify (loopback only); prefer ApiServer.write_kubeconfig(path)."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    elif url.startswith("https://"):
        cluster["insecure-skip-tls-verify"] = True
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": "kubernetes-admin", "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": "kubernetes-admin", "namespace": "default"}}
        ],
        "current-context": name,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(config, fh)
    os.chmod(path, 0o600)
    return path
