"""Plotly figures of an experiment, as plain JSON dicts: what the web UI and `katib-py plot` draw.

Pure functions (an import contract in pyproject.toml keeps this module free of I/O): Katib v1beta1
objects in, `{"data": [...], "layout": {...}}` out, ready for `Plotly.newPlot` (plotly.js).

The figures are built as dicts rather than with `plotly.graph_objects`: the dicts are what
plotly.js reads, they cost nothing to build for 5,000 trials (graph_objects validates every
property in Python), and the tests check them against plotly's schema by loading them into
`plotly.graph_objects.Figure`.

Safety: every user-controlled string (experiment, trial, parameter, metric and label names,
parameter values, genotype operations) goes through `text()`, which escapes `&`, `<` and `>`.
plotly.js renders a small HTML-like markup in text (`<b>`, `<a href>`, ...), and shows `&lt;` as
`<`, so an escaped string is displayed as it is and never read as markup; only this module's own
`<br>` is. `figure_json` then writes the figure as JSON that is also safe inside a `<script>`
element. The SVG drawings escape every string they show (`html.escape`).

The objective value of a trial is Katib's (`katib_py.core.optimal_trial`): the objective metric's
strategy picks min, max or latest from `status.observation`; `nan`, `inf` and string values are
not plotted. The completed trials plotted are those in a terminal state with such a value
(Succeeded or EarlyStopped, in practice), in completion order.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from katib_py.api import models
from katib_py.api.models import Experiment, ObjectiveSpec, Trial
from katib_py.core import trial_status as ts
from katib_py.core.observation import UNAVAILABLE, parse_metric_value
from katib_py.core.optimal_trial import best_trial, objective_strategy, objective_value, strategy_value
from katib_py.core.pareto import metric_strategy, objectives
from katib_py.core.pareto import pareto_front as front_of
from katib_py.kube import rfc3339

if TYPE_CHECKING:
    import optuna

# Optuna, SciPy and the NAS trainers are imported by the functions that use them: `katib-py watch`
# imports this module and starts in a fraction of the time.

Figure = dict[str, Any]

# Terminal trial states, in the order a trial's state is decided (Katib's util.go predicates).
TERMINAL = (ts.SUCCEEDED, ts.FAILED, ts.KILLED, ts.EARLY_STOPPED, ts.METRICS_UNAVAILABLE)
STATE_COLOURS = {
    ts.SUCCEEDED: "#1f77b4",
    ts.EARLY_STOPPED: "#ff7f0e",
    ts.METRICS_UNAVAILABLE: "#7f7f7f",
    ts.FAILED: "#d62728",
    ts.KILLED: "#9467bd",
    ts.RUNNING: "#2ca02c",
    ts.CREATED: "#bcbd22",
}
CATEGORICAL = ("categorical",)
LOG_DISTRIBUTIONS = ("logUniform", "logNormal")
GRID = 60  # contour grid points per axis
# fANOVA's forest: Optuna's default (64 trees of depth 64) takes ~20 s for 500 trials on this
# machine; 16 trees of depth 8 rank the parameters the same (the importances agree to 1e-2 in
# tests/ui) in ~2.5 s, and the cost grows with the leaves, not the trials.
IMPORTANCE_TREES = 16
IMPORTANCE_DEPTH = 8


# ---------------------------------------------------------------- the view


@dataclass(frozen=True)
class TrialPoint:
    """One trial as the figures see it. `parameters` are the assignments as strings."""

    name: str
    state: str
    parameters: dict[str, str]
    objective: float | None
    metrics: dict[str, float]
    created: datetime | None
    completed: datetime | None
    labels: dict[str, str]
    # metrics whose value is not a number (DARTS reports `Best-Genotype=Genotype(...)`)
    text_metrics: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True)
class ParameterSpec:
    """One search-space parameter: numeric bounds, or the list of values (categorical, discrete)."""

    name: str
    type: str  # int, double, categorical, discrete
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    log: bool = False

    @property
    def categorical(self) -> bool:
        return self.type in CATEGORICAL or (self.type == "discrete" and not _all_numbers(self.values))


@dataclass(frozen=True)
class ExperimentView:
    """An experiment and its trials, reduced to what the figures and front ends show."""

    namespace: str
    name: str
    objective_name: str
    goal_type: str  # maximize, minimize
    goal: float | None
    parameters: tuple[ParameterSpec, ...]
    trials: tuple[TrialPoint, ...]
    algorithm: str
    # every objective (name, type), Katib's first; more than one for a multi-objective experiment
    objectives: tuple[tuple[str, str], ...] = ()
    pareto: tuple[str, ...] = ()  # trial names on the Pareto front
    best_trial: str | None = None  # Katib's optimal trial, from the trials
    max_trial_count: int | None = None
    condition: str | None = None  # the experiment's latest true condition: Running, Succeeded, ...
    condition_message: str = ""

    def parameter(self, name: str) -> ParameterSpec:
        for spec in self.parameters:
            if spec.name == name:
                return spec
        known = ", ".join(p.name for p in self.parameters) or "none"
        raise ValueError(f"experiment {self.name} has no parameter {name!r} (parameters: {known})")

    @property
    def best(self) -> TrialPoint | None:
        return next((t for t in self.trials if t.name == self.best_trial), None)


def trial_state(trial: Trial) -> str:
    """The trial's state as Katib names it: its terminal condition, else Running, else Created."""
    for state, holds in (
        (ts.SUCCEEDED, ts.is_succeeded),
        (ts.FAILED, ts.is_failed),
        (ts.KILLED, ts.is_killed),
        (ts.EARLY_STOPPED, ts.is_early_stopped),
        (ts.METRICS_UNAVAILABLE, ts.is_metrics_unavailable),
        (ts.RUNNING, ts.is_running),
    ):
        if holds(trial):
            return state
    return ts.CREATED


