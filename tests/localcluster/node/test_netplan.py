"""Pure: the Pod network's names and commands, /proc/net/tcp parsing, the wildcard-port rule."""

from __future__ import annotations

import ipaddress

import pytest

from katib_py.localcluster.kubelet.netplan import (
    BridgeNetwork,
    listening_sockets,
    parse_prefix,
    wildcard_conflicts,
)


def test_bridge_network_names_fit_a_link_name_and_carry_the_prefix() -> None:
    net = BridgeNetwork.pick(254, 15)
    assert net.network == ipaddress.IPv4Network("127.254.240.0/20")
    assert net.prefix == "kpfef" and net.bridge == "kpfefbr" and net.gateway == "127.254.240.1"
    last = str(net.network.broadcast_address - 1)
    assert net.veth(last) == "kpfefvffe" and len(net.veth(last)) <= 15
    uid = "0b7c3a52-5a7f-4c1c-9e0d-1f6f1d2e3a4b"
    for name in (net.bridge, net.veth("127.254.240.2"), net.netns(uid)):
        assert parse_prefix(name) == net.prefix and net.owns(name)
    assert parse_prefix("eth0") is None and parse_prefix("kpzzzbr") is None and parse_prefix("kp12") is None
    assert not BridgeNetwork.pick(1, 8).owns(net.bridge)


def test_bridge_networks_stay_inside_loopback_and_above_the_unprivileged_pools() -> None:
    for x, k in ((1, 8), (254, 15)):
        net = BridgeNetwork.pick(x, k).network
        assert net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
        assert net.network_address.packed[2] >= 128  # 127.X.0.0/16 pools start at the bottom
    with pytest.raises(ValueError):
        BridgeNetwork.pick(0, 8)
    with pytest.raises(ValueError):
        BridgeNetwork.pick(3, 7)


def test_pod_commands_keep_127_0_0_1_local_and_route_the_rest_through_the_bridge() -> None:
    net = BridgeNetwork.pick(7, 8)
    host = net.pod_host_commands("u1", "127.7.128.5")
    assert host[0] == "netns add kp078-u1"
    assert "link add kp078v005 type veth peer name eth0 netns kp078-u1" in host
    assert "link set kp078v005 master kp078br" in host
    inner = net.pod_inner_commands("127.7.128.5")
    assert "route del local 127.0.0.0/8 dev lo table local" in inner
    assert inner[-1] == "route add 127.0.0.0/8 via 127.7.128.1 dev eth0 src 127.7.128.5"
    _, after = net.bridge_commands()
    assert "route add 127.7.128.0/20 dev kp078br table local scope link src 127.7.128.1" in after
    assert net.pod_remove_commands("u1", "127.7.128.5") == ["netns del kp078-u1", "link del kp078v005"]


PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1
   1: 0500017F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1
   2: 0500017F:1B58 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 333 1
"""
_REST = "00000000:00000000 00:00000000 00000000     0        0"
_ZERO6 = "0" * 32
PROC_NET_TCP6 = f"""\
  sl  local_address                         remote_address                        st tx_queue
   0: {_ZERO6}:1A85 {_ZERO6}:0000 0A {_REST} 444 1
   1: 0000000000000000FFFF00000500017F:1A85 {_ZERO6}:0000 0A {_REST} 555 1
"""


def test_listening_sockets_from_proc_net_tcp() -> None:
    assert listening_sockets(PROC_NET_TCP) == {111: ("0.0.0.0", 7000), 222: ("127.1.0.5", 7000)}
    assert listening_sockets(PROC_NET_TCP6) == {444: ("::", 6789), 555: ("127.1.0.5", 6789)}


def test_a_younger_wildcard_listener_on_another_pods_port_is_named() -> None:
    conflicts = wildcard_conflicts(
        {"old": [("0.0.0.0", 6789)], "new": [("0.0.0.0", 6789)], "own": [("127.1.0.9", 6789)]},
        ["old", "new", "own"],
    )
    assert [(c.pod, c.other, c.address) for c in conflicts] == [
        ("new", "old", "0.0.0.0"),
        ("own", "old", "127.1.0.9"),
    ]
    assert "listens on 0.0.0.0 port 6789 while Pod ns/old listens on 0.0.0.0 port 6789" in conflicts[
        0
    ].message("ns/old")
    assert "status.podIP" in conflicts[0].message("ns/old")


def test_pods_on_their_own_addresses_or_other_ports_never_conflict() -> None:
    assert wildcard_conflicts({"a": [("127.1.0.2", 80)], "b": [("127.1.0.3", 80)]}, ["a", "b"]) == []
    assert wildcard_conflicts({"a": [("0.0.0.0", 80)], "b": [("::", 81)]}, ["a", "b"]) == []
    assert wildcard_conflicts({"a": [("0.0.0.0", 80), ("::", 80)]}, ["a"]) == []
    [only] = wildcard_conflicts({"a": [("127.1.0.2", 80)], "b": [("::", 80)]}, ["a", "b"])
    assert (only.pod, only.address, only.other_address) == ("b", "::", "127.1.0.2")
