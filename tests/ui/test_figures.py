"""The figures of katib_py.ui.figures: built from Katib objects, checked against plotly's schema."""

from __future__ import annotations

import html
import itertools
import json
import random
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from katib_py.api import models
from katib_py.ui import figures as f

HOSTILE = '<img src=x onerror="alert(1)">&amp;</script>'
START = datetime(2026, 1, 1, 12, 0, 0)


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def condition(kind: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": kind, "message": kind}


def trial(
    name: str,
    params: dict[str, Any],
    state: str = "Succeeded",
    metrics: dict[str, str] | None = None,
    done_at: float | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    conditions = [condition("Created")]
    if state != "Created":
        conditions.append(condition("Running"))
    if state not in ("Created", "Running"):
        conditions[-1]["status"] = "False"
        conditions.append(condition(state))
    status: dict[str, Any] = {"conditions": conditions}
    if metrics:
        status["observation"] = {
            "metrics": [{"name": k, "min": v, "max": v, "latest": v} for k, v in metrics.items()]
        }
    if done_at is not None:
        status["completionTime"] = stamp(done_at)
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Trial",
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": stamp(0), "labels": labels or {}},
        "spec": {"parameterAssignments": [{"name": k, "value": str(v)} for k, v in params.items()]},
        "status": status,
    }


def experiment(
    name: str = "exp",
    goal_type: str = "maximize",
    parameters: list[dict[str, Any]] | None = None,
    additional: list[dict[str, str]] | None = None,
    goal: float | None = None,
) -> dict[str, Any]:
    objective: dict[str, Any] = {
        "type": goal_type,
        "objectiveMetricName": "score",
        "metricStrategies": [{"name": "score", "value": "latest"}],
    }
    if goal is not None:
        objective["goal"] = goal
    if additional:
        objective["additionalObjectives"] = additional
        objective["metricStrategies"] += [
            {"name": a["objectiveMetricName"], "value": "latest"} for a in additional
        ]
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {
            "objective": objective,
            "algorithm": {"algorithmName": "random"},
            "maxTrialCount": 40,
            "parameters": parameters
            or [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "1"}},
                {"name": "noise", "parameterType": "int", "feasibleSpace": {"min": "0", "max": "100"}},
                {
                    "name": "opt",
                    "parameterType": "categorical",
                    "feasibleSpace": {"list": ["sgd", "adam", "rmsprop"]},
                },
            ],
        },
        "status": {"conditions": [condition("Created"), condition("Running")]},
    }