def view_from_objects(experiment: dict[str, Any], trials: Sequence[dict[str, Any]]) -> ExperimentView:
    """The view of an Experiment and its Trials, as the Kubernetes API returns them (JSON dicts).

    Raises ValueError (pydantic's ValidationError) when an object is not a v1beta1 object.
    """
    exp = Experiment.load(experiment)
    loaded = [Trial.load(t) for t in trials]
    spec = exp.spec
    objective = spec.objective if spec else None
    status = exp.status
    best = best_trial(objective, loaded)
    condition, message = None, ""
    for cond in (status.conditions if status else None) or []:
        if cond.status == "True":
            condition, message = cond.type, cond.message or ""
    return ExperimentView(
        namespace=(exp.metadata.namespace if exp.metadata else None) or "",
        name=(exp.metadata.name if exp.metadata else None) or "",
        objective_name=(objective.objective_metric_name if objective else None) or "",
        goal_type=(objective.type if objective else None) or "",
        goal=objective.goal if objective else None,
        parameters=tuple(_parameter_spec(p) for p in (spec.parameters if spec else None) or []),
        trials=tuple(_point(t, objective) for t in loaded),
        algorithm=((spec.algorithm.algorithm_name if spec and spec.algorithm else None) or ""),
        objectives=tuple(objectives(objective)),
        pareto=tuple(p.trial_name or "" for p in front_of(objective, loaded))
        if objective and objective.additional_objectives
        else (),
        best_trial=best.metadata.name if best is not None and best.metadata else None,
        max_trial_count=spec.max_trial_count if spec else None,
        condition=condition,
        condition_message=message,
    )


def _parameter_spec(p: models.ParameterSpec) -> ParameterSpec:
    fs = p.feasible_space
    return ParameterSpec(
        name=p.name or "",
        type=p.parameter_type or "",
        min=_number(fs.min) if fs else None,
        max=_number(fs.max) if fs else None,
        values=tuple(fs.list or ()) if fs else (),
        log=bool(fs and fs.distribution in LOG_DISTRIBUTIONS),
    )


def _point(trial: Trial, objective: ObjectiveSpec | None) -> TrialPoint:
    name = (objective.objective_metric_name if objective else None) or ""
    raw = objective_value(trial, name, objective_strategy(objective))
    metrics: dict[str, float] = {}
    texts: dict[str, str] = {}
    observation = trial.status.observation if trial.status else None
    for metric in (observation.metrics if observation else None) or []:
        strategy = metric_strategy(objective, metric.name or "") if objective else "latest"
        value = strategy_value(metric, strategy)
        if value == UNAVAILABLE:
            continue
        number = parse_metric_value(value)
        if number is None:
            texts[metric.name or ""] = value
        elif math.isfinite(number):
            metrics[metric.name or ""] = number
    meta = trial.metadata
    return TrialPoint(
        name=(meta.name if meta else None) or "",
        state=trial_state(trial),
        parameters={
            a.name or "": a.value or ""
            for a in (trial.spec.parameter_assignments if trial.spec else None) or []
        },
        objective=_number(raw) if raw != UNAVAILABLE else None,
        metrics=metrics,
        created=_time(meta.creation_timestamp if meta else None),
        completed=_time(trial.status.completion_time if trial.status else None),
        labels=dict((meta.labels if meta else None) or {}),
        text_metrics=texts,
    )


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return rfc3339.parse(text)
    except ValueError:
        return None


def _number(text: str | None) -> float | None:
    """A finite number from its Katib string (Go's ParseFloat), else None."""
    value = parse_metric_value(text) if text else None
    return value if value is not None and math.isfinite(value) else None


def _all_numbers(values: Iterable[str]) -> bool:
    return all(_number(v) is not None for v in values)


def completed(view: ExperimentView) -> list[TrialPoint]:
    """The completed trials with an objective value, in completion order (then creation, name)."""
    done = [t for t in view.trials if t.done and t.objective is not None]
    return sorted(
        done,
        key=lambda t: (
            t.completed is None,
            t.completed or datetime.min,
            t.created or datetime.min,
            t.name,
        ),
    )


