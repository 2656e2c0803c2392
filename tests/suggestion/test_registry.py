"""The `katib_py.algorithms` entry-point group: built-ins, lazy loading, and plug-ins that are broken.

Plug-ins here are real installed distributions as Python finds them: a `*.dist-info` directory
(METADATA, entry_points.txt) and a module, in a directory put on sys.path (or PYTHONPATH for the
`katib-py` subprocesses). The installed-with-pip path is tested with the example plug-in in
tests/plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
import yaml

from katib_py.api.algorithms import EARLY_STOPPING_ALGORITHMS, SUGGESTION_ALGORITHMS
from katib_py.api.config import default_config_text
from katib_py.proto import api_pb2
from katib_py.suggestion import messages as m
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm, SuggestionAlgorithm, table_info
from katib_py.suggestion.client import AlgorithmClient
from katib_py.suggestion.registry import (
    ENTRY_POINT_GROUP,
    BrokenPlugin,
    UnknownAlgorithm,
    is_early_stopping,
    known_algorithms,
    load_algorithm_class,
    registrations,
)
from katib_py.suggestion.server import build_algorithm, default_listen, start_service

KATIB_PY = Path(sys.executable).parent / "katib-py"
BUILTINS = sorted([*SUGGESTION_ALGORITHMS, *EARLY_STOPPING_ALGORITHMS])


def install_plugin(
    site: Path, distribution: str, entry_points: dict[str, str], module: str, source: str
) -> None:
    """Lay out an installed distribution in `site`: its module and its dist-info metadata."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")


EARLY_STOPPING_SOURCE = """
from katib_py.api.algorithms import AlgorithmInfo, Setting
from katib_py.suggestion.algorithm import EarlyStoppingAlgorithm


class NeverStop(EarlyStoppingAlgorithm):
    name = "never-stop"
    info = AlgorithmInfo("never-stop", {"patience": Setting("patience", "int", 1, minimum=1)})

    def rules(self, experiment, trials, db_manager_address):
        return []

    def set_trial_status(self, trial_name):
        raise LookupError(trial_name)
"""

BROKEN_SOURCE = """
from katib_py.api.algorithms import AlgorithmInfo
from katib_py.suggestion.algorithm import Proposal, SuggestionAlgorithm


def not_a_class():
    pass


class NotAnAlgorithm:
    name = "not-an-algorithm"


class Abstract(SuggestionAlgorithm):
    name = "abstract"
    info = AlgorithmInfo("abstract")


class Misnamed(SuggestionAlgorithm):
    name = "something-else"
    info = AlgorithmInfo("something-else")

    def suggest(self, experiment, trials, count):
        return Proposal([])


class NoInfo(SuggestionAlgorithm):
    name = "no-info"

    def suggest(self, experiment, trials, count):
        return Proposal([])
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path to install plug-ins into (modules named uniquely per test)."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_builtins_are_entry_points_of_katib_py_matching_the_table_and_katib_config() -> None:
    regs = registrations()
    for name in BUILTINS:
        [reg] = regs[name]
        assert reg.distribution.startswith("katib-py "), reg
        assert reg.target.startswith("katib_py.suggestion.algorithms."), reg
        cls = load_algorithm_class(name)
        assert cls.name == name
        # the service takes at least the settings admission takes (hyperband adds its state)
        assert cls.info.name == name and set(cls.info.settings) >= set(table_info(name).settings)
        assert is_early_stopping(cls) == (name in EARLY_STOPPING_ALGORITHMS)
    # Every algorithm the packaged katib-config names is served by the registered class of its kind.
    config = yaml.safe_load(default_config_text())["runtime"]
    for entry in config["suggestions"]:
        assert issubclass(load_algorithm_class(entry["algorithmName"]), SuggestionAlgorithm)
    for entry in config["earlyStoppings"]:
        assert issubclass(load_algorithm_class(entry["algorithmName"]), EarlyStoppingAlgorithm)


def test_listing_imports_no_algorithm_and_loading_imports_only_its_own() -> None:
    code = """
import sys
from katib_py.suggestion.registry import known_algorithms, load_algorithm_class
assert "random" in known_algorithms()
loaded = lambda: sorted(m for m in sys.modules if m.startswith("katib_py.suggestion.algorithms."))
assert loaded() == [], loaded()
load_algorithm_class("grid")
assert loaded() == ["katib_py.suggestion.algorithms.grid"], loaded()
assert "optuna" not in sys.modules and "sklearn" not in sys.modules
load_algorithm_class("tpe")
assert "sklearn" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAlgorithm) as info:
        load_algorithm_class("nope")
    assert str(info.value) == f"unknown algorithm 'nope' (known: {', '.join(known_algorithms())})"
    assert set(BUILTINS) <= set(known_algorithms())


