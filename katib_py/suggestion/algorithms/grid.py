"""`grid`: every combination of the parameters' values, each proposed once, then end reached.

Combinations are Katib's (convert_to_combinations in
pkg/suggestion/v1beta1/internal/search_space.py): int -> min..max by step (default 1), double ->
min..max by step (step required), discrete/categorical -> the list; logUniform spreads the same
number of points geometrically. The order is a permutation seeded by `random_state`, as Optuna's
GridSampler visits its grid. The enumeration is done here rather than through GridSampler because
exhaustion and restart are decided from the request alone: the combinations already held by any
trial (or handed out moments ago) are skipped, and the reply that hands out the last combination
carries `suggestion_end_reached`."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

import numpy as np

from katib_py.suggestion.algorithm import (
    ExperimentView,
    InvalidArgument,
    Proposal,
    ProposedTrial,
    SuggestionAlgorithm,
    table_info,
)
from katib_py.suggestion.history import TrialRecord
from katib_py.suggestion.space import NUMERIC, SearchSpace, SpaceError

MAX_COMBINATIONS = 1_000_000
_CACHE_SIZE = 64


class Grid(SuggestionAlgorithm):
    """Exhaustive grid search."""

    name = "grid"
    info = table_info("grid")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # experiment -> (fingerprint, keys handed out); covers replies not yet visible as trials
        self._handed_out: OrderedDict[str, tuple[str, set[str]]] = OrderedDict()

    def validate(self, experiment: ExperimentView) -> None:
        super().validate(experiment)
        space = experiment.space
        for p in space.params:
            if p.kind == NUMERIC and p.type == "double" and not p.step:
                raise InvalidArgument(
                    f"algorithm grid needs feasibleSpace.step for double parameter {p.name}"
                )
        total = _size(space)
        if total > MAX_COMBINATIONS:
            raise InvalidArgument(
                f"the grid has {total} combinations, more than the {MAX_COMBINATIONS} supported"
            )
        if experiment.max_trial_count > total:
            raise InvalidArgument(
                f"maxTrialCount {experiment.max_trial_count} is greater than the {total} grid combinations"
            )

    def suggest(self, experiment: ExperimentView, trials: list[TrialRecord], count: int) -> Proposal:
        settings = self.parse(experiment)
        space = experiment.space
        try:
            grids = [p.grid() for p in space.params]
        except SpaceError as exc:
            raise InvalidArgument(str(exc)) from None
        total = math.prod(len(g) for g in grids)
        fingerprint = repr((space.fingerprint(), settings.get("random_state")))
        cached = self._handed_out.get(experiment.name)
        handed = cached[1] if cached and cached[0] == fingerprint else set()
        used = handed | {space.trial_key(t) for t in trials}
        seed = settings.get("random_state")
        if seed is None:
            # Stable per experiment, so a restarted service walks the same order.
            seed = int(hashlib.sha256(experiment.name.encode()).hexdigest()[:8], 16)
        order = np.random.default_rng(int(seed)).permutation(total)
        chosen: list[ProposedTrial] = []
        for index in order:
            if len(chosen) >= count:
                break
            combo = _combination(grids, int(index))
            assignment = dict(zip(space.names, combo, strict=True))
            key = space.key(assignment)
            if key in used:
                continue
            used.add(key)
            handed.add(key)
            chosen.append(ProposedTrial(assignment))
        self._handed_out[experiment.name] = (fingerprint, handed)
        self._handed_out.move_to_end(experiment.name)
        while len(self._handed_out) > _CACHE_SIZE:
            self._handed_out.popitem(last=False)
        remaining = total - len(used & _all_keys_if_small(space, grids, used))
        return Proposal(chosen, end_reached=remaining <= 0)


def _size(space: SearchSpace) -> int:
    size = space.finite_size()
    if size is None:
        raise InvalidArgument("algorithm grid needs a step for every double parameter")
    return size


def _combination(grids: list[list[str]], index: int) -> tuple[str, ...]:
    """The index-th element of the cartesian product, without materialising it."""
    out: list[str] = []
    for grid in reversed(grids):
        index, r = divmod(index, len(grid))
        out.append(grid[r])
    return tuple(reversed(out))


def _all_keys_if_small(space: SearchSpace, grids: list[list[str]], used: set[str]) -> set[str]:
    """The used keys that are grid points (trials from an older space do not count)."""
    if len(used) <= 1_000_000:
        valid = [set(g) for g in grids]
        names = space.names
        out = set()
        for key in used:
            parts = key.split("\x1f")
            values = [part.split("=", 1)[1] if "=" in part else "" for part in parts]
            if all(v in valid[i] for i, v in enumerate(values)) and len(values) == len(names):
                out.add(key)
        return out
    return used
