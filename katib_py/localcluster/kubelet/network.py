"""The Pod network: a network namespace per Pod as root, shared host ports otherwise.

`BridgePodNetwork` (Linux as root) makes the bridge and each Pod's namespace and veth with
iproute2's `ip -batch` (two short processes per Pod, about 40 ms with the removal; see
bench/pod_network_bench.py). pyroute2 would save the processes but not the rest: it is one more
dependency (its 0.9 series reworked the API around asyncio), and `route_localnet` is a sysctl,
not netlink, which it cannot set inside a namespace either. That sysctl is written from a
short-lived thread that has joined the Pod's namespace. The addressing, and why it keeps
127.0.0.1 services working, is in netplan.py.

Leftovers: every cluster writes `/run/katib-py/net/<prefix>` (`pid starttime`) before it makes
anything; at start, the links and namespaces of every record whose process is gone are
deleted (a SIGKILLed cluster, whatever its data directory), and so are the cluster's own.

Without root there is no Pod network object: every Pod shares the host's network with its own
loopback address; `pod_listeners` reads which sockets a Pod's processes listen on, for the
kubelet's wildcard-port check (netplan.wildcard_conflicts).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

from .netplan import NETNS_DIR, BridgeNetwork, listening_sockets, parse_prefix
from .runtime import proc_start_time

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000
RECORD_DIR = Path("/run/katib-py/net")
SYS_NET = Path("/sys/class/net")


class NetworkError(RuntimeError):
    pass


async def run_ip(lines: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run `ip -batch -` on `lines` (in namespace `netns`); NetworkError with its output on failure."""
    args = ["ip", *(["-n", netns] if netns else []), *(["-force"] if force else []), "-batch", "-"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError:
        raise NetworkError("the `ip` command (Debian package iproute2) is needed for Pod networks") from None
    out, _ = await proc.communicate("\n".join(lines).encode() + b"\n")
    if proc.returncode != 0 and not force:
        raise NetworkError(f"ip {' '.join(args[1:])}: {out.decode(errors='replace').strip()}")


def _write_sysctl_in(netns_path: str, settings: dict[str, str]) -> None:
    """Write /proc/sys entries inside a network namespace, from a thread that joins it and ends."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns_path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
            finally:
                os.close(fd)
            for key, value in settings.items():
                Path("/proc/sys", key).write_text(value)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, name="netns-sysctl")
    thread.start()
    thread.join()
    if errors:
        raise NetworkError(f"cannot configure {netns_path}: {errors[0]}")


def _alive(record: Path) -> bool:
    parts = record.read_text().split() if record.exists() else []
    return len(parts) >= 2 and parts[0].isdigit() and proc_start_time(int(parts[0])) == parts[1]


class BridgePodNetwork:
    """As root: a bridge for this cluster, a namespace and veth for each Pod."""

    def __init__(self, net: BridgeNetwork, record_dir: Path = RECORD_DIR) -> None:
        self.net = net
        self.record_dir = record_dir
        self.node_ip = net.gateway
        self._started = False

    @classmethod
    def for_data_dir(cls, data_dir: Path, record_dir: Path = RECORD_DIR) -> BridgePodNetwork:
        """This data directory's network, kept in data_dir/pod-bridge-network; a new one is random
        among those no live cluster holds and no link uses."""
        path = data_dir / "pod-bridge-network"
        with contextlib.suppress(OSError, ValueError):
            net = BridgeNetwork(ipaddress.IPv4Network(path.read_text().strip()))
            return cls(net, record_dir)
        links = set(os.listdir(SYS_NET)) if SYS_NET.is_dir() else set()
        for _ in range(200):
            net = BridgeNetwork.pick(secrets.randbelow(254) + 1, 8 + secrets.randbelow(8))
            if (record_dir / net.prefix).exists() or net.bridge in links:
                continue
            path.write_text(f"{net.network}\n")
            return cls(net, record_dir)
        raise NetworkError("no free Pod network in 127.0.0.0/8")

    @property
    def record(self) -> Path:
        return self.record_dir / self.net.prefix

    async def start(self) -> None:
        self.record_dir.mkdir(parents=True, exist_ok=True)
        if _alive(self.record) and self.record.read_text().split()[0] != str(os.getpid()):
            raise NetworkError(
                f"Pod network {self.net.network} is in use by the running process "
                f"{self.record.read_text().split()[0]} (another cluster on the same data directory?)"
            )
        await clean_leftovers(self.record_dir, also=self.net.prefix)
        self.record.write_text(f"{os.getpid()} {proc_start_time(os.getpid())}\n")
        before, after = self.net.bridge_commands()
        await run_ip(before)
        Path(f"/proc/sys/net/ipv4/conf/{self.net.bridge}/route_localnet").write_text("1")
        await run_ip(after)
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await remove_network(self.net.prefix)
        self.record.unlink(missing_ok=True)

    async def add(self, uid: str, pod_ip: str) -> str:
        """The Pod's namespace (its path), with `pod_ip` on eth0 and routes through the bridge."""
        ns = self.net.netns(uid)
        path = f"{NETNS_DIR}/{ns}"
        try:
            await run_ip(self.net.pod_host_commands(uid, pod_ip))
            await asyncio.to_thread(
                _write_sysctl_in,
                path,
                {"net/ipv4/conf/all/route_localnet": "1", "net/ipv4/conf/default/route_localnet": "1"},
            )
            await run_ip(self.net.pod_inner_commands(pod_ip), netns=ns)
        except BaseException:
            await self.remove(uid, pod_ip)
            raise
        return path

    async def remove(self, uid: str, pod_ip: str) -> None:
        await run_ip(self.net.pod_remove_commands(uid, pod_ip), force=True)


async def remove_network(prefix: str) -> None:
    """Delete every namespace and link whose name carries `prefix` (the bridge last)."""
    names = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
    links = sorted(os.listdir(SYS_NET)) if SYS_NET.is_dir() else []
    lines = [f"netns del {n}" for n in names if parse_prefix(n) == prefix]
    lines += [f"link del {n}" for n in links if parse_prefix(n) == prefix and not n.endswith("br")]
    lines += [f"link del {n}" for n in links if parse_prefix(n) == prefix and n.endswith("br")]
    if lines:
        await run_ip(lines, force=True)


async def clean_leftovers(record_dir: Path, also: str | None = None) -> list[str]:
    """Remove the networks of clusters that are gone (their record's process is dead), and `also`."""
    removed = []
    prefixes = {also} if also else set()
    for record in sorted(record_dir.glob("*")) if record_dir.is_dir() else []:
        with contextlib.suppress(OSError):
            if not _alive(record):
                prefixes.add(record.name)
    for prefix in sorted(prefixes):
        await remove_network(prefix)
        record = record_dir / prefix
        if prefix != also or not _alive(record):
            record.unlink(missing_ok=True)
        removed.append(prefix)
    return removed


def pod_listeners(pids: Iterable[int]) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket in LISTEN held by one of `pids` (host namespace)."""
    inodes: set[int] = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"{fd_dir}/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    if not inodes:
        return set()
    table: dict[int, tuple[str, int]] = {}
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            table.update(listening_sockets(Path(f"/proc/net/{name}").read_text()))
    return {table[i] for i in inodes if i in table}


def session_members(sessions: set[int]) -> dict[int, list[int]]:
    """Session id -> pids in it, for the given sessions (each container runs in its own session)."""
    out: dict[int, list[int]] = {s: [] for s in sessions}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat") as fh:
                sid = int(fh.read().rsplit(")", 1)[1].split()[3])
            if sid in out:
                out[sid].append(int(entry))
    return out