def best_so_far(values: Iterable[float], goal_type: str) -> list[float]:
    """The running best of `values`: the minimum when minimizing, the maximum when maximizing."""
    pick = max if goal_type == "maximize" else min
    return list(itertools.accumulate(values, pick))


# ---------------------------------------------------------------- safety and small helpers


def text(value: object) -> str:
    """A user string as plotly.js shows it literally: `&`, `<` and `>` escaped (see the module doc)."""
    return html.escape(str(value), quote=False)


def figure_json(figure: Figure) -> str:
    """The figure as JSON that is safe inside HTML and `<script>` (no `<`, `>`, `&`, U+2028/9 raw).

    Raises ValueError on `nan`/`inf`, which JSON cannot carry (the figures never hold them).
    """
    out = json.dumps(figure, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        out = out.replace(char, escaped)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def message_figure(title: str, message: str) -> Figure:
    """An empty figure that says why there is nothing to draw (both strings escaped here)."""
    return {
        "data": [],
        "layout": {
            "title": {"text": text(title)},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": text(message),
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"size": 16},
                }
            ],
        },
    }


def _title(view: ExperimentView, what: str) -> dict[str, str]:
    return {"text": text(f"{what}: {view.name}")}


def _empty(view: ExperimentView, what: str, message: str) -> Figure:
    return message_figure(f"{what}: {view.name}", message)


def _hover(trial: TrialPoint) -> str:
    lines = [text(trial.name), *(f"{text(k)}={text(v)}" for k, v in trial.parameters.items())]
    return "<br>".join(lines)


def _coordinate(spec: ParameterSpec | None, value: str | None, categories: list[str]) -> float | None:
    """A parameter value on its axis: a number, or for a categorical parameter its category's index."""
    if value is None:
        return None
    if spec is not None and spec.categorical:
        if value not in categories:
            categories.append(value)
        return float(categories.index(value))
    return _number(value)


def _axis(
    view: ExperimentView, name: str, points: Sequence[TrialPoint], literal_ticks: bool = False
) -> tuple[list[float | None], dict[str, Any]]:
    """One parameter's coordinates for `points`, and the plotly axis settings that label them.

    Cartesian tick labels are markup to plotly.js (escaped by `text()`); parcoords tick labels are
    drawn by d3's axis as plain text (`literal_ticks`: escaping them would show `&lt;`)."""
    spec = view.parameter(name)
    categories = list(spec.values) if spec.categorical else []
    coords = [_coordinate(spec, t.parameters.get(name), categories) for t in points]
    axis: dict[str, Any] = {"title": {"text": text(name)}}
    if spec.categorical:
        ticks = list(categories) if literal_ticks else [text(c) for c in categories]
        axis.update(tickvals=list(range(len(categories))), ticktext=ticks)
    elif spec.log:
        axis["type"] = "log"
    return coords, axis


# ---------------------------------------------------------------- single-experiment figures


def history(view: ExperimentView) -> Figure:
    """Optimization history: one point per completed trial (coloured by state) and the best so far."""
    points = completed(view)
    title = _title(view, "Optimization history")
    if not points:
        return _empty(view, "Optimization history", "No completed trial has an objective value yet.")
    order = {t.name: i for i, t in enumerate(points, start=1)}
    data: list[dict[str, Any]] = []
    for state in TERMINAL:
        group = [t for t in points if t.state == state]
        if not group:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": state,
                "x": [order[t.name] for t in group],
                "y": [t.objective for t in group],
                "text": [_hover(t) for t in group],
                "customdata": [text(t.name) for t in group],
                "hovertemplate": "%{text}<br>objective=%{y}<extra></extra>",
                "marker": {"color": STATE_COLOURS[state], "size": 8},
            }
        )
    values = [t.objective for t in points if t.objective is not None]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "best so far",
            "x": list(range(1, len(points) + 1)),
            "y": best_so_far(values, view.goal_type),
            "line": {"shape": "hv", "color": "#d62728"},
            "hoverinfo": "y",
        }
    )
    layout: dict[str, Any] = {
        "title": title,
        "xaxis": {"title": {"text": "trial (completion order)"}},
        "yaxis": {"title": {"text": f"{text(view.objective_name)} ({text(view.goal_type)})"}},
        "legend": {"orientation": "h"},
    }
    if view.goal is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": view.goal,
                "y1": view.goal,
                "line": {"dash": "dot", "color": "#2ca02c"},
            }
        ]
    return {"data": data, "layout": layout}


