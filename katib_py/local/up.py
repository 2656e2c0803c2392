"""`katib-py up`: Katib on this machine, with no cluster: control plane, db-manager and operator.

Starts the embedded control plane, installs the CRDs, the `kubeflow` namespace, katib-config and
a selectorless `katib-db-manager` Service whose endpoint is a db-manager process on SQLite
(DIR/katib.db), then runs `katib-py operator` with its webhooks on plain HTTP. Nothing else is
started by hand: suggestion services and trials are Deployments and Jobs the operator creates,
exactly as on a cluster. The operator is restarted if it dies.

The stack's own processes use DIR/internal/kubeconfig (the admin identity: the operator here
writes its own webhook configurations, which the helm chart's least-privilege ClusterRole, tested
by the chart install test, does not allow); DIR/kubeconfig is written (atomically)
only once the operator serves its webhooks, so an Experiment applied as soon as it appears is
defaulted and validated, and it is removed when the stack stops.

The web UI (katib_py.ui) runs in this process on 127.0.0.1 with the admin identity; its URL, token
inside, is printed and written to DIR/ui-url (removed when the stack stops).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from katib_py.localcluster.kubelet.runtime import proc_start_time
from katib_py.signals import PARENT_ENV

log = logging.getLogger(__name__)

DB_MANAGER_PORT = 6789
KATIB_IMAGES = "ghcr.io/kubeflow/katib/"
# Katib's own images -> the katib-py service that does their job (their entry points on this node).
# Only images that serve one algorithm can be mapped: suggestion-hyperopt, -optuna and -goptuna serve
# several, chosen per request, which `katib-py suggestion serve` takes as a flag.
KATIB_IMAGE_COMMANDS: dict[str, tuple[str, ...]] = {
    **{
        f"{KATIB_IMAGES}{image}": ("env", "--block-signal=TERM", "katib-py", "metrics-collector")
        for image in ("file-metrics-collector", "tfevent-metrics-collector")
    },
    **{
        f"{KATIB_IMAGES}{image}": ("katib-py", "suggestion", "serve", "--algorithm", algorithm)
        for image, algorithm in (
            ("suggestion-hyperband", "hyperband"),
            ("suggestion-skopt", "bayesianoptimization"),
            ("suggestion-enas", "enas"),
            ("suggestion-darts", "darts"),
            ("suggestion-pbt", "pbt"),
            ("earlystopping-medianstop", "medianstop"),
        )
    },
}
LEASE_SECONDS = 4  # short: a killed leader is replaced quickly on one machine


def default_data_dir() -> Path:
    return Path.cwd() / ".katib-py"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up", help="run Katib locally: embedded control plane + db-manager + operator"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="state directory (default ./.katib-py)")
    parser.add_argument("--port", type=int, default=0, help="API server port (default: a free port)")
    parser.add_argument("--in-memory", action="store_true", help="keep API objects in memory only")
    parser.add_argument("--katib-config", type=Path, default=None, help="katib-config.yaml to install")
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="run the operator with leader election (to try several replicas: start more `katib-py operator "
        "--leader-elect --no-webhooks` with this KUBECONFIG)",
    )
    parser.add_argument(
        "--node-resource",
        action="append",
        default=[],
        metavar="NAME=QUANTITY",
        help="an extended resource the node advertises, e.g. nvidia.com/gpu=1 (repeatable); Pods asking "
        "for more than is left stay Pending (FailedScheduling)",
    )
    parser.add_argument(
        "--image-command",
        action="append",
        default=[],
        metavar="IMAGE=COMMAND",
        help="the command a container of IMAGE runs when it gives none (its entry point; repeatable), "
        'e.g. my/trainer="python3 /src/train.py"; Katib\'s suggestion and collector images are mapped '
        "to katib-py's services by default",
    )
    parser.add_argument(
        "--no-pod-netns",
        dest="pod_netns",
        action="store_false",
        help="run Pods on the host's network (each on its own loopback address) even as root",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="run this many operator replicas, each owning a shard of the Experiments (`katib-py operator "
        "--shard I/N`); every replica serves the webhooks",
    )
    parser.add_argument(
        "--ui-port", type=int, default=0, help="web UI port on 127.0.0.1 (default: a free port)"
    )
    parser.add_argument("--no-ui", action="store_true", help="do not start the web UI")
    parser.set_defaults(func=run, log_default="WARNING")


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset()) -> int:
    """A port free now; `avoid` holds ports chosen but not yet bound (the kernel may offer them again)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def free_loopback_address(port: int) -> str:
    """A 127.0.x.y address where `port` is free (embedded clusters give Pods 127.X.0.0/16, X >= 1).

    RuntimeError when there is none: a process listening on *:port holds it on every address."""
    rng = random.SystemRandom()
    for _ in range(100):
        ip = f"127.0.{rng.randint(1, 255)}.{rng.randint(1, 254)}"
        with socket.socket() as sock:
            try:
                sock.bind((ip, port))
            except OSError:
                continue
            return ip
    raise RuntimeError(f"no free loopback address for port {port}")


