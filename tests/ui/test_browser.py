"""The web UI in a real browser (Debian chromium, headless, driven by Playwright) on `katib-py up`.

One stack for the module: `katib-py up` starts the UI and writes DATA_DIR/ui-url, the tests open
that URL as a person would and check what is on the screen. The experiments are CI-sized shell
trials (tests/operator/operator_e2e) whose parameter values and log lines are hostile markup; a
script that ran would call alert(), so every test fails on any dialog. Screenshots go to
test-artifacts/ui/ (gitignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from katib_py.ui.chromium import CHROMIUM, LAUNCH_ARGS

from ..operator.operator_e2e import (
    Stack,
    condition,
    gated_experiment,
    shell_experiment,
    start_stack,
    stop_stack,
)
from ..operator.test_early_stopping import _first_two_then_third, _one_at_a_time, _wait_early_stopped

pytestmark = pytest.mark.e2e
# plotly.js is 4.8 MB of script: on a busy 2-core machine its first parse alone can take seconds.
expect.set_options(timeout=30_000)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
HOSTILE_VALUE = "<img src=x onerror=alert(1)>"
HOSTILE_LOG = "<script>alert('log')</script>"
# Each trial prints three accuracy values (a curve), a hostile line, and ends.
TRIAL_SCRIPT = f"""echo "step 1 {HOSTILE_LOG}"
echo "accuracy=0.2"
sleep 0.3
echo "accuracy=0.4"
sleep 0.3
echo "\\"><img src=y onerror=alert('log2')>"
echo "accuracy=$1"
echo "latency=$(awk "BEGIN {{print ($1 - 0.5) ^ 2}}")"
"""
HOSTILE_PARAMETERS = [
    {"name": "label", "parameterType": "categorical", "feasibleSpace": {"list": [HOSTILE_VALUE, "plain"]}},
    {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.9"}},
]
BAD_EXPERIMENT = """apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: bad-space
spec:
  objective: {type: maximize, objectiveMetricName: accuracy}
  algorithm: {algorithmName: random}
  maxTrialCount: 2
  parameters:
  - name: x
    parameterType: double
    feasibleSpace: {min: "0.9", max: "0.1"}
  trialTemplate:
    primaryContainerName: main
    trialParameters: [{name: x, reference: x}]
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            restartPolicy: Never
            containers: [{name: main, image: busybox, command: [echo, "${trialParameters.x}"]}]