def parallel_coordinates(view: ExperimentView, hidden: frozenset[str] = frozenset()) -> Figure:
    """Parallel coordinates: one line per completed trial, one axis per parameter not in `hidden`,
    then the objective. Categorical parameters get one tick per value."""
    points = completed(view)
    title = _title(view, "Parallel coordinates")
    if not points:
        return _empty(view, "Parallel coordinates", "No completed trial has an objective value yet.")
    dimensions: list[dict[str, Any]] = []
    for spec in view.parameters:
        if spec.name in hidden:
            continue
        coords, axis = _axis(view, spec.name, points, literal_ticks=True)
        dim: dict[str, Any] = {"label": axis["title"]["text"], "values": coords}
        if "tickvals" in axis:
            dim.update(tickvals=axis["tickvals"], ticktext=axis["ticktext"])
        else:
            present = [c for c in coords if c is not None]
            low = min([*present, *([spec.min] if spec.min is not None else [])], default=None)
            high = max([*present, *([spec.max] if spec.max is not None else [])], default=None)
            if low is not None and high is not None and low < high:
                dim["range"] = [low, high]
        dimensions.append(dim)
    objective = [t.objective for t in points]
    if view.objective_name not in hidden:
        dimensions.append({"label": text(view.objective_name), "values": objective})
    trace = {
        "type": "parcoords",
        "dimensions": dimensions,
        "line": {
            "color": objective,
            "colorscale": "Viridis",
            "reversescale": view.goal_type == "minimize",  # the best trials are bright
            "showscale": True,
            "colorbar": {"title": {"text": text(view.objective_name)}},
        },
    }
    return {"data": [trace], "layout": {"title": title}}


def slice_plot(view: ExperimentView, parameter: str) -> Figure:
    """The objective against one parameter, a point per completed trial coloured by completion order."""
    points = completed(view)
    coords, axis = _axis(view, parameter, points)
    title = _title(view, f"Slice of {parameter}")
    if not points:
        return _empty(view, f"Slice of {parameter}", "No completed trial has an objective value yet.")
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": coords,
        "y": [t.objective for t in points],
        "text": [_hover(t) for t in points],
        "hovertemplate": "%{text}<br>objective=%{y}<extra></extra>",
        "marker": {
            "color": list(range(1, len(points) + 1)),
            "colorscale": "Blues",
            "showscale": True,
            "colorbar": {"title": {"text": "trial"}},
            "size": 8,
        },
        "showlegend": False,
    }
    layout = {"title": title, "xaxis": axis, "yaxis": {"title": {"text": text(view.objective_name)}}}
    return {"data": [trace], "layout": layout}


def contour(view: ExperimentView, x: str, y: str) -> Figure:
    """The objective over two parameters: a linear interpolation of the completed trials (scipy's
    `griddata`, on a log scale for log-distributed parameters) with the trials drawn on top."""
    if x == y:
        raise ValueError(f"a contour needs two different parameters, got {x!r} twice")
    points = completed(view)
    xs, x_axis = _axis(view, x, points)
    ys, y_axis = _axis(view, y, points)
    title = _title(view, f"Contour of {x} and {y}")
    known = [(a, b, t) for a, b, t in zip(xs, ys, points, strict=True) if a is not None and b is not None]
    if not known:
        return _empty(view, f"Contour of {x} and {y}", "No completed trial has an objective value yet.")
    data: list[dict[str, Any]] = []
    grid = _interpolate(
        [a for a, _, _ in known],
        [b for _, b, _ in known],
        [t.objective or 0.0 for _, _, t in known],
        x_axis.get("type") == "log",
        y_axis.get("type") == "log",
    )
    if grid is not None:
        gx, gy, gz = grid
        data.append(
            {
                "type": "contour",
                "x": gx,
                "y": gy,
                "z": gz,
                "colorscale": "Viridis",
                "reversescale": view.goal_type == "minimize",
                "connectgaps": False,
                "colorbar": {"title": {"text": text(view.objective_name)}},
                "hoverinfo": "z",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [a for a, _, _ in known],
            "y": [b for _, b, _ in known],
            "text": [_hover(t) for _, _, t in known],
            "hovertemplate": "%{text}<br>objective=" + "%{customdata}<extra></extra>",
            "customdata": [t.objective for _, _, t in known],
            "marker": {"color": "black", "size": 6},
            "showlegend": False,
        }
    )
    return {"data": data, "layout": {"title": title, "xaxis": x_axis, "yaxis": y_axis}}


def _interpolate(
    xs: list[float], ys: list[float], zs: list[float], log_x: bool, log_y: bool
) -> tuple[list[float], list[float], list[list[float | None]]] | None:
    """A GRID x GRID linear interpolation inside the points' convex hull (None outside, and None
    when the points span no area)."""
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    px = np.log10(np.maximum(xs, 1e-300)) if log_x else np.asarray(xs, dtype=float)
    py = np.log10(np.maximum(ys, 1e-300)) if log_y else np.asarray(ys, dtype=float)
    if len(set(zip(px.tolist(), py.tolist(), strict=True))) < 3 or np.ptp(px) == 0 or np.ptp(py) == 0:
        return None
    gx = np.linspace(px.min(), px.max(), GRID)
    gy = np.linspace(py.min(), py.max(), GRID)
    mesh_x, mesh_y = np.meshgrid(gx, gy)
    try:
        # rescaled to the unit square first: parameters of different scales make skinny triangles
        # (worse interpolation, and seconds instead of milliseconds for 5,000 points)
        gz = griddata((px, py), np.asarray(zs, dtype=float), (mesh_x, mesh_y), method="linear", rescale=True)
    except QhullError:  # all points on one line
        return None
    rows = [[None if not math.isfinite(v) else float(v) for v in row] for row in gz.tolist()]
    out_x = (10**gx if log_x else gx).tolist()
    out_y = (10**gy if log_y else gy).tolist()
    return out_x, out_y, rows


