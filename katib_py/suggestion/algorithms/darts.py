"""`darts`: Differentiable Architecture Search, whose search runs inside one trial.

As Katib's `pkg/suggestion/v1beta1/nas/darts/service.py`, the service hands the whole search to the
trial: every assignment carries three parameters, in Katib's exact strings (JSON with `'` for `"`):

- `algorithm-settings`: the settings with Katib's defaults, in Katib's order; a value given in the
  Experiment is passed as its text (`'num_epochs': '1'`), a default as a number, "None" as null;
- `search-space`: one primitive per operation and filter size, `'{operationType}_{k}x{k}'` from the
  operation's first parameter's list, or the bare name for `skip_connection` (and `none`);
- `num-layers`: graphConfig.numLayers.

The trial (katib_py.trainers.darts_trainer, or Katib's darts-cnn-cifar10 image) prints
`Best-Genotype=Genotype(...)`. Every request is answered with as many copies as asked, as in Katib.
"""

from __future__ import annotations

from katib_py.api import models
from katib_py.suggestion.algorithm import (
    ExperimentView,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    TrialRecord,
    table_info,
)
from katib_py.suggestion.nas import katib_text

PARAMETERLESS = ("skip_connection", "none")


def search_space(config: models.NasConfig) -> list[str]:
    out: list[str] = []
    for op in config.operations or []:
        kind = op.operation_type or ""
        params = op.parameters or []
        if kind in PARAMETERLESS or not params:
            out.append(kind)
            continue
        fs = params[0].feasible_space or models.FeasibleSpace()
        out.extend(f"{kind}_{size}x{size}" for size in fs.list or [])
    return out


class Darts(SuggestionAlgorithm):
    """DARTS (Liu et al. 2019): the search space and settings for the trial that searches."""

    name = "darts"
    info = table_info("darts")

    def settings_text(self, experiment: ExperimentView) -> str:
        values: dict[str, object] = {n: s.default for n, s in self.info.settings.items()}
        for name, raw in experiment.raw_settings:
            values[name] = None if raw == "None" else raw
        return katib_text(values)

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        config = experiment.nas_config
        assert config is not None  # validate() ran first
        layers = (config.graph_config or models.GraphConfig()).num_layers or 0
        assignment = {
            "algorithm-settings": self.settings_text(experiment),
            "search-space": katib_text(search_space(config)),
            "num-layers": str(layers),
        }
        return Proposal([ProposedTrial(dict(assignment)) for _ in range(count)])
