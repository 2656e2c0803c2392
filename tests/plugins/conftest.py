"""The two ways to bring an algorithm, as a user does them: the example plug-in installed with pip,
and the foreign gRPC service laid out with stubs generated from protos/api.proto.

Nothing is installed into the project's virtualenv: the plug-in goes into a throwaway directory
(`pip install --target`), which the tests put on sys.path or PYTHONPATH.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCE = ROOT / "examples" / "custom-algorithm"
FOREIGN_SOURCE = ROOT / "examples" / "foreign-suggestion"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the example plug-in, installed by pip from a copy of its sources."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(PLUGIN_SOURCE, source)  # pip builds in the source tree: keep the repository clean
    site = work / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"pip install of examples/custom-algorithm failed:\n{proc.stdout}{proc.stderr}"
    )
    assert (site / "katib_coordinate_search.py").is_file()
    return site


@pytest.fixture(scope="session")
def foreign_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the example's image holds in /app: halton_service.py and the stubs of protos/api.proto."""
    from grpc_tools import protoc

    app = tmp_path_factory.mktemp("halton-app")
    shutil.copy(FOREIGN_SOURCE / "halton_service.py", app)
    args = ["grpc_tools.protoc", f"-I{ROOT / 'protos'}", f"--python_out={app}", f"--grpc_python_out={app}"]
    assert protoc.main([*args, str(ROOT / "protos" / "api.proto")]) == 0, "protoc failed on protos/api.proto"
    return app


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
