"""The block reader (`TextParser.read`, the collector's path) against the plain per-line path.

`read_lines` parses one decoded line at a time with RE2, as the collector always did; `read`
takes a block of raw lines at once (the default filter cut at its `=` signs, other filters only
on lines that mention a metric). On generated and hostile blocks both give the same metrics, in
the same order, with the same times, and count the same unreadable lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from katib_py.kube import rfc3339
from katib_py.metricscollector.collector import CollectorConfig, LineSource
from katib_py.metricscollector.parse import KATIB_DEFAULT_FILTER, TextParser, read_lines
from katib_py.metricscollector.tail import LineBlock

FUZZ = settings.get_profile("fuzz")  # tests/conftest.py
NAME_SETS = [
    ["loss", "accuracy"],
    ["loss", "Validation-accuracy", "train/loss", "val.acc", "lr"],
    ["a", "b1", "1"],
    ["损失", "loss"],
    ["inf", "nan", "e"],
    ["x|y", "a.b"],
]
FILTER_SETS = [
    [],
    [KATIB_DEFAULT_FILTER],
    [r"(\w+)\s*:\s*([-+]?\d+(?:\.\d+)?)"],
    [r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}"],
    [r"([\w|./-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)", r"(\w+):(\d+)"],
]
PIECES = [
    "loss", "accuracy", "Validation-accuracy", "train/loss", "val.acc", "lr", "a", "b1", "1", "损失",
    "=", "==", " = ", "\t=", "=\t", ":", ": ", " ", "  ", ",", ";", "|", "/", ".", "-", "+", "_",
    "0", "1", "42", "0.5", ".5", "5.", "-3", "+7", "1e5", "1E-3", "2e", "1e+", "e5",
    "nan", "NaN", "inf", "-inf", "+Infinity", "info", "nano", "infinity2", "Inf.",
    "x", "abc", "epoch", "step", "\x00", "\x0b", "\x0c", "\r", "é", "٣", "²",
    "{metricName: ", ", metricValue: ", "}",
    "2024-01-02T03:04:05.678901Z", "2024-01-02T04:04:05+01:00", "2024-13-02T03:04:05Z",
    "1999-12-31T23:59:59.9Z",
    "9999-12-31T23:59:59Z", "٢٠٢٤-01-02T03:04:05Z",
]  # fmt: skip
RAW = [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80"]

text_line = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
raw_line = st.lists(
    st.one_of(st.sampled_from(PIECES).map(str.encode), st.sampled_from(RAW)), max_size=10
).map(b"".join)
any_line = st.one_of(
    text_line.map(str.encode),
    raw_line,
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    st.text(max_size=30).map(lambda t: t.replace("\n", "").encode("utf-8", "surrogatepass")),
)
endings = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r\r\n"])


def plain(parser: TextParser, data: bytes, first: int) -> tuple[list[tuple[str, str, str]], int]:
    return read_lines(parser, LineBlock(first, data).lines())


@FUZZ
@given(
    lines=st.lists(st.tuples(any_line, endings), max_size=25),
    names=st.sampled_from(NAME_SETS),
    filters=st.sampled_from(FILTER_SETS),
    first=st.sampled_from([1, 9, 10, 999_999, 59_999_990, 60_000_000, 123_456_789]),
)
@example(lines=[(b"loss=1b=2 accuracy=3", b"\n")], names=["loss", "accuracy"], filters=[], first=1)
@example(
    lines=[(b"a=1b=2", b"\n"), (b"loss=info loss=2", b"\r\n")], names=["b1", "loss"], filters=[], first=10
)
@example(
    lines=[(b"2024-01-02T03:04:05Z loss=1", b"\n"), (b"1 loss=2", b"\n")], names=["loss"], filters=[], first=1
)
@example(lines=[(b"loss\n=1", b"\n")], names=["loss"], filters=[], first=1)
def test_block_reader_matches_the_per_line_path(
    lines: list[tuple[bytes, bytes]], names: list[str], filters: list[str], first: int
) -> None:
    data = b"".join(line + end for line, end in lines)
    parser = TextParser(names, filters)
    assert parser.read(data, first) == plain(parser, data, first)


@pytest.mark.parametrize("filters", FILTER_SETS[:2])
def test_a_large_generated_block_and_hostile_lines_read_the_same(filters: list[str]) -> None:
    parser = TextParser(["loss", "accuracy", "val.acc"], filters)
    lines = [
        f"epoch {i // 100} step {i}: loss={1 / (i + 1):.6f} accuracy={i / 7:.4f}"
        if i % 4
        else f"INFO step {i} data loader ready, {i * 7} samples"
        for i in range(3000)
    ]
    lines[7] = "2024-01-02T03:04:05.5Z loss=0.5 val.acc=nan"
    lines[8] = "loss=1e accuracy=2"  # a value running into a name: that line the plain way
    lines[9] = "loss = oops accuracy"  # unreadable
    lines[10] = "accuracy " + "a" * 100_000 + "=1"  # a long run of name characters
    lines[11] = "loss=" + "9" * 100_000 + "x"
    lines[12] = "=" * 50_000 + "loss=3"
    data = "\n".join(lines).encode() + b"\n"
    found, unreadable = parser.read(data, 1)
    assert (found, unreadable) == plain(parser, data, 1)
    assert len(found) > 4000 and unreadable >= 1


def test_bulk_zero_times_match_one_by_one() -> None:
    numbers = [1, 9, 10, 100, 999_999, 1_000_000, 1_000_001, 59_999_999, 60_000_000, 61_000_010]
    assert rfc3339.zero_times_plus(numbers) == [rfc3339.zero_time_plus(n) for n in numbers]
    run = list(range(1_999_990, 2_000_011))
    assert rfc3339.zero_times_plus(run) == [rfc3339.zero_time_plus(n) for n in run]


@FUZZ
@given(
    lines=st.lists(st.tuples(any_line, endings), max_size=30),
    chunk=st.sampled_from([7, 64, 1024]),
    last=st.booleans(),
)
def test_the_collector_reads_a_file_as_the_per_line_path_does(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[bytes, bytes]], chunk: int, last: bool
) -> None:
    """Through LineTail's blocks (small chunks, overlong lines, an unterminated last line)."""
    data = b"".join(line + end for line, end in lines) + (b"loss=7 unterminated" if last else b"")
    path = tmp_path_factory.mktemp("log") / "metrics.log"
    path.write_bytes(data)
    config = CollectorConfig(
        trial_name="t", metric_names=["loss", "accuracy"], maximize=False, db_manager_address="",
        kind="TEXT", path=path, echo=False,
    )  # fmt: skip
    source = LineSource(config)
    source.tail.chunk_bytes, source.tail.max_line_bytes = chunk, 40
    found = [metric for part in source.drain() for metric in part]
    source.tail.close()
    expected_lines, overlong = [], 0
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    for number, piece in enumerate(pieces, 1):
        if len(piece) > 40:
            overlong += 1
        else:
            expected_lines.append((number, piece.decode("utf-8", "replace").rstrip("\r")))
    expected, unreadable = read_lines(TextParser(["loss", "accuracy"]), expected_lines)
    assert found == expected
    assert (source.malformed, source.lines) == (unreadable + overlong, len(expected_lines))


def test_lines_of_a_block_are_the_plain_paths_lines(tmp_path: Path) -> None:
    block = LineBlock(5, b"a\r\r\nb\xff\n\n")
    assert block.lines() == [(5, "a"), (6, "b\ufffd"), (7, "")]
