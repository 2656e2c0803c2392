"""Follow a growing log file in bounded chunks (it may not exist yet, be truncated, or be rotated).

Memory stays bounded whatever the file holds: a chunk is at most `chunk_bytes`, and a line longer
than `max_line_bytes` is skipped and counted in `overlong` instead of being gathered (a 50 MB line
once took the collector to 206 MB). Rename-style rotation (`mv metrics.log metrics.log.1`, then a
new `metrics.log`) is followed as `tail -F` does: the old file is read to its end, then the new
one from its start; line numbers go on counting, so the lines of both keep distinct names.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
log = logging.getLogger(__name__)


class LineTail:
    """Complete lines appended to a file since the last call; never holds more than one chunk and line.

    Each line comes with its 1-based line number in the file, so a line can be named the same way
    however often the file is read.
    """

    def __init__(self, path: Path, chunk_bytes: int = CHUNK_BYTES, max_line_bytes: int = MAX_LINE_BYTES):
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes
        self._stream: BinaryIO | None = None
        self._partial = b""
        self._partial_overlong = False
        self._position = 0
        self.line_number = 0
        self.overlong = 0

    def _open(self) -> bool:
        if self._stream is None:
            try:
                self._stream = self.path.open("rb")
            except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError):
                return False
            self._position = 0
        return True

    def _replaced(self) -> bool:
        """True when the path now names another file than the one being read (rotation)."""
        assert self._stream is not None
        try:
            current = os.stat(self.path)
        except OSError:
            return False  # renamed away, the new file not there yet: keep reading the old one
        mine = os.fstat(self._stream.fileno())
        return (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev)

    def poll(self) -> list[tuple[int, str]]:
        """New complete lines, up to a chunk of them (after a rotation, the old file's last line too)."""
        return self._read()[0]

    def finish(self) -> list[tuple[int, str]]:
        """The next chunk of what is left, including a last line without a newline; [] at the end."""
        lines, at_end = self._read()
        return lines if lines or not at_end else self._last_line()

    def _read(self) -> tuple[list[tuple[int, str]], bool]:
        """The next complete lines, reading chunks until there are some; and whether the file ended."""
        if not self._open():
            return [], True
        assert self._stream is not None
        if os.fstat(self._stream.fileno()).st_size < self._position:
            self._stream.seek(0)  # truncated: start again
            self._position = 0
            self._partial, self._partial_overlong = b"", False
            self.line_number = 0
        while data := self._stream.read(self.chunk_bytes):
            self._position += len(data)
            lines = self._split(data)
            if lines:
                return lines, False
        if not self._replaced():
            return [], True
        log.info("%s was rotated: reading the new file", self.path)
        last = self._last_line()
        self.close()
        return (last, False) if last else self._read()

    def _split(self, data: bytes) -> list[tuple[int, str]]:
        pieces = data.split(b"\n")
        rest = pieces.pop()
        lines: list[tuple[int, str]] = []
        for index, piece in enumerate(pieces):
            overlong = len(piece) > self.max_line_bytes
            if index == 0:
                overlong = (
                    overlong
                    or self._partial_overlong
                    or len(self._partial) + len(piece) > self.max_line_bytes
                )
                piece = b"" if overlong else self._partial + piece
                self._partial, self._partial_overlong = b"", False
            self._add(lines, piece, overlong)
        if self._partial_overlong or len(self._partial) + len(rest) > self.max_line_bytes:
            self._partial, self._partial_overlong = b"", True
        else:
            self._partial += rest
        return lines

    def _last_line(self) -> list[tuple[int, str]]:
        """The unterminated last line, as a line of its own."""
        if not self._partial and not self._partial_overlong:
            return []
        lines: list[tuple[int, str]] = []
        self._add(lines, self._partial, self._partial_overlong)
        self._partial, self._partial_overlong = b"", False
        return lines

    def _add(self, lines: list[tuple[int, str]], piece: bytes, overlong: bool) -> None:
        self.line_number += 1
        if overlong:
            self.overlong += 1
            if self.overlong <= 10:
                log.warning(
                    "line %d of %s is longer than %d bytes: skipped",
                    self.line_number,
                    self.path,
                    self.max_line_bytes,
                )
            return
        lines.append((self.line_number, piece.decode("utf-8", "replace").rstrip("\r")))

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