def random_trials(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """`score` is driven by lr (and a little by opt); `noise` does nothing."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lr, noise, opt = rng.uniform(0.01, 1), rng.randint(0, 100), rng.choice(["sgd", "adam", "rmsprop"])
        score = 10 * lr + (0.5 if opt == "adam" else 0) + rng.gauss(0, 0.05)
        out.append(
            trial(
                f"t{i:02d}", {"lr": lr, "noise": noise, "opt": opt}, metrics={"score": str(score)}, done_at=i
            )
        )
    return out


def checked(figure: f.Figure) -> f.Figure:
    """The figure, after plotly's schema accepted it and it went through figure_json."""
    go.Figure(figure)  # raises on any property plotly.js does not know
    assert json.loads(f.figure_json(figure)) == figure
    return figure


def mixed_view(goal_type: str = "maximize") -> f.ExperimentView:
    trials = random_trials(12)
    trials += [
        trial("running", {"lr": 0.5, "noise": 1, "opt": "sgd"}, state="Running"),
        trial("created", {"lr": 0.5, "noise": 1, "opt": "sgd"}, state="Created"),
        trial("failed", {"lr": 0.5, "noise": 1, "opt": "sgd"}, state="Failed", done_at=3.5),
        trial(
            "stopped",
            {"lr": 0.2, "noise": 1, "opt": "sgd"},
            state="EarlyStopped",
            metrics={"score": "1.5"},
            done_at=4.5,
        ),
        trial("unavailable", {"lr": 0.2, "noise": 1, "opt": "sgd"}, state="MetricsUnavailable", done_at=5.5),
    ]
    return f.view_from_objects(experiment(goal_type=goal_type), trials)


# ---------------------------------------------------------------- the view


def test_view_reads_states_objective_times_and_best_trial() -> None:
    view = mixed_view()
    states = {t.name: t.state for t in view.trials}
    assert states["running"] == "Running" and states["created"] == "Created"
    assert states["failed"] == "Failed" and states["stopped"] == "EarlyStopped"
    assert states["unavailable"] == "MetricsUnavailable" and states["t00"] == "Succeeded"
    stopped = next(t for t in view.trials if t.name == "stopped")
    assert stopped.objective == 1.5 and stopped.metrics == {"score": 1.5}
    assert stopped.completed == START + timedelta(seconds=4.5)
    best = max((t for t in view.trials if t.objective is not None), key=lambda t: t.objective or 0)
    assert view.best_trial == best.name and view.best is best
    assert [p.name for p in view.parameters] == ["lr", "noise", "opt"]
    assert view.parameter("opt").categorical and not view.parameter("lr").categorical
    assert view.condition == "Running" and view.max_trial_count == 40 and view.algorithm == "random"
    with pytest.raises(ValueError, match="has no parameter 'nope' \\(parameters: lr, noise, opt\\)"):
        view.parameter("nope")


def test_objective_follows_the_metric_strategy_and_string_metrics_are_kept_apart() -> None:
    exp = experiment()
    exp["spec"]["objective"]["metricStrategies"] = [{"name": "score", "value": "max"}]
    t = trial("t", {"lr": 0.1})
    t["status"]["observation"] = {
        "metrics": [
            {"name": "score", "min": "0.1", "max": "0.9", "latest": "0.5"},
            {"name": "Best-Genotype", "min": "unavailable", "max": "unavailable", "latest": "Genotype(x)"},
            {"name": "loss", "min": "nan", "max": "nan", "latest": "nan"},
        ]
    }
    point = f.view_from_objects(exp, [t]).trials[0]
    assert point.objective == 0.9
    assert point.text_metrics == {"Best-Genotype": "Genotype(x)"} and "loss" not in point.metrics


def test_not_a_katib_object_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="parameterAssignments"):
        f.view_from_objects(experiment(), [{"metadata": {"name": "x"}, "spec": {"parameterAssignments": 3}}])


# ---------------------------------------------------------------- history


@pytest.mark.parametrize("goal_type", ["maximize", "minimize"])
def test_history_has_one_point_per_completed_trial_and_a_monotone_best_line(goal_type: str) -> None:
    view = mixed_view(goal_type)
    figure = checked(f.history(view))
    markers = [t for t in figure["data"] if t["mode"] == "markers"]
    names = [n for t in markers for n in t["customdata"]]
    # the 12 succeeded trials and the early-stopped one; not running, created, failed or unavailable
    assert sorted(names) == sorted([f"t{i:02d}" for i in range(12)] + ["stopped"])
    xs = sorted(x for t in markers for x in t["x"])
    assert xs == list(range(1, 14))
    assert {t["name"] for t in markers} == {"Succeeded", "EarlyStopped"}
    (best,) = [t for t in figure["data"] if t["name"] == "best so far"]
    ys = best["y"]
    assert len(ys) == 13
    pairs = list(itertools.pairwise(ys))
    if goal_type == "maximize":
        assert all(a <= b for a, b in pairs) and ys[-1] == max(y for t in markers for y in t["y"])
    else:
        assert all(a >= b for a, b in pairs) and ys[-1] == min(y for t in markers for y in t["y"])
    # "stopped" completed at 4.5 s: the sixth trial to complete (after t00..t04)
    stopped = next(t for t in markers if t["name"] == "EarlyStopped")
    assert stopped["x"] == [6]