"""


def hostile_experiment(stack: Stack, name: str, trials: int) -> dict[str, Any]:
    exp = shell_experiment(
        stack,
        name,
        TRIAL_SCRIPT,
        parameters=HOSTILE_PARAMETERS,
        maxTrialCount=trials,
        parallelTrialCount=trials,
    )
    template = exp["spec"]["trialTemplate"]
    template["retain"] = True  # the Pods (and so their logs) stay after the trial
    # The categorical value holds shell metacharacters: pass it quoted.
    command = template["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    command.append("'${trialParameters.label}'")
    return exp


# An ENAS architecture as Katib's ENAS service assigns it (two layers, the second skipping to the
# input), offered here as the only value of categorical parameters so that random search picks it.
ENAS_ARCHITECTURE = "[[0], [1, 1]]"
ENAS_NN_CONFIG = (
    "{'num_layers': 2, 'input_sizes': [8, 8, 1], 'output_sizes': [10], 'embedding': {"
    "'0': {'opt_id': 0, 'opt_type': 'convolution', 'opt_params': {'filter_size': '3', 'num_filter': '8'}}, "
    "'1': {'opt_id': 1, 'opt_type': 'reduction', 'opt_params': {'reduction_type': 'max_pooling'}}}}"
)


def nas_experiment(stack: Stack) -> dict[str, Any]:
    parameters = [
        HOSTILE_PARAMETERS[1],
        {
            "name": "architecture",
            "parameterType": "categorical",
            "feasibleSpace": {"list": [ENAS_ARCHITECTURE]},
        },
        {"name": "nn_config", "parameterType": "categorical", "feasibleSpace": {"list": [ENAS_NN_CONFIG]}},
    ]
    exp = shell_experiment(stack, "nas", 'echo "accuracy=$1"\n', parameters=parameters, maxTrialCount=1,
                           parallelTrialCount=1)  # fmt: skip
    # Every search parameter must reach the trial: pass both, as Katib's ENAS example does.
    command = exp["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0][
        "command"
    ]
    command += ['"${trialParameters.architecture}"', '"${trialParameters.nn_config}"']
    return exp


def darts_experiment() -> dict[str, Any]:
    """examples/darts.yaml at the smallest size its trainer takes (a few seconds of search)."""
    exp: dict[str, Any] = yaml.safe_load((REPO / "examples" / "darts.yaml").read_text())
    exp["metadata"]["name"] = "darts-ui"
    small = {"num_epochs": "1", "num_nodes": "1", "init_channels": "1", "stem_multiplier": "1"}
    exp["spec"]["algorithm"]["algorithmSettings"] = [{"name": k, "value": v} for k, v in small.items()]
    exp["spec"]["nasConfig"]["graphConfig"]["numLayers"] = 1
    operations = exp["spec"]["nasConfig"]["operations"]
    exp["spec"]["nasConfig"]["operations"] = [
        o for o in operations if o["operationType"] in ("max_pooling", "skip_connection")
    ]
    return exp


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("ui-up"))
    try:
        running.apply(hostile_experiment(running, "hostile", 3))
        second = hostile_experiment(running, "second", 2)
        second["spec"]["resumePolicy"] = "LongRunning"  # its budget can grow once it has succeeded
        second["spec"]["objective"]["additionalObjectives"] = [
            {"objectiveMetricName": "latency", "type": "minimize"}
        ]
        running.apply(second)
        running.apply(nas_experiment(running))
        running.apply(darts_experiment())
        running.wait_finished("hostile")
        running.wait_finished("second")
        yield running
    finally:
        stop_stack(running)


@pytest.fixture(scope="module")
def url(stack: Stack) -> str:
    text = (stack.data_dir / "ui-url").read_text()
    assert text.endswith("\n") and text.count("\n") == 1, "ui-url must be one line"
    assert text.startswith("http://127.0.0.1:") and "?token=" in text
    return text.strip()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run scripts/install-browser.sh (make tools)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        if dialog.type == "confirm":  # the UI's own question before a delete: yes
            dialog.accept()
        else:  # an alert() from markup that ran
            dialogs.append(dialog.message)
            dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.goto(url)  # the token moves into the cookie; the address bar loses it
    assert "token=" not in opened.url
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    assert errors == [], f"page errors: {errors}"


def base_of(url: str) -> str:
    return url.split("/?", 1)[0]


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


def call(
    url: str,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    req = urllib.request.Request(base_of(url) + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, _decode(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read())


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return {"error": raw.decode(errors="replace")}


def completed_with_objective(stack: Stack, experiment: str) -> int:
    return sum(
        1
        for t in stack.trials(experiment)
        if condition(t, "Succeeded") and (t.get("status") or {}).get("observation")
    )


def test_the_list_shows_every_experiment_live_with_status_and_best_value(page: Page, stack: Stack) -> None:
    table = page.locator("#experiment-table")
    for name in ("hostile", "second"):
        row = table.locator(f"tr[data-name='{name}']")
        expect(row).to_contain_text("Succeeded")
        expect(row).to_contain_text("random")
        metrics = stack.get("experiment", name)["status"]["currentOptimalTrial"]["observation"]["metrics"]
        best = next(m for m in metrics if m["name"] == "accuracy")
        expect(row.locator("td.best")).to_have_text(f"{float(best['latest']):.6g}")
    expect(page.locator("#live")).to_have_text("live")


def expect_drawn(page: Page, plot: str, timeout: float) -> None:
    """The plot is drawn; if not, the failure says what its box shows instead (an error message?)."""
    try:
        expect(page.locator(f"#plot-{plot} .main-svg").first).to_be_visible(timeout=timeout)
    except AssertionError:
        shown = page.locator(f"#plot-{plot}").inner_text(timeout=5_000)
        raise AssertionError(f"plot {plot} is not drawn; its box shows: {shown!r}") from None


def test_the_history_plot_has_one_point_per_completed_trial(page: Page, stack: Stack, url: str) -> None:
    page.goto(base_of(url) + "/#/experiment/default/hostile")
    expect(page.locator("#plot-history .main-svg").first).to_be_visible()
    points = page.locator("#plot-history .scatterlayer .point")
    expect(points).to_have_count(completed_with_objective(stack, "hostile"))
    expect(page.locator("#trial-table tbody tr")).to_have_count(3)
    expect(page.locator("#plot-parallel .main-svg").first).to_be_visible()
    for plot in ("slice", "contour", "importance"):  # the last two come from a worker process
        expect_drawn(page, plot, timeout=120_000)
    # every trial's learning curve, from db-manager: one line each
    expect(page.locator("#plot-curves .scatterlayer .trace")).to_have_count(3)
    page.locator("#axes input[value='x']").uncheck()  # hide an axis of the parallel coordinates
    expect(page.locator("#plot-parallel .y-axis")).to_have_count(2)
    page.locator("#axes input[value='x']").check()
    expect(page.locator("#plot-parallel .y-axis")).to_have_count(3)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.screenshot(path=str(ARTIFACTS / "experiment-page.png"))  # the README's docs/ui.png


def test_hostile_parameter_values_are_shown_as_text(page: Page, stack: Stack, url: str) -> None:
    page.goto(base_of(url) + "/#/experiment/default/hostile")
    expect(page.locator("#trial-table")).to_be_visible()
    values = {t["spec"]["parameterAssignments"][0]["value"] for t in stack.trials("hostile")}
    for value in values:
        expect(page.locator("#trial-table td.param", has_text=value).first).to_be_visible()
    # parcoords tick labels are plain text to plotly.js: the value itself shows, not `&lt;img`
    ticks = page.locator("#plot-parallel .y-axis .tick text")
    expect(ticks.filter(has_text=HOSTILE_VALUE)).to_have_count(1)
    expect(ticks.filter(has_text="&lt;")).to_have_count(0)
    expect(ticks.filter(has_text="&gt;")).to_have_count(0)
    assert page.locator("img[src='x'], img[src='y']").count() == 0


def test_a_trial_shows_its_metric_curve_and_its_log_lines_escaped(page: Page, stack: Stack, url: str) -> None:
    trial = stack.trials("hostile")[0]["metadata"]["name"]
    page.goto(base_of(url) + f"/#/trial/default/{trial}")
    expect(page.locator("#trial-name")).to_have_text(trial)
    expect(page.locator("#plot-trial")).to_have_attribute("data-points", "3")
    expect(page.locator("#plot-trial .scatterlayer .point")).to_have_count(3)
    logs = page.locator("#logs")
    expect(logs).to_contain_text(HOSTILE_LOG)
    expect(logs).to_contain_text("accuracy=0.4")
    page.locator("#follow").check()  # the same log streamed from pods/log?follow=true
    expect(logs).to_contain_text(HOSTILE_LOG)
    expect(logs).to_contain_text("accuracy=0.4")
    page.locator("#trial-log").check()  # log scale
    expect(page.locator("#plot-trial .yaxislayer-above")).to_be_visible()
    assert page.locator("img[src='y']").count() == 0
    expect(page.locator("#events")).to_contain_text("JobCreated")
    expect(page.locator("#trial-yaml")).to_contain_text(f"name: {trial}")


def test_an_enas_trial_shows_its_architecture(page: Page, stack: Stack, url: str) -> None:
    stack.wait_finished("nas")
    trial = stack.trials("nas")[0]["metadata"]["name"]
    page.goto(base_of(url) + f"/#/trial/default/{trial}")
    svg = page.locator("#nas-svg svg")
    expect(svg).to_be_visible()
    expect(svg).to_contain_text("convolution")
    expect(svg).to_contain_text("reduction")


def test_a_darts_trial_shows_its_genotype(page: Page, stack: Stack, url: str) -> None:
    exp = stack.wait_finished("darts-ui", timeout=300)
    best = exp["status"]["currentOptimalTrial"]
    genotype = next(m for m in best["observation"]["metrics"] if m["name"] == "Best-Genotype")["latest"]
    assert genotype.startswith("Genotype(")
    page.goto(base_of(url) + f"/#/trial/default/{best['bestTrialName']}")
    svg = page.locator("#nas-svg svg")
    expect(svg).to_be_visible()
    expect(svg).to_contain_text("normal")
    operations = [op for op in ("max_pooling_3x3", "skip_connection") if op in genotype]
    assert operations
    for op in operations:
        expect(svg).to_contain_text(op)


def test_a_bad_experiment_shows_the_rejected_field_path(page: Page, stack: Stack) -> None:
    page.locator("#create-yaml").fill(BAD_EXPERIMENT)
    page.locator("#create").click()
    fields = page.locator("#create-result .cause code.field")
    expect(fields).to_have_count(2)  # both errors, each at its field path
    assert set(fields.all_inner_texts()) == {
        "spec.parameters[0].feasibleSpace.min",
        "spec.parallelTrialCount",
    }
    expect(page.locator("#create-result .cause", has_text="feasibleSpace.min")).to_contain_text(
        "must be less than"
    )
    assert stack.get("experiment", "bad-space") is None


def test_live_update_when_a_trial_completes(page: Page, stack: Stack, url: str) -> None:
    stack.apply(gated_experiment(stack, "live", maxTrialCount=1, parallelTrialCount=1))
    page.goto(base_of(url) + "/#/experiment/default/live")
    row = page.locator("#trial-table tbody tr").first
    expect(row).to_contain_text("Running", timeout=60_000)
    trial = row.get_attribute("data-trial")
    assert trial
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    stack.release(trial, ["accuracy=0.77"])
    expect(row).to_contain_text("Succeeded", timeout=60_000)
    expect(page.locator("#trial-table td.metric").first).to_have_text("0.77")
    expect(page.locator("#plot-history .scatterlayer .point")).to_have_count(1)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads  # no reload


def test_an_early_stopped_trial_shows_its_rule_and_its_stop(page: Page, stack: Stack, url: str) -> None:
    """medianstop with two trials to compare with: the third reports below their median and is
    stopped; its page draws the rule line and the stop, the learning curves mark it."""
    name = "stopped"
    _one_at_a_time(stack, name, "medianstop", {"min_trials_required": "2", "start_step": "2"})
    bad = _first_two_then_third(stack, name, [["0.8", "0.9", "0.9"]] * 2, wait_succeeded=False)
    trial = bad["metadata"]["name"]
    stack.release(trial, [f"accuracy=0.{i}" for i in range(1, 6)], end=False)
    _wait_early_stopped(stack, trial)
    page.goto(base_of(url) + f"/#/trial/default/{trial}")
    expect(page.locator("#rules")).to_contain_text("accuracy")
    figure = page.locator("#plot-trial")
    expect(figure.locator(".shapelayer path")).to_have_count(2)  # the rule and the stop
    expect(figure.locator(".annotation-text", has_text="accuracy less")).to_have_count(1)
    expect(figure.locator(".annotation-text", has_text="early stopped")).to_have_count(1)
    page.goto(base_of(url) + f"/#/experiment/default/{name}")
    curves = page.locator("#plot-curves")
    expect(curves.locator(".legendtext", has_text="early stopped")).to_have_count(1)
    expect(curves.locator(".scatterlayer .trace .point")).to_have_count(1)  # the x where it stopped


def test_the_list_shows_a_new_experiment_without_reload(page: Page, stack: Stack) -> None:
    expect(page.locator("#live")).to_have_text("live")
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    stack.apply(gated_experiment(stack, "appears", maxTrialCount=1, parallelTrialCount=1))  # kubectl apply
    row = page.locator("#experiment-table tr[data-name='appears']")
    expect(row).to_be_visible()
    stack.kubectl("delete", "experiment", "appears", "-n", "default")
    expect(row).to_have_count(0)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads  # no reload


def test_budget_edit_compare_and_delete(page: Page, stack: Stack, url: str) -> None:
    # A succeeded experiment that cannot resume: the webhook's refusal shows at its field path.
    page.goto(base_of(url) + "/#/experiment/default/hostile")
    page.locator("#budget input[name='maxTrialCount']").fill("5")
    page.locator("#budget-save").click()
    expect(page.locator("#budget-result code.field")).to_have_text("spec.resumePolicy")
    assert stack.get("experiment", "hostile")["spec"]["maxTrialCount"] == 3
    page.goto(base_of(url) + "/#/experiment/default/second")
    expect(page.locator("#plot-pareto .main-svg").first).to_be_visible()  # two objectives: a Pareto front
    page.locator("#budget input[name='maxTrialCount']").fill("4")
    page.locator("#budget-save").click()
    expect(page.locator("#budget-result")).to_have_text("saved")
    assert stack.get("experiment", "second")["spec"]["maxTrialCount"] == 4
    page.goto(base_of(url) + "/#/")
    page.locator("tr[data-name='hostile'] input.pick").check()
    page.locator("tr[data-name='second'] input.pick").check()
    page.locator("#compare").click()
    expect(page.locator("#compare-table")).to_contain_text("default/hostile")
    expect(page.locator("#compare-table")).to_contain_text("default/second")
    expect(page.locator("#plot-compare .main-svg").first).to_be_visible()
    page.goto(base_of(url) + "/#/experiment/default/second")
    page.locator("#delete").click()
    expect(page.locator("tr[data-name='second']")).to_have_count(0, timeout=60_000)
    stack.wait("experiment second to be gone", lambda: stack.get("experiment", "second") is None, timeout=60)


def test_token_and_csrf_are_required_and_hostile_requests_get_4xx(stack: Stack, url: str) -> None:
    token = token_of(url)
    assert call(url, "/api/experiments")[0] == 401
    assert call(url, "/api/experiments", headers={"Cookie": "katib_py_ui=wrong"})[0] == 401
    assert call(url, "/?token=wrong")[0] == 401
    cookie = {"Cookie": f"katib_py_ui={token}", "Content-Type": "application/json"}
    body = json.dumps({"maxTrialCount": 9}).encode()
    # A cookie alone cannot write: the CSRF token is missing, then wrong, then from another origin.
    path = "/api/experiments/default/hostile/budget"
    assert call(url, path, method="PATCH", body=body, headers=cookie)[0] == 403
    assert call(url, path, method="PATCH", body=body, headers={**cookie, "X-CSRF-Token": "nope"})[0] == 403
    assert call(url, "/api/experiments/default/hostile", method="DELETE", headers=cookie)[0] == 403
    assert stack.get("experiment", "hostile")["spec"]["maxTrialCount"] == 3
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    hostile: list[tuple[str, str, bytes | None, int]] = [
        ("GET", "/api/experiments?limit=abc", None, 400),
        ("GET", "/api/experiments?limit=100000", None, 400),
        ("GET", "/api/experiments/default/hostile/trials?sort=%3Cscript%3E", None, 400),
        ("GET", "/api/experiments/default/hostile/trials?state=Nope", None, 400),
        ("GET", "/api/experiments/default/%3Cimg%3E", None, 404),
        ("GET", "/api/experiments/default/hostile/plots/nothing", None, 404),
        ("GET", "/api/trials/default/nope/logs?pod=x", None, 404),
        ("GET", "/api/compare?e=default/hostile", None, 400),
        ("GET", "/api/no/such/route", None, 404),
        ("POST", "/api/experiments", b"{not json", 400),
        ("POST", "/api/experiments", json.dumps({"yaml": "a: [unclosed"}).encode(), 400),
        ("POST", "/api/experiments", json.dumps({"yaml": "kind: Pod"}).encode(), 400),
        ("POST", "/api/experiments", b"x" * (2 << 20), 413),
        ("PATCH", path, json.dumps({"maxTrialCount": -1}).encode(), 400),
        ("PATCH", path, json.dumps({"trialTemplate": {}}).encode(), 400),
    ]
    for method, where, data, status in hostile:
        got, answer = call(url, where, method=method, body=data, headers=bearer)
        assert got == status, f"{method} {where}: {got} {answer}"
        assert answer["error"], answer
    status, answer = call(url, "/api/experiments", headers=bearer)
    assert status == 200 and {r["name"] for r in answer["items"]} >= {"hostile"}


VIEWER_RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: ui-viewer, namespace: default}
---
apiVersion: v1
kind: Secret
metadata:
  name: ui-viewer-token
  namespace: default
  annotations: {kubernetes.io/service-account.name: ui-viewer}
type: kubernetes.io/service-account-token
stringData: {token: viewer-token-for-the-ui-test}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ui-viewer}
rules:
- {apiGroups: [kubeflow.org], resources: [experiments, trials], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ui-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ui-viewer}
subjects: [{kind: ServiceAccount, name: ui-viewer, namespace: default}]
"""


