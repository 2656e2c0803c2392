"""What `katib-py watch` draws (katib_py.ui.watch), from views built of Katib objects."""

from __future__ import annotations

from rich.console import Console

from katib_py.ui import figures as f
from katib_py.ui import watch

from .test_figures import experiment, mixed_view, trial


def drawn(renderable: object, height: int = 40) -> str:
    console = Console(record=True, width=120, height=height, force_terminal=True, color_system="truecolor")
    console.print(renderable)
    return console.export_text()


def test_the_live_view_shows_condition_progress_best_and_trials() -> None:
    view = mixed_view()
    text = drawn(watch.render(view, 60))
    assert "Experiment ns/exp (random): Running" in text
    assert "15/40 trials done" in text  # 12 succeeded, failed, early stopped, metrics unavailable
    best = view.best
    assert best is not None
    assert f"best trial: {best.name}  score={best.objective:.6g}" in text
    for name in ("t00", "t11", "running", "created", "failed", "stopped", "unavailable"):
        assert name in text


def test_a_short_terminal_shows_the_latest_trials_and_counts_the_rest() -> None:
    text = drawn(watch.render(mixed_view(), 20), height=20)
    assert "... 10 earlier" in text  # 17 trials, 7 rows fit
    assert len(text.splitlines()) < 20  # fits the terminal


def test_summary_and_final_lines() -> None:
    view = mixed_view()
    best = view.best
    assert best is not None
    assert watch.summary(view) == (
        f"Running: 15/40 trials done, 1 running, best score={best.objective:.6g} ({best.name})"
    )
    lines = watch.final_lines(view)
    assert lines[0] == "experiment ns/exp: Running (Running)"
    assert lines[1] == f"best trial: {best.name}  score={best.objective:.6g}"
    assert lines[2:] == [f"  {k} = {v}" for k, v in best.parameters.items()]
    empty = f.view_from_objects(experiment(), [])
    assert watch.final_lines(empty)[-1] == "best trial: none yet"
    assert watch.summary(empty) == "Running: 0/40 trials done, 0 running, no best yet"


def test_user_strings_are_neither_markup_nor_terminal_control() -> None:
    hostile = "[red]x[/red]\x1b[2J\u202e"
    exp = experiment(
        name=hostile,
        parameters=[{"name": hostile, "parameterType": "categorical", "feasibleSpace": {"list": [hostile]}}],
    )
    view = f.view_from_objects(exp, [trial("t", {hostile: hostile}, metrics={"score": "1"})])
    assert watch.clean(hostile) == "[red]x[/red]\\x1b[2J\\u202e"
    text = drawn(watch.render(view, 40))
    assert "\x1b[2J" not in text and "\u202e" not in text
    assert "[red]x[/red]\\x1b[2J\\u202e" in text.replace("\n", "")
    assert all("\x1b" not in line for line in watch.final_lines(view))
    assert watch.final_lines(view)[-1] == "  [red]x[/red]\\x1b[2J\\u202e = [red]x[/red]\\x1b[2J\\u202e"
