"""`validate_experiment`: every rule, in the order of Katib's `ValidateExperiment`.

The order is that of `pkg/webhook/v1beta1/experiment/validator/validator.go`: name, counts,
update, objective (whose errors return at once: later rules need a usable objective), algorithm,
early stopping, resume policy, trial template, parameters or nasConfig, metrics collector; then
katib-py's warm start.
"""

from __future__ import annotations

from katib_py.api.config import KatibConfig, default_katib_config
from katib_py.api.models import Experiment
from katib_py.api.validation._algorithm import validate_algorithm, validate_early_stopping
from katib_py.api.validation._budget import validate_counts, validate_resume_policy, validate_update
from katib_py.api.validation._errors import FieldError
from katib_py.api.validation._metrics_collector import validate_metrics_collector
from katib_py.api.validation._names import validate_name
from katib_py.api.validation._objective import validate_objective
from katib_py.api.validation._parameters import validate_search_space
from katib_py.api.validation._trial_template import TemplateLoader, validate_trial_template
from katib_py.api.validation._warm_start import ExperimentLookup, validate_warm_start


def validate_experiment(
    exp: Experiment,
    *,
    old: Experiment | None = None,
    config: KatibConfig | None = None,
    load_template: TemplateLoader | None = None,
    find_experiment: ExperimentLookup | None = None,
) -> list[FieldError]:
    """Every error of `exp` (already defaulted, as the webhook sees it), in Katib's rule order.

    `old` is the stored object on UPDATE. `config` defaults to the packaged katib-config.
    `load_template` resolves configMap trial templates; without it that source is not loaded.
    `find_experiment` finds the experiments `spec.warmStart.experiments` names; without it they
    are not looked up.
    """
    cfg = config if config is not None else default_katib_config()
    errors: list[FieldError] = []
    add = errors.append
    meta_name = exp.metadata.name if exp.metadata else None
    validate_name(meta_name, exp.metadata.generate_name if exp.metadata else None, add)
    spec = exp.spec
    if spec is None:
        add(FieldError("spec", "must be specified"))
        return errors
    validate_counts(exp, add)
    if old is not None:
        validate_update(exp, old, add)
    objective_errors = validate_objective(exp)
    if objective_errors:
        return errors + objective_errors  # Katib returns at once: later rules need the objective
    validate_algorithm(exp, cfg, add)
    validate_early_stopping(exp, cfg, add)
    validate_resume_policy(exp, add)
    errors.extend(validate_trial_template(exp, load_template))
    validate_search_space(exp, add)
    validate_metrics_collector(spec.metrics_collector_spec, cfg, add)
    if not any(e.path.startswith("spec.parameters") for e in errors):
        validate_warm_start(exp, find_experiment, add)
    return errors