def test_history_of_an_experiment_with_no_completed_trial_says_so() -> None:
    view = f.view_from_objects(experiment(), [trial("r", {"lr": 0.1}, state="Running")])
    figure = checked(f.history(view))
    assert figure["data"] == []
    assert "No completed trial" in figure["layout"]["annotations"][0]["text"]


def test_history_draws_the_goal() -> None:
    figure = checked(f.history(f.view_from_objects(experiment(goal=0.75), random_trials(3))))
    assert figure["layout"]["shapes"][0]["y0"] == 0.75


# ---------------------------------------------------------------- parallel coordinates, slice, contour


def test_parallel_coordinates_one_line_per_completed_trial_categorical_ticks_hidden_axes() -> None:
    view = mixed_view()
    figure = checked(f.parallel_coordinates(view))
    (trace,) = figure["data"]
    labels = [d["label"] for d in trace["dimensions"]]
    assert labels == ["lr", "noise", "opt", "score"]
    assert all(len(d["values"]) == 13 for d in trace["dimensions"])
    opt = trace["dimensions"][2]
    assert opt["ticktext"] == ["sgd", "adam", "rmsprop"] and opt["tickvals"] == [0, 1, 2]
    completed = f.completed(view)
    assert opt["values"] == [float(["sgd", "adam", "rmsprop"].index(t.parameters["opt"])) for t in completed]
    assert trace["dimensions"][0]["range"][0] <= 0.01 and trace["dimensions"][0]["range"][1] >= 1

    hidden = checked(f.parallel_coordinates(view, hidden=frozenset({"noise", "opt", "unknown"})))
    assert [d["label"] for d in hidden["data"][0]["dimensions"]] == ["lr", "score"]


def test_a_categorical_value_outside_the_list_gets_its_own_tick() -> None:
    trials = [*random_trials(3), trial("odd", {"lr": 0.3, "noise": 2, "opt": "lion"}, metrics={"score": "1"})]
    figure = checked(f.parallel_coordinates(f.view_from_objects(experiment(), trials)))
    assert figure["data"][0]["dimensions"][2]["ticktext"] == ["sgd", "adam", "rmsprop", "lion"]


def test_slice_plot_puts_each_completed_trial_at_its_value() -> None:
    view = mixed_view()
    figure = checked(f.slice_plot(view, "lr"))
    completed = f.completed(view)
    assert figure["data"][0]["x"] == [float(t.parameters["lr"]) for t in completed]
    assert figure["data"][0]["y"] == [t.objective for t in completed]
    categorical = checked(f.slice_plot(view, "opt"))
    assert categorical["layout"]["xaxis"]["ticktext"] == ["sgd", "adam", "rmsprop"]
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        f.slice_plot(view, "nope")


def test_contour_interpolates_between_the_trials() -> None:
    view = f.view_from_objects(experiment(), random_trials(30))
    figure = checked(f.contour(view, "lr", "noise"))
    grid, points = figure["data"]
    assert grid["type"] == "contour" and len(grid["z"]) == f.GRID and len(grid["x"]) == f.GRID
    values = [v for row in grid["z"] for v in row if v is not None]
    objectives = [t.objective for t in f.completed(view) if t.objective is not None]
    assert values and min(objectives) <= min(values) and max(values) <= max(objectives)
    assert len(points["x"]) == 30
    with pytest.raises(ValueError, match="two different parameters"):
        f.contour(view, "lr", "lr")


def test_contour_of_points_on_a_line_draws_the_points_only() -> None:
    trials = [
        trial(f"t{i}", {"lr": 0.1 * i, "noise": i, "opt": "sgd"}, metrics={"score": str(i)})
        for i in range(1, 5)
    ]
    figure = checked(f.contour(f.view_from_objects(experiment(), trials), "lr", "noise"))
    assert [t["type"] for t in figure["data"]] == ["scatter"]