def _distribution(spec: ParameterSpec, values: list[str]) -> optuna.distributions.BaseDistribution | None:
    """The Optuna distribution of a parameter, widened to the values the trials really had."""
    import optuna

    if spec.categorical or spec.type == "discrete":
        choices = list(dict.fromkeys([*spec.values, *values]))
        return optuna.distributions.CategoricalDistribution(choices) if len(choices) > 1 else None
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    low = min([*numbers, *([spec.min] if spec.min is not None else [])], default=None)
    high = max([*numbers, *([spec.max] if spec.max is not None else [])], default=None)
    if low is None or high is None or not low < high:
        return None
    log = spec.log and low > 0
    if spec.type == "int" and float(low).is_integer() and float(high).is_integer():
        return optuna.distributions.IntDistribution(int(low), int(high), log=log)
    return optuna.distributions.FloatDistribution(low, high, log=log)


def importance_values(
    view: ExperimentView, seed: int = 0, n_trees: int = IMPORTANCE_TREES, max_depth: int = IMPORTANCE_DEPTH
) -> dict[str, float]:
    """fANOVA importance of each parameter (Optuna's FanovaImportanceEvaluator), most important first.

    The completed trials are added to an in-memory Optuna study with each parameter's distribution;
    a parameter that never varies, and a trial without a value for some parameter, are left out.
    Raises ValueError when fewer than two trials are left.
    """
    import optuna

    points = completed(view)
    distributions: dict[str, optuna.distributions.BaseDistribution] = {}
    for spec in view.parameters:
        dist = _distribution(spec, [t.parameters[spec.name] for t in points if spec.name in t.parameters])
        if dist is not None:
            distributions[spec.name] = dist
    trials: list[optuna.trial.FrozenTrial] = []
    for point in points:
        params: dict[str, Any] = {}
        for name, dist in distributions.items():
            raw = point.parameters.get(name)
            if raw is None:
                break
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                params[name] = raw
            else:
                number = _number(raw)
                if number is None:
                    break
                params[name] = (
                    int(number) if isinstance(dist, optuna.distributions.IntDistribution) else number
                )
        else:
            trials.append(
                optuna.trial.create_trial(params=params, distributions=distributions, value=point.objective)
            )
    if len(trials) < 2:
        raise ValueError(f"parameter importance needs at least 2 completed trials, there are {len(trials)}")
    if not distributions:
        raise ValueError("no parameter takes more than one value")
    study = optuna.create_study(direction="maximize" if view.goal_type == "maximize" else "minimize")
    study.add_trials(trials)
    return {
        name: float(value)
        for name, value in optuna.importance.get_param_importances(
            study,
            evaluator=optuna.importance.FanovaImportanceEvaluator(
                n_trees=n_trees, max_depth=max_depth, seed=seed
            ),
        ).items()
    }


def importance(view: ExperimentView) -> Figure:
    """Parameter importance (fANOVA) as horizontal bars, the most important on top; an empty figure
    with a message when it cannot be computed (fewer than 2 completed trials)."""
    title = _title(view, "Parameter importance (fANOVA)")
    try:
        values = importance_values(view)
    except ValueError as exc:
        return _empty(view, "Parameter importance (fANOVA)", str(exc))
    names = list(values)[::-1]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [values[n] for n in names],
        "y": [text(n) for n in names],
        "hovertemplate": "%{y}: %{x:.3f}<extra></extra>",
        "marker": {"color": "#1f77b4"},
    }
    layout = {
        "title": title,
        "xaxis": {"title": {"text": f"importance for {text(view.objective_name)}"}, "range": [0, 1]},
        "yaxis": {"automargin": True, "type": "category"},
    }
    return {"data": [trace], "layout": layout}


def pareto_front(view: ExperimentView) -> Figure:
    """The first two objectives of a multi-objective experiment, the Pareto front highlighted (the
    other objectives in the hover text)."""
    title = _title(view, "Pareto front")
    if len(view.objectives) < 2:
        return _empty(view, "Pareto front", "This experiment has a single objective.")
    names = [name for name, _ in view.objectives]
    points = [t for t in view.trials if t.done and all(n in t.metrics for n in names)]
    if not points:
        return _empty(view, "Pareto front", "No completed trial has a value for every objective yet.")
    front = [t for t in points if t.name in view.pareto]
    rest = [t for t in points if t.name not in view.pareto]
    front.sort(key=lambda t: t.metrics[names[0]])

    def trace(group: list[TrialPoint], label: str, colour: str, mode: str) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": mode,
            "name": label,
            "x": [t.metrics[names[0]] for t in group],
            "y": [t.metrics[names[1]] for t in group],
            "text": [
                "<br>".join([_hover(t), *(f"{text(n)}={t.metrics[n]}" for n in names[2:])]) for t in group
            ],
            "hovertemplate": "%{text}<br>(%{x}, %{y})<extra></extra>",
            "marker": {"color": colour, "size": 8},
        }

    data = [
        trace(rest, "dominated", "#7f7f7f", "markers"),
        trace(front, "Pareto front", "#d62728", "lines+markers"),
    ]
    layout = {
        "title": title,
        "xaxis": {"title": {"text": f"{text(names[0])} ({text(view.objectives[0][1])})"}},
        "yaxis": {"title": {"text": f"{text(names[1])} ({text(view.objectives[1][1])})"}},
    }
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- curves


