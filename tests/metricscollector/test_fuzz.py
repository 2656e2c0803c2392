"""Fuzzing the collector with hostile logs (bounded in count and time; db-manager on 127.0.0.1).

Huge lines, NUL bytes, invalid UTF-8, carriage returns, regexp-killer lines and rename rotation:
parsing never fails and stays fast, the tail gives back exactly the lines written (the overlong
ones counted), and the collector process stores every metric line, with bounded memory.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from katib_py.metricscollector.parse import JsonParser, MalformedLine, TextParser
from katib_py.metricscollector.tail import LineTail

FUZZ = settings.get_profile("fuzz")  # tests/conftest.py
NAMES = ["loss", "accuracy", "train/loss", "val.acc", "Score"]
FILTERS = [
    [],
    [r"(\w+)\s*:\s*([-+]?\d+(?:\.\d+)?)"],
    [r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}"],
]

redos_lines = st.builds(
    lambda name, fill, size, tail: name + " " + fill * size + tail,
    st.sampled_from(NAMES),
    st.sampled_from(["a", "a ", "a=", "1", "=", "a-", ".", " ", "\t", "loss"]),
    st.integers(1_000, 200_000),
    st.sampled_from(["", "!", "=", "=1", " loss=0.5", "\x00"]),
)
raw_lines = st.one_of(
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),  # as LineTail decodes
    st.text(max_size=200),
    st.builds(
        lambda name, value, sep: f"{name}{sep}{value}",
        st.sampled_from(NAMES),
        st.text(max_size=12),
        st.text(max_size=3),
    ),
    redos_lines,
)


@FUZZ
@given(line=raw_lines, filters=st.sampled_from(FILTERS))
def test_text_parsing_never_fails_and_stays_linear(line: str, filters: list[str]) -> None:
    started = time.thread_time()
    found = TextParser(NAMES, filters).parse(line)
    assert time.thread_time() - started < 1.0, f"{len(line)} characters took too long (CPU time)"
    for observation in found:
        assert observation.name in NAMES and isinstance(observation.value, str)


@FUZZ
@given(line=raw_lines)
def test_json_parsing_never_fails(line: str) -> None:
    try:
        found = JsonParser(NAMES).parse(line)
    except MalformedLine:
        return
    assert all(o.name in NAMES for o in found)


chunks = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"\n", b"\r\n", b"\x00\n", b"\xff\xfe\n", b"\xe2\x82", b"\xac\n", b"loss=1\n"]),
    st.integers(0, 5000).map(lambda n: b"x" * n),
)
events = st.lists(st.one_of(chunks, st.just("poll"), st.just("rotate")), max_size=40)


def expected_lines(files: list[bytes], limit: int) -> tuple[list[tuple[int, str]], int]:
    """What a reader that misses nothing sees: every line of every file; the overlong ones only counted."""
    lines: list[tuple[int, str]] = []
    overlong = number = 0
    for content in files:
        pieces = content.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        for piece in pieces:
            number += 1
            if len(piece) > limit:
                overlong += 1
            else:
                lines.append((number, piece.decode("utf-8", "replace").rstrip("\r")))
    return lines, overlong


def test_tail_gives_back_every_line_written_across_rotations(tmp_path: Path) -> None:
    @FUZZ
    @given(script=events)
    def one(script: list[bytes | str]) -> None:
        folder = tmp_path / uuid.uuid4().hex
        folder.mkdir()
        path = folder / "metrics.log"
        tail = LineTail(path, chunk_bytes=512, max_line_bytes=2048)
        files: list[bytes] = [b""]
        seen: list[tuple[int, str]] = []
        path.write_bytes(b"")
        for event in script:
            if event == "poll":
                seen.extend(tail.poll())
            elif event == "rotate":
                while lines := tail.poll():  # rotation comes after the reader has caught up
                    seen.extend(lines)
                path.rename(folder / f"metrics.log.{len(files)}")
                path.write_bytes(b"")
                files.append(b"")
            else:
                assert isinstance(event, bytes)
                with path.open("ab") as out:
                    out.write(event)
                files[-1] += event
        while lines := tail.finish():
            seen.extend(lines)
        tail.close()
        lines, overlong = expected_lines(files, 2048)
        assert seen == lines
        assert tail.overlong == overlong

    one()


def hostile_log(rng: random.Random, count: int) -> tuple[list[bytes], list[str]]:
    """Lines of hostile bytes with `loss=N` metric lines among them; and the values written."""
    lines: list[bytes] = []
    values: list[str] = []
    for i in range(count):
        kind = rng.randrange(8)
        if kind == 0:
            lines.append(b"accuracy " + b"a" * rng.randrange(10_000, 300_000))  # regexp killer
        elif kind == 1:
            lines.append(bytes(rng.randrange(256) for _ in range(rng.randrange(200))).replace(b"\n", b""))
        elif kind == 2:
            lines.append(b"loss " * rng.randrange(300_000, 400_000))  # over 1 MiB: skipped
        elif kind == 3:
            lines.append(b"\x00\xff\xfe NUL and invalid UTF-8 \xc3\x28 accuracy=\x00")
        else:
            values.append(str(i))
            lines.append(f"epoch {i}: loss={i} \u2713".encode() + rng.choice([b"", b"\r", b" \xff"]))
    return lines, values


def test_the_collector_stores_every_metric_line_of_a_hostile_rotated_log(
    tmp_path: Path, db_manager: Any, observations: Any, measured_collector: Any
) -> None:
    address = f"127.0.0.1:{db_manager.port}"
    for seed in range(3):
        lines, values = hostile_log(random.Random(seed), 60)
        name, log = f"trial-{uuid.uuid4().hex[:10]}", tmp_path / f"run{seed}" / "metrics.log"
        log.parent.mkdir()
        log.write_bytes(b"\n".join(lines[:30]) + b"\n")
        first_half = {v for v in values if int(v) < 30}
        last = {str(len(lines) - 1)}  # the last line has no newline: it is read at SIGTERM

        def stored(name: str = name) -> set[str]:
            return {v for _, _, v in observations(address, name, "loss")}

        def rotate_when_read(
            log: Path = log, lines: list[bytes] = lines, first: set[str] = first_half
        ) -> None:
            if stored() >= first and not log.with_suffix(".log.1").exists():
                log.rename(log.with_suffix(".log.1"))
                log.write_bytes(b"\n".join(lines[30:]))

        flags = ["-t", name, "-m", "loss;accuracy", "-s-db", address, "-path", str(log), "-format", "TEXT"]
        wanted = set(values) - last
        code, peak = measured_collector(
            [*flags, "-p", "100ms"], lambda wanted=wanted: rotate_when_read() or stored() >= wanted
        )
        assert code == 0
        assert stored() == set(values)
        assert peak < 200 * 1024, f"peak RSS {peak} KiB"
