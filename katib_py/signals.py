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

import ctypes
import os
import signal
import sys
import threading

EARLY_SIGTERM = threading.Event()


def remember_sigterm() -> None:
    """Note SIGTERM in EARLY_SIGTERM from now on, then let a SIGTERM blocked by the launcher in."""
    signal.signal(signal.SIGTERM, lambda signum, frame: EARLY_SIGTERM.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


PARENT_ENV = "KATIB_PY_DIE_WITH_PARENT"
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the parent that started it dies (even by SIGKILL).

    `katib-py up` sets KATIB_PY_DIE_WITH_PARENT to its pid for the db-manager and the operator it
    starts; without this, a `kill -9` of it left them running, and an orphaned operator joined the
    next stack as a second operator. Done here, first thing, rather than in a `preexec_fn` (which is
    unsafe in a process with threads). A parent that died before the call is caught by the check.
    """
    expected = os.environ.pop(PARENT_ENV, "")
    if not expected.isdigit() or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(expected):
        os.kill(os.getpid(), signal.SIGTERM)
