"""How katib-py drives a browser: Debian's Chromium at /usr/bin/chromium, headless, through
Playwright for Python (never Playwright's own browser download, which cannot be fetched here).

The flags keep a headless Chromium off the network and quiet on a shared machine: no sandbox
(root in a container), no GPU, no QUIC, no first-run, background, component-update or sync traffic.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