def _x(value: datetime | float) -> str | float:
    return value.isoformat() if isinstance(value, datetime) else float(value)


def _y(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _series_trace(name: str, series: Sequence[tuple[datetime | float, float]], mode: str) -> dict[str, Any]:
    """One metric series (sorted by x) as a scatter trace."""
    return {
        "type": "scatter",
        "mode": mode,
        "name": text(name),
        "x": [_x(x) for x, _ in series],
        "y": [_y(y) for _, y in series],
    }


def learning_curves(
    curves: Mapping[str, Sequence[tuple[datetime | float, float]]],
    early_stopped: set[str],
    log_y: bool = False,
) -> Figure:
    """Every trial's objective metric over time (or step), overlaid; early-stopped trials dashed,
    with an x where they were stopped."""
    if not any(curves.values()):
        return message_figure("Learning curves", "No trial has reported its objective metric yet.")
    data: list[dict[str, Any]] = []
    stops: list[tuple[str, str | float, float | None]] = []
    for name in sorted(curves):
        series = sorted(curves[name], key=lambda p: p[0])
        if not series:
            continue
        stopped = name in early_stopped
        data.append(
            _series_trace(name, series, "lines")
            | {"line": {"dash": "dash" if stopped else "solid", "width": 1.5}, "opacity": 0.8}
        )
        if stopped:
            stops.append((text(name), _x(series[-1][0]), _y(series[-1][1])))
    if stops:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "early stopped",
                "x": [x for _, x, _ in stops],
                "y": [y for _, _, y in stops],
                "text": [n for n, _, _ in stops],
                "hovertemplate": "%{text} stopped here<extra></extra>",
                "marker": {"symbol": "x", "size": 11, "color": STATE_COLOURS[ts.EARLY_STOPPED]},
            }
        )
    layout = {
        "title": {"text": "Learning curves"},
        "yaxis": {"type": "log" if log_y else "linear"},
        "showlegend": len(data) <= 30,
    }
    return {"data": data, "layout": layout}


def trial_curves(
    metric_logs: Mapping[str, Sequence[tuple[datetime | float, float]]],
    log_y: bool = False,
    rules: Sequence[models.EarlyStoppingRule] = (),
    stopped_at: datetime | float | None = None,
) -> Figure:
    """Every metric one trial reported, over time (or step, for reports without a time), with its
    early-stopping rules (Katib `Trial.spec.earlyStoppingRules`, pkg/apis/controller/trials/v1beta1)
    as a dashed line at each rule's value on its metric, and where the trial was stopped (the
    EarlyStopped condition's time; for step-numbered series, the last step) as a dotted line."""
    if not any(metric_logs.values()):
        return message_figure("Metrics", "This trial has reported no metric yet.")
    data: list[dict[str, Any]] = []
    by_step = False
    last_x: list[datetime | float] = []
    for name, logs in sorted(metric_logs.items()):
        if not logs:
            continue
        series = sorted(logs, key=lambda p: p[0])
        by_step = by_step or not isinstance(series[0][0], datetime)
        last_x.append(series[-1][0])
        data.append(_series_trace(name, series, "lines+markers"))
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for rule in rules:
        value = _number(rule.value)
        if rule.name not in metric_logs or value is None:
            continue
        shapes.append(
            {
                "type": "line",
                "name": "rule",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": value,
                "y1": value,
                "line": {"dash": "dash", "color": STATE_COLOURS[ts.EARLY_STOPPED], "width": 1.5},
            }
        )
        start = f", from step {rule.start_step}" if rule.start_step else ""
        annotations.append(
            {
                "name": "rule",
                "xref": "paper",
                "x": 1,
                "xanchor": "right",
                "yref": "y",
                "y": value,
                "yanchor": "bottom",
                "showarrow": False,
                "text": text(f"{rule.name} {rule.comparison or 'less'} {rule.value}{start}"),
            }
        )
    if stopped_at is not None and by_step and isinstance(stopped_at, datetime):
        stopped_at = max(last_x)  # step-numbered series: the trial stopped after its last report
    if stopped_at is not None:
        shapes.append(
            {
                "type": "line",
                "name": "stopped",
                "xref": "x",
                "x0": _x(stopped_at),
                "x1": _x(stopped_at),
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": STATE_COLOURS[ts.EARLY_STOPPED], "width": 2},
            }
        )
        annotations.append(
            {
                "name": "stopped",
                "xref": "x",
                "x": _x(stopped_at),
                "yref": "paper",
                "y": 1,
                "showarrow": False,
                "text": "early stopped",
            }
        )
    layout = {
        "title": {"text": "Metrics"},
        "xaxis": {"title": {"text": "step" if by_step else "time"}},
        "yaxis": {"type": "log" if log_y else "linear"},
        "shapes": shapes,
        "annotations": annotations,
    }
    return {"data": data, "layout": layout}


