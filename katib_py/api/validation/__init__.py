"""Experiment validation: Katib's admission rules, with a field path on every error.

`validate_experiment` is pure: the admission webhook, `katib-py validate` and tests share it. It
returns every error with its field path, in the rule order of Katib's validator
(`pkg/webhook/v1beta1/experiment/validator/validator.go`). As in Katib, an objective error
returns at once (later rules need a usable objective), and so do trial-template errors that leave
nothing to check further. Cluster-dependent checks (namespace label, PV existence, in Katib's
`pkg/webhook/v1beta1/experiment/validation_webhook.go`) belong to the webhook; loading a
configMap trial template is a hook (`load_template`) the webhook plugs in.

Beyond Katib, it checks what Katib forgets (see README "Differences from Katib validation"):
parameter names unique, numbers parse, min < max, step > 0, lists non-empty and unique,
logUniform/logNormal need min > 0, distributions and settings the chosen algorithm supports,
metric strategies, and every metrics filter (StdOut included).

One private module per rule group (README "Where the rules live"): `_names`, `_budget`,
`_objective`, `_algorithm`, `_trial_template`, `_parameters`, `_metrics_collector`,
`_warm_start`, with
`_experiment` running them in order and `_load` turning a raw object into an Experiment.
"""

from katib_py.api.validation._errors import FieldError
from katib_py.api.validation._experiment import validate_experiment
from katib_py.api.validation._load import load_experiment
from katib_py.api.validation._trial_template import TemplateLoader
from katib_py.api.validation._warm_start import ExperimentLookup

__all__ = ["ExperimentLookup", "FieldError", "TemplateLoader", "load_experiment", "validate_experiment"]
