"""`katib-py watch NAME`: an experiment's trials, budget and best value, live in the terminal.

It lists the Experiment and its Trials, then follows both with the kit's informers (list, then
watch), redrawing on every change with rich: a table of trials (state, parameters, objective), a
progress bar of completed trials against `maxTrialCount`, the best value so far with its
parameters (Katib's optimal trial, `katib_py.core.optimal_trial`) and the experiment's condition.
It exits when the experiment completes: 0 when it Succeeded, 1 when it Failed (or vanished, or
`--timeout` passed). `--no-live` (the default when stdout is not a terminal) prints one line per
change of the summary, then the final table and the best trial.

User strings (names, parameter values, messages) are shown as plain text: never read as rich
markup, control characters (escape sequences) shown as `\\xNN`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from katib_py.api.resources import EXPERIMENTS, TRIALS
from katib_py.core import trial_status as ts
from katib_py.kube.informer import Informer
from katib_py.ui import source
from katib_py.ui.figures import TERMINAL, ExperimentView, TrialPoint, view_from_objects

FINISHED = {"Succeeded": 0, "Failed": 1}
STATE_STYLES = {
    ts.SUCCEEDED: "green",
    ts.EARLY_STOPPED: "yellow",
    ts.FAILED: "red",
    ts.METRICS_UNAVAILABLE: "magenta",
    ts.KILLED: "dim",
    ts.RUNNING: "cyan",
    ts.CREATED: "dim",
}
SYNC_SECONDS = 30.0
BURST_SECONDS = 0.1


def register(subparsers: Any) -> None:
    parser = source.add_parser(
        subparsers, "watch", "follow an experiment's trials live in the terminal until it completes"
    )
    parser.add_argument(
        "--no-live",
        action="store_true",
        help="plain lines instead of a live view (the default when stdout is not a terminal)",
    )
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="give up (exit 1) after this many seconds; 0: never"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    live = console.is_terminal and not args.no_live
    try:
        return asyncio.run(watch(args.namespace, args.name, console, live=live, timeout=args.timeout))
    except source.SourceError as exc:
        print(f"katib-py watch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------- what is shown


def clean(value: object) -> str:
    """A user string with its control and format characters (escape sequences, bidi overrides)
    shown as `\\xNN`/`\\uNNNN`, so it cannot move the cursor or recolour the terminal."""
    out = []
    for char in str(value):
        if unicodedata.category(char) in ("Cc", "Cf"):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def done_count(view: ExperimentView) -> int:
    return sum(1 for t in view.trials if t.state in TERMINAL)


def summary(view: ExperimentView) -> str:
    """One line: trials done against the budget, running, and the best value so far."""
    running = sum(1 for t in view.trials if t.state == ts.RUNNING)
    budget = view.max_trial_count if view.max_trial_count is not None else "?"
    best = view.best
    best_text = (
        f"best {view.objective_name}={number(best.objective)} ({best.name})"
        if best is not None
        else "no best yet"
    )
    state = view.condition or "Pending"
    return clean(f"{state}: {done_count(view)}/{budget} trials done, {running} running, {best_text}")


def trials_table(view: ExperimentView, limit: int | None = None) -> Table:
    """The trials by creation time (then name); with `limit`, the latest ones and a count of the rest."""
    table = Table(expand=False, pad_edge=False)
    table.add_column("trial", no_wrap=True)
    table.add_column("state", no_wrap=True)
    names = [p.name for p in view.parameters] or sorted({k for t in view.trials for k in t.parameters})
    for name in names:
        table.add_column(Text(clean(name)), overflow="ellipsis", max_width=30)
    table.add_column(Text(clean(view.objective_name or "objective")), justify="right")
    rows = sorted(view.trials, key=_created)
    hidden = 0
    if limit is not None and len(rows) > limit:
        hidden, rows = len(rows) - limit, rows[-limit:]
    if hidden:
        table.add_row(Text(f"... {hidden} earlier", style="dim"))
    for t in rows:
        style = "bold" if t.name == view.best_trial else ""
        table.add_row(
            Text(clean(t.name), style=style),
            Text(t.state, style=STATE_STYLES.get(t.state, "")),
            *(Text(clean(t.parameters.get(n, ""))) for n in names),
            Text(number(t.objective), style=style),
        )
    return table


def _created(t: TrialPoint) -> tuple[float, str]:
    return (t.created.timestamp() if t.created else 0.0, t.name)


def best_lines(view: ExperimentView) -> list[str]:
    best = view.best
    if best is None:
        return ["best trial: none yet"]
    lines = [f"best trial: {clean(best.name)}  {clean(view.objective_name)}={number(best.objective)}"]
    lines += [f"  {clean(k)} = {clean(v)}" for k, v in best.parameters.items()]
    return lines


def render(view: ExperimentView, height: int) -> RenderableType:
    """The live view: condition, progress, best trial, then as many trials as fit."""
    header = Text(clean(f"Experiment {view.namespace}/{view.name} ({view.algorithm}): "), style="bold")
    header.append(clean(view.condition or "Pending"), style=_condition_style(view.condition))
    if view.condition_message:
        header.append(clean(f"  {view.condition_message}"), style="dim")
    done = done_count(view)
    total = view.max_trial_count or max(done, 1)
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=total, completed=min(done, total), width=40),
        Text(f"{done}/{view.max_trial_count or '?'} trials done"),
    )
    lines = best_lines(view)
    best = Text("\n".join(lines))
    # header, bar, best lines, the table's 4 border/heading lines, its "... earlier" row, one spare
    limit = max(3, height - 9 - len(lines))
    return Group(header, bar, best, trials_table(view, limit))


def _condition_style(condition: str | None) -> str:
    return {"Succeeded": "green", "Failed": "red", "Running": "cyan"}.get(condition or "", "")


def final_lines(view: ExperimentView) -> list[str]:
    """What is printed last: the experiment's outcome, then its best trial."""
    reason = f" ({clean(view.condition_message)})" if view.condition_message else ""
    return [
        f"experiment {clean(view.namespace)}/{clean(view.name)}: {view.condition}{reason}",
        *best_lines(view),
    ]


