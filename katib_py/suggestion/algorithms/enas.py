"""`enas`: Efficient Neural Architecture Search's controller, on Katib's wire format.

Every operation of `spec.nasConfig.operations` is expanded into one numbered choice per combination
of its parameters' values (Katib's `pkg/suggestion/v1beta1/nas/enas/Operation.py`): the controller
(katib_py.suggestion.enas_controller) picks one choice per layer, and for each layer which earlier
layers feed it. Each assignment carries Katib's two parameters, in the exact strings of Katib's
`nas/enas/service.py` (JSON with `'` for `"`) so that Katib's ENAS trial code parses them:

- `architecture`: `[[3], [0, 1], [2, 0, 1]]`, per layer the choice, then one skip bit per earlier
  layer (the first bit is the network's input);
- `nn_config`: `{'num_layers': 3, 'input_sizes': [8, 8, 1], 'output_sizes': [10], 'embedding':
  {'3': {'opt_id': 3, 'opt_type': 'convolution', 'opt_params': {'filter_size': '3', ...}}}}`,
  the choices the architecture uses.

Learning: each GetSuggestions call is a round, and every trial carries its round in the label
`enas.suggestion.katib.kubeflow.org/round`. Once every trial of a round has finished (and every
earlier round has been learned), the controller takes `controller_train_steps` REINFORCE steps on
that round's completed trials, rewarded with their objective value (negated when minimising, as
Katib does); failed trials teach nothing. The controller's state is therefore a function of the
trials alone: a restarted service replays the finished rounds in order from the same seed and
arrives at the same controller (the cost is one round's training per finished round).
"""

from __future__ import annotations

import itertools
import json
import logging
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from katib_py.api import models
from katib_py.api.algorithms import SettingValue
from katib_py.suggestion.algorithm import (
    ExperimentView,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    table_info,
)
from katib_py.suggestion.enas_controller import Architecture, Controller, ControllerSettings
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.nas import katib_text

log = logging.getLogger(__name__)

ROUND_LABEL = "enas.suggestion.katib.kubeflow.org/round"
ARCHITECTURE = "architecture"
NN_CONFIG = "nn_config"
_CACHE_SIZE = 16

OptValue = str | int | float


@dataclass(frozen=True)
class Choice:
    """One numbered operation with fixed parameter values (an `embedding` entry of nn_config)."""

    opt_id: int
    opt_type: str
    opt_params: dict[str, OptValue]

    def as_dict(self) -> dict[str, object]:
        return {"opt_id": self.opt_id, "opt_type": self.opt_type, "opt_params": dict(self.opt_params)}


def parameter_values(param: models.ParameterSpec) -> list[OptValue]:
    """The values of an operation parameter, typed as Katib's Operation.py types them in nn_config:
    list items as strings, int ranges as ints (step 1 by default), double ranges as floats."""
    fs = param.feasible_space or models.FeasibleSpace()
    if param.parameter_type in ("categorical", "discrete"):
        return list(fs.list or [])
    if param.parameter_type == "int":
        low, high = int(fs.min or 0), int(fs.max or 0)
        return list(range(low, high + 1, int(fs.step or 1)))
    low_f, high_f, step = float(fs.min or 0), float(fs.max or 0), float(fs.step or 1)
    count = int((high_f - low_f) / step + 1e-9) + 1
    return [low_f + k * step for k in range(count)]


def choices(config: models.NasConfig) -> list[Choice]:
    """Every operation times every combination of its parameters' values, numbered in order."""
    out: list[Choice] = []
    for op in config.operations or []:
        params = op.parameters or []
        names = [p.name or "" for p in params]
        for combo in itertools.product(*(parameter_values(p) for p in params)):
            out.append(Choice(len(out), op.operation_type or "", dict(zip(names, combo, strict=True))))
    return out


def nn_config_text(config: models.NasConfig, table: list[Choice], arc: Architecture) -> str:
    graph = config.graph_config or models.GraphConfig()
    embedding: dict[int, object] = {}
    for layer in arc:
        embedding[layer[0]] = table[layer[0]].as_dict()
    return katib_text(
        {
            "num_layers": graph.num_layers,
            "input_sizes": list(graph.input_sizes or []),
            "output_sizes": list(graph.output_sizes or []),
            "embedding": embedding,
        }
    )


