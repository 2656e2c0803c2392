"""Runs one Pod's containers as host processes and reports their state.

`PodWorker` drives a Pod through the kubelet's lifecycle: sandbox (address, volumes, /etc/hosts,
service-account files), plain init containers in order, native sidecars (init containers with
`restartPolicy: Always`: started in order, kept running, SIGTERMed after the main containers end),
main containers under the Pod's restart policy with CrashLoopBackOff, probes, and teardown with
`terminationGracePeriodSeconds`. `ContainerRunner` owns one container's restarts.

What a container runs (argv, environment, working directory, mounts) is decided by the pure
`launch.launch_spec`; this module fetches the ConfigMaps and Secrets it names, prepares the files
it points at, and executes it through launcher.py. A source that is missing is waited for
(CreateContainerConfigError, retried every `NodeConfig.config_retry` seconds); an invalid path is
final: the container stays waiting with that reason and message, a Failed event is recorded, and
it is not started again.

PID namespaces: when `shareProcessNamespace` is true (and we can isolate), a pause process holds
one PID namespace that every container joins; otherwise containers share the host's PID
namespace (no per-container namespace: a process that is pid 1 would ignore SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from katib_py.kube.client import Obj
from katib_py.kube.rfc3339 import now_time

from . import status as st
from .env import env_sources
from .errors import ContainerConfigError, InvalidPath, VolumeNotReady
from .hostports import HostPortError, HostPortRelay, host_ports
from .images import ImageCommands
from .launch import LaunchSpec, Mount, Sandbox, exec_spec, launch_spec
from .logs import LogStore
from .netplan import PodNetwork
from .probes import ProbeLoop
from .volumes import VolumeBuilder, prepare_sub_paths

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("launcher.py")


def _host_paths() -> list[str]:
    """What a container process needs from the host, outermost directories only."""
    # The tree this kubelet runs from too: with an editable install, packages import from there.
    own_tree = str(Path(__file__).resolve().parents[3])
    candidates = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, own_tree, *sys.path) if p}
    dirs = sorted(p for p in candidates if os.path.isdir(p) and p != "/")
    return [p for p in dirs if not any(p.startswith(q.rstrip("/") + "/") for q in dirs if q != p)]


HOST_PATHS = _host_paths()


def host_path() -> str:
    """The host PATH with the running interpreter's bin dir first (so python3/katib-py hit the venv)."""
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p]
    return os.pathsep.join([bindir, *[p for p in parts if p != bindir]])


Fetch = Callable[[str, str, str], Awaitable[Obj | None]]


@dataclass
class NodeConfig:
    """What every Pod on this node shares."""

    node_name: str
    data_dir: Path
    api_host: str
    api_port: int
    ca_pem: bytes | None
    isolate: bool
    backoff_base: float
    logs: LogStore
    volumes: VolumeBuilder
    fetch: Fetch
    mint_token: Callable[[str, str], str]
    hosts_content: Callable[[str, str, str], str]  # (pod ip, hostname, namespace) -> /etc/hosts text
    event: Callable[[Obj, str, str, str], None] = lambda _pod, _type, _reason, _message: None
    extra_env: dict[str, str] = field(default_factory=dict)
    config_retry: float = 2.0  # seconds between tries while a container's config source is missing
    image_commands: ImageCommands = field(default_factory=dict)  # image -> entry point (images.py)
    network: PodNetwork | None = None  # None: Pods share the host's network (see network.py)

    @property
    def node_ip(self) -> str:
        """The node's address as Pods see it (hostIP; a hostNetwork Pod's podIP)."""
        return self.network.node_ip if self.network is not None else "127.0.0.1"


def proc_start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _read_pipe(fd: int) -> bytes:
    chunks = []
    try:
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _child_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = fh.read().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


