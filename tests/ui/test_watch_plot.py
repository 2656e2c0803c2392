"""`katib-py watch` and `katib-py plot` against a real `katib-py up` stack (one for the module).

Three experiments run side by side: `good` (three trials that print `accuracy=<x>`, so the best
trial is the one with the largest x), `bad` (trials that exit 1, so the experiment Fails) and
`stuck` (a trial that never ends).
The commands run as a user runs them: subprocesses with the stack's kubeconfig, `watch` both with
plain output and in a pseudo-terminal, and `plot`'s page opened in the system Chromium.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from katib_py.ui import plot

from ..operator.operator_e2e import Stack, gated_experiment, shell_experiment, start_stack, stop_stack

pytestmark = pytest.mark.e2e

WATCH_TIMEOUT = 240


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("katib-up"))
    try:
        running.apply(
            shell_experiment(running, "good", 'echo "accuracy=$1"\n', maxTrialCount=3, parallelTrialCount=3)
        )
        running.apply(
            shell_experiment(
                running, "bad", "exit 1\n", maxTrialCount=2, parallelTrialCount=1, maxFailedTrialCount=1
            )
        )
        # its trial waits for a gate file that never comes: it runs until the stack stops
        running.apply(gated_experiment(running, "stuck", maxTrialCount=1, parallelTrialCount=1))
        yield running
    finally:
        stop_stack(running)


def katib_py(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "katib_py.cli", *args],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=WATCH_TIMEOUT + 60,
    )


def watched(stack: Stack, name: str) -> subprocess.CompletedProcess[str]:
    return katib_py(stack, "watch", name, "--no-live", "--timeout", str(WATCH_TIMEOUT))


def test_watch_follows_until_success_and_ends_with_the_best_trial(stack: Stack) -> None:
    out = watched(stack, "good")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    experiment = stack.get("experiment", "good")
    assert experiment is not None
    best = experiment["status"]["currentOptimalTrial"]
    trial = stack.get("trial", best["bestTrialName"])
    assert trial is not None
    x = next(p["value"] for p in trial["spec"]["parameterAssignments"] if p["name"] == "x")
    assert lines[-3].startswith("experiment default/good: Succeeded")
    assert lines[-2] == f"best trial: {best['bestTrialName']}  accuracy={float(x):.6g}"
    assert lines[-1] == f"  x = {x}"
    # progress lines on the way, ending with the whole budget done
    assert any("Succeeded: 3/3 trials done, 0 running, best accuracy=" in line for line in lines)
    # the final table lists the three trials
    names = {t["metadata"]["name"] for t in stack.trials("good")}
    assert len(names) == 3 and all(any(n in line for line in lines) for n in names)
    # only this experiment's trials (the informers watch by label): none of `bad`'s
    assert not any("bad-" in line for line in lines)


def test_watch_exits_1_when_the_experiment_fails(stack: Stack) -> None:
    out = watched(stack, "bad")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[-2].startswith("experiment default/bad: Failed")
    assert lines[-1] == "best trial: none yet"


def test_watch_of_a_missing_experiment_says_so(stack: Stack) -> None:
    out = katib_py(stack, "watch", "nope", "-n", "default", "--no-live")
    assert out.returncode == 1
    assert out.stderr.strip() == "katib-py watch: experiment default/nope not found"


def test_watch_gives_up_after_its_timeout(stack: Stack) -> None:
    out = katib_py(stack, "watch", "stuck", "--no-live", "--timeout", "3")
    assert out.returncode == 1
    assert out.stderr.strip() == "katib-py watch: experiment default/stuck did not complete in 3s"
    assert out.stdout  # what it saw before giving up


def read_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `argv` on a pseudo-terminal (80x40) and return its exit status and everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of a known size
        os.environ.clear()
        os.environ.update(env, COLUMNS="100", LINES="40", TERM="xterm-256color")
        os.execv(argv[0], argv)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], WATCH_TIMEOUT)
            if not ready:
                os.kill(pid, 9)
                break
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def test_watch_live_view_on_a_terminal(stack: Stack) -> None:
    first = watched(stack, "good")  # completed by now (or wait for it)
    assert first.returncode == 0
    code, screen = read_pty([sys.executable, "-m", "katib_py.cli", "watch", "good"], stack.env)
    assert code == 0, screen
    assert "\x1b[" in screen  # drawn with colours: the live view, not plain lines
    assert "Experiment default/good (random): " in screen and "3/3 trials done" in screen
    best = stack.get("experiment", "good")["status"]["currentOptimalTrial"]["bestTrialName"]  # type: ignore[index]
    assert f"best trial: {best}" in screen
    assert "━" in screen  # the progress bar


def test_plot_writes_a_self_contained_page_that_chromium_draws(stack: Stack, tmp_path: Path) -> None:
    assert watched(stack, "good").returncode == 0
    page, png = tmp_path / "good.html", tmp_path / "good.png"
    out = katib_py(stack, "plot", "good", "--out", str(page), "--png", str(png))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"wrote {page} (3 completed trials)", f"wrote {png}"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    assert "https://" not in text.split("<script>", 1)[0]  # nothing fetched by the head
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=plot.CHROMIUM, args=["--no-sandbox"])
        try:
            browser_page = browser.new_page()
            requests: list[str] = []
            browser_page.on("request", lambda r: requests.append(r.url))
            browser_page.goto(page.as_uri())
            browser_page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 3")
            points = browser_page.locator("#history .scatterlayer .trace .points path").count()
            bars = browser_page.locator("#importance .barlayer .point").count()
            axes = browser_page.locator("#parallel_coordinates .y-axis").count()
        finally:
            browser.close()
    assert requests == [page.as_uri()]  # plotly.js is inline: no other request
    assert points == 3  # one per completed trial
    assert bars == 1  # importance of x
    assert axes == 2  # x and accuracy


def test_plot_png_without_chromium_is_a_clear_error(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(plot.PngError, match=f"{tmp_path}/no-chromium is not installed"):
        plot.screenshot(tmp_path / "x.html", tmp_path / "x.png")
    out = katib_py(stack, "plot", "nope", "--out", str(tmp_path / "x.html"))
    assert out.returncode == 1 and out.stderr.strip() == "katib-py plot: experiment default/nope not found"
    assert not (tmp_path / "x.html").exists()