def compare(views: Sequence[ExperimentView]) -> Figure:
    """Experiments side by side: each one's best objective so far over its completed trials."""
    if not views:
        raise ValueError("compare needs at least one experiment")
    data: list[dict[str, Any]] = []
    for view in views:
        points = completed(view)
        values = [t.objective for t in points if t.objective is not None]
        label = text(f"{view.namespace}/{view.name}" if view.namespace else view.name)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} ({text(view.algorithm)}, {text(view.goal_type)})",
                "legendgroup": label,
                "x": list(range(1, len(values) + 1)),
                "y": best_so_far(values, view.goal_type),
                "line": {"shape": "hv", "width": 2},
                "hovertemplate": f"{label}<br>trial %{{x}}: best %{{y}}<extra></extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{label} trials",
                "legendgroup": label,
                "showlegend": False,
                "x": list(range(1, len(values) + 1)),
                "y": values,
                "text": [_hover(t) for t in points],
                "hovertemplate": "%{text}<br>objective=%{y}<extra></extra>",
                "marker": {"size": 5},
                "opacity": 0.4,
            }
        )
    objective_names = {v.objective_name for v in views}
    y_title = text(views[0].objective_name) if len(objective_names) == 1 else "objective"
    layout = {
        "title": {"text": "Best so far: " + ", ".join(text(v.name) for v in views)},
        "xaxis": {"title": {"text": "trial (completion order)"}},
        "yaxis": {"title": {"text": y_title}},
        "legend": {"orientation": "h"},
    }
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- NAS drawings (SVG)

_BOX_W, _BOX_H, _GAP = 260, 34, 28


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">'
        f"<title>{html.escape(title)}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>'
        + "".join(body)
        + "</svg>"
    )


def _box(x: float, y: float, label: str, fill: str) -> str:
    return (
        f'<g><rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="{fill}" '
        f'stroke="#333"/><text x="{x + _BOX_W / 2:.1f}" y="{y + _BOX_H / 2 + 4:.1f}" '
        f'text-anchor="middle">{html.escape(label)}</text></g>'
    )


def enas_layers(parameters: Mapping[str, str]) -> tuple[list[str], list[list[int]]]:
    """The ENAS architecture in a trial's `architecture` and `nn_config` assignments (Katib's
    strings, read as Katib's trial code reads them): each layer's operation text and the indices of
    the nodes it takes as input (0 is the network's input, i the i-th layer)."""
    from katib_py.trainers.nas_common import katib_json

    if "architecture" not in parameters or "nn_config" not in parameters:
        raise ValueError("an ENAS trial has the parameters 'architecture' and 'nn_config'")
    try:
        arch = katib_json(parameters["architecture"])
        config = katib_json(parameters["nn_config"])
    except ValueError as exc:
        raise ValueError(f"the ENAS assignments are not Katib's JSON text: {exc}") from None
    if not isinstance(arch, list) or not isinstance(config, dict):
        raise ValueError("architecture must be a list of layers and nn_config an object")
    embedding = config.get("embedding") or {}
    labels: list[str] = []
    sources: list[list[int]] = []
    for index, entry in enumerate(arch, start=1):
        if not isinstance(entry, list) or len(entry) != index or not all(isinstance(v, int) for v in entry):
            raise ValueError(f"layer {index} must be [operation, {index - 1} skip bits], got {entry!r}")
        op = embedding.get(str(entry[0])) if isinstance(embedding, dict) else None
        if isinstance(op, dict):
            params = op.get("opt_params") or {}
            detail = ", ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict) else ""
            labels.append(f"{op.get('opt_type', '?')}({detail})")
        else:
            labels.append(f"operation {entry[0]}")
        sources.append([index - 1] + [j for j in range(index - 1) if entry[1 + j] == 1])
    return labels, sources


