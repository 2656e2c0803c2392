"""Container logs on disk (`data_dir/logs/<ns>/<pod>/<container>.log`) and the `pods/log` reader.

The container's stdout and stderr go straight to the file (the process writes it, so logs survive
a control-plane crash). On a container restart the current file becomes `<container>.previous.log`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path


class LogNotFound(Exception):
    """No log exists for that container (never started, or `previous` asked with no restart)."""


class LogStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def pod_dir(self, namespace: str, pod: str) -> Path:
        return self.root / namespace / pod

    def path(self, namespace: str, pod: str, container: str, previous: bool = False) -> Path:
        suffix = ".previous.log" if previous else ".log"
        return self.pod_dir(namespace, pod) / f"{container}{suffix}"

    def reset_pod(self, namespace: str, pod: str) -> None:
        shutil.rmtree(self.pod_dir(namespace, pod), ignore_errors=True)

    def open_for_container(self, namespace: str, pod: str, container: str, restart: bool) -> int:
        """An fd the container writes stdout/stderr to; rotates the old log on restart."""
        path = self.path(namespace, pod, container)
        path.parent.mkdir(parents=True, exist_ok=True)
        if restart and path.exists():
            os.replace(path, self.path(namespace, pod, container, previous=True))
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)

    async def read(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        follow: bool,
        tail_lines: int | None,
        previous: bool,
        still_running: Callable[[], bool],
    ) -> AsyncIterator[bytes]:
        path = self.path(namespace, pod, container, previous)
        if not path.exists():
            raise LogNotFound(
                f'previous terminated container "{container}" in pod "{pod}" not found'
                if previous
                else f'container "{container}" in pod "{pod}" has no logs'
            )
        with open(path, "rb") as fh:
            if tail_lines is not None:
                lines: deque[bytes] = deque(fh, maxlen=max(0, tail_lines))
                for line in lines:
                    yield line
            else:
                while chunk := fh.read(65536):
                    yield chunk
            if not follow or previous:
                return
            idle_after_exit = 0
            while True:
                chunk = fh.read(65536)
                if chunk:
                    idle_after_exit = 0
                    yield chunk
                    continue
                if not still_running():
                    idle_after_exit += 1
                    if idle_after_exit > 2:
                        return
                await asyncio.sleep(0.1)