# ---------------------------------------------------------------- importance


def test_importance_ranks_the_parameter_that_drives_the_objective_above_noise() -> None:
    view = f.view_from_objects(experiment(), random_trials(40))
    values = f.importance_values(view)
    assert set(values) == {"lr", "noise", "opt"}
    assert next(iter(values)) == "lr" and values["lr"] > 3 * values["noise"]
    figure = checked(f.importance(view))
    assert figure["data"][0]["y"][-1] == "lr"  # the most important is drawn on top


def test_importance_needs_two_completed_trials() -> None:
    view = f.view_from_objects(experiment(), [*random_trials(1), trial("r", {"lr": 0.1}, state="Running")])
    figure = checked(f.importance(view))
    assert figure["data"] == []
    assert figure["layout"]["annotations"][0]["text"] == (
        "parameter importance needs at least 2 completed trials, there are 1"
    )


# ---------------------------------------------------------------- curves, compare, pareto


def test_learning_curves_overlay_every_trial_and_mark_the_early_stopped() -> None:
    curves = {
        "a": [(START + timedelta(seconds=s), 1.0 / (s + 1)) for s in range(5)],
        "b": [(2.0, 0.9), (1.0, 1.0)],
        "c": [(1.0, 1.0), (2.0, float("nan"))],
    }
    figure = checked(f.learning_curves(curves, {"b"}, log_y=True))
    lines = [t for t in figure["data"] if t["mode"] == "lines"]
    assert [t["name"] for t in lines] == ["a", "b", "c"]
    assert lines[1]["line"]["dash"] == "dash" and lines[0]["line"]["dash"] == "solid"
    assert lines[1]["x"] == [1.0, 2.0]  # sorted by step
    assert lines[2]["y"] == [1.0, None]  # nan is a gap
    assert lines[0]["x"][0] == START.isoformat()
    (stops,) = [t for t in figure["data"] if t["name"] == "early stopped"]
    assert stops["x"] == [2.0] and stops["y"] == [0.9] and stops["marker"]["symbol"] == "x"
    assert figure["layout"]["yaxis"]["type"] == "log"
    assert checked(f.learning_curves({}, set()))["data"] == []


def test_trial_curves_draw_every_metric() -> None:
    logs = {"loss": [(START, 2.0), (START + timedelta(seconds=1), 1.0)], "acc": [(START, 0.5)]}
    figure = checked(f.trial_curves(logs))
    assert [t["name"] for t in figure["data"]] == ["acc", "loss"]
    assert figure["data"][1]["y"] == [2.0, 1.0]


def test_trial_curves_draw_early_stopping_rules_and_where_the_trial_stopped() -> None:
    logs: dict[str, list[tuple[datetime | float, float]]] = {
        "loss": [(START, 2.0), (START + timedelta(seconds=5), 1.5)],
        "acc": [(START, 0.2), (START + timedelta(seconds=5), 0.3)],
    }
    rules = [
        models.EarlyStoppingRule(name="acc", value="0.4", comparison="less", start_step=2),
        models.EarlyStoppingRule(name="absent", value="1", comparison="less"),  # no such metric: not drawn
    ]
    stopped = START + timedelta(seconds=6)
    figure = checked(f.trial_curves(logs, rules=rules, stopped_at=stopped))
    rule, stop = figure["layout"]["shapes"]
    assert rule["name"] == "rule" and rule["y0"] == rule["y1"] == 0.4 and rule["line"]["dash"] == "dash"
    assert stop["name"] == "stopped" and stop["x0"] == stop["x1"] == stopped.isoformat()
    labels = [a["text"] for a in figure["layout"]["annotations"]]
    assert labels == ["acc less 0.4, from step 2", "early stopped"]
    assert figure["layout"]["xaxis"]["title"]["text"] == "time"
    # no rules, not stopped: nothing drawn over the curves
    plain = checked(f.trial_curves(logs))
    assert plain["layout"]["shapes"] == [] and plain["layout"]["annotations"] == []