def parse_architecture(text: str, num_layers: int, num_choices: int) -> Architecture | None:
    """An `architecture` assignment back as lists, or None if it does not fit this search space."""
    try:
        arc = json.loads(text.replace("'", '"'))
    except ValueError:
        return None
    if not isinstance(arc, list) or len(arc) != num_layers:
        return None
    for layer, entry in enumerate(arc):
        if (
            not isinstance(entry, list)
            or len(entry) != layer + 1
            or not all(isinstance(x, int) for x in entry)
            or not 0 <= entry[0] < num_choices
            or any(x not in (0, 1) for x in entry[1:])
        ):
            return None
    return arc


def controller_settings(values: dict[str, SettingValue]) -> ControllerSettings:
    def optional(name: str) -> float | None:
        value = values[name]
        return None if value == "None" else float(value)

    return ControllerSettings(
        hidden_size=int(values["controller_hidden_size"]),
        temperature=optional("controller_temperature"),
        tanh_const=optional("controller_tanh_const"),
        entropy_weight=optional("controller_entropy_weight"),
        baseline_decay=float(values["controller_baseline_decay"]),
        learning_rate=float(values["controller_learning_rate"]),
        skip_target=float(values["controller_skip_target"]),
        skip_weight=optional("controller_skip_weight"),
        train_steps=int(values["controller_train_steps"]),
        log_every_steps=int(values["controller_log_every_steps"]),
    )


def _seed(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode())


@dataclass
class _Experiment:
    """The controller of one experiment and how far it has learned."""

    key: str
    controller: Controller
    learned: int = -1  # the last round learned from
    next_round: int = 0
    rounds_seen: set[int] = field(default_factory=set)


class Enas(SuggestionAlgorithm):
    """ENAS (Pham et al. 2018): an LSTM controller trained by REINFORCE on the trials' objective."""

    name = "enas"
    info = table_info("enas")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._experiments: OrderedDict[str, _Experiment] = OrderedDict()

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        config = experiment.nas_config
        assert config is not None  # validate() ran first
        settings = controller_settings(self.parse(experiment))
        table = choices(config)
        num_layers = int((config.graph_config or models.GraphConfig()).num_layers or 0)
        state = self._state(experiment.name, settings, num_layers, len(table))
        self._learn(state, experiment, trials, num_layers, len(table))
        if count <= 0:
            return Proposal([])
        round_ = max([state.next_round, *(r + 1 for r in state.rounds_seen)])
        state.next_round = round_ + 1
        arcs = state.controller.sample(count, np.random.default_rng(_seed(experiment.name, round_)))
        out = []
        for arc in arcs:
            assignment = {ARCHITECTURE: json.dumps(arc), NN_CONFIG: nn_config_text(config, table, arc)}
            log.info(
                "experiment %s round %d: architecture %s", experiment.name, round_, assignment[ARCHITECTURE]
            )
            out.append(ProposedTrial(assignment, labels={ROUND_LABEL: str(round_)}))
        return Proposal(out)

    def _state(
        self, experiment: str, settings: ControllerSettings, num_layers: int, num_choices: int
    ) -> _Experiment:
        key = repr((settings, num_layers, num_choices))
        state = self._experiments.pop(experiment, None)
        if state is None or state.key != key:
            controller = Controller(num_layers, num_choices, settings, _seed(experiment))
            state = _Experiment(key, controller)
        self._experiments[experiment] = state
        while len(self._experiments) > _CACHE_SIZE:
            self._experiments.popitem(last=False)
        return state

    def _learn(
        self,
        state: _Experiment,
        experiment: ExperimentView,
        trials: list[TrialRecord],
        num_layers: int,
        num_choices: int,
    ) -> None:
        """Train on every finished round after the last one learned, in order, stopping at a live one."""
        rounds: dict[int, list[TrialRecord]] = {}
        for t in trials:
            try:
                round_ = int(t.labels.get(ROUND_LABEL, ""))
            except ValueError:
                continue
            rounds.setdefault(round_, []).append(t)
        state.rounds_seen.update(rounds)
        for round_ in sorted(r for r in rounds if r > state.learned):
            batch = rounds[round_]
            if any(t.live for t in batch):
                return
            arcs: list[Architecture] = []
            rewards: list[float] = []
            for t in batch:
                arc = parse_architecture(t.assignment.get(ARCHITECTURE, ""), num_layers, num_choices)
                if t.completed and t.value is not None and arc is not None:
                    arcs.append(arc)
                    rewards.append(-experiment.to_loss(t.value))
            stats = state.controller.train(arcs, rewards)
            state.learned = round_
            if stats is not None:
                log.info(
                    "experiment %s learned round %d (%d trials): mean reward %.4f, baseline %.4f",
                    experiment.name,
                    round_,
                    len(arcs),
                    float(np.mean(rewards)),
                    stats.baseline,
                )