class ContainerRunner:
    """One container: launch, watch, probe, restart under its policy, stop on request."""

    def __init__(self, worker: PodWorker, spec: Obj, kind: str, restart: str) -> None:
        self.worker = worker
        self.spec = spec
        self.kind = kind  # init | sidecar | main
        self.restart = restart  # Always | OnFailure | Never
        self.record = st.ContainerRecord(name=spec["name"], image=spec.get("image", ""))
        self.record.reason = "PodInitializing" if kind == "main" and worker.has_init else "ContainerCreating"
        self.done = asyncio.Event()
        self.started_evt = asyncio.Event()
        self.stopping = False
        self.proc: asyncio.subprocess.Process | None = None
        self.inner_pid: int | None = None
        self._wake = asyncio.Event()
        self._probes: list[ProbeLoop] = []
        self._kill_reason: str | None = None
        self.active = False
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def running(self) -> bool:
        return self.record.state == "running"

    def _changed(self) -> None:
        self.worker.mark_dirty()

    async def run(self) -> None:
        self.active = True
        try:
            backoff = self.worker.node.backoff_base
            while not self.stopping:
                exit_code = await self._launch_and_wait()
                if self.stopping or exit_code is None:
                    break
                if self.restart == "Never" or (self.restart == "OnFailure" and exit_code == 0):
                    break
                # CrashLoopBackOff before the next start.
                rec = self.record
                rec.last_terminated = rec.terminated_body()
                delay = backoff
                backoff = min(backoff * 2, 300.0)
                rec.restart_count += 1
                rec.state, rec.reason = "waiting", "CrashLoopBackOff"
                pod = self.worker.pod["metadata"]
                rec.message = (
                    f"back-off {int(delay)}s restarting failed container={self.name} "
                    f"pod={pod['name']}_{pod.get('namespace')}({pod.get('uid')})"
                )
                self._changed()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
        finally:
            self.done.set()
            self.started_evt.set()
            self._changed()

    async def _prepare(self) -> LaunchSpec | None:
        """The container's LaunchSpec, made ready on disk; waits while a config source is missing.

        None when the container stops meanwhile, or can never start (an invalid path): then it is
        left waiting with reason CreateContainerConfigError and the error as its message.
        """
        w = self.worker
        rec = self.record
        while not self.stopping:  # a loop, not a recursion: a Pod may wait for its ConfigMap for hours
            try:
                spec = await w.launch_spec(self.spec)
                prepare_sub_paths(spec.mounts)
                return spec
            except ContainerConfigError as exc:
                rec.state, rec.reason, rec.message = "waiting", "CreateContainerConfigError", str(exc)
                self._changed()
                if not exc.retry:
                    w.node.event(w.pod, "Warning", "Failed", f"Error: {exc}")
                    return None
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), w.node.config_retry)
        return None

    async def _launch_and_wait(self) -> int | None:
        w = self.worker
        rec = self.record
        pod = w.pod
        spec = await self._prepare()
        if spec is None:
            return None
        term_file = spec.termination_file
        term_file.parent.mkdir(parents=True, exist_ok=True)
        term_file.write_bytes(b"")
        if spec.isolate and spec.user.uid is not None:  # the container writes it as its user
            os.chown(term_file, spec.user.uid, -1 if spec.user.gid is None else spec.user.gid)
        w.fallback_mounts(spec.links)
        restarted = rec.restart_count > 0
        log_fd = w.node.logs.open_for_container(w.namespace, w.pod_name, self.name, restart=restarted)
        started_at = now_time()
        try:
            self.proc, rfd = await w.spawn_launcher(spec, f"{self.name}.json", output=log_fd)
        finally:
            os.close(log_fd)
        proc = self.proc
        w.remember_group(proc.pid)
        error = (await asyncio.to_thread(_read_pipe, rfd)).decode(errors="replace")
        rec.extra["cid"] = f"{pod['metadata'].get('uid', '')}-{self.name}-{rec.restart_count}"
        if error:
            await proc.wait()
            rec.state, rec.reason, rec.exit_code, rec.signal = "terminated", "StartError", 128, None
            rec.message = error
            rec.started_at = "1970-01-01T00:00:00Z"
            w.node.event(pod, "Warning", "Failed", f"Error: {error}")
            rec.finished_at = now_time()
            rec.ready = rec.started = False
            self._changed()
            return 128
        self.inner_pid = (_child_of(proc.pid) if w.pidns_pid else None) or proc.pid
        rec.state, rec.reason, rec.message = "running", "", ""
        rec.started_at, rec.finished_at, rec.pid = started_at, None, proc.pid
        startup = self.spec.get("startupProbe")
        readiness = self.spec.get("readinessProbe")
        liveness = self.spec.get("livenessProbe")
        w.node.event(pod, "Normal", "Started", f"Started container {self.name}")
        rec.started = startup is None
        rec.ready = rec.started and readiness is None and self.kind != "init"
        if rec.started:
            self.started_evt.set()
        self._start_probes(startup, readiness, liveness, spec)
        self._changed()
        returncode = await proc.wait()
        for p in self._probes:
            p.stop()
        self._probes.clear()
        kill_group(proc.pid, signal.SIGKILL)  # the container's leftovers die with it
        exit_code, sig = st.exit_code_of(returncode)
        rec.state, rec.exit_code, rec.signal = "terminated", exit_code, sig
        rec.reason = self._kill_reason or st.terminated_reason(exit_code)
        rec.message = self._termination_message(term_file, exit_code)
        self._kill_reason = None
        rec.finished_at = now_time()
        rec.ready = rec.started = False
        self.proc = None
        self._changed()
        return exit_code

    def _termination_message(self, term_file: Path, exit_code: int) -> str:
        """What the container wrote to terminationMessagePath (or its log tail, when asked)."""
        with contextlib.suppress(OSError):
            data = term_file.read_bytes()[:4096]
            if data:
                return data.decode(errors="replace")
        if exit_code != 0 and self.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            w = self.worker
            with contextlib.suppress(OSError):
                tail = w.node.logs.path(w.namespace, w.pod_name, self.name).read_bytes()[-2048:]
                return b"\n".join(tail.splitlines()[-80:]).decode(errors="replace")
        return ""

    def _start_probes(
        self, startup: Obj | None, readiness: Obj | None, liveness: Obj | None, spec: LaunchSpec
    ) -> None:
        w = self.worker
        host = w.pod_ip

        async def run_exec(command: list[str], timeout: float) -> int:
            return await w.exec_in(exec_spec(spec, command, self.inner_pid), timeout)

        def begin_runtime_probes() -> None:
            if readiness is not None and self.kind != "init":
                loop = ProbeLoop(readiness, host, self.spec, run_exec, on_ready)
                self._probes.append(loop)
                loop.start()
            if liveness is not None:
                loop = ProbeLoop(liveness, host, self.spec, run_exec, on_live, initial=True)
                self._probes.append(loop)
                loop.start()

        def on_ready(ok: bool) -> None:
            if self.record.state == "running" and self.record.ready != ok:
                self.record.ready = ok
                self._changed()

        def on_live(ok: bool) -> None:
            if not ok and self.proc is not None:
                self._kill_reason = "Error"
                self._spawn(self._terminate_process(self.worker.grace_seconds()))

        def on_started(ok: bool) -> None:
            if ok and not self.record.started:
                self.record.started = True
                self.record.ready = readiness is None and self.kind != "init"
                self.started_evt.set()
                self._changed()
                begin_runtime_probes()
            elif not ok and self.proc is not None and not self.record.started:
                self._spawn(self._terminate_process(self.worker.grace_seconds()))

        if startup is not None:
            loop = ProbeLoop(startup, host, self.spec, run_exec, on_started)
            self._probes.append(loop)
            loop.start()
        else:
            begin_runtime_probes()

    async def _terminate_process(self, grace: float) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        # Like a container runtime: SIGTERM to the container's main process, SIGKILL to all of it later.
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), max(grace, 0.0))
        except TimeoutError:
            kill_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await proc.wait()

    async def stop(self, grace: float) -> None:
        """No more restarts; SIGTERM the process group, SIGKILL after `grace` seconds."""
        self.stopping = True
        self._wake.set()
        if self.proc is not None and self.proc.returncode is None:
            self.worker.node.event(self.worker.pod, "Normal", "Killing", f"Stopping container {self.name}")
        if not self.active:
            self.done.set()
            return
        await self._terminate_process(grace)
        await self.done.wait()