# ---------------------------------------------------------------- following the API


async def follow(
    namespace: str, name: str, show: Callable[[ExperimentView], None], timeout: float = 0.0
) -> ExperimentView:
    """Call `show` with the experiment's view on every change until it completes; its last view.

    Raises SourceError when the experiment cannot be read, is deleted, or `timeout` passes.
    """
    client = source.connect()
    try:
        await source.load(client, namespace, name)  # a clear error now rather than retries forever
        experiments = Informer(client, EXPERIMENTS, namespace=namespace)
        trials = Informer(client, TRIALS, namespace=namespace, label_selector=source.trial_selector(name))
        changed = asyncio.Event()
        for informer in (experiments, trials):
            informer.add_listener(lambda *_: changed.set())
            informer.start()
        deadline = time.monotonic() + timeout if timeout > 0 else None
        try:
            try:
                await asyncio.wait_for(
                    asyncio.gather(experiments.synced.wait(), trials.synced.wait()), SYNC_SECONDS
                )
            except TimeoutError:
                raise source.SourceError(f"the watches of {namespace}/{name} did not sync") from None
            while True:
                changed.clear()
                experiment = experiments.get(namespace, name)
                if experiment is None:
                    raise source.SourceError(f"experiment {namespace}/{name} was deleted")
                items = sorted(trials.items(), key=lambda t: str((t.get("metadata") or {}).get("name")))
                view = view_from_objects(experiment, items)
                if view.condition in FINISHED:
                    # The two watches are two streams: the trials' last updates may still be on
                    # their way. A list read now holds every trial as the operator saw it finish.
                    view = view_from_objects(*await source.load(client, namespace, name))
                    show(view)
                    return view
                show(view)
                remaining = None if deadline is None else deadline - time.monotonic()
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    raise source.SourceError(
                        f"experiment {namespace}/{name} did not complete in {timeout:g}s"
                    ) from None
                await asyncio.sleep(BURST_SECONDS)  # one redraw for a burst of events
        finally:
            await experiments.stop()
            await trials.stop()
    finally:
        await client.close()


async def watch(namespace: str, name: str, console: Console, *, live: bool, timeout: float = 0.0) -> int:
    """Follow the experiment on `console` (live or plain lines); the exit status."""
    if live:
        with Live(console=console, refresh_per_second=4, transient=False) as screen:
            view = await follow(
                namespace, name, lambda v: screen.update(render(v, console.size.height)), timeout
            )
    else:
        last: list[str] = []

        def show(view: ExperimentView) -> None:
            line = summary(view)
            if line != (last[-1] if last else None):
                last.append(line)
                console.print(Text(f"{time.strftime('%H:%M:%S')} {line}"), soft_wrap=True)

        view = await follow(namespace, name, show, timeout)
        console.print(trials_table(view))
    for line in final_lines(view):
        console.print(Text(line), soft_wrap=True)
    return FINISHED.get(view.condition or "", 1)