def test_katib_py_ui_acts_with_the_credentials_it_was_given(stack: Stack, tmp_path: Path) -> None:
    """`katib-py ui` on its own, with a read-only identity: it shows, and the API server refuses its writes.

    Also: the token from a file, the URL written where asked, 127.0.0.1 only.
    """
    stack.kubectl("apply", "-f", "-", input=VIEWER_RBAC)
    config = yaml.safe_load((stack.data_dir / "kubeconfig").read_text())
    config["users"][0]["user"] = {"token": "viewer-token-for-the-ui-test"}
    kubeconfig = tmp_path / "viewer-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    token_file = tmp_path / "token"
    token_file.write_text("a-token-for-this-test-only\n")
    url_file = tmp_path / "ui-url"
    proc = subprocess.Popen(
        [sys.executable, "-m", "katib_py.cli", "ui", "--kubeconfig", str(kubeconfig),
         "--port", "0", "--token-file", str(token_file), "--url-file", str(url_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not url_file.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "katib-py ui wrote no URL in 60 s"
            time.sleep(0.2)
        url = url_file.read_text().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/?token=a-token-for-this-test-only")
        bearer = {"Authorization": "Bearer a-token-for-this-test-only", "Content-Type": "application/json"}
        status, answer = call(url, "/api/experiments", headers=bearer)
        assert status == 200 and "hostile" in {r["name"] for r in answer["items"]}
        assert call(url, "/api/experiments", headers={"Authorization": "Bearer another-token"})[0] == 401
        created = json.dumps({"yaml": BAD_EXPERIMENT.replace("bad-space", "viewer-made")}).encode()
        status, answer = call(url, "/api/experiments", method="POST", body=created, headers=bearer)
        assert status == 403 and "system:serviceaccount:default:ui-viewer" in answer["error"], answer
        status, answer = call(url, "/api/experiments/default/hostile", method="DELETE", headers=bearer)
        assert status == 403, answer
        assert stack.get("experiment", "hostile") is not None
    finally:
        proc.terminate()
        proc.wait(30)
