from katib_py.core.trial_counting import decide_trial_counts, incomplete_early_stopped

from .core_factories import T0, T1, T2, experiment, facts, trial


def test_fills_up_to_parallel() -> None:
    d = decide_trial_counts(experiment(parallelTrialCount=3), facts(trial("a", "running")))
    assert (d.add, d.delete) == (2, [])


def test_respects_max_trial_count_with_completed_trials() -> None:
    trials = [trial("a", "succeeded"), trial("b", "metricsunavailable"), trial("c", "running")]
    d = decide_trial_counts(experiment(parallelTrialCount=3, maxTrialCount=4), facts(*trials))
    assert d.add == 1  # 4 - 2 completed = 2 allowed, 1 already active


def test_nothing_when_max_reached() -> None:
    trials = [trial("a", "succeeded"), trial("b", "failed")]
    assert decide_trial_counts(experiment(maxTrialCount=2), facts(*trials)).add == 0


def test_lowering_parallel_deletes_pending_first_then_newest_running_never_completed() -> None:
    """Section 0, item 3."""
    trials = [
        trial("old-done", "succeeded", created=T2),
        trial("run-old", "running", created=T0),
        trial("run-new", "running", created=T2),
        trial("pend-old", "pending", created=T0),
        trial("pend-new", "pending", created=T1),
    ]
    d = decide_trial_counts(experiment(parallelTrialCount=2), facts(*trials))
    assert d.add == 0
    assert d.delete == ["pend-new", "pend-old"]
    d = decide_trial_counts(experiment(parallelTrialCount=1), facts(*trials))
    assert d.delete == ["pend-new", "pend-old", "run-new"]


def test_trials_being_deleted_are_not_counted() -> None:
    trials = [trial("a", "running"), trial("b", "pending", deleting=True)]
    d = decide_trial_counts(experiment(parallelTrialCount=1), facts(*trials))
    assert (d.add, d.delete) == (0, [])


def test_incomplete_early_stopped() -> None:
    trials = [trial("a", "earlystopped"), trial("b", "earlystopped", loss="0.2"), trial("c", "running")]
    assert incomplete_early_stopped(facts(*trials)) == 1
