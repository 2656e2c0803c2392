"""Which operator replica owns an Experiment when the work is split into N shards (katib-py only;
Katib runs one active controller).

An Experiment belongs to shard `hash(namespace/name) mod N`; its Suggestion (same name), its
Trials (label `katib.kubeflow.org/experiment`), their jobs and the suggestion Deployment follow
it. The hash is SHA-256, not Python's `hash()`, so every replica, in every process and version,
computes the same owner. With N = 1 every Experiment is owned by the one shard.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SHARD_ANNOTATION = "katib.kubeflow.org/shard"
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 1024


class ShardError(ValueError):
    """A shard setting that is not `I/N` with 0 <= I < N <= 1024."""


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def owns(self, namespace: str, experiment: str) -> bool:
        return self.count == 1 or shard_of(namespace, experiment, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """`I/N` (e.g. `0/2`): this replica's shard index and the number of shards."""
    match = _SPEC.match(text or "")
    if match is None:
        raise ShardError(f"shard {text!r} is not I/N (e.g. 0/2: the first of two shards)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ShardError(f"shard {text!r}: the number of shards must be 1 to {MAX_SHARDS}, not {count}")
    if index >= count:
        raise ShardError(f"shard {text!r}: the index must be 0 to {count - 1}, not {index}")
    return Shard(index, count)


def shard_of(namespace: str, experiment: str, count: int) -> int:
    """The shard (0 to count-1) of the Experiment `namespace/experiment`."""
    digest = hashlib.sha256(f"{namespace}/{experiment}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count
