"""The image recipe: hadolint-clean, multi-stage on the pinned slim base, non-root, no HEALTHCHECK,
no build tools in the final stage, `katib-py` as the entry point, and a .dockerignore that lets
through exactly what the build copies."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import pytest

from .chart_tools import HADOLINT, ROOT, run

DOCKERFILE = ROOT / "Dockerfile"
# The example suggestion image (docs/custom-algorithms.md) and its own ignore file (BuildKit's
# <Dockerfile>.dockerignore, which replaces the repository's for that build).
EXAMPLE_DOCKERFILE = ROOT / "examples" / "foreign-suggestion" / "Dockerfile"
BUILDS = [
    (DOCKERFILE, ROOT / ".dockerignore"),
    (EXAMPLE_DOCKERFILE, ROOT / f"{EXAMPLE_DOCKERFILE}.dockerignore"),
]
BASE_IMAGE = "python:3.11-slim-bookworm"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, EXAMPLE_DOCKERFILE], ids=["katib-py", "example"])
def test_hadolint_passes(dockerfile: Path) -> None:
    run([str(HADOLINT), "--failure-threshold", "info", str(dockerfile)])


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\nRUN cd /src && pip install foo\n")
    proc = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout  # latest tag


def test_multi_stage_on_the_pinned_base() -> None:
    all_stages = stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert len(all_stages) >= 2
    for stage in all_stages:
        image = stage[0][1].split()[0]
        assert image == BASE_IMAGE


def test_final_stage_is_non_root_without_healthcheck_or_build_tools() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    final = stages(text)[-1]
    words = [word for word, _ in final]
    assert "HEALTHCHECK" not in [w for w, _ in instructions(text)]
    (user,) = [args for word, args in final if word == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert words.index("USER") > max(i for i, w in enumerate(words) if w in ("RUN", "COPY"))
    runs = " ".join(args for word, args in final if word == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "pip install", "make"):
        assert tool not in runs
    copies = [args for word, args in final if word == "COPY"]
    assert copies and all(args.startswith("--from=") for args in copies)
    (entrypoint,) = [args for word, args in final if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["katib-py"]


def _dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    allowed = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, body) for prefix in prefixes):
            allowed = negate
    return allowed


@pytest.mark.parametrize(("dockerfile", "ignore_file"), BUILDS, ids=["katib-py", "example"])
def test_dockerignore_lets_through_what_the_build_copies(dockerfile: Path, ignore_file: Path) -> None:
    patterns = [
        line.strip()
        for line in ignore_file.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for word, args in instructions(dockerfile.read_text(encoding="utf-8")):
        if word == "COPY" and not args.startswith("--from="):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert _dockerignore_allows(source.rstrip("/"), patterns), source
    excluded_paths = (".venv/bin/python", "tests/conftest.py", ".git/HEAD", "manifests/install.yaml")
    for excluded in excluded_paths:
        assert not _dockerignore_allows(excluded, patterns), excluded