def test_trial_curves_by_step_title_the_axis_step_and_stop_after_the_last_step() -> None:
    logs: dict[str, list[tuple[datetime | float, float]]] = {"acc": [(1.0, 0.1), (2.0, 0.2), (3.0, 0.25)]}
    rules = [models.EarlyStoppingRule(name="acc", value="0.5", comparison="less")]
    figure = checked(f.trial_curves(logs, rules=rules, stopped_at=START))
    assert figure["layout"]["xaxis"]["title"]["text"] == "step"
    stop = figure["layout"]["shapes"][1]
    assert stop["x0"] == 3.0 and figure["layout"]["annotations"][0]["text"] == "acc less 0.5"


def test_compare_draws_each_experiments_best_so_far() -> None:
    a = f.view_from_objects(experiment("a"), random_trials(10, seed=1))
    b = f.view_from_objects(experiment("b", goal_type="minimize"), random_trials(6, seed=2))
    figure = checked(f.compare([a, b]))
    best = [t for t in figure["data"] if t["mode"] == "lines"]
    assert len(best) == 2 and len(best[0]["y"]) == 10 and len(best[1]["y"]) == 6
    assert all(x <= y for x, y in zip(best[0]["y"], best[0]["y"][1:], strict=False))
    assert all(x >= y for x, y in zip(best[1]["y"], best[1]["y"][1:], strict=False))
    with pytest.raises(ValueError, match="at least one"):
        f.compare([])


def test_pareto_front_highlights_the_non_dominated_trials() -> None:
    exp = experiment(additional=[{"objectiveMetricName": "cost", "type": "minimize"}])
    values = {"p1": ("1", "1"), "p2": ("2", "2"), "d1": ("1", "3"), "d2": ("0.5", "0.5")}
    trials = [trial(n, {"lr": 0.1}, metrics={"score": s, "cost": c}) for n, (s, c) in values.items()]
    view = f.view_from_objects(exp, trials)
    assert set(view.pareto) == {"p1", "p2", "d2"}
    figure = checked(f.pareto_front(view))
    dominated, front = figure["data"]
    assert front["x"] == [0.5, 1.0, 2.0] and dominated["x"] == [1.0]
    single = checked(f.pareto_front(mixed_view()))
    assert "single objective" in single["layout"]["annotations"][0]["text"]


# ---------------------------------------------------------------- hostile strings


def without_ticktext(figure: dict[str, Any]) -> dict[str, Any]:
    """A parcoords figure without its (plain-text) tick labels."""
    dims = [{k: v for k, v in d.items() if k != "ticktext"} for d in figure["data"][0]["dimensions"]]
    return {**figure, "data": [{**figure["data"][0], "dimensions": dims}]}


