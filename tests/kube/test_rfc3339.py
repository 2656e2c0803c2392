"""The one time module: Go's RFC3339Nano for metric times, Kubernetes' formats for object times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from katib_py.kube import rfc3339
from katib_py.localcluster.apiserver.table import age


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02t03:04:05.5z", datetime(2024, 1, 2, 3, 4, 5, 500000)),
        ("2024-01-02T03:04:05.123456789Z", datetime(2024, 1, 2, 3, 4, 5, 123456)),  # nanoseconds cut
        ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5)),
        ("2024-01-02T23:30:00-01:30", datetime(2024, 1, 3, 1, 0, 0)),
        ("0001-01-01T00:00:00Z", rfc3339.ZERO_TIME),
    ],
)
def test_parse_gives_naive_utc(text: str, expected: datetime) -> None:
    assert rfc3339.parse(text) == expected
    assert rfc3339.is_timestamp(text)


@pytest.mark.parametrize(
    "text",
    ["2024-01-02T03:04:05", "2024-01-02 03:04:05Z", "2024-13-02T03:04:05Z", "2024-01-02T03:04:60Z", "x", ""],
)
def test_anything_else_is_not_a_timestamp(text: str) -> None:
    assert not rfc3339.is_timestamp(text)
    with pytest.raises(ValueError):
        rfc3339.parse(text)
    assert rfc3339.parse_time(text) is None


def test_format_writes_as_go_does() -> None:
    assert rfc3339.format(datetime(2024, 1, 2, 3, 4, 5, 120000)) == "2024-01-02T03:04:05.12Z"
    assert (
        rfc3339.format(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(hours=1))
        == "2024-01-02T04:04:05Z"
    )
    assert rfc3339.zero_time_plus(1_500_000) == "0001-01-01T00:00:01.5Z"
    assert rfc3339.format_micro_time(datetime(2024, 1, 2, tzinfo=UTC)) == "2024-01-02T00:00:00.000000Z"


def test_object_times_keep_their_offset() -> None:
    """The embedded cluster once cut times to 19 characters, reading 10:00+02:00 as 10:00 UTC."""
    assert rfc3339.parse_time("2024-01-02T10:00:00+02:00") == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    written_east = two_hours_ago.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=3)
    assert age(written_east.strftime("%Y-%m-%dT%H:%M:%S") + "+03:00") == "120m"
