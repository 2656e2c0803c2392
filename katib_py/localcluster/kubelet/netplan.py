"""Pure: the Pod network's names, addresses and `ip` commands, and the wildcard-port rule.

As root (see network.py) each Pod gets a network namespace joined by a veth pair to a bridge
of this cluster. Addresses stay inside 127.0.0.0/8, so no packet the cluster makes is ever
addressed outside loopback: the Pod network is a random 127.X.Y.0/20 with Y >= 128 (clusters
without namespaces hand out 127.X.0.0/16 from the bottom up, so they rarely meet), the bridge
holds its first address (the gateway, and the node's address as Pods see it), and
`route_localnet=1` (on the bridge, and in each Pod's namespace) lets the kernel route loopback
addresses over the veths. Two routes make it work:

- on the host, `127.X.Y.0/20 dev <bridge>` in the `local` table: more specific than
  `local 127.0.0.0/8 dev lo`, so the host reaches Pods over the bridge while every other
  127.0.0.0/8 address (127.0.0.1 with MariaDB, PostgreSQL, ...) stays local as before;
- in each Pod, `local 127.0.0.0/8 dev lo` is deleted (127.0.0.1 stays local: the Pod's own
  localhost) and `127.0.0.0/8 via <gateway>`, so a Pod reaches other Pods on the bridge and the
  host's loopback services (the API server on the gateway address, db-manager) through it.

A Pod has no default route, the host forwards nothing (ip_forward is not touched) and the bridge
has no port but the Pods' veths: nothing leaves the namespaces the cluster creates.

Names carry a per-network prefix (`kp` + X in hex + Y's high nibble), under the 15 characters a
link name may have, so that a cluster's leftovers after a SIGKILL can be found and removed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

PREFIX = "kp"
NETNS_DIR = "/run/netns"
POD_IFNAME = "eth0"
WILDCARDS = frozenset({"0.0.0.0", "::"})


class PodNetwork(Protocol):
    """What the kubelet asks of a Pod network (network.BridgePodNetwork as root)."""

    node_ip: str  # the node's address as Pods see it

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def add(self, uid: str, pod_ip: str) -> str | None:
        """Make the Pod's network; the path of its namespace (None: the host's)."""
        ...

    async def remove(self, uid: str, pod_ip: str) -> None: ...


@dataclass(frozen=True)
class BridgeNetwork:
    """One cluster's Pod network: a 127.X.Y.0/20 with its bridge, veths and namespaces."""

    network: ipaddress.IPv4Network

    @classmethod
    def pick(cls, x: int, k: int) -> BridgeNetwork:
        """127.X.(16*k).0/20 for X in 1..254, k in 8..15."""
        if not (1 <= x <= 254 and 8 <= k <= 15):
            raise ValueError(f"no bridge network for x={x}, k={k}")
        return cls(ipaddress.IPv4Network(f"127.{x}.{16 * k}.0/20"))

    @property
    def prefix(self) -> str:
        octets = self.network.network_address.packed
        return f"{PREFIX}{octets[1]:02x}{octets[2] >> 4:x}"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    def veth(self, pod_ip: str) -> str:
        index = int(ipaddress.IPv4Address(pod_ip)) - int(self.network.network_address)
        return f"{self.prefix}v{index:03x}"

    def netns(self, uid: str) -> str:
        return f"{self.prefix}-{uid}"

    def owns(self, name: str) -> bool:
        """A link or namespace name of this network (bridge, veth or Pod namespace)."""
        return name == self.bridge or name.startswith((f"{self.prefix}v", f"{self.prefix}-"))

    def bridge_commands(self) -> tuple[list[str], list[str]]:
        """`ip -batch` lines before and after route_localnet is set on the bridge."""
        before = [f"link add {self.bridge} type bridge"]
        after = [
            f"addr add {self.gateway}/{self.network.prefixlen} dev {self.bridge}",
            f"link set {self.bridge} up",
            f"route add {self.network} dev {self.bridge} table local scope link src {self.gateway}",
        ]
        return before, after

    def pod_host_commands(self, uid: str, pod_ip: str) -> list[str]:
        """Host side: the namespace, and the veth from it to the bridge."""
        ns, veth = self.netns(uid), self.veth(pod_ip)
        return [
            f"netns add {ns}",
            f"link add {veth} type veth peer name {POD_IFNAME} netns {ns}",
            f"link set {veth} master {self.bridge}",
            f"link set {veth} up",
        ]

    def pod_inner_commands(self, pod_ip: str) -> list[str]:
        """Inside the Pod's namespace (once route_localnet is set there)."""
        return [
            "link set lo up",
            "route del local 127.0.0.0/8 dev lo table local",
            f"addr add {pod_ip}/{self.network.prefixlen} dev {POD_IFNAME}",
            f"link set {POD_IFNAME} up",
            f"route add 127.0.0.0/8 via {self.gateway} dev {POD_IFNAME} src {pod_ip}",
        ]

    def pod_remove_commands(self, uid: str, pod_ip: str) -> list[str]:
        return [f"netns del {self.netns(uid)}", f"link del {self.veth(pod_ip)}"]