def nas_architecture_svg(parameters: Mapping[str, str], title: str = "ENAS architecture") -> str:
    """An ENAS trial's network as an SVG graph: input, one box per layer (its operation), output;
    an arrow from every node a layer reads (its predecessor and its skip connections).

    Raises ValueError when the assignments are not an ENAS architecture."""
    labels, sources = enas_layers(parameters)
    names = ["input", *labels, "output"]
    width = _BOX_W + 40 + 30 * max(1, len(labels))
    body: list[str] = []
    ys = [10 + i * (_BOX_H + _GAP) for i in range(len(names))]
    x = 20
    for layer, srcs in enumerate(sources, start=1):
        for src in srcs:
            x1, y1, y2 = x + _BOX_W / 2, ys[src] + _BOX_H, ys[layer]
            if src == layer - 1:
                body.append(
                    f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x1:.1f}" y2="{y2:.1f}" stroke="#555" '
                    'marker-end="url(#arrow)"/>'
                )
            else:  # a skip connection, curving out to the right in proportion to its span
                xr = x + _BOX_W
                bend = xr + 20 * (layer - src)
                ya, yb = ys[src] + _BOX_H / 2, ys[layer] + _BOX_H / 2
                body.append(
                    f'<path d="M{xr:.1f},{ya:.1f} C{bend:.1f},{ya:.1f} '
                    f'{bend:.1f},{yb:.1f} {xr:.1f},{yb:.1f}" '
                    'fill="none" stroke="#1f77b4" stroke-dasharray="4 3" marker-end="url(#arrow)"/>'
                )
    out = len(names) - 1
    body.append(
        f'<line x1="{x + _BOX_W / 2:.1f}" y1="{ys[out - 1] + _BOX_H:.1f}" x2="{x + _BOX_W / 2:.1f}" '
        f'y2="{ys[out]:.1f}" stroke="#555" marker-end="url(#arrow)"/>'
    )
    for i, label in enumerate(names):
        fill = "#e8f0fe" if 0 < i < out else "#eeeeee"
        body.append(_box(x, ys[i], label, fill))
    return _svg(width, ys[-1] + _BOX_H + 10, body, title)


def darts_genotype_svg(genotype: str, title: str = "DARTS genotype") -> str:
    """A DARTS genotype (the `Best-Genotype=Genotype(...)` a DARTS trial prints, read by
    `katib_py.trainers.darts_trainer.Genotype.parse`) as two SVG cells, normal and reduction.

    Each cell is a row: its two inputs, its nodes, its output `c_{k}`. Every chosen edge is an arc
    above the row, as high as it is long, with its operation at the top (so no two labels of one
    cell meet); the nodes concatenated into the output are joined to it by dashed arcs below.

    Raises ValueError when the text is not a genotype."""
    from katib_py.trainers.darts_trainer import Genotype

    try:
        parsed = Genotype.parse(genotype)
    except (KeyError, TypeError, SyntaxError, ValueError) as exc:
        raise ValueError(f"not a DARTS genotype: {exc}") from None
    cells = [
        ("normal cell", parsed.normal, parsed.normal_concat),
        ("reduction cell", parsed.reduce, parsed.reduce_concat),
    ]
    node_w, node_h, step, rise = 80, 28, 160, 26
    body: list[str] = []
    top = 0.0
    width = 0.0
    for cell_name, gene, concat in cells:
        names = ["c_{k-2}", "c_{k-1}", *(str(i) for i in range(len(gene))), "c_{k}"]
        spans = [target - source for target, edges in enumerate(gene, start=2) for _, source in edges]
        row = top + 40 + rise * (max(spans, default=1) + 1)  # the row's top edge, below the highest arc
        xs = [10 + step * i for i in range(len(names))]
        body.append(f'<text x="10" y="{top + 20:.1f}" font-weight="bold">{html.escape(cell_name)}</text>')
        for target, edges in enumerate(gene, start=2):
            for op, source in edges:
                if not 0 <= source < target:
                    raise ValueError(f"edge {op!r} into node {target - 2} comes from node {source - 2}")
                x1, x2 = xs[source] + node_w / 2, xs[target] + node_w / 2 - 6
                apex = row - rise * (target - source)
                body.append(
                    f'<path d="M{x1:.1f},{row:.1f} Q{(x1 + x2) / 2:.1f},{2 * apex - row:.1f} '
                    f'{x2:.1f},{row:.1f}" '
                    'fill="none" stroke="#555" marker-end="url(#arrow)"/>'
                    f'<text x="{(x1 + x2) / 2:.1f}" y="{apex - 3:.1f}" text-anchor="middle" font-size="10" '
                    f'fill="#1f4e9e">{html.escape(str(op))}</text>'
                )
        bottom = row + node_h
        out = xs[-1] + node_w / 2
        for index in concat:
            if 2 <= index < len(names) - 1:
                x1 = xs[index] + node_w / 2
                body.append(
                    f'<path d="M{x1:.1f},{bottom:.1f} Q{(x1 + out) / 2:.1f},{bottom + 40:.1f} '
                    f'{out:.1f},{bottom:.1f}" '
                    'fill="none" stroke="#999" stroke-dasharray="3 3"/>'
                )
        for name, x in zip(names, xs, strict=True):
            fill = "#eeeeee" if name.startswith("c_") else "#e8f0fe"
            body.append(
                f'<g><rect x="{x:.1f}" y="{row:.1f}" width="{node_w}" height="{node_h}" rx="6" fill="{fill}" '
                f'stroke="#333"/><text x="{x + node_w / 2:.1f}" y="{row + node_h / 2 + 4:.1f}" '
                f'text-anchor="middle">{html.escape(name)}</text></g>'
            )
        top = bottom + 30
        width = max(width, xs[-1] + node_w + 10)
    return _svg(int(width), int(top), body, title)
