"""The kubelet (and scheduler) of the single node "local".

It registers the Node, binds unscheduled Pods to itself, gives each Pod a loopback address from
its Pod network (as root the bridge network's 127.X.Y.0/20, each Pod in its own network
namespace, see network.py; otherwise a random 127.X.0.0/16 on the host's network, where
`_check_ports` fails a Pod whose wildcard listener collides with another Pod's port), runs it
with a `PodWorker`, writes Pod status through
the API, keeps every Pod's /etc/hosts in step with Services, finishes graceful deletions
(delete with grace 0 once the containers are gone), and serves `pods/log` from the files the
containers write.

After a control-plane restart, Pods the previous kubelet had started are reported Failed with
their containers terminated as `ContainerStatusUnknown` (exit 137), as a kubelet does for
containers it lost; their controllers replace them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import platform
import secrets
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from katib_py.kube.client import KubeClient, Obj
from katib_py.kube.errors import ApiError, Conflict, NotFound
from katib_py.kube.events import EventRecorder
from katib_py.kube.informer import Informer
from katib_py.kube.resource import CONFIGMAPS, ENDPOINTS, NODES, PODS, SECRETS, SERVICES
from katib_py.kube.rfc3339 import now_time

from .images import REASON_UNKNOWN_ENTRYPOINT, ImageCommands, entrypoint_problem
from .logs import LogNotFound, LogStore
from .netplan import wildcard_conflicts
from .network import BridgePodNetwork, pod_listeners, session_members
from .runtime import NodeConfig, PodWorker, kill_group, proc_start_time
from .scheduling import UNSCHEDULABLE, unschedulable_message
from .volumes import VolumeBuilder

log = logging.getLogger(__name__)

POD_NETWORK = ipaddress.IPv4Network("127.1.0.0/16")


def can_isolate() -> bool:
    """Mount/PID namespaces need Linux and root."""
    return platform.system() == "Linux" and os.geteuid() == 0


def hosts_file_text(
    services: list[Obj],
    pod_ip: str,
    hostname: str,
    extra: dict[str, str] | None = None,
    endpoints: list[Obj] | None = None,
    namespace: str | None = None,
) -> str:
    """The Pod's /etc/hosts: every Service as name.ns[.svc[.cluster.local]] -> its clusterIP, a
    headless Service's names -> its ready endpoints' addresses (the A records cluster DNS gives
    it), the bare name only in the Pod's own `namespace` (cluster DNS's search path; None:
    everywhere), the Pod's hostname -> its IP."""
    ready = {
        (ep["metadata"].get("namespace", "default"), ep["metadata"]["name"]): [
            a["ip"] for sub in ep.get("subsets") or [] for a in sub.get("addresses") or [] if a.get("ip")
        ]
        for ep in endpoints or []
    }
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if pod_ip:
        lines.append(f"{pod_ip}\t{hostname}")
    for ip, names in (extra or {}).items():
        lines.append(f"{ip}\t{names}")
    for svc in sorted(services, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])):
        ip = (svc.get("spec") or {}).get("clusterIP") or ""
        name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "default")
        short = f" {name}" if namespace is None or ns == namespace else ""
        for address in ready.get((ns, name), []) if ip == "None" else [ip] if ip else []:
            lines.append(f"{address}\t{name}.{ns}.svc.cluster.local {name}.{ns}.svc {name}.{ns}{short}")
    return "\n".join(lines) + "\n"


def pod_network_for(data_dir: Path) -> ipaddress.IPv4Network:
    """This cluster's Pod network: a random 127.X.0.0/16, kept in data_dir across restarts.

    Separate clusters on one host (parallel test sessions, say) thus rarely share addresses,
    so their Pods can listen on the same ports.
    """
    path = data_dir / "pod-network"
    with contextlib.suppress(OSError, ValueError):
        return ipaddress.IPv4Network(path.read_text().strip())
    network = ipaddress.IPv4Network(f"127.{secrets.randbelow(254) + 1}.0.0/16")
    path.write_text(f"{network}\n")
    return network