def test_hostile_strings_are_shown_escaped_in_every_figure() -> None:
    exp = experiment(
        name=HOSTILE,
        parameters=[
            {
                "name": HOSTILE,
                "parameterType": "categorical",
                "feasibleSpace": {"list": [HOSTILE, "<b>x</b>"]},
            },
            {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}},
        ],
    )
    exp["spec"]["objective"]["objectiveMetricName"] = HOSTILE
    exp["spec"]["objective"]["metricStrategies"] = [{"name": HOSTILE, "value": "latest"}]
    trials = [
        trial(
            HOSTILE + str(i), {HOSTILE: [HOSTILE, "<b>x</b>"][i % 2], "lr": i / 10}, metrics={HOSTILE: str(i)}
        )
        for i in range(6)
    ]
    view = f.view_from_objects(exp, trials)
    built = [
        f.history(view),
        f.parallel_coordinates(view),
        f.slice_plot(view, HOSTILE),
        f.contour(view, HOSTILE, "lr"),
        f.importance(view),
        f.compare([view, view]),
        f.learning_curves({HOSTILE: [(1.0, 1.0)]}, {HOSTILE}),
        f.trial_curves({HOSTILE: [(START, 1.0)]}),
        f.message_figure(HOSTILE, HOSTILE),
        f.history(f.view_from_objects(exp, [])),  # the empty figure's title
    ]
    for figure in built:
        checked(figure)
        plain = json.dumps(figure if figure is not built[1] else without_ticktext(figure))
        assert "<img" not in plain and "</script" not in plain and "<b>" not in plain
        assert "&lt;img src=x" in plain or "&lt;b&gt;x&lt;/b&gt;" in plain
        safe = f.figure_json(figure)
        assert "<" not in safe and ">" not in safe and "&" not in safe
    # parcoords tick labels are plain text to plotly.js (d3 axis .text()): given as they are, and
    # figure_json still keeps them out of any markup it is embedded in
    pc = f.parallel_coordinates(view)
    assert pc["data"][0]["dimensions"][0]["ticktext"] == [HOSTILE, "<b>x</b>"]
    assert pc["data"][0]["dimensions"][0]["label"] == f.text(HOSTILE)  # the axis title is markup
    assert "<" not in f.figure_json(pc) and "&" not in f.figure_json(pc)
    assert f.text(HOSTILE) == '&lt;img src=x onerror="alert(1)"&gt;&amp;amp;&lt;/script&gt;'
    # escaped once: plotly.js shows the string as it is
    assert built[0]["layout"]["title"]["text"] == f.text(f"Optimization history: {HOSTILE}")
    assert built[2]["layout"]["title"]["text"] == f.text(f"Slice of {HOSTILE}: {HOSTILE}")
    assert built[-1]["layout"]["title"]["text"] == f.text(f"Optimization history: {HOSTILE}")


# ---------------------------------------------------------------- NAS


ENAS = {
    "architecture": "[[3], [0, 1], [2, 0, 1]]",
    "nn_config": (
        "{'num_layers': 3, 'input_sizes': [8, 8, 1], 'output_sizes': [10], 'embedding': {"
        "'3': {'opt_id': 3, 'opt_type': 'convolution', "
        "'opt_params': {'filter_size': '3', 'num_filter': '8'}}, "
        "'0': {'opt_id': 0, 'opt_type': 'separable_convolution', 'opt_params': {'filter_size': '5'}}, "
        "'2': {'opt_id': 2, 'opt_type': 'reduction', 'opt_params': {'reduction_type': 'max_pooling'}}}}"
    ),
}


def test_enas_architecture_is_drawn_with_its_skip_connections() -> None:
    labels, sources = f.enas_layers(ENAS)
    assert labels == [
        "convolution(filter_size=3, num_filter=8)",
        "separable_convolution(filter_size=5)",
        "reduction(reduction_type=max_pooling)",
    ]
    assert sources == [[0], [1, 0], [2, 1]]
    svg = ET.fromstring(f.nas_architecture_svg(ENAS))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in svg.iter(f"{ns}text")]
    assert texts == ["input", *labels, "output"]
    assert (
        len(list(svg.iter(f"{ns}path"))) == 3
    )  # the skip connections: input->2, layer 1->3 and the arrow head
    assert len(list(svg.iter(f"{ns}line"))) == 4  # input->1->2->3->output


