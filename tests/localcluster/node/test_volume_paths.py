"""Paths that leave their volume are refused, symlinks resolved: `/base2/x` is not inside `/base`.

Unit tests on real directories (no cluster); test_invalid_paths.py drives the kubelet with kubectl.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from katib_py.localcluster.kubelet.errors import InvalidPath
from katib_py.localcluster.kubelet.launch import Mount, launch_spec
from katib_py.localcluster.kubelet.volumes import _write, is_within, prepare_sub_paths

from .test_launch_spec import sandbox

# ---------------------------------------------------------------- containment, on real directories


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    (tmp_path / "base2").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "base" / "sub").mkdir()
    (tmp_path / "base" / "escape").symlink_to(tmp_path / "outside")
    (tmp_path / "base" / "inner").symlink_to(tmp_path / "base" / "sub")
    return tmp_path / "base"


def test_a_sibling_sharing_the_prefix_is_not_inside(volume: Path) -> None:
    sibling = volume.parent / "base2"
    assert not is_within(volume, sibling / "x")
    assert not is_within(volume, sibling)
    assert is_within(volume, volume / "x") and is_within(volume, volume)


def test_containment_resolves_symlinks(volume: Path) -> None:
    assert not is_within(volume, volume / "escape" / "x")
    assert is_within(volume, volume / "inner" / "x")


def test_a_projected_file_in_a_sibling_directory_is_refused(volume: Path) -> None:
    with pytest.raises(InvalidPath, match=r'invalid path "\.\./base2/x"'):
        _write(volume, "../base2/x", b"data", None)
    assert not (volume.parent / "base2" / "x").exists()


@pytest.mark.parametrize("rel", ["escape/x", "/etc/katib-py-never", "sub/../../outside/y", ".", ""])
def test_a_projected_file_outside_its_volume_is_refused(volume: Path, rel: str) -> None:
    with pytest.raises(InvalidPath):
        _write(volume, rel, b"data", None)
    assert not list((volume.parent / "outside").iterdir())


def test_a_projected_file_inside_its_volume_is_written(volume: Path) -> None:
    _write(volume, "inner/deep/f", b"data", 0o600)
    assert (volume / "sub" / "deep" / "f").read_bytes() == b"data"


def test_a_sub_path_through_a_symlink_out_of_its_volume_is_refused(volume: Path) -> None:
    with pytest.raises(InvalidPath, match="escape"):
        prepare_sub_paths([Mount(str(volume / "escape"), "/data", volume=str(volume))])
    prepare_sub_paths([Mount(str(volume / "new" / "dir"), "/data", volume=str(volume))])
    assert (volume / "new" / "dir").is_dir()


@pytest.mark.parametrize("sub", ["../x", "a/../../x", "/etc"])
def test_a_sub_path_with_backsteps_or_absolute_is_refused_before_anything_runs(sub: str) -> None:
    container = {"name": "main", "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": sub}]}
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {}}
    with pytest.raises(InvalidPath, match=f'subPath "{sub}"'):
        launch_spec(pod, container, sandbox(), {})
