#!/usr/bin/env bash
# Install Debian's Chromium for the web UI's browser tests (driven by Playwright for Python, which is
# pointed at /usr/bin/chromium: Playwright's own browser download does not work here and is never used).
# Idempotent; fails loudly when the package cannot be installed.
set -euo pipefail

if [[ -x /usr/bin/chromium ]] && /usr/bin/chromium --version >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "install-browser: /usr/bin/chromium is missing and only root can apt-get install it" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if ! /usr/bin/chromium --version >/dev/null 2>&1; then
    echo "install-browser: chromium was installed but /usr/bin/chromium does not run" >&2
    exit 1
fi