def test_nas_drawings_escape_user_strings() -> None:
    hostile = dict(ENAS, nn_config=ENAS["nn_config"].replace("'reduction'", "'<script>alert(1)</script>'"))
    svg = f.nas_architecture_svg(hostile, title=HOSTILE)
    assert "<script" not in svg and "<img" not in svg
    root = ET.fromstring(svg)  # well-formed
    assert any("<script>alert(1)</script>(reduction_type" in (t.text or "") for t in root.iter())
    genotype = (
        "Genotype(normal=[[('<script>x</script>',0),('skip_connection',1)],[('max_pooling_3x3',2),"
        "('avg_pooling_3x3',0)]],normal_concat=range(2,4),reduce=[[('max_pooling_3x3',1),"
        "('skip_connection',0)],[('separable_convolution_3x3',2),('max_pooling_3x3',1)]],reduce_concat=range(2,4))"
    )
    drawn = f.darts_genotype_svg(genotype)
    assert "<script" not in drawn
    ops = [t.text for t in ET.fromstring(drawn).iter("{http://www.w3.org/2000/svg}text")]
    assert "<script>x</script>" in ops and ops.count("max_pooling_3x3") == 3 and ops.count("c_{k}") == 2
    paths = list(ET.fromstring(drawn).iter("{http://www.w3.org/2000/svg}path"))
    assert sum(1 for p in paths if p.get("marker-end")) == 8  # one arc per chosen edge
    assert sum(1 for p in paths if p.get("stroke-dasharray")) == 4  # nodes 0 and 1 of each cell into c_{k}


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        ({"architecture": "[[0]]"}, "has the parameters 'architecture' and 'nn_config'"),
        ({"architecture": "[[0]", "nn_config": "{}"}, "not Katib's JSON text"),
        (
            {"architecture": "[[0], [1]]", "nn_config": "{}"},
            r"layer 2 must be \[operation, 1 skip bits\], got \[1\]",
        ),
    ],
)
def test_a_bad_enas_assignment_is_a_clear_error(parameters: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        f.nas_architecture_svg(parameters)


def test_a_bad_genotype_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a DARTS genotype"):
        f.darts_genotype_svg("Genotype(normal=[[('a',0)]])")
    with pytest.raises(ValueError, match="edge 'a' into node 0 comes from node 3"):
        f.darts_genotype_svg(
            "Genotype(normal=[[('a',5)]],normal_concat=range(2,3),reduce=[],reduce_concat=range(2,3))"
        )


def test_the_small_fanova_forest_agrees_with_optunas_default() -> None:
    view = f.view_from_objects(experiment(), random_trials(40))
    small = f.importance_values(view)
    default = f.importance_values(view, n_trees=64, max_depth=64)
    assert next(iter(small)) == next(iter(default)) == "lr"
    assert all(abs(small[n] - default[n]) < 1e-2 for n in small)


def test_enas_drawing_reads_the_enas_services_own_assignment_text() -> None:
    import yaml

    from katib_py.api.models import Experiment
    from katib_py.suggestion.algorithms.enas import choices, nn_config_text

    example = Path(__file__).parents[2] / "examples" / "enas.yaml"
    spec = Experiment.load(yaml.safe_load(example.read_text())).spec
    assert spec is not None and spec.nas_config is not None
    table = choices(spec.nas_config)
    arc = [[len(table) - 1], [0, 1], [1, 0, 1]]
    labels, sources = f.enas_layers(
        {"architecture": json.dumps(arc), "nn_config": nn_config_text(spec.nas_config, table, arc)}
    )
    last = table[-1].as_dict()
    assert labels[0].startswith(f"{last['opt_type']}(") and labels[1].startswith(
        f"{table[0].as_dict()['opt_type']}("
    )
    assert sources == [[0], [1, 0], [2, 1]]


def test_the_report_page_escapes_every_string() -> None:
    from katib_py.ui import plot

    exp = experiment(name=HOSTILE)
    exp["spec"]["algorithm"]["algorithmName"] = HOSTILE
    view = f.view_from_objects(exp, random_trials(3))
    page = plot.report_html(view)
    head, script = page.split("<script>", 1)
    plotly_js, rest = script.split("</script>", 1)
    assert plot.plotly_js() == plotly_js  # inline, whole
    assert HOSTILE not in head + rest and "<img" not in head + rest
    assert f"<title>katib-py: ns/{html.escape(HOSTILE)}</title>" in head
    assert rest.count("Plotly.newPlot(") == 3
