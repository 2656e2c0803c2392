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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LineBlock:
    """Consecutive lines as read: `data` is their bytes, each line ending in `\\n` (none decoded)."""

    first: int  # the 1-based number of the first line in the file
    data: bytes

    def lines(self) -> list[tuple[int, str]]:
        """(number, text) of each line: UTF-8 with invalid bytes replaced, trailing `\\r`s cut."""
        pieces = self.data.split(b"\n")
        pieces.pop()
        return [
            (number, piece.decode("utf-8", "replace").rstrip("\r"))
            for number, piece in enumerate(pieces, self.first)
        ]


def lines_of(blocks: list[LineBlock]) -> list[tuple[int, str]]:
    return [line for block in blocks for line in block.lines()]


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
        return lines_of(self.poll_blocks())

    def finish(self) -> list[tuple[int, str]]:
        """The next chunk of what is left, including a last line without a newline; [] at the end."""
        return lines_of(self.finish_blocks())

    def poll_blocks(self) -> list[LineBlock]:
        """`poll`, as undecoded blocks of lines."""
        return self._read()[0]

    def finish_blocks(self) -> list[LineBlock]:
        """`finish`, as undecoded blocks of lines."""
        blocks, at_end = self._read()
        return blocks if blocks or not at_end else self._last_line()

    def _read(self) -> tuple[list[LineBlock], bool]:
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
            blocks = self._split(data)
            if blocks:
                return blocks, False
        if not self._replaced():
            return [], True
        log.info("%s was rotated: reading the new file", self.path)
        last = self._last_line()
        self.close()
        return (last, False) if last else self._read()

    def _split(self, data: bytes) -> list[LineBlock]:
        """The complete lines of `partial + data`, in blocks between the overlong ones (C-level splits:
        no Python work per line unless a line may be overlong)."""
        cut = data.rfind(b"\n") + 1
        if not cut:
            self._keep(data)
            return []
        first_end = data.index(b"\n")
        head_overlong = self._partial_overlong or len(self._partial) + first_end > self.max_line_bytes
        whole, rest = data[:cut], data[cut:]
        blocks: list[LineBlock] = []
        if head_overlong:
            self._skip_overlong()
            whole = whole[first_end + 1 :]
        elif self._partial:
            whole = self._partial + whole
        self._partial, self._partial_overlong = b"", False
        if len(whole) <= self.max_line_bytes + 1 or self._fits(whole):
            self._add(blocks, whole)
        else:
            run: list[bytes] = []
            for piece in whole[:-1].split(b"\n"):
                if len(piece) > self.max_line_bytes:
                    self._add(blocks, b"".join(run))
                    run = []
                    self._skip_overlong()
                else:
                    run.append(piece + b"\n")
            self._add(blocks, b"".join(run))
        self._keep(rest)
        return blocks

    def _fits(self, whole: bytes) -> bool:
        return max(map(len, whole.split(b"\n"))) <= self.max_line_bytes

    def _keep(self, rest: bytes) -> None:
        """Hold the unterminated end of a chunk (or only count it, once it is too long)."""
        if self._partial_overlong or len(self._partial) + len(rest) > self.max_line_bytes:
            self._partial, self._partial_overlong = b"", True
        else:
            self._partial += rest

    def _last_line(self) -> list[LineBlock]:
        """The unterminated last line, as a line of its own."""
        if not self._partial and not self._partial_overlong:
            return []
        blocks: list[LineBlock] = []
        if self._partial_overlong:
            self._skip_overlong()
        else:
            self._add(blocks, self._partial + b"\n")
        self._partial, self._partial_overlong = b"", False
        return blocks

    def _add(self, blocks: list[LineBlock], whole: bytes) -> None:
        if whole:
            blocks.append(LineBlock(self.line_number + 1, whole))
            self.line_number += whole.count(b"\n")

    def _skip_overlong(self) -> None:
        self.line_number += 1
        self.overlong += 1
        if self.overlong <= 10:
            log.warning(
                "line %d of %s is longer than %d bytes: skipped",
                self.line_number,
                self.path,
                self.max_line_bytes,
            )

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