def parse_prefix(name: str) -> str | None:
    """The network prefix a link or namespace name carries (`kp7f8` of `kp7f8v002`), else None."""
    if len(name) < len(PREFIX) + 3 or not name.startswith(PREFIX):
        return None
    head = name[: len(PREFIX) + 3]
    try:
        int(head[len(PREFIX) :], 16)
    except ValueError:
        return None
    rest = name[len(head) :]
    return head if rest == "br" or rest.startswith(("v", "-")) else None


def _decode_address(hex_addr: str) -> str:
    """An address as /proc/net/tcp{,6} prints it (host byte order, 32-bit words)."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_sockets(text: str) -> dict[int, tuple[str, int]]:
    """Socket inode -> (address, port) of the LISTEN sockets in a /proc/net/tcp{,6} table."""
    out: dict[int, tuple[str, int]] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != "0A":
            continue
        addr, _, port = fields[1].partition(":")
        ip = _decode_address(addr)
        mapped = ipaddress.ip_address(ip)
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped is not None:
            ip = str(mapped.ipv4_mapped)
        out[int(fields[9])] = (ip, int(port, 16))
    return out


@dataclass(frozen=True)
class PortConflict:
    pod: str  # the Pod to fail (a key of the listeners mapping)
    port: int
    address: str  # what it listens on
    other: str  # the older live Pod it collides with
    other_address: str

    def message(self, other_name: str) -> str:
        return (
            f"the Pod listens on {self.address} port {self.port} while Pod {other_name} listens on "
            f"{self.other_address} port {self.port}; without network namespaces (they need root) Pods "
            f"share the host's ports, and a listener on all addresses (0.0.0.0 or ::) would take the "
            f"other Pod's connections. Listen on the Pod's own address (status.podIP) instead"
        )


def wildcard_conflicts(
    listeners: Mapping[str, Iterable[tuple[str, int]]], order: Sequence[str]
) -> list[PortConflict]:
    """Pods sharing the host's ports (no network namespace) whose listeners collide on a wildcard.

    A Pod listening on 0.0.0.0 or :: on a port another Pod also listens on (on any address)
    would receive connections meant for the other one (with SO_REUSEPORT, as gRPC sets, the
    kernel even spreads them over both). `order` ranks Pods oldest first: of two Pods on one
    port where either listens on a wildcard, the older keeps the port and the younger is named
    (once). Two Pods on their own addresses never collide.
    """
    rank = {pod: i for i, pod in enumerate(order)}
    by_port: dict[int, dict[str, list[str]]] = {}
    for pod, sockets in listeners.items():
        for address, port in sorted(set(sockets)):
            by_port.setdefault(port, {}).setdefault(pod, []).append(address)
    failed: dict[str, PortConflict] = {}
    for port, users in sorted(by_port.items()):
        pods = sorted(users, key=lambda p: (rank.get(p, len(rank)), p))
        for i, pod in enumerate(pods):
            if pod in failed:
                continue
            for older in pods[:i]:
                if older in failed:
                    continue
                mine, theirs = users[pod], users[older]
                wild_mine = [a for a in mine if a in WILDCARDS]
                wild_theirs = [a for a in theirs if a in WILDCARDS]
                if wild_mine or wild_theirs:
                    address = (wild_mine or mine)[0]
                    failed[pod] = PortConflict(pod, port, address, older, (wild_theirs or theirs)[0])
                    break
    return list(failed.values())
