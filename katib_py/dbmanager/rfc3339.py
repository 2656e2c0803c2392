"""RFC 3339 timestamps the way Go's time package reads and writes them (Katib's wire format).

Katib parses `MetricLog.time_stamp` with `time.RFC3339Nano` and answers with RFC3339Nano in UTC:
fraction digits without trailing zeros, no fraction at all when it is zero, and the zero time
`0001-01-01T00:00:00Z` for lines that carried no timestamp.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

ZERO_TIME = datetime(1, 1, 1)
ZERO_TIME_TEXT = "0001-01-01T00:00:00Z"

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse(text: str) -> datetime:
    """An RFC 3339 (nano) timestamp as a naive UTC datetime (microseconds kept, nanoseconds cut).

    Raises ValueError for anything else.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    value = datetime(year, month, day, hour, minute, second, micro)
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        value = value - offset if m.group(9) == "+" else value + offset
    return value


def is_timestamp(text: str) -> bool:
    """True when `text` is an RFC 3339 timestamp (cheap test used on every log line)."""
    if len(text) < 20 or text[4:5] != "-":
        return False
    try:
        parse(text)
    except (ValueError, OverflowError):
        return False
    return True


def to_utc_naive(value: datetime) -> datetime:
    """Aware datetimes converted to naive UTC; naive ones are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def format(value: datetime) -> str:
    """RFC3339Nano in UTC, as Go prints it: `2024-01-01T00:00:00.123456Z`, `0001-01-01T00:00:00Z`."""
    value = to_utc_naive(value)
    date = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    clock = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        return f"{date}T{clock}.{value.microsecond:06d}".rstrip("0") + "Z"
    return f"{date}T{clock}Z"


def zero_time_plus(microseconds: int) -> str:
    """`format(ZERO_TIME + microseconds)`, fast (used once per metric line without a timestamp)."""
    if 0 < microseconds < 60_000_000:
        seconds, micro = divmod(microseconds, 1_000_000)
        if micro:
            return f"0001-01-01T00:00:{seconds:02d}.{micro:06d}".rstrip("0") + "Z"
        return f"0001-01-01T00:00:{seconds:02d}Z"
    return format(ZERO_TIME + timedelta(microseconds=microseconds))


def from_unix(seconds: float) -> datetime:
    """Unix seconds (float) as a naive UTC datetime."""
    return datetime(1970, 1, 1) + timedelta(microseconds=round(seconds * 1_000_000))
