"""Where Katib's three kinds live on the REST API (`kubeflow.org/v1beta1`, all namespaced)."""

from __future__ import annotations

from katib_py.api.models import GROUP, VERSION
from katib_py.kube.resource import Resource

EXPERIMENTS = Resource(GROUP, VERSION, "experiments", "Experiment")
SUGGESTIONS = Resource(GROUP, VERSION, "suggestions", "Suggestion")
TRIALS = Resource(GROUP, VERSION, "trials", "Trial")
KATIB_KINDS = (EXPERIMENTS, SUGGESTIONS, TRIALS)
