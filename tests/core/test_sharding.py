"""The shard decision: `I/N` parsing with its messages, a stable hash, an even split."""

from __future__ import annotations

from collections import Counter

import pytest

from katib_py.core.sharding import Shard, ShardError, parse_shard, shard_of
from katib_py.settings import Settings


def test_parse_shard() -> None:
    assert parse_shard("0/2") == Shard(0, 2) and parse_shard(" 3 / 4 ") == Shard(3, 4)
    assert str(parse_shard("1/3")) == "1/3" and parse_shard("0/1").sharded is False
    for text, message in [
        ("", "is not I/N"),
        ("2", "is not I/N"),
        ("a/b", "is not I/N"),
        ("-1/2", "is not I/N"),
        ("2/2", "the index must be 0 to 1, not 2"),
        ("0/0", "the number of shards must be 1 to 1024, not 0"),
        ("0/5000", "the number of shards must be 1 to 1024, not 5000"),
    ]:
        with pytest.raises(ShardError, match=message):
            parse_shard(text)


def test_the_hash_is_stable_and_splits_evenly() -> None:
    # fixed values: every replica, in every process and release, must compute the same owner
    assert [shard_of("default", f"shard-{i}", 2) for i in range(8)] == [1, 0, 0, 1, 0, 1, 0, 0]
    assert shard_of("ns", "exp", 7) == 3
    # namespace and name both count
    assert {shard_of(f"ns{i}", "same", 16) for i in range(64)} != {shard_of("ns0", "same", 16)}
    counts = Counter(shard_of("default", f"exp-{i}", 4) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 900
    owners = [[s for s in range(3) if Shard(s, 3).owns("default", f"e{i}")] for i in range(100)]
    assert all(len(o) == 1 for o in owners)  # exactly one shard owns each experiment
    assert all(Shard().owns("any", f"e{i}") for i in range(10))


def test_shard_from_the_environment() -> None:
    assert Settings.from_env({"KATIB_OPERATOR_SHARD": "1/2"}).shard == Shard(1, 2)
    assert Settings.from_env({"KATIB_OPERATOR_SHARD": "1/2"}).shard_instance == "shard-1-of-2"
    assert Settings.from_env({}).shard == Shard() and Settings.from_env({}).shard_instance == ""
    with pytest.raises(ValueError, match=r"KATIB_OPERATOR_SHARD: shard '1-2' is not I/N"):
        Settings.from_env({"KATIB_OPERATOR_SHARD": "1-2"})
