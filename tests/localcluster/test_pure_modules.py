"""The embedded cluster's decision modules stay pure: no I/O imports, no clock, no disk.

The import contracts in pyproject (make lint) keep the embedded cluster away from Katib; this
keeps its decision modules away from everything that acts, so that their tests stay microseconds
and their callers stay the only place where things happen. A pure module may import the standard
library's data and type modules, the kit's pure helpers, and other pure modules listed here.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

PURE = [
    "katib_py.localcluster.controllers.job_plan",
    "katib_py.localcluster.controllers.pods",
    "katib_py.localcluster.controllers.training_plan",
    "katib_py.localcluster.controllers.training_crds",
    "katib_py.localcluster.kubelet.launch",
    "katib_py.localcluster.kubelet.images",
    "katib_py.localcluster.kubelet.scheduling",
    "katib_py.localcluster.kubelet.env",
    "katib_py.localcluster.kubelet.errors",
    "katib_py.localcluster.kubelet.expansion",
    "katib_py.localcluster.apiserver.deletion",
    "katib_py.localcluster.apiserver.crds",
    "katib_py.localcluster.apiserver.registry",
]
ALLOWED = {
    "__future__",
    "base64",
    "collections.abc",
    "copy",
    "dataclasses",
    "decimal",
    "datetime",
    "json",
    "pathlib",  # paths as values; no call below touches the disk
    "posixpath",
    "random",
    "shlex",  # splits a string; no process is run
    "typing",
    "katib_py.kube",
    "katib_py.kube.errors",
    "katib_py.kube.meta",
    "katib_py.kube.rfc3339",
    *PURE,
}
# Calls that read a clock or touch the disk, whatever they are called on.
ACTING_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "monotonic",
    "sleep",
    "resolve",
    "exists",
    "mkdir",
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "unlink",
    "iterdir",
}


def _source(module: str) -> tuple[Path, ast.Module]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    path = Path(spec.origin)
    return path, ast.parse(path.read_text(), str(path))


def _imports(module: str, tree: ast.Module) -> set[str]:
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(str(node.module))
    return found


@pytest.mark.parametrize("module", PURE)
def test_a_decision_module_imports_nothing_that_acts(module: str) -> None:
    _, tree = _source(module)
    assert _imports(module, tree) <= ALLOWED, f"{module} imports {_imports(module, tree) - ALLOWED}"


@pytest.mark.parametrize("module", PURE)
def test_a_decision_module_reads_no_clock_and_touches_no_disk(module: str) -> None:
    path, tree = _source(module)
    calls = [
        f"{path.name}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ACTING_CALLS
    ]
    calls += [
        f"{path.name}:{node.lineno} {node.func.id}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ACTING_CALLS
    ]
    assert not calls