class PodWorker:
    """One Pod's whole life on this node."""

    def __init__(
        self, node: NodeConfig, pod: Obj, pod_ip: str, on_status: Callable[[PodWorker], None]
    ) -> None:
        self.node = node
        self.pod = pod
        self.pod_ip = pod_ip
        self.on_status = on_status
        meta = pod["metadata"]
        self.uid = str(meta.get("uid"))
        self.namespace = str(meta.get("namespace") or "default")
        self.pod_name = str(meta["name"])
        spec = pod.get("spec") or {}
        self.restart_policy = spec.get("restartPolicy") or "Always"
        self.sandbox = node.data_dir / "pods" / self.uid
        self.hosts_file = self.sandbox / "hosts"
        self.sa_dir: Path | None = None
        self.volumes: dict[str, Path] = {}
        self.base_env: dict[str, str] = {}
        self.pidns_pid: int | None = None
        self._pause: asyncio.subprocess.Process | None = None
        self.host_network = bool(spec.get("hostNetwork"))
        self.netns: str | None = None  # the Pod's network namespace, when it has its own
        self._relay: HostPortRelay | None = None
        self.failure: tuple[str, str] | None = None  # (reason, message) the kubelet failed it with
        self._fail_task: asyncio.Task[None] | None = None
        init_specs = spec.get("initContainers") or []
        self.has_init = bool(init_specs)
        self.init_runners = [
            ContainerRunner(
                self,
                c,
                "sidecar" if c.get("restartPolicy") == "Always" else "init",
                "Always"
                if c.get("restartPolicy") == "Always"
                else ("Never" if self.restart_policy == "Never" else "OnFailure"),
            )
            for c in init_specs
        ]
        self.main_runners = [
            ContainerRunner(self, c, "main", self.restart_policy) for c in spec.get("containers") or []
        ]
        self.sandbox_ready = False
        self.initialized = False
        self.init_failed = False
        self.finished = False
        self.terminating = False
        self.start_time = now_time()
        self.task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        self._dirty = asyncio.Event()
        self.setup_message = ""

    # -- status -------------------------------------------------------------------------------
    def mark_dirty(self) -> None:
        self._dirty.set()
        self.on_status(self)

    def phase(self) -> str:
        return st.pod_phase(
            restart_policy=self.restart_policy,
            init_failed=self.init_failed,
            initialized=self.initialized,
            main=[r.record for r in self.main_runners],
            finished=self.finished,
        )

    def status(self) -> Obj:
        phase = self.phase()
        if self.init_failed and phase != "Failed":
            phase = "Failed" if self.finished else phase
        if self.finished and phase not in ("Succeeded", "Failed"):
            phase = "Failed"
        if self.failure is not None and self.finished:
            phase = "Failed"
        pending_init = [
            r.name
            for r in self.init_runners
            if not (r.kind == "sidecar" and r.record.started)
            and not (r.kind == "init" and r.record.state == "terminated" and r.record.exit_code == 0)
        ]
        not_ready = [r.name for r in self.main_runners if not r.record.ready]
        not_ready += [
            r.name
            for r in self.init_runners
            if r.kind == "sidecar"
            and not r.record.ready
            and r.record.started
            and r.spec.get("readinessProbe") is not None
        ]
        prev = (self.pod.get("status") or {}).get("conditions")
        conds = st.pod_conditions(
            sandbox_ready=self.sandbox_ready,
            initialized=self.initialized,
            pending_init=pending_init,
            not_ready=not_ready,
            phase=phase,
            previous=prev,
        ) + st.foreign_conditions(prev)
        status: Obj = {
            "phase": phase,
            "conditions": conds,
            "hostIP": self.node.node_ip,
            "hostIPs": [{"ip": self.node.node_ip}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "qosClass": "BestEffort",
            "containerStatuses": [st.container_status(r.record) for r in self.main_runners],
        }
        if self.init_runners:
            status["initContainerStatuses"] = [st.container_status(r.record) for r in self.init_runners]
        if self.setup_message and not self.sandbox_ready:
            status["message"] = self.setup_message
        if self.failure is not None:
            status["reason"], status["message"] = self.failure
        return status

    # -- helpers used by runners --------------------------------------------------------------
    def view(self) -> Obj:
        """The Pod as the downward API sees it: with this node's podIP/hostIP filled in."""
        status = dict(self.pod.get("status") or {})
        status.update({"podIP": self.pod_ip, "podIPs": [{"ip": self.pod_ip}], "hostIP": self.node.node_ip})
        return {**self.pod, "status": status}

    def grace_seconds(self) -> float:
        meta = self.pod.get("metadata") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(30 if grace is None else grace)

    def remember_group(self, pid: int) -> None:
        started = proc_start_time(pid)
        with open(self.sandbox / "pgids", "a") as fh:
            fh.write(f"{pid} {started}\n")

    def fallback_mounts(self, links: Iterable[Mount]) -> None:
        """No isolation: make each mountPath point at its volume with a symlink, when possible."""
        for m in links:
            target = Path(m.target)
            if target.exists() or target.is_symlink():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(m.source)
            except OSError as exc:
                log.warning("no isolation: cannot expose volume at %s (%s)", target, exc)

    def sandbox_view(self) -> Sandbox:
        """What this Pod's sandbox gives its containers (see launch.launch_spec)."""
        return Sandbox(
            dir=self.sandbox,
            volumes=self.volumes,
            hosts_file=self.hosts_file,
            sa_dir=self.sa_dir,
            isolate=self.node.isolate,
            pidns_pid=self.pidns_pid,
            host_env={"PATH": host_path(), "HOME": os.environ.get("HOME", "/root")},
            base_env=self.base_env,
            keep_visible=tuple(HOST_PATHS),
            hide=(str(self.node.data_dir),),
            image_commands=self.node.image_commands,
            netns=self.netns,
        )

    async def launch_spec(self, container: Obj) -> LaunchSpec:
        """Fetch what the container's environment names, then decide what to run (pure)."""
        sources = {
            (kind, name): await self.node.fetch(kind, self.namespace, name)
            for kind, name in env_sources(container)
        }
        return launch_spec(self.view(), container, self.sandbox_view(), sources)

    async def spawn_launcher(self, spec: LaunchSpec, file_name: str, *, output: int) -> tuple[Process, int]:
        """Start launcher.py on `spec` (written to containers/<file_name>); returns it and its error pipe."""
        rfd, wfd = os.pipe()
        path = self.sandbox / "containers" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(spec.launcher_config(wfd, os.getpid()), fh)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-S",
                str(LAUNCHER),
                str(path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                pass_fds=(wfd,),
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                cwd="/",
            )
        except BaseException:
            os.close(rfd)
            raise
        finally:
            os.close(wfd)
        return proc, rfd

    async def exec_in(self, spec: LaunchSpec, timeout: float) -> int:
        """Run an exec probe (inside the container's mount and PID namespaces when isolated)."""
        proc, rfd = await self.spawn_launcher(
            spec, f"{spec.name}.probe.json", output=asyncio.subprocess.DEVNULL
        )
        os.close(rfd)
        try:
            return await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            kill_group(proc.pid, signal.SIGKILL)
            await proc.wait()
            return 1

    def write_hosts(self) -> None:
        hostname = (self.pod.get("spec") or {}).get("hostname") or self.pod_name
        content = self.node.hosts_content(self.pod_ip, hostname, self.namespace).encode()
        try:
            with open(self.hosts_file, "r+b") as fh:
                if fh.read() == content:
                    return
                fh.seek(0)
                fh.truncate()
                fh.write(content)
        except FileNotFoundError:
            self.hosts_file.write_bytes(content)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod-{self.namespace}/{self.pod_name}")

    async def _setup(self) -> None:
        self.sandbox.mkdir(parents=True, exist_ok=True)
        (self.sandbox / "scratch").mkdir(exist_ok=True)
        await self._setup_network()
        self.node.logs.reset_pod(self.namespace, self.pod_name)
        self.write_hosts()
        spec = self.pod.get("spec") or {}
        if spec.get("automountServiceAccountToken") is not False:
            sa_dir = self.sandbox / "serviceaccount"
            sa_dir.mkdir(exist_ok=True)
            token = self.node.mint_token(self.namespace, spec.get("serviceAccountName") or "default")
            (sa_dir / "token").write_text(token)
            (sa_dir / "namespace").write_text(self.namespace)
            if self.node.ca_pem:
                (sa_dir / "ca.crt").write_bytes(self.node.ca_pem)
            if not self.node.isolate:
                self._write_kubeconfig(sa_dir, token)
            self.sa_dir = sa_dir
        self.base_env = dict(self.node.extra_env)
        self.base_env.update(
            {
                "KUBERNETES_SERVICE_HOST": self.node.api_host,
                "KUBERNETES_SERVICE_PORT": str(self.node.api_port),
                "KUBERNETES_SERVICE_PORT_HTTPS": str(self.node.api_port),
                "KUBERNETES_PORT": f"tcp://{self.node.api_host}:{self.node.api_port}",
            }
        )
        attempt = 0
        while True:
            try:
                self.volumes = await self.node.volumes.build(self.view(), self.sandbox, self.sa_dir)
                break
            except VolumeNotReady as exc:
                attempt += 1
                self.setup_message = f"MountVolume.SetUp failed: {exc}"
                if attempt == 1:
                    self.mark_dirty()
                await asyncio.sleep(min(2.0, 0.2 * attempt))
                if self.terminating:
                    raise asyncio.CancelledError from exc
        self.setup_message = ""
        if spec.get("shareProcessNamespace") and self.node.isolate:
            self._pause = await asyncio.create_subprocess_exec(
                sys.executable,
                "-S",
                str(LAUNCHER),
                "--pause",
                str(os.getpid()),
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,
                cwd="/",
            )
            self.remember_group(self._pause.pid)
            assert self._pause.stdout is not None
            line = await self._pause.stdout.readline()
            self.pidns_pid = int(line.strip())
        self.sandbox_ready = True
        self.mark_dirty()

    async def _setup_network(self) -> None:
        """The Pod's network namespace (as root) and its hostPort relays."""
        network = self.node.network
        if network is not None and not self.host_network:
            try:
                self.netns = await network.add(self.uid, self.pod_ip)
            except Exception as exc:  # as a kubelet whose CNI plugin fails: an event that says why
                message = f"Failed to create pod sandbox: {exc}"
                self.failure = ("FailedCreatePodSandBox", message)
                self.node.event(self.pod, "Warning", "FailedCreatePodSandBox", message)
                raise
        mappings = (
            []
            if self.host_network
            else host_ports(self.pod, tuple(dict.fromkeys(("127.0.0.1", self.node.node_ip))))
        )
        if mappings:
            relay = HostPortRelay(self.pod_ip, mappings)
            await relay.start()
            self._relay = relay

    async def _teardown_network(self) -> None:
        if self._relay is not None:
            await self._relay.stop()
            self._relay = None
        if self.netns is not None and self.node.network is not None:
            try:
                await self.node.network.remove(self.uid, self.pod_ip)
            except Exception:
                log.exception("cannot remove the network of pod %s/%s", self.namespace, self.pod_name)
            self.netns = None

    def fail(self, reason: str, message: str) -> None:
        """The kubelet ends the Pod (a port it must not hold): Failed with this reason, containers killed."""
        if self.failure is not None or self.finished:
            return
        self.failure = (reason, message)
        self.node.event(self.pod, "Warning", reason, message)
        self.mark_dirty()
        # Not `terminate()`: that is a deletion, after which the kubelet removes the Pod object.
        runners = self.main_runners + self.init_runners
        self._fail_task = asyncio.create_task(self._stop_all(runners))

    async def _stop_all(self, runners: list[ContainerRunner]) -> None:
        await asyncio.gather(*(r.stop(0) for r in runners))

    def _write_kubeconfig(self, sa_dir: Path, token: str) -> None:
        scheme = "https" if self.node.ca_pem else "http"
        cluster: Obj = {"server": f"{scheme}://{self.node.api_host}:{self.node.api_port}"}
        if self.node.ca_pem:
            cluster["certificate-authority"] = str(sa_dir / "ca.crt")
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": cluster}],
            "users": [{"name": "sa", "user": {"tokenFile": str(sa_dir / "token")}}],
            "contexts": [
                {"name": "local", "context": {"cluster": "local", "user": "sa", "namespace": self.namespace}}
            ],
            "current-context": "local",
        }
        fd = os.open(sa_dir / "kubeconfig", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh)

    async def _run(self) -> None:
        try:
            await self._setup()
            if await self._run_init() and not self.terminating:
                self.initialized = True
                self.mark_dirty()
                tasks = [asyncio.create_task(r.run()) for r in self.main_runners]
                await asyncio.gather(*tasks)
            grace = self.grace_seconds()
            for r in reversed(self.init_runners):
                if r.kind == "sidecar":
                    await r.stop(grace)
        except asyncio.CancelledError:
            pass
        except InvalidPath as exc:
            self._volume_failed(str(exc))
        except HostPortError as exc:
            self.failure = ("HostPortConflict", f"Pod was rejected: {exc}")
            self.node.event(self.pod, "Warning", "HostPortConflict", str(exc))
            self.init_failed = True
        except Exception:
            log.exception("pod %s/%s failed in the kubelet", self.namespace, self.pod_name)
            self.init_failed = True
        finally:
            for r in self.init_runners + self.main_runners:
                if r.proc is not None:
                    await r.stop(0)
            if self._pause is not None:
                kill_group(self._pause.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await self._pause.wait()
            await self._teardown_network()
            self.finished = True
            self.mark_dirty()
            self.done.set()

    def _volume_failed(self, message: str) -> None:
        """A volume can never be set up (an invalid path): no container starts, the Pod fails."""
        self.setup_message = message
        self.init_failed = True
        for r in self.init_runners + self.main_runners:
            r.record.state, r.record.reason, r.record.message = (
                "waiting",
                "CreateContainerConfigError",
                message,
            )
        self.node.event(self.pod, "Warning", "FailedMount", message)

    async def _run_init(self) -> bool:
        for r in self.init_runners:
            if self.terminating:
                return False
            task = asyncio.create_task(r.run())
            if r.kind == "sidecar":
                await r.started_evt.wait()
                if task.done() or self.terminating:
                    return False
                continue
            await task
            if r.record.state != "terminated" or r.record.exit_code != 0:
                self.init_failed = True
                return False
            self.mark_dirty()
        return True

    async def terminate(self, grace: float | None = None) -> None:
        """Stop the Pod (deletion): main containers first, then sidecars in reverse order."""
        if self.terminating:
            await self.done.wait()
            return
        self.terminating = True
        g = self.grace_seconds() if grace is None else grace
        loop = asyncio.get_running_loop()
        deadline = loop.time() + g
        for r in self.init_runners:
            if r.kind == "init":
                r.stopping = True
        await asyncio.gather(
            *(r.stop(g) for r in self.main_runners + [r for r in self.init_runners if r.kind == "init"])
        )
        for r in reversed(self.init_runners):
            if r.kind == "sidecar":
                await r.stop(max(0.0, deadline - loop.time()))
        if self.task is not None and not self.task.done():
            await self.done.wait()

    async def wait_dirty(self) -> None:
        await self._dirty.wait()
        self._dirty.clear()
