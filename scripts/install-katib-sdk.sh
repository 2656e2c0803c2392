#!/usr/bin/env bash
# Install the upstream Kubeflow Katib Python SDK (kubeflow-katib 0.19.0 from PyPI) into a venv of its own,
# .venv-katib-sdk beside .venv: it pins protobuf < 5 while katib-py needs protobuf 6, so the two cannot share
# a venv. tests/sdk_katib019 drives the embedded stack with this SDK, unchanged, to prove compatibility.
#
# kubernetes is pinned too: kubeflow-katib 0.19.0 asks only for kubernetes>=27.2.0, and kubernetes 37
# validates request bodies with pydantic, so its CustomObjectsApi rejects the SDK's V1beta1Experiment model
# ("Input should be a valid dictionary") and create_experiment fails before any request is sent.
# 35.0.0 is the release katib-py itself uses.
#
# Idempotent: when the venv already holds both versions it only checks them and exits. The check reads package
# metadata and does not import kubeflow.katib: the SDK reads /var/run/secrets/kubernetes.io at import time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KATIB_SDK_VENV:-$ROOT/.venv-katib-sdk}"
PYTHON="${PYTHON:-python3}"
KATIB_SDK_VERSION="0.19.0"
KUBERNETES_VERSION="35.0.0"
WANT="kubeflow-katib $KATIB_SDK_VERSION, kubernetes $KUBERNETES_VERSION"

installed_versions() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
from importlib.metadata import version

print(f"kubeflow-katib {version('kubeflow-katib')}, kubernetes {version('kubernetes')}")
PY
}

if [[ -x "$VENV/bin/python" ]] && [[ "$(installed_versions || true)" == "$WANT" ]]; then
    echo "install-katib-sdk: $WANT in $VENV"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "kubeflow-katib==$KATIB_SDK_VERSION" "kubernetes==$KUBERNETES_VERSION"
"$VENV/bin/pip" check --disable-pip-version-check >/dev/null

got="$(installed_versions || true)"
if [[ "$got" != "$WANT" ]]; then
    echo "install-katib-sdk: expected $WANT in $VENV, found '${got}'" >&2
    exit 1
fi
echo "install-katib-sdk: $WANT in $VENV"