@pytest.mark.parametrize(
    ("name", "attribute", "message"),
    [
        ("missing-module", None, "failed to load: ModuleNotFoundError: No module named"),
        ("missing-class", "Nowhere", "failed to load: AttributeError:"),
        ("not-a-class", "not_a_class", "gives <function not_a_class at"),
        ("not-an-algorithm", "NotAnAlgorithm", "which is not a subclass of katib_py.suggestion.algorithm."),
        ("abstract", "Abstract", "gives an abstract class (implement: suggest)"),
        ("misnamed", "Misnamed", "gives class Misnamed whose `name` is 'something-else': it must be"),
        ("no-info", "NoInfo", "gives class NoInfo without an `info`"),
    ],
)
def test_broken_plugins_say_which_entry_point_and_why(
    site: Path, name: str, attribute: str | None, message: str
) -> None:
    module = unique("broken")
    target = f"{module}_absent:Thing" if attribute is None else f"{module}:{attribute}"
    install_plugin(site, "broken-plugins", {name: target}, module, BROKEN_SOURCE)
    assert name in known_algorithms()  # listed without being imported
    with pytest.raises(BrokenPlugin) as info:
        load_algorithm_class(name)
    text = str(info.value)
    assert text.startswith(f"algorithm {name!r}: entry point {name} = {target!r} (from broken-plugins 1.0) ")
    assert message in text


def test_plugin_whose_import_raises(site: Path) -> None:
    module = unique("raises")
    install_plugin(
        site, "raising-plugin", {"raises": f"{module}:X"}, module, "raise RuntimeError('no GPU here')\n"
    )
    with pytest.raises(BrokenPlugin, match=r"failed to load: RuntimeError: no GPU here$"):
        load_algorithm_class("raises")


def test_a_name_registered_twice_is_refused_naming_both(site: Path) -> None:
    module = unique("dup")
    install_plugin(site, "shadowing-plugin", {"random": f"{module}:Random"}, module, "")
    with pytest.raises(BrokenPlugin) as info:
        load_algorithm_class("random")
    text = str(info.value)
    assert "algorithm 'random' is registered more than once in 'katib_py.algorithms'" in text
    assert "'katib_py.suggestion.algorithms.random:RandomSearch' from katib-py 0.1.0" in text
    assert f"'{module}:Random' from shadowing-plugin 1.0" in text
    assert len(registrations()["random"]) == 2


def test_early_stopping_plugin_is_served_as_the_early_stopping_service(site: Path) -> None:
    module = unique("neverstop")
    install_plugin(site, "never-stop", {"never-stop": f"{module}:NeverStop"}, module, EARLY_STOPPING_SOURCE)
    algorithm = build_algorithm("never-stop")
    assert isinstance(algorithm, EarlyStoppingAlgorithm)
    assert default_listen(algorithm) == "0.0.0.0:6788"
    service = start_service(algorithm, "127.0.0.1:0")
    client = AlgorithmClient.connect(f"127.0.0.1:{service.port}")
    try:
        spec = api_pb2.EarlyStoppingSpec(algorithm_name="never-stop")
        spec.algorithm_settings.add(name="patience", value="2")
        validate = client.early_stopping.ValidateEarlyStoppingSettings
        validate(api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec), timeout=10)
        spec.algorithm_settings[0].value = "0"
        with pytest.raises(grpc.RpcError) as info:
            validate(api_pb2.ValidateEarlyStoppingSettingsRequest(early_stopping=spec), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == "setting patience: must be an integer >= 1, got '0'"
        with pytest.raises(grpc.RpcError) as info:
            client.validate(m.experiment("e", "never-stop", [m.parameter("x", "double", min=0, max=1)]))
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED  # not a Suggestion service
    finally:
        client.close()
        service.stop(grace=0)


def run_katib_py(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([str(KATIB_PY), *args], capture_output=True, text=True, timeout=120, env=env)


def test_cli_reports_a_broken_plugin_and_lists_it(site: Path) -> None:
    module = unique("cli_broken")
    install_plugin(site, "broken-plugins", {"misnamed": f"{module}:Misnamed"}, module, BROKEN_SOURCE)
    served = run_katib_py(site, "suggestion", "serve", "--algorithm", "misnamed", "--listen", "127.0.0.1:0")
    assert served.returncode == 2
    assert served.stderr.startswith(
        "katib-py suggestion serve: algorithm 'misnamed': entry point misnamed = "
        f"'{module}:Misnamed' (from broken-plugins 1.0) gives class Misnamed whose `name` is 'something-else'"
    )
    listed = run_katib_py(site, "suggestion", "list", "--check")
    assert listed.returncode == 1
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in listed.stdout.splitlines()}
    assert rows["misnamed"][0] == f"{module}:Misnamed (broken-plugins 1.0)"
    assert rows["misnamed"][1].startswith("BROKEN: algorithm 'misnamed': ")
    assert rows["tpe"] == ["katib_py.suggestion.algorithms.tpe:TPE (katib-py 0.1.0)", "suggestion"]
    assert rows["medianstop"][1] == "early stopping"
