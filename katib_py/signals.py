"""Remember a SIGTERM that arrives while a command is still starting up.

A native-sidecar metrics collector is sent SIGTERM as soon as the main container ends, and a main
container that exits at once does that while the collector's Python is still starting: dying
then (exit 143) loses the trial's metrics. Two things close that window:

- `katib_py.cli` installs this handler before it imports anything else (and the collector checks
  the flag once its own handler is in place);
- before that, only a launcher can help: `env --block-signal=TERM katib-py metrics-collector ...`
  (GNU coreutils) blocks SIGTERM before Python starts, a blocked signal stays pending across
  `exec`, and `remember_sigterm` unblocks it once the handler is there, which then runs at once.
"""

from __future__ import annotations

import signal
import threading

EARLY_SIGTERM = threading.Event()


def remember_sigterm() -> None:
    """Note SIGTERM in EARLY_SIGTERM from now on, then let a SIGTERM blocked by the launcher in."""
    signal.signal(signal.SIGTERM, lambda signum, frame: EARLY_SIGTERM.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
