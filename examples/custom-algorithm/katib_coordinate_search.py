"""`coordinate-search`: compass (coordinate) search, a katib-py algorithm plug-in.

Installing this package registers it in the `katib_py.algorithms` entry-point group (see
pyproject.toml beside this file), so `katib-py suggestion serve --algorithm coordinate-search`
serves it, with no change to katib-py. docs/custom-algorithms.md walks through it.

The search (Torczon's compass search, on the unit cube every parameter is mapped to):

- Every parameter is one coordinate: int and double on [0, 1] through their distribution (linear,
  or logarithmic for logUniform), discrete and categorical by the position in their list (a move
  of step s goes s * (length - 1) positions along the list, at least one).
- It starts at the centre of the space. The *incumbent* is the best completed trial (the centre
  until a trial completes). Around it, a *poll* at step s evaluates the 2d points x +- s along each
  coordinate, in parameter order. A poll point that rounds back onto the incumbent (an int or a
  list whose step is below one value) is no move and skipped.
- When a poll point turns out better, it becomes the incumbent and polling goes on at the same
  step. When every point of the incumbent's poll has finished without an improvement, the step is
  halved. Once the step would drop below `min_step`, the search has converged: with no trial left
  running it says so (`suggestion_end_reached`) and the experiment ends.

Settings: `initial_step` (the first step, in (0, 0.5], default 0.25 = a quarter of each range) and
`min_step` (> 0, default 0.01). int and double parameters may be uniform or logUniform.

The algorithm is deterministic and keeps no state that matters across calls: the incumbent comes
from the trials in the request, and the step it was found at from the label each trial carries
(`LEVEL_LABEL`: the step is initial_step / 2**level), so a restarted service carries on where the
last one stopped. Points handed out but not yet visible as trials are remembered per experiment, so
they are not handed out twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from katib_py.suggestion.algorithm import (
    UNIFORM_ONLY,
    AlgorithmInfo,
    ExperimentView,
    InvalidArgument,
    Proposal,
    ProposedTrial,
    ServiceOptions,
    Setting,
    SuggestionAlgorithm,
    TrialRecord,
)
from katib_py.suggestion.space import NUMERIC, Param, SearchSpace

NAME = "coordinate-search"
LEVEL_LABEL = "coordinate-search.katib-py.io/level"
_EXPERIMENTS = 64  # experiments whose handed-out points are remembered


def centre(space: SearchSpace) -> dict[str, str]:
    """The assignment at the middle of every coordinate (of the list, for discrete and categorical)."""
    return {
        p.name: p.format(p.from_unit(0.5)) if p.kind == NUMERIC else p.choices[(len(p.choices) - 1) // 2]
        for p in space.params
    }


def moved(param: Param, text: str, delta: float) -> str:
    """The value `delta` away from `text` on the parameter's unit coordinate, kept in bounds.

    A list moves by at least one position, so that a short list is explored at every step.
    """
    if param.kind == NUMERIC:
        return param.format(param.from_unit(param.to_unit(param.parse(text)) + delta))
    positions = len(param.choices) - 1
    shift = max(1, round(abs(delta) * positions))
    index = param.choices.index(text) + (shift if delta > 0 else -shift)
    return param.choices[min(max(index, 0), positions)]


def poll(space: SearchSpace, incumbent: dict[str, str], step: float) -> list[dict[str, str]]:
    """The distinct assignments +-step along each coordinate from `incumbent`, moves only."""
    seen = {space.key(incumbent)}
    points: list[dict[str, str]] = []
    for param in space.params:
        for delta in (step, -step):
            candidate = {**incumbent, param.name: moved(param, incumbent[param.name], delta)}
            key = space.key(candidate)
            if key not in seen:
                seen.add(key)
                points.append(candidate)
    return points


class CoordinateSearch(SuggestionAlgorithm):
    """Compass search. Settings: initial_step, min_step."""

    name = NAME
    info = AlgorithmInfo(
        NAME,
        {
            "initial_step": Setting(
                "initial_step", "float", 0.25, minimum=0, maximum=0.5, exclusive_minimum=True
            ),
            "min_step": Setting("min_step", "float", 0.01, minimum=0, exclusive_minimum=True),
        },
        UNIFORM_ONLY,
    )

    def __init__(self, options: ServiceOptions | None = None) -> None:
        super().__init__(options)
        # experiment -> (space and settings fingerprint, keys handed out)
        self._handed_out: OrderedDict[str, tuple[str, set[str]]] = OrderedDict()

    def validate(self, experiment: ExperimentView) -> None:
        super().validate(experiment)  # settings against `info`, distributions against UNIFORM_ONLY
        settings = self.parse(experiment)
        if float(settings["min_step"]) > float(settings["initial_step"]):
            raise InvalidArgument(
                f"min_step {settings['min_step']} must not be greater than initial_step "
                f"{settings['initial_step']}"
            )

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        initial, smallest = float(settings["initial_step"]), float(settings["min_step"])
        space = experiment.space
        handed = self._handed(experiment, repr((space.fingerprint(), initial, smallest)))
        present = {space.trial_key(t) for t in trials}
        tried = present | handed
        running = {space.trial_key(t) for t in trials if t.live} | (handed - present)

        proposals: list[ProposedTrial] = []

        def propose(assignment: dict[str, str], level: int) -> None:
            key = space.key(assignment)
            proposals.append(ProposedTrial(assignment, labels={LEVEL_LABEL: str(level)}))
            handed.add(key)
            tried.add(key)
            running.add(key)

        incumbent, level = self._incumbent(experiment, trials)
        if space.key(incumbent) not in tried:
            propose(incumbent, level)  # the centre, first of all
        for lvl, points in self._polls(space, incumbent, level, initial, smallest):
            for point in points:
                if len(proposals) < count and space.key(point) not in tried:
                    propose(point, lvl)
            if len(proposals) >= count or any(space.key(p) in running for p in points):
                # Full, or this poll is still being evaluated: a finer step waits for its outcome.
                return Proposal(proposals[:count])
        # Every step down to min_step is polled around the incumbent: converged, unless a trial
        # still running could become the new incumbent.
        return Proposal(proposals, end_reached=not proposals and not running)

    def _incumbent(self, experiment: ExperimentView, trials: list[TrialRecord]) -> tuple[dict[str, str], int]:
        """The best completed trial's assignment and level; the centre at level 0 before any."""
        space = experiment.space
        best: TrialRecord | None = None
        best_loss = 0.0
        for t in trials:
            if t.value is None or not t.completed:
                continue
            if not all(p.contains(t.assignment.get(p.name, "")) for p in space.params):
                continue  # not a point of this search space
            loss = experiment.to_loss(t.value)
            if best is None or loss < best_loss:  # ties: the earlier trial stays
                best, best_loss = t, loss
        if best is None:
            return centre(space), 0
        try:
            level = max(int(best.labels.get(LEVEL_LABEL, "0")), 0)
        except ValueError:
            level = 0
        return dict(best.assignment), level

    @staticmethod
    def _polls(
        space: SearchSpace, incumbent: dict[str, str], level: int, initial: float, smallest: float
    ) -> Iterator[tuple[int, list[dict[str, str]]]]:
        """(level, poll points) from `level` down to the smallest step not below min_step."""
        lvl = level
        while initial / 2**lvl >= smallest:
            yield lvl, poll(space, incumbent, initial / 2**lvl)
            lvl += 1

    def _handed(self, experiment: ExperimentView, fingerprint: str) -> set[str]:
        cached = self._handed_out.pop(experiment.name, None)
        keys = cached[1] if cached is not None and cached[0] == fingerprint else set()
        self._handed_out[experiment.name] = (fingerprint, keys)
        while len(self._handed_out) > _EXPERIMENTS:
            self._handed_out.popitem(last=False)
        return keys