def publish(source: Path, target: Path) -> None:
    """Copy the kubeconfig to where users look for it, atomically (a reader sees all of it or none)."""
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(source.read_bytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


async def wait_for_port(
    host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{host}:{port} did not open in {timeout:.0f}s")
        await asyncio.sleep(0.1)


class Stack:
    """The embedded control plane plus the db-manager and operator processes."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_port: int = 0,
        in_memory: bool = False,
        katib_config_text: str | None = None,
        leader_elect: bool = False,
        node_resources: dict[str, str] | None = None,
        image_commands: dict[str, tuple[str, ...]] | None = None,
        pod_netns: bool | None = None,
        shards: int = 1,
        ui: bool = False,
        ui_port: int = 0,
    ) -> None:
        """`pod_netns`: a network namespace per Pod (None: as root on Linux; see LocalCluster);
        `shards`: operator replicas, each owning a shard of the Experiments."""
        if not 1 <= shards <= 64:
            raise ValueError(f"--shards must be 1 to 64, not {shards}")
        self.shards = shards
        self.data_dir = data_dir.resolve()
        self.node_resources = dict(node_resources or {})
        self.image_commands = {**KATIB_IMAGE_COMMANDS, **(image_commands or {})}
        self.pod_netns = pod_netns
        self.ui = ui
        self.ui_port = ui_port
        self.ui_url = ""
        self._ui_runner: Any = None
        self.katib_config_text = katib_config_text
        self.leader_elect = leader_elect
        self.api_port = api_port
        self.in_memory = in_memory
        self.cluster: Any = None
        self.db_manager: subprocess.Popen[bytes] | None = None
        # one per shard; index 0's ports are the ones written to operator.metrics / operator.health
        self.operators: list[subprocess.Popen[bytes] | None] = [None] * shards
        self.webhook_ports = [0] * shards
        self.metrics_port = 0
        self.health_port = 0
        self.db_address = ""
        self.db_service_port = DB_MANAGER_PORT
        self._stopping = False
        self._logs: list[TextIO] = []
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def operator(self) -> subprocess.Popen[bytes] | None:
        """The (first) operator process."""
        return self.operators[0]

    @property
    def webhook_port(self) -> int:
        return self.webhook_ports[0]

    @property
    def kubeconfig(self) -> Path:
        """The user's kubeconfig: it exists only while the whole stack serves (webhooks included)."""
        return self.data_dir / "kubeconfig"

    @property
    def ui_url_file(self) -> Path:
        """The web UI's URL, its token inside (one line, to open as is); only while the UI serves."""
        return self.data_dir / "ui-url"

    @property
    def internal_kubeconfig(self) -> Path:
        """What the stack's own processes use from the moment the API server runs."""
        return self.data_dir / "internal" / "kubeconfig"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.internal_kubeconfig)
        env[PARENT_ENV] = str(os.getpid())  # they die with this process, even after a kill -9
        env["KATIB_CORE_NAMESPACE"] = "kubeflow"
        env["PYTHONUNBUFFERED"] = "1"
        if self.db_service_port != DB_MANAGER_PORT:
            env["KATIB_DB_MANAGER_SERVICE_PORT"] = str(self.db_service_port)
        return env

    def _spawn(self, name: str, args: list[str], netns: str | None = None) -> subprocess.Popen[bytes]:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        out = open(self.data_dir / "logs" / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._logs.append(out)
        enter = ["nsenter", f"--net={netns}", "--"] if netns else []
        proc = subprocess.Popen(
            [*enter, sys.executable, "-m", "katib_py.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        self.pid_dir.mkdir(exist_ok=True)
        (self.pid_dir / name).write_text(f"{proc.pid} {proc_start_time(proc.pid) or ''}\n")
        return proc

    @property
    def pid_dir(self) -> Path:
        return self.data_dir / "pids"

    def kill_leftovers(self) -> None:
        """A previous run's processes still running (its `katib-py up` was killed): stop them first.

        A record is `pid starttime`, so a pid the kernel has since given to another process is left alone.
        """
        for record in self.pid_dir.glob("*") if self.pid_dir.is_dir() else []:
            parts = record.read_text().split()
            if len(parts) == 2 and parts[0].isdigit() and proc_start_time(int(parts[0])) == parts[1]:
                log.warning("stopping %s (pid %s) left by a previous run", record.name, parts[0])
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(parts[0]), signal.SIGKILL)
            record.unlink()

    async def start(self) -> None:
        from katib_py.kube.client import KubeClient
        from katib_py.local.install import install
        from katib_py.localcluster.cluster import LocalCluster

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.kill_leftovers()
        self.kubeconfig.unlink(missing_ok=True)  # a previous run's: not to be used before we serve
        self.ui_url_file.unlink(missing_ok=True)
        self.internal_kubeconfig.parent.mkdir(mode=0o700, exist_ok=True)
        self.cluster = LocalCluster(
            self.data_dir,
            port=self.api_port,
            in_memory=self.in_memory,
            kubeconfig=self.internal_kubeconfig,
            node_resources=self.node_resources,
            image_commands=self.image_commands,
            netns=self.pod_netns,
        )
        await self.cluster.start()
        db_ip, db_port, listen, netns = await self._db_manager_address()
        self.db_address = f"{db_ip}:{db_port}"
        self.db_service_port = db_port
        self.db_manager = self._spawn(
            "db-manager",
            ["db-manager", "--listen", listen, "--db-url", f"sqlite:///{self.data_dir / 'katib.db'}"],
            netns=netns,
        )
        kube = KubeClient.from_kubeconfig(str(self.internal_kubeconfig))
        try:
            await install(
                kube,
                db_manager_ip=db_ip,
                db_manager_port=db_port,
                db_manager_service_port=db_port,
                katib_config_text=self.katib_config_text,
            )
        finally:
            await kube.close()
        await wait_for_port(db_ip, db_port, 60, self.db_manager)
        for index in range(self.shards):
            self.webhook_ports[index] = free_port(avoid=frozenset(self.webhook_ports))
        for index in range(self.shards):
            await self.start_operator(index)
        self._supervisor = asyncio.create_task(self._supervise())
        if self.ui:
            await self.start_ui()
        publish(self.internal_kubeconfig, self.kubeconfig)

    async def start_ui(self) -> None:
        """The web UI, in this process, with the stack's credentials, bound to 127.0.0.1."""
        from katib_py.kube.client import KubeClient
        from katib_py.ui.app import serve, write_url
        from katib_py.ui.security import new_token

        kube = KubeClient.from_kubeconfig(str(self.internal_kubeconfig), user_agent="katib-py-ui")
        self._ui_runner, self.ui_url = await serve(
            kube, port=self.ui_port, token=new_token(), db_manager=self.db_address, core_namespace="kubeflow"
        )
        write_url(self.ui_url_file, self.ui_url)

    async def _db_manager_address(self) -> tuple[str, int, str, str | None]:
        """Where the db-manager serves: (address, port, --listen, network namespace).

        With Pod namespaces (root) it gets one of its own on the Pod network, like a Pod, and
        listens on 0.0.0.0:6789 there whatever the host listens on. Otherwise a 127.0.x.y where
        6789 is free; when a host process holds *:6789 there is none, and it takes another port,
        which the Service and the operator (KATIB_DB_MANAGER_SERVICE_PORT) then name.
        """
        sandbox = await self.cluster.sandbox_network("katib-db-manager")
        if sandbox is not None:
            ip, netns = sandbox
            return ip, DB_MANAGER_PORT, f"0.0.0.0:{DB_MANAGER_PORT}", netns
        try:
            ip = free_loopback_address(DB_MANAGER_PORT)
            return ip, DB_MANAGER_PORT, f"{ip}:{DB_MANAGER_PORT}", None
        except RuntimeError:
            ip = "127.0.0.1"
            port = free_port(ip)
            log.warning(
                "port %d is taken on every loopback address: the db-manager serves on %d",
                DB_MANAGER_PORT,
                port,
            )
            return ip, port, f"{ip}:{port}", None

    async def start_operator(self, index: int = 0) -> None:
        """Start the operator replica of shard `index` (the only one unless --shards)."""
        taken = frozenset(self.webhook_ports)
        metrics_port = free_port(avoid=taken)
        health_port = free_port(avoid=taken | {metrics_port})
        sharded = self.shards > 1
        proc = self._spawn(
            f"operator-{index}" if sharded else "operator",
            [
                "operator",
                "--webhook-insecure",
                "--webhook-addr",
                "127.0.0.1",
                "--webhook-port",
                str(self.webhook_ports[index]),
                "--metrics-addr",
                f"127.0.0.1:{metrics_port}",
                "--health-addr",
                f"127.0.0.1:{health_port}",
                *(["--leader-elect", "--lease-duration", str(LEASE_SECONDS)] if self.leader_elect else []),
                *(["--shard", f"{index}/{self.shards}"] if sharded else []),
            ],
        )
        self.operators[index] = proc
        suffix = f"-{index}" if sharded else ""
        (self.data_dir / f"operator{suffix}.pid").write_text(f"{proc.pid}\n")
        if index == 0:
            self.metrics_port, self.health_port = metrics_port, health_port
            (self.data_dir / "operator.metrics").write_text(f"http://127.0.0.1:{metrics_port}/metrics\n")
            (self.data_dir / "operator.health").write_text(f"http://127.0.0.1:{health_port}/healthz\n")
        await wait_for_port("127.0.0.1", self.webhook_ports[index], 120, proc)

    async def _supervise(self) -> None:
        """Restart the operator when it dies (it is built to be killed at any moment)."""
        while not self._stopping:
            await asyncio.sleep(0.5)
            for index, proc in enumerate(self.operators):
                if proc is not None and proc.poll() is not None and not self._stopping:
                    log.warning("operator %d exited with %s: restarting it", index, proc.returncode)
                    with contextlib.suppress(Exception):
                        await self.start_operator(index)

    async def stop(self) -> None:
        self._stopping = True
        self.kubeconfig.unlink(missing_ok=True)  # nothing answers there any more
        self.ui_url_file.unlink(missing_ok=True)
        if self._ui_runner is not None:
            await self._ui_runner.cleanup()
            self._ui_runner = None
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for proc in (*self.operators, self.db_manager):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in (*self.operators, self.db_manager):
            if proc is not None:
                try:
                    await asyncio.to_thread(proc.wait, 15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    await asyncio.to_thread(proc.wait)
        if self.cluster is not None:
            await self.cluster.stop()
        for out in self._logs:
            out.close()
        self._logs.clear()


def run(args: argparse.Namespace) -> int:
    data_dir = (args.data_dir or default_data_dir()).resolve()

    from katib_py.localcluster.kubelet.images import parse_image_commands
    from katib_py.localcluster.kubelet.scheduling import parse_node_resources

    try:
        node_resources = parse_node_resources(args.node_resource)
        image_commands = parse_image_commands(args.image_command)
    except ValueError as exc:
        print(f"katib-py up: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        config_text = args.katib_config.read_text() if args.katib_config else None
        stack = Stack(
            data_dir,
            api_port=args.port,
            in_memory=args.in_memory,
            katib_config_text=config_text,
            leader_elect=args.leader_elect,
            node_resources=node_resources,
            image_commands=image_commands,
            pod_netns=None if args.pod_netns else False,
            shards=args.shards,
            ui=not args.no_ui,
            ui_port=args.ui_port,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stack.start()
            print(f"katib-py is up (logs in {data_dir / 'logs'})")
            if stack.ui_url:
                print(f"web UI: {stack.ui_url}  (also in {stack.ui_url_file})")
            print(f"export KUBECONFIG={stack.kubeconfig}", flush=True)
            await stop.wait()
        finally:
            await stack.stop()

    asyncio.run(main())
    return 0
