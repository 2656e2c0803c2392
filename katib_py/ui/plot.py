"""`katib-py plot NAME --out FILE.html [--png FILE.png]`: an experiment's figures, for reports.

One self-contained HTML file: the optimization history, the parallel coordinates and the parameter
importance (katib_py.ui.figures), drawn by plotly.js inlined from the `plotly` package (nothing is
loaded from the network). `--png` screenshots that page in headless Chromium through Playwright,
using the system's `/usr/bin/chromium` (Playwright's own browser download is never used); without
either, it says so and exits 1 after writing the HTML.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import sys
from pathlib import Path
from typing import Any

from katib_py.ui import figures, source

CHROMIUM = "/usr/bin/chromium"
PLOTS = ("history", "parallel_coordinates", "importance")
PNG_TIMEOUT_MS = 60_000


def register(subparsers: Any) -> None:
    parser = source.add_parser(
        subparsers,
        "plot",
        "write an experiment's optimization history and parallel coordinates to HTML (and PNG)",
    )
    parser.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    parser.add_argument(
        "--png", type=Path, default=None, help="also a PNG image of the page (needs Chromium)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        experiment, trials = asyncio.run(_load(args.namespace, args.name))
    except source.SourceError as exc:
        print(f"katib-py plot: {exc}", file=sys.stderr)
        return 1
    view = figures.view_from_objects(experiment, trials)
    page = report_html(view)
    try:
        args.out.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"katib-py plot: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({len(figures.completed(view))} completed trials)")
    if args.png is None:
        return 0
    try:
        screenshot(args.out, args.png)
    except PngError as exc:
        print(f"katib-py plot: no PNG: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.png}")
    return 0


async def _load(namespace: str, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    client = source.connect()
    try:
        return await source.load(client, namespace, name)
    finally:
        await client.close()


def plotly_js() -> str:
    """plotly.min.js as the `plotly` package ships it, safe inside a `<script>` element."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).replace("</script", "<\\/script")


def report_html(view: figures.ExperimentView) -> str:
    """The page: a title, then one plot per figure, every string escaped (figures.figure_json)."""
    built = {
        "history": figures.history(view),
        "parallel_coordinates": figures.parallel_coordinates(view),
        "importance": figures.importance(view),
    }
    title = html.escape(f"{view.namespace}/{view.name}")
    best = view.best
    best_text = (
        f"best {html.escape(view.objective_name)} = {best.objective:.6g} ({html.escape(best.name)})"
        if best is not None and best.objective is not None
        else "no best trial yet"
    )
    divs = "\n".join(f'<div id="{name}" class="plot"></div>' for name in built)
    calls = "\n".join(
        f'Plotly.newPlot("{name}", {figures.figure_json(dict(fig, config={"responsive": True}))});'
        for name, fig in built.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>katib-py: {title}</title>
<style>body {{ font-family: sans-serif; margin: 1em 2em; }} .plot {{ height: 480px; }}</style>
<script>{plotly_js()}</script>
</head>
<body>
<h1>Experiment {title}</h1>
<p>{html.escape(view.algorithm)}, {html.escape(view.condition or "Pending")}:
{len(figures.completed(view))} completed trials of {len(view.trials)}; {best_text}</p>
{divs}
<script>
{calls}
</script>
</body>
</html>
"""


class PngError(Exception):
    """No PNG can be made here (no Chromium, no Playwright, or the page did not draw)."""


def screenshot(page_path: Path, png_path: Path) -> None:
    """A full-page PNG of the report, once every plot is drawn, by the system's headless Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        raise PngError(f"{CHROMIUM} is not installed (Debian package `chromium`)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise PngError("the Python package `playwright` is not installed") from None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.goto(page_path.resolve().as_uri())
                page.wait_for_function(
                    f"document.querySelectorAll('.plot .main-svg').length >= {len(PLOTS)}",
                    timeout=PNG_TIMEOUT_MS,
                )
                page.screenshot(path=str(png_path), full_page=True)
            finally:
                browser.close()
    except Error as exc:
        raise PngError(f"Chromium could not draw the page: {exc}") from None
