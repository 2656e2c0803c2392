"""Two operator shards (`katib-py up --shards 2`): every Experiment runs to the end, each in the
shard its hashed namespace/name picks, and no replica touches another shard's objects (the
Experiment's shard annotation and the reportingInstance of every Event the operator posted)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from katib_py.controller.telemetry import COMPONENT
from katib_py.core.sharding import SHARD_ANNOTATION, shard_of

from .operator_e2e import Stack, condition, shell_experiment, start_stack, stop_stack

pytestmark = pytest.mark.e2e

SHARDS = 2
# two experiments in each shard (shard_of is fixed: see tests/core/test_sharding.py)
NAMES = ["shard-1", "shard-2", "shard-0", "shard-3"]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("katib-up-shards"), "--shards", str(SHARDS))
    try:
        yield stack
    finally:
        stop_stack(stack)


def test_each_experiment_is_run_by_its_shard_only(sharded: Stack) -> None:
    stack = sharded
    assert sorted(shard_of("default", n, SHARDS) for n in NAMES) == [0, 0, 1, 1]
    for name in NAMES:
        stack.apply(
            shell_experiment(stack, name, "echo accuracy=$1\n", maxTrialCount=2, parallelTrialCount=2)
        )
    for name in NAMES:
        exp = stack.wait_finished(name, timeout=300)
        assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached", exp["status"]
        want = shard_of("default", name, SHARDS)
        assert exp["metadata"]["annotations"][SHARD_ANNOTATION] == f"{want}/{SHARDS}"
        assert len(stack.trials(name)) == 2
    ours = [e for e in stack.list("events") if e.get("reportingComponent") == COMPONENT]
    by_object: dict[str, set[str]] = {}
    for event in ours:
        involved = event["involvedObject"]
        experiment = next((n for n in NAMES if involved["name"].startswith(n)), None)
        if experiment is not None and involved["kind"] in ("Experiment", "Trial"):
            by_object.setdefault(experiment, set()).add(event["reportingInstance"])
    # every experiment's events (its own and its trials') come from its shard's replica alone
    assert by_object == {n: {f"shard-{shard_of('default', n, SHARDS)}-of-{SHARDS}"} for n in NAMES}, by_object
    for index in range(SHARDS):
        log = (stack.data_dir / "logs" / f"operator-{index}.log").read_text()
        assert f"operator shard {index}/{SHARDS}" in log


def test_a_bad_shard_is_refused_with_its_reason() -> None:
    for args, message in [
        (["--shard", "2/2"], "shard '2/2': the index must be 0 to 1, not 2"),
        (["--shard", "half"], "shard 'half' is not I/N"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "katib_py.cli", "operator", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and message in done.stderr, done.stderr
