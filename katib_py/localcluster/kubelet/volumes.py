"""Pod volumes materialised as host directories, and the directories behind subPath mounts.

Every volume becomes a directory (or, for hostPath, an existing path) that the launcher
bind-mounts at the container's mountPath: emptyDir under the Pod's sandbox, configMap/secret/
downwardAPI/projected as files written once at Pod start, persistentVolumeClaim as a per-claim
directory `data_dir/pvcs/<ns>/<claim>` (the claim is bound to a PersistentVolume, created if needed).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import ApiError, Conflict, MethodNotAllowed, NotFound
from katib_py.kube.resource import CONFIGMAPS, PVCS, PVS, SECRETS

from .env import field_value
from .errors import InvalidPath, VolumeNotReady
from .launch import Mount, path_problem


def is_within(volume: Path, path: Path) -> bool:
    """`path` is `volume` or lies below it once symlinks are resolved (`/base2/x` is not in `/base`)."""
    return path.resolve().is_relative_to(volume.resolve())


def _write(base: Path, rel: str, data: bytes, mode: int | None) -> None:
    """Write one projected file; InvalidPath when `rel` does not name a file inside `base`."""
    problem = path_problem(rel)
    target = base / rel
    if problem is None and (not is_within(base, target) or target.resolve() == base.resolve()):
        problem = "must name a file inside the volume (symlinks resolved)"
    if problem:
        raise InvalidPath(f'invalid path "{rel}": {problem}')
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode if mode is not None else 0o644)
    os.replace(tmp, target)


def _key_values(obj: Obj, secret: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if secret:
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v or "")
        for k, v in (obj.get("stringData") or {}).items():
            out[k] = str(v).encode()
    else:
        for k, v in (obj.get("data") or {}).items():
            out[k] = str(v).encode()
        for k, v in (obj.get("binaryData") or {}).items():
            out[k] = base64.b64decode(v or "")
    return out


class VolumeBuilder:
    """Materialises one Pod's volumes."""

    def __init__(
        self,
        client: KubeClient,
        data_dir: Path,
        mint_token: Callable[[str, str], str],
    ) -> None:
        self.client = client
        self.data_dir = data_dir
        self.mint_token = mint_token

    async def _source(self, kind: str, namespace: str, name: str, optional: bool) -> Obj | None:
        res = SECRETS if kind == "secret" else CONFIGMAPS
        obj = await self.client.get_or_none(res, name, namespace)
        if obj is None and not optional:
            raise VolumeNotReady(f'{kind} "{name}" not found')
        return obj

    def _project_items(
        self,
        base: Path,
        values: dict[str, bytes],
        items: list[Obj] | None,
        default_mode: int | None,
        optional: bool,
    ) -> None:
        if items:
            for item in items:
                key = item.get("key", "")
                if key not in values:
                    if optional:
                        continue
                    raise VolumeNotReady(f'key "{key}" not found')
                _write(base, item.get("path") or key, values[key], item.get("mode", default_mode))
        else:
            for key, data in values.items():
                _write(base, key, data, default_mode)

    def _downward(self, pod: Obj, base: Path, items: list[Obj], default_mode: int | None) -> None:
        for item in items:
            ref = item.get("fieldRef") or {}
            value = field_value(pod, ref.get("fieldPath", "")) if ref else None
            if item.get("resourceFieldRef"):
                value = "0"
            _write(base, item["path"], (value or "").encode(), item.get("mode", default_mode))

    async def _bind_claim(self, namespace: str, claim: str) -> Path:
        pvc = await self.client.get_or_none(PVCS, claim, namespace)
        if pvc is None:
            raise VolumeNotReady(f'persistentvolumeclaim "{claim}" not found')
        path = self.data_dir / "pvcs" / namespace / claim
        path.mkdir(parents=True, exist_ok=True)
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return path
        spec = pvc.get("spec") or {}
        uid = pvc["metadata"].get("uid", claim)
        pv_name = spec.get("volumeName") or f"pvc-{uid}"
        capacity = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "annotations": {"pv.kubernetes.io/provisioned-by": "katib-py-local"},
            },
            "spec": {
                "capacity": {"storage": capacity},
                "accessModes": modes,
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName") or "",
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": namespace,
                    "name": claim,
                    "uid": uid,
                },
            },
        }
        # bound already, or an API server that serves no PersistentVolumes
        with contextlib.suppress(Conflict, NotFound, MethodNotAllowed):
            await self.client.create(PVS, pv)
        with contextlib.suppress(ApiError):
            await self.client.patch_status(PVS, pv_name, {"status": {"phase": "Bound"}})
        if not spec.get("volumeName"):
            with contextlib.suppress(ApiError):
                await self.client.patch(PVCS, claim, {"spec": {"volumeName": pv_name}}, namespace)
        await self.client.patch_status(
            PVCS,
            claim,
            {"status": {"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}}},
            namespace,
        )
        return path

    async def build(self, pod: Obj, sandbox: Path, sa_dir: Path | None) -> dict[str, Path]:
        """Create every volume of `pod`; returns volume name -> host path.

        Raises VolumeNotReady while a source is missing, InvalidPath (naming the volume) for a
        projected file whose path leaves its volume.
        """
        out: dict[str, Path] = {}
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            try:
                out[vol["name"]] = await self._volume(pod, vol, sandbox / "volumes" / vol["name"], sa_dir)
            except InvalidPath as exc:
                raise InvalidPath(f'MountVolume.SetUp failed for volume "{vol["name"]}" : {exc}') from exc
        return out

    async def _volume(self, pod: Obj, vol: Obj, base: Path, sa_dir: Path | None) -> Path:
        """One volume materialised: its host path."""
        namespace = pod["metadata"].get("namespace", "default")
        if "hostPath" in vol:
            hp = vol["hostPath"]
            path = Path(hp["path"])
            if hp.get("type") in ("DirectoryOrCreate", "", None) and not path.exists():
                path.mkdir(parents=True, exist_ok=True)
            elif hp.get("type") == "FileOrCreate" and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            return path
        if "persistentVolumeClaim" in vol:
            return await self._bind_claim(namespace, vol["persistentVolumeClaim"]["claimName"])
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in vol:
            # World-writable, whatever user the containers run as (pkg/volume/emptydir/empty_dir.go
            # makes it 0777); with an fsGroup, group-owned by it and setgid, as SetVolumeOwnership does.
            os.chmod(base, 0o777)
            fs_group = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
            if isinstance(fs_group, int) and os.geteuid() == 0:
                os.chown(base, -1, fs_group)
                os.chmod(base, 0o2777)
            return base
        if "configMap" in vol or "secret" in vol:
            kind = "configMap" if "configMap" in vol else "secret"
            src = vol[kind]
            obj_name = src.get("name") if kind == "configMap" else src.get("secretName")
            optional = bool(src.get("optional"))
            obj = await self._source(
                "secret" if kind == "secret" else "configmap", namespace, obj_name, optional
            )
            values = _key_values(obj, kind == "secret") if obj else {}
            self._project_items(base, values, src.get("items"), src.get("defaultMode"), optional)
            return base
        if "downwardAPI" in vol:
            src = vol["downwardAPI"]
            self._downward(pod, base, src.get("items") or [], src.get("defaultMode"))
            return base
        if "projected" in vol:
            src = vol["projected"]
            mode = src.get("defaultMode")
            for source in src.get("sources") or []:
                if "serviceAccountToken" in source:
                    sat = source["serviceAccountToken"]
                    token = self.mint_token(
                        namespace, (pod.get("spec") or {}).get("serviceAccountName") or "default"
                    )
                    _write(base, sat.get("path", "token"), token.encode(), mode)
                elif "configMap" in source or "secret" in source:
                    kind = "configMap" if "configMap" in source else "secret"
                    s = source[kind]
                    obj = await self._source(
                        "secret" if kind == "secret" else "configmap", namespace, s.get("name"), True
                    )
                    if obj is None and not s.get("optional") and s.get("name") != "kube-root-ca.crt":
                        raise VolumeNotReady(f'{kind} "{s.get("name")}" not found')
                    values = _key_values(obj, kind == "secret") if obj else {}
                    self._project_items(base, values, s.get("items"), mode, True)
                elif "downwardAPI" in source:
                    self._downward(pod, base, source["downwardAPI"].get("items") or [], mode)
            if sa_dir is not None and (sa_dir / "ca.crt").exists() and not (base / "ca.crt").exists():
                has_token = any("serviceAccountToken" in s for s in src.get("sources") or [])
                if has_token:
                    _write(base, "ca.crt", (sa_dir / "ca.crt").read_bytes(), mode)
        return base


def prepare_sub_paths(mounts: Iterable[Mount]) -> None:
    """Create the directory behind each subPath mount, once it is known to stay inside its volume.

    A symlink the Pod left in its volume may point anywhere: the subPath is resolved first, and
    one that leaves the volume is an InvalidPath (Kubernetes: pkg/volume/util/subpath).
    """
    for mount in mounts:
        if mount.volume is None:
            continue
        volume, source = Path(mount.volume), Path(mount.source)
        if not is_within(volume, source):
            sub = source.relative_to(volume)
            raise InvalidPath(
                f'failed to prepare subPath "{sub}" for the mount at "{mount.target}": '
                "it leaves its volume (symlinks resolved)"
            )
        if not source.exists():
            source.mkdir(parents=True, exist_ok=True)
