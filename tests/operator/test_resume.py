"""Resume policies: raise maxTrialCount on a finished experiment, see Restarting, then Succeeded again."""

from __future__ import annotations

import pytest

from .operator_e2e import Stack, condition, shell_experiment

pytestmark = pytest.mark.e2e


def _restart(stack: Stack, name: str) -> None:
    seen: list[str] = []

    def restarted() -> bool:
        exp = stack.get("experiment", name) or {}
        types = [c["type"] for c in (exp.get("status") or {}).get("conditions") or []]
        seen.extend(types)
        return "Restarting" in types

    stack.kubectl("patch", "experiment", name, "--type=merge", "-p", '{"spec":{"maxTrialCount":4}}')
    stack.wait("the Restarting condition", restarted, interval=0.2)


@pytest.mark.parametrize("policy", ["LongRunning", "FromVolume"])
def test_resume_by_raising_max_trial_count(stack: Stack, policy: str) -> None:
    name = f"e2e-resume-{policy.lower()}"
    stack.apply(
        shell_experiment(
            stack, name, "echo accuracy=$1\n", maxTrialCount=2, parallelTrialCount=2, resumePolicy=policy
        )
    )
    exp = stack.wait_finished(name)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    deployment = f"{name}-random"
    if policy == "LongRunning":
        assert stack.get("deployment", deployment) is not None
    else:
        stack.wait("the suggestion deployment to go", lambda: stack.get("deployment", deployment) is None)
        assert stack.get("pvc", deployment) is not None
    _restart(stack, name)

    def succeeded_again() -> dict | None:  # type: ignore[type-arg]
        exp = stack.get("experiment", name) or {}
        done = condition(exp, "Succeeded")
        return exp if done and exp["status"].get("trials") == 4 else None

    exp = stack.wait("the experiment to succeed again", succeeded_again)
    assert condition(exp, "Succeeded")["reason"] == "ExperimentMaxTrialsReached"
    assert len(stack.trials(name)) == 4
    names = {t["metadata"]["name"] for t in stack.trials(name)}
    assert len(names) == 4
