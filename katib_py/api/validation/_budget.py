"""Trial counts, the resume policy, and what an UPDATE may change.

From Katib's `ValidateExperiment` and `validateResumePolicy` in
`pkg/webhook/v1beta1/experiment/validator/validator.go`: the counts must be positive (and
`maxFailedTrialCount` not negative) and at most `maxTrialCount`; katib-py also bounds
`parallelTrialCount` (MAX_PARALLEL_TRIALS) and checks its own time budgets (`maxDurationSeconds`,
`trialTimeoutSeconds`: whole seconds > 0) and `infraRetryLimit` (0 to MAX_INFRA_RETRIES: each
retry reruns a whole trial, so a large number only hides a broken cluster). On UPDATE only the
three counts, the two budgets and the retry limit may change, a completed experiment may only be
changed when it is restartable
(`IsCompletedExperimentRestartable` in `pkg/controller.v1beta1/experiment/util/status_util.go`:
Succeeded by reaching max trials, or in katib-py its max duration, with resumePolicy LongRunning
or FromVolume), and a changed `maxTrialCount` must exceed the trials already created. Old and new
are compared with Katib's defaults applied to both.
"""

from __future__ import annotations

from typing import Any

from katib_py.api.algorithms import MAX_PARALLEL_TRIALS
from katib_py.api.defaults import apply_defaults
from katib_py.api.models import Condition, Experiment, ResumePolicy
from katib_py.api.validation._errors import Add, FieldError

MAX_INFRA_RETRIES = 100


def validate_counts(exp: Experiment, add: Add) -> None:
    assert exp.spec is not None
    failed, max_t, parallel = (
        exp.spec.max_failed_trial_count,
        exp.spec.max_trial_count,
        exp.spec.parallel_trial_count,
    )
    if failed is not None and failed < 0:
        add(FieldError("spec.maxFailedTrialCount", f"should not be less than 0, got {failed}"))
    if max_t is not None and max_t <= 0:
        add(FieldError("spec.maxTrialCount", f"must be greater than 0, got {max_t}"))
    if parallel is not None and parallel <= 0:
        add(FieldError("spec.parallelTrialCount", f"must be greater than 0, got {parallel}"))
    if parallel is not None and parallel > MAX_PARALLEL_TRIALS:
        add(
            FieldError(
                "spec.parallelTrialCount",
                f"must be at most {MAX_PARALLEL_TRIALS} (trials running at once in one experiment), "
                f"got {parallel}",
            )
        )
    for path, seconds in (
        ("spec.maxDurationSeconds", exp.spec.max_duration_seconds),
        ("spec.trialTimeoutSeconds", exp.spec.trial_timeout_seconds),
    ):
        if seconds is not None and seconds <= 0:
            add(FieldError(path, f"must be a number of seconds greater than 0, got {seconds}"))
    retries = exp.spec.infra_retry_limit
    if retries is not None and not 0 <= retries <= MAX_INFRA_RETRIES:
        add(
            FieldError(
                "spec.infraRetryLimit",
                f"must be between 0 and {MAX_INFRA_RETRIES} (retries of a trial after an infrastructure "
                f"failure), got {retries}",
            )
        )
    if failed is not None and max_t is not None and failed > max_t:
        add(
            FieldError(
                "spec.maxFailedTrialCount", f"should be less than or equal to spec.maxTrialCount ({max_t})"
            )
        )
    if parallel is not None and max_t is not None and parallel > max_t:
        add(
            FieldError(
                "spec.parallelTrialCount", f"should be less than or equal to spec.maxTrialCount ({max_t})"
            )
        )


def validate_resume_policy(exp: Experiment, add: Add) -> None:
    assert exp.spec is not None
    policy = exp.spec.resume_policy
    if policy not in (None, "", *[p.value for p in ResumePolicy]):
        add(
            FieldError(
                "spec.resumePolicy",
                f"invalid ResumePolicyType {policy!r}: must be Never, LongRunning or FromVolume",
            )
        )


def _normalized(value: Any) -> Any:
    """Kubernetes semantic equality: nil and empty lists/maps are equal."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _condition_true(exp: Experiment, ctype: str) -> Condition | None:
    for cond in (exp.status.conditions if exp.status else None) or []:
        if cond.type == ctype and cond.status == "True":
            return cond
    return None


def _defaulted_spec(exp: Experiment) -> Any:
    spec = apply_defaults(exp).spec
    return _normalized(spec.dump()) if spec is not None else {}


def validate_update(exp: Experiment, old: Experiment, add: Add) -> None:
    assert exp.spec is not None
    # Both sides defaulted: an object stored without defaults (created while the webhooks were
    # down) is then repaired by its next update instead of refusing every write for ever.
    new_spec, old_spec = _defaulted_spec(exp), _defaulted_spec(old)
    if new_spec == old_spec:
        return
    succeeded = _condition_true(old, "Succeeded")
    completed = succeeded is not None or _condition_true(old, "Failed") is not None
    old_policy = old.spec.resume_policy if old.spec else None
    restartable = (
        succeeded is not None
        and succeeded.reason in ("ExperimentMaxTrialsReached", "ExperimentMaxDurationReached")
        and old_policy in (ResumePolicy.LONG_RUNNING, ResumePolicy.FROM_VOLUME)
    )
    if completed and not restartable:
        add(
            FieldError(
                "spec.resumePolicy",
                "Experiment can be restarted if it is in succeeded state by reaching max trials and "
                "spec.resumePolicy = LongRunning or spec.resumePolicy = FromVolume, when experiment "
                "is completed",
            )
        )
    old_trials = (old.status.trials if old.status else None) or 0
    if exp.spec.max_trial_count is not None and exp.spec.max_trial_count <= old_trials:
        add(
            FieldError(
                "spec.maxTrialCount",
                f"must be greater than status.trials count ({old_trials}), got {exp.spec.max_trial_count}",
            )
        )
    editable = (
        "parallelTrialCount",
        "maxTrialCount",
        "maxFailedTrialCount",
        "maxDurationSeconds",
        "trialTimeoutSeconds",
        "infraRetryLimit",
    )
    rest_new = {k: v for k, v in new_spec.items() if k not in editable}
    rest_old = {k: v for k, v in old_spec.items() if k not in editable}
    if rest_new != rest_old:
        changed = sorted(k for k in set(rest_new) | set(rest_old) if rest_new.get(k) != rest_old.get(k))
        add(
            FieldError(
                "spec",
                "Forbidden: only spec.parallelTrialCount, spec.maxTrialCount, "
                "spec.maxFailedTrialCount, spec.maxDurationSeconds, spec.trialTimeoutSeconds and "
                "spec.infraRetryLimit are "
                f"editable (changed: {', '.join('spec.' + k for k in changed)})",
            )
        )
