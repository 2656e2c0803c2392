"""Remember a SIGTERM that arrives while a command is still starting up.

A native-sidecar metrics collector can be sent SIGTERM a moment after it starts, when the
training finishes within a second; dying then (exit 143) loses the trial's metrics. The CLI
installs this handler before importing anything heavy, and the collector checks the flag once
its own handler is in place.
"""

from __future__ import annotations

import signal
import threading

EARLY_SIGTERM = threading.Event()


def remember_sigterm() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: EARLY_SIGTERM.set())