class IpPool:
    """Loopback addresses for Pods; reuses the least recently released last."""

    def __init__(self, network: ipaddress.IPv4Network = POD_NETWORK) -> None:
        self.network = network
        self.in_use: set[str] = set()
        self._next = 2

    def allocate(self) -> str:
        size = self.network.num_addresses
        for _ in range(size):
            candidate = str(self.network.network_address + self._next)
            self._next = self._next + 1 if self._next + 1 < size - 1 else 2
            if candidate not in self.in_use:
                self.in_use.add(candidate)
                return candidate
        raise RuntimeError("pod address pool exhausted")

    def release(self, ip: str) -> None:
        self.in_use.discard(ip)


class Kubelet:
    def __init__(
        self,
        client: KubeClient,
        data_dir: Path,
        *,
        api_host: str,
        api_port: int,
        mint_token: Callable[[str, str], str],
        ca_pem: bytes | None = None,
        node_name: str = "local",
        isolate: bool | None = None,
        backoff_base: float = 10.0,
        extra_env: dict[str, str] | None = None,
        node_resources: dict[str, str] | None = None,
        image_commands: ImageCommands | None = None,
        network: BridgePodNetwork | None = None,
        port_check_interval: float = 0.5,
    ) -> None:
        """`node_resources`: extended resources the node advertises (`{"nvidia.com/gpu": "1"}`);
        `image_commands`: the entry point of each image it can run without a command (images.py);
        `network`: each Pod in its own network namespace (as root; see LocalCluster), else
        Pods share the host's network with their own loopback addresses, and a Pod listening on
        a wildcard address on another Pod's port is failed (checked every `port_check_interval`)."""
        self.client = client
        self.node_resources = dict(node_resources or {})
        self._assumed: dict[str, Obj] = {}  # uid -> Pod being bound here (its resources are taken)
        self._unschedulable: dict[str, str] = {}  # uid -> the FailedScheduling message last given
        self.events = EventRecorder(client, "kubelet")
        self.node_name = node_name
        self.data_dir = data_dir
        self.isolate = can_isolate() if isolate is None else isolate
        if not self.isolate:
            log.warning(
                "kubelet: no mount/PID namespaces (needs Linux as root); volumes are exposed by symlinks "
                "at their mountPath where possible, and Pods share the host's filesystem"
            )
        self.logs = LogStore(data_dir / "logs")
        self.pods = Informer(client, PODS)
        self.services = Informer(client, SERVICES)
        self.endpoints = Informer(client, ENDPOINTS)  # headless Services' names in /etc/hosts
        data_dir.mkdir(parents=True, exist_ok=True)
        self.network = network
        self.port_check_interval = port_check_interval
        self.ip_pool = IpPool(network.net.network if network is not None else pod_network_for(data_dir))
        self.workers: dict[str, PodWorker] = {}
        self.finished: set[str] = set()
        self._status_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._binding: set[str] = set()
        self._lost: set[str] = set()
        self._stopping = False
        self.node = NodeConfig(
            node_name=node_name,
            data_dir=data_dir,
            api_host=network.node_ip if network is not None else api_host,
            api_port=api_port,
            ca_pem=ca_pem,
            isolate=self.isolate,
            backoff_base=backoff_base,
            logs=self.logs,
            volumes=VolumeBuilder(client, data_dir, mint_token),
            fetch=self._fetch,
            mint_token=mint_token,
            hosts_content=self._hosts_content,
            event=self._event,
            extra_env=dict(extra_env or {}),
            image_commands=dict(image_commands or {}),
            network=network,
        )

    # -- wiring -------------------------------------------------------------------------------
    async def _fetch(self, kind: str, namespace: str, name: str) -> Obj | None:
        return await self.client.get_or_none(SECRETS if kind == "secret" else CONFIGMAPS, name, namespace)

    def _event(self, pod: Obj, etype: str, reason: str, message: str, component: str = "kubelet") -> None:
        if not self._stopping:
            self._spawn(
                self.events.record(
                    {"apiVersion": "v1", "kind": "Pod", **pod},
                    reason,
                    message,
                    warning=etype == "Warning",
                    component=component,
                )
            )

    def _hosts_content(self, pod_ip: str, hostname: str, namespace: str) -> str:
        return hosts_file_text(
            self.services.items(), pod_ip, hostname, endpoints=self.endpoints.items(), namespace=namespace
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        for d in ("pods", "logs", "pvcs"):
            (self.data_dir / d).mkdir(parents=True, exist_ok=True)
        self._kill_leftover_processes()
        if self.network is not None:
            await self.network.start()
        else:
            self._spawn(self._check_ports())
        await self._register_node()
        self.services.add_listener(lambda *_: self._refresh_hosts())
        self.services.start()
        self.endpoints.add_listener(lambda *_: self._refresh_hosts())
        self.endpoints.start()
        items = await self.client.list(PODS)
        for pod in items:
            if self._is_lost(pod):
                self._lost.add(pod["metadata"]["uid"])
        self.pods.add_listener(self._on_pod)
        self.pods.start()

    async def stop(self) -> None:
        self._stopping = True
        await self.pods.stop()
        await self.services.stop()
        await self.endpoints.stop()
        await asyncio.gather(
            *(w.terminate(min(w.grace_seconds(), 2.0)) for w in list(self.workers.values())),
            return_exceptions=True,
        )
        for task in list(self._tasks) + list(self._status_tasks.values()):
            task.cancel()
        for task in list(self._tasks) + list(self._status_tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.network is not None:
            await self.network.stop()

    async def _check_ports(self) -> None:
        """Without Pod namespaces: fail a Pod whose wildcard listener collides with another Pod's port.

        Each container runs in its own session, so a Pod's processes are the members of its
        containers' sessions; their sockets are matched against /proc/net/tcp{,6}.
        """
        while not self._stopping:
            await asyncio.sleep(self.port_check_interval)
            workers = [w for w in self.workers.values() if not w.finished and w.failure is None]
            sessions = {
                w.uid: {r.proc.pid for r in w.init_runners + w.main_runners if r.proc is not None}
                for w in workers
            }
            if sum(len(s) for s in sessions.values()) < 2:
                continue
            try:
                listeners = await asyncio.to_thread(self._listeners, sessions)
            except Exception:
                log.exception("kubelet: cannot read the Pods' sockets")
                continue
            by_uid = {w.uid: w for w in workers}
            for conflict in wildcard_conflicts(listeners, [w.uid for w in workers]):
                other = by_uid[conflict.other]
                by_uid[conflict.pod].fail(
                    "PortConflict", conflict.message(f"{other.namespace}/{other.pod_name}")
                )

    @staticmethod
    def _listeners(sessions: dict[str, set[int]]) -> dict[str, set[tuple[str, int]]]:
        members = session_members({sid for s in sessions.values() for sid in s})
        return {
            uid: pod_listeners(pid for sid in sids for pid in members.get(sid, []))
            for uid, sids in sessions.items()
        }

    def _kill_leftover_processes(self) -> None:
        """Containers of a crashed control plane keep running; kill them before starting anew."""
        for pgids in (self.data_dir / "pods").glob("*/pgids"):
            with contextlib.suppress(OSError):
                for line in pgids.read_text().splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[0].isdigit() and proc_start_time(int(parts[0])) == parts[1]:
                        kill_group(int(parts[0]), signal.SIGKILL)
                pgids.unlink()

    def allocatable(self) -> dict[str, str]:
        return {"cpu": str(os.cpu_count() or 1), "memory": "16Gi", "pods": "1000", **self.node_resources}

    async def _register_node(self) -> None:
        now = now_time()
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": platform.system().lower(),
                    "kubernetes.io/arch": "amd64"
                    if platform.machine() in ("x86_64", "AMD64")
                    else platform.machine(),
                    "node-role.kubernetes.io/control-plane": "",
                },
            },
            "spec": {},
        }
        status = {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                ],
                "addresses": [
                    {"type": "InternalIP", "address": self.node.node_ip},
                    {"type": "Hostname", "address": self.node_name},
                ],
                "capacity": self.allocatable(),
                "allocatable": self.allocatable(),
                "nodeInfo": {
                    "kubeletVersion": "v1.31.0-katib-py",
                    "operatingSystem": platform.system().lower(),
                    "architecture": platform.machine(),
                    "containerRuntimeVersion": "local://process",
                    "osImage": platform.platform(),
                    "kernelVersion": platform.release(),
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kubeProxyVersion": "",
                },
            }
        }
        await self.client.create_if_absent(NODES, node)
        await self.client.patch_status(NODES, self.node_name, status)

    # -- pods ---------------------------------------------------------------------------------
    def _mine(self, pod: Obj) -> bool:
        return (pod.get("spec") or {}).get("nodeName") in (None, "", self.node_name)

    def _is_lost(self, pod: Obj) -> bool:
        status = pod.get("status") or {}
        return (
            (pod.get("spec") or {}).get("nodeName") == self.node_name
            and status.get("phase") not in ("Succeeded", "Failed")
            and bool(status.get("startTime"))
        )

    def _on_pod(self, kind: str, pod: Obj, old: Obj | None) -> None:
        if self._stopping or not self._mine(pod):
            return
        meta = pod["metadata"]
        uid = str(meta.get("uid"))
        worker = self.workers.get(uid)
        if kind == "DELETED" or (pod.get("spec") or {}).get("nodeName"):
            self._assumed.pop(uid, None)
        if kind == "DELETED" or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self._unschedulable.pop(uid, None)
            self._retry_unschedulable()
        if kind == "DELETED":
            if worker is not None:
                self._spawn(worker.terminate())
            else:
                self._cleanup(pod)
            return
        if worker is not None:
            worker.pod = pod
            if meta.get("deletionTimestamp"):
                self._spawn(self._terminate_and_remove(worker))
            return
        if not (pod.get("spec") or {}).get("nodeName"):
            if uid not in self._binding and not meta.get("deletionTimestamp") and self._fits(pod):
                self._binding.add(uid)
                self._assumed[uid] = pod
                self._spawn(self._bind(pod))
            return
        phase = (pod.get("status") or {}).get("phase")
        if uid in self._lost:
            self._lost.discard(uid)
            self.finished.add(uid)
            self._spawn(self._report_lost(pod))
            return
        if uid in self.finished or phase in ("Succeeded", "Failed"):
            self.finished.add(uid)
            if meta.get("deletionTimestamp"):
                self._spawn(self._delete_now(pod))
            return
        if meta.get("deletionTimestamp"):
            self.finished.add(uid)
            self._spawn(self._delete_now(pod))
            return
        problem = entrypoint_problem(pod, self.node.image_commands)
        if problem is not None:  # admission: the Pod cannot run here at all
            self.finished.add(uid)
            self._spawn(self._reject(pod, REASON_UNKNOWN_ENTRYPOINT, problem))
            return
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        pod_ip = self.node.node_ip if host_network else self.ip_pool.allocate()  # hostNetwork: the node's IP
        worker = PodWorker(self.node, pod, pod_ip, self._on_worker_status)
        self.workers[uid] = worker
        worker.start()
        self._status_tasks[uid] = asyncio.create_task(self._status_loop(worker))

    def _fits(self, pod: Obj) -> bool:
        """The scheduler's filter for extended resources (scheduling.py); an unschedulable Pod
        gets PodScheduled=False and a FailedScheduling event, and is looked at again when a Pod
        here ends."""
        uid = str(pod["metadata"].get("uid"))
        bound = [p for p in self.pods.items() if (p.get("spec") or {}).get("nodeName") == self.node_name]
        bound_uids = {p["metadata"].get("uid") for p in bound}
        bound += [p for u, p in self._assumed.items() if u not in bound_uids and u != uid]
        message = unschedulable_message(pod, self.allocatable(), bound)
        if message is None:
            self._unschedulable.pop(uid, None)
            return True
        if self._unschedulable.get(uid) != message:
            self._unschedulable[uid] = message
            self._event(pod, "Warning", "FailedScheduling", message, component="default-scheduler")
            self._spawn(self._mark_unschedulable(pod, message))
        return False

    async def _reject(self, pod: Obj, reason: str, message: str) -> None:
        """Fail a Pod the node cannot run, before any container starts (kubelet admission)."""
        self._event(pod, "Warning", reason, message)
        meta = pod["metadata"]
        status = {"status": {"phase": "Failed", "reason": reason, "message": message}}
        with contextlib.suppress(ApiError):
            await self.client.patch_status(PODS, meta["name"], status, meta.get("namespace"))

    async def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        meta = pod["metadata"]
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": UNSCHEDULABLE,
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": now_time(),
        }
        status = {"status": {"phase": "Pending", "conditions": [condition]}}
        with contextlib.suppress(ApiError):
            await self.client.patch_status(PODS, meta["name"], status, meta.get("namespace"))

    def _retry_unschedulable(self) -> None:
        """A Pod here ended or went: what waited for its resources may fit now."""
        for uid in list(self._unschedulable):
            waiting = next((p for p in self.pods.items() if p["metadata"].get("uid") == uid), None)
            if waiting is None:
                self._unschedulable.pop(uid, None)
            else:
                asyncio.get_running_loop().call_soon(self._on_pod, "MODIFIED", waiting, None)

    async def _bind(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ns, name = meta.get("namespace", "default"), meta["name"]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": ns, "uid": meta.get("uid")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
        }
        try:
            await self.client.request("POST", PODS.path(ns, name, "binding"), body=binding)
        except Conflict:
            return
        except ApiError:
            if not await self._bind_by_patch(ns, name):
                return
        finally:
            self._binding.discard(str(meta.get("uid")))
        message = f"Successfully assigned {ns}/{name} to {self.node_name}"
        self._event(pod, "Normal", "Scheduled", message, component="default-scheduler")

    async def _bind_by_patch(self, ns: str, name: str) -> bool:
        """For an API server without pods/binding: set spec.nodeName directly."""
        try:
            await self.client.patch(PODS, name, {"spec": {"nodeName": self.node_name}}, ns)
        except NotFound:
            return False
        except ApiError as exc:
            log.warning("cannot bind pod %s/%s: %s", ns, name, exc)
            return False
        return True

    def _on_worker_status(self, worker: PodWorker) -> None:
        pass

    async def _status_loop(self, worker: PodWorker) -> None:
        last: Obj | None = None
        while True:
            await worker.wait_dirty()
            await asyncio.sleep(0.02)  # coalesce bursts
            status = worker.status()
            if status != last:
                try:
                    await self.client.patch_status(
                        PODS, worker.pod_name, {"status": status}, worker.namespace
                    )
                    last = status
                except NotFound:  # the Pod object is gone: stop what is left and forget it
                    await worker.terminate()
                    self._on_worker_finished(worker)
                    return
                except ApiError:
                    worker.mark_dirty()
                    await asyncio.sleep(0.2)
                except Exception:
                    worker.mark_dirty()
                    await asyncio.sleep(0.5)
            if worker.done.is_set() and last is not None and last.get("phase") in ("Succeeded", "Failed"):
                self._on_worker_finished(worker)
                return

    def _on_worker_finished(self, worker: PodWorker) -> None:
        self.workers.pop(worker.uid, None)
        self._status_tasks.pop(worker.uid, None)
        self.finished.add(worker.uid)
        if not worker.host_network:
            self.ip_pool.release(worker.pod_ip)
        current = self.pods.cache.get((worker.namespace, worker.pod_name))
        if current is None or current["metadata"].get("uid") != worker.uid:
            self._cleanup(worker.pod)
        elif current["metadata"].get("deletionTimestamp") or worker.terminating:
            self._spawn(self._delete_now(current))

    async def _terminate_and_remove(self, worker: PodWorker) -> None:
        await worker.terminate()

    async def _delete_now(self, pod: Obj) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(ApiError):
            await self.client.delete(
                PODS, meta["name"], meta.get("namespace"), grace_period_seconds=0, uid=meta.get("uid")
            )

    def _cleanup(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = str(meta.get("uid"))
        self.finished.discard(uid)
        # in a worker thread: removing a sandbox took a fifth of the kubelet's time on the event
        # loop the API server shares (bench.operator_bench --profile)
        self._spawn(asyncio.to_thread(shutil.rmtree, self.data_dir / "pods" / uid, True))
        current = self.pods.cache.get((meta.get("namespace", "default"), meta["name"]))
        if current is None:
            self.logs.reset_pod(meta.get("namespace", "default"), meta["name"])

    async def _report_lost(self, pod: Obj) -> None:
        """A Pod the previous kubelet ran: its containers are gone; report them as lost."""
        now = now_time()
        status = dict(pod.get("status") or {})

        def lost(cs: Obj) -> Obj:
            state = cs.get("state") or {}
            if "terminated" in state:
                return cs
            started = (state.get("running") or {}).get("startedAt")
            term: Obj = {
                "exitCode": 137,
                "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
                "finishedAt": now,
            }
            if started:
                term["startedAt"] = started
            return {**cs, "ready": False, "started": False, "state": {"terminated": term}}

        patch: Obj = {
            "phase": "Failed",
            "reason": "Terminated",
            "message": "Pod was terminated in response to a node restart.",
            "containerStatuses": [lost(c) for c in status.get("containerStatuses") or []],
            "conditions": [
                {**c, "status": "False", "reason": "PodFailed", "lastTransitionTime": now}
                if c.get("type") in ("Ready", "ContainersReady")
                else c
                for c in status.get("conditions") or []
            ],
        }
        if status.get("initContainerStatuses"):
            patch["initContainerStatuses"] = [lost(c) for c in status["initContainerStatuses"]]
        meta = pod["metadata"]
        with contextlib.suppress(ApiError):
            await self.client.patch_status(PODS, meta["name"], {"status": patch}, meta.get("namespace"))
        if meta.get("deletionTimestamp"):
            await self._delete_now(pod)

    def _refresh_hosts(self) -> None:
        for worker in list(self.workers.values()):
            if worker.sandbox_ready or worker.hosts_file.exists():
                with contextlib.suppress(OSError):
                    worker.write_hosts()

    # -- logs ---------------------------------------------------------------------------------
    async def read_log(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        follow: bool,
        tail_lines: int | None,
        previous: bool,
    ) -> AsyncIterator[bytes]:
        obj = self.pods.get(namespace, pod)
        if not container:
            containers = ((obj or {}).get("spec") or {}).get("containers") or []
            container = containers[0]["name"] if containers else ""
        uid = (obj or {}).get("metadata", {}).get("uid")

        def still_running() -> bool:
            worker = self.workers.get(str(uid))
            if worker is None:
                return False
            return any(r.name == container and r.running for r in worker.init_runners + worker.main_runners)

        try:
            async for chunk in self.logs.read(
                namespace,
                pod,
                container,
                follow=follow,
                tail_lines=tail_lines,
                previous=previous,
                still_running=still_running,
            ):
                yield chunk
        except LogNotFound:
            if previous:
                raise
            return
