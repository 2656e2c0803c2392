"""Follow a growing log file in bounded chunks (the file may not exist yet, or be truncated)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20


class LineTail:
    """Complete lines appended to a file since the last call; never holds more than one chunk.

    Each line comes with its 1-based line number in the file, so a line can be named the same way
    however often the file is read.
    """

    def __init__(self, path: Path, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self._stream: BinaryIO | None = None
        self._partial = b""
        self._position = 0
        self.line_number = 0

    def _open(self) -> bool:
        if self._stream is None:
            try:
                self._stream = self.path.open("rb")
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                return False
        return True

    def poll(self) -> list[tuple[int, str]]:
        """Up to one chunk of new complete lines."""
        if not self._open():
            return []
        assert self._stream is not None
        if os.fstat(self._stream.fileno()).st_size < self._position:
            self._stream.seek(0)  # truncated: start again
            self._position = 0
            self._partial = b""
            self.line_number = 0
        data = self._stream.read(self.chunk_bytes)
        if not data:
            return []
        self._position += len(data)
        pieces = (self._partial + data).split(b"\n")
        self._partial = pieces.pop()
        return self._number(pieces)

    def finish(self) -> list[tuple[int, str]]:
        """The next chunk of what is left, including a last line without a newline; [] at the end."""
        lines = self.poll()
        if not lines and self._partial:
            tail, self._partial = [self._partial], b""
            return self._number(tail)
        return lines

    def _number(self, pieces: list[bytes]) -> list[tuple[int, str]]:
        start = self.line_number
        self.line_number += len(pieces)
        return [
            (start + i + 1, piece.decode("utf-8", "replace").rstrip("\r")) for i, piece in enumerate(pieces)
        ]

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
