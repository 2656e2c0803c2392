"""`katib-py ui`: the web UI's server (aiohttp), a client of the Kubernetes API and of db-manager.

It keeps two informers (experiments and trials, every namespace the credentials can list), answers
a paginated JSON API from them, turns their watch events into server-sent events (the page
re-reads only what changed, it never polls), reads observation logs from db-manager over gRPC and
streams Pod logs from the API's pods/log?follow=true. It writes only what a user asks for (create,
delete, budget patch of an Experiment) with the credentials it was started with, so the API
server's RBAC and the admission webhooks judge every write. The figures are built by
katib_py.ui.figures; the pages are the static files beside this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
import yaml
from aiohttp import web

from katib_py.api.models import EarlyStoppingRule
from katib_py.api.resources import EXPERIMENTS, TRIALS
from katib_py.kube import rfc3339
from katib_py.kube.client import KubeClient
from katib_py.kube.errors import ApiError
from katib_py.kube.informer import Informer
from katib_py.kube.resource import ENDPOINTS, EVENTS, PODS
from katib_py.proto import api_pb2, api_pb2_grpc
from katib_py.ui import figures, rows
from katib_py.ui.security import csrf_token, guard, security_headers

log = logging.getLogger(__name__)

Obj = dict[str, Any]
STATIC = resources.files("katib_py.ui") / "static"
TRIAL_LABEL = "katib.kubeflow.org/trial"  # Katib's consts.LabelTrialName, on every Pod of a trial
DB_MANAGER_SERVICE = "katib-db-manager"
DB_MANAGER_PORT = 6789
MAX_BODY = 1 << 20  # an Experiment YAML is a few KiB; refuse megabytes
VIEW_CACHE = 16  # experiments whose figure view is kept
MAX_CURVES = 300  # learning curves drawn on the experiment page (the latest trials)
LOG_TAIL = 2000
HEARTBEAT_SECONDS = 15.0
WORKER_SECONDS = (
    90.0  # bound on one figure in the worker process (bench/figures_bench.py: seconds at 5,000 trials)
)


def plotly_js() -> bytes:
    """plotly.min.js from the `plotly` package's bundled copy (nothing is fetched at run time)."""
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()


class Backend:
    """The UI's view of the cluster: informers, db-manager, and the event fan-out to pages."""

    def __init__(self, kube: KubeClient, *, db_manager: str | None, core_namespace: str) -> None:
        self.kube = kube
        self.experiments = Informer(kube, EXPERIMENTS)
        self.trials = Informer(kube, TRIALS)
        self.core_namespace = core_namespace
        self._db_manager = db_manager
        self._channel: grpc.aio.Channel | None = None
        self.subscribers: set[asyncio.Queue[Obj]] = set()
        self.views: dict[tuple[str, str], tuple[Any, asyncio.Future[figures.ExperimentView]]] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.experiments.add_listener(self._on_experiment)
        self.trials.add_listener(self._on_trial)

    def worker(self) -> ProcessPoolExecutor:
        """The one worker process of the heavy figures (spawned: the server runs threads)."""
        if self.pool is None:
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return self.pool

    def drop_worker(self, pool: ProcessPoolExecutor) -> None:
        """Forget a worker that died or hung (its process is killed); the next figure spawns a new one."""
        if self.pool is pool:
            self.pool = None
        for process in list(getattr(pool, "_processes", {}).values()):  # no public handle on them
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def start(self) -> None:
        self.experiments.start()
        self.trials.start()
        await asyncio.wait_for(
            asyncio.gather(self.experiments.synced.wait(), self.trials.synced.wait()), timeout=60
        )

    async def stop(self) -> None:
        await self.experiments.stop()
        await self.trials.stop()
        if self._channel is not None:
            await self._channel.close()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        await self.kube.close()

    # ------------------------------------------------------------ events to pages

    def _publish(self, event: Obj) -> None:
        for queue in list(self.subscribers):
            if queue.qsize() < 1000:  # a stuck page loses events, never the server's memory
                queue.put_nowait(event)

    def _on_experiment(self, kind: str, obj: Obj, _old: Obj | None) -> None:
        meta = obj.get("metadata") or {}
        self._publish({"kind": "experiment", "type": kind, "namespace": meta.get("namespace"),
                       "name": meta.get("name"), "experiment": meta.get("name")})  # fmt: skip

    def _on_trial(self, kind: str, obj: Obj, old: Obj | None) -> None:
        meta = obj.get("metadata") or {}
        if (
            old is not None
            and kind == "MODIFIED"
            and rows.state(old) == rows.state(obj)
            and (old.get("status") or {}).get("observation") == (obj.get("status") or {}).get("observation")
        ):
            return  # a status write that changes nothing a page shows
        self._publish({"kind": "trial", "type": kind, "namespace": meta.get("namespace"),
                       "name": meta.get("name"),
                       "experiment": (meta.get("labels") or {}).get(rows.EXPERIMENT_LABEL)})  # fmt: skip

    # ------------------------------------------------------------ reads

    def experiment(self, namespace: str, name: str) -> Obj:
        obj = self.experiments.get(namespace, name)
        if obj is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"experiment {namespace}/{name} not found"}),
                content_type="application/json",
            )
        return obj

    def trials_of(self, namespace: str, experiment: str) -> list[Obj]:
        return [
            t
            for t in self.trials.items(namespace)
            if ((t.get("metadata") or {}).get("labels") or {}).get(rows.EXPERIMENT_LABEL) == experiment
        ]

    async def db_manager_address(self) -> str:
        """db-manager's address: given, or the katib-db-manager Service's endpoint (as the SDK finds it)."""
        if self._db_manager:
            return self._db_manager
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return f"{DB_MANAGER_SERVICE}.{self.core_namespace}:{DB_MANAGER_PORT}"
        endpoints = await self.kube.get(ENDPOINTS, DB_MANAGER_SERVICE, self.core_namespace)
        subset = (endpoints.get("subsets") or [{}])[0]
        address = (subset.get("addresses") or [{}])[0].get("ip")
        port = (subset.get("ports") or [{}])[0].get("port") or DB_MANAGER_PORT
        if not address:
            raise RuntimeError(f"the Service {self.core_namespace}/{DB_MANAGER_SERVICE} has no endpoint")
        return f"{address}:{port}"

    async def observation_log(self, trial: str) -> list[Obj]:
        """Every metric log of a trial: [{time, name, value}] in the order db-manager stored them."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(
                await self.db_manager_address(), options=[("grpc.max_receive_message_length", 1 << 30)]
            )
        stub = api_pb2_grpc.DBManagerStub(self._channel)
        reply = await stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name=trial), timeout=20)
        return [
            {"time": m.time_stamp, "name": m.metric.name, "value": m.metric.value}
            for m in reply.observation_log.metric_logs
        ]


# ---------------------------------------------------------------- helpers


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": message, **extra}, status)


def _backend(request: web.Request) -> Backend:
    backend: Backend = request.app[BACKEND]
    return backend


def _now() -> datetime:
    return datetime.now(UTC)


async def _body_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise rows.BadQuery(f"the body is not JSON: {exc}") from None


def _to_yaml(obj: Obj) -> str:
    clean = dict(obj)
    meta = dict(clean.get("metadata") or {})
    meta.pop("managedFields", None)
    clean["metadata"] = meta
    return yaml.safe_dump(clean, sort_keys=False)


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _handles_errors(handler: Route) -> Route:
    """Bad queries -> 400, API errors -> their status and causes, anything else -> 500 (server stays up)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except rows.BadQuery as exc:
            return _error(400, str(exc))
        except ApiError as exc:
            return _error(exc.status, exc.message, causes=rows.admission_causes(exc.body))
        except grpc.aio.AioRpcError as exc:
            return _error(502, f"db-manager: {exc.code().name}: {exc.details()}")
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            return _error(502, str(exc))

    return wrapped


# ---------------------------------------------------------------- pages and assets


async def index(request: web.Request) -> web.Response:
    """The one page (hash routes in app.js); the CSRF token rides in a <meta> for the script."""
    html = (STATIC / "index.html").read_text()
    html = html.replace("{{csrf}}", request.app[CSRF])
    return web.Response(text=html, content_type="text/html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name == "plotly.min.js":  # 4.8 MB, the same for a given install: let the browser keep it
        return web.Response(
            body=request.app[PLOTLY],
            content_type="application/javascript",
            headers={"Cache-Control": "private, max-age=86400"},
        )
    allowed = {"app.js": "application/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}
    if name not in allowed:
        raise web.HTTPNotFound()
    return web.Response(body=(STATIC / name).read_bytes(), content_type=allowed[name])


# ---------------------------------------------------------------- experiments


@_handles_errors
async def list_namespaces(request: web.Request) -> web.Response:
    backend = _backend(request)
    names = {str((o.get("metadata") or {}).get("namespace")) for o in backend.experiments.items()}
    return _json({"items": sorted(names)})


@_handles_errors
async def list_experiments(request: web.Request) -> web.Response:
    backend = _backend(request)
    namespace = request.query.get("namespace") or None
    now = _now()
    items = [rows.experiment_row(o, now) for o in backend.experiments.items(namespace)]
    items.sort(key=lambda r: (str(r["created"] or ""), r["name"]), reverse=True)
    return _json(rows.page(items, request.query))


@_handles_errors
async def get_experiment(request: web.Request) -> web.Response:
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    exp = backend.experiment(ns, name)
    return _json(
        {
            "row": rows.experiment_row(exp, _now()),
            "object": exp,
            "yaml": _to_yaml(exp),
            "metrics": rows.metric_names(exp),
            "parameters": [
                str(p.get("name"))
                for p in (exp.get("spec") or {}).get("parameters") or []
                if isinstance(p, dict)
            ],
        }
    )


@_handles_errors
async def create_experiment(request: web.Request) -> web.Response:
    body = await _body_json(request)
    text = body.get("yaml") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise rows.BadQuery('give the Experiment as {"yaml": "..."}')
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return _error(400, "the YAML does not parse", causes=[{"field": "", "message": str(exc)[:2000]}])
    if not isinstance(obj, dict) or obj.get("kind") != "Experiment":
        return _error(400, "not an Experiment", causes=[{"field": "kind", "message": "must be Experiment"}])
    namespace = (obj.get("metadata") or {}).get("namespace") or request.query.get("namespace") or "default"
    obj.setdefault("metadata", {})["namespace"] = namespace
    created = await _backend(request).kube.create(EXPERIMENTS, obj, namespace)
    meta = created.get("metadata") or {}
    return _json({"namespace": meta.get("namespace"), "name": meta.get("name")}, 201)


@_handles_errors
async def delete_experiment(request: web.Request) -> web.Response:
    ns, name = request.match_info["namespace"], request.match_info["name"]
    gone = await _backend(request).kube.delete(EXPERIMENTS, name, ns, propagation="Foreground")
    if not gone:
        return _error(404, f"experiment {ns}/{name} not found")
    return _json({"deleted": f"{ns}/{name}"})


@_handles_errors
async def patch_budget(request: web.Request) -> web.Response:
    ns, name = request.match_info["namespace"], request.match_info["name"]
    patch = rows.budget_patch(await _body_json(request))
    patched = await _backend(request).kube.patch(EXPERIMENTS, name, patch, ns)
    return _json({"budget": {k: (patched.get("spec") or {}).get(k) for k in rows.BUDGET_FIELDS}})


@_handles_errors
async def list_trials(request: web.Request) -> web.Response:
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    exp = backend.experiment(ns, name)
    names = rows.metric_names(exp)
    trial_rows = [rows.trial_row(t, names) for t in backend.trials_of(ns, name)]
    answer = rows.page(rows.select_trials(trial_rows, request.query), request.query)
    answer["metrics"] = names
    answer["parameters"] = sorted({p for r in trial_rows for p in r["parameters"]})
    return _json(answer)


# ---------------------------------------------------------------- figures


async def _view(backend: Backend, ns: str, name: str) -> figures.ExperimentView:
    """The figures' view of an experiment, built in a worker thread and only when the experiment or
    a trial changed; concurrent requests (every plot of a page) share one build. Parsing 5,000
    trials takes seconds: done on the event loop, it would hold every other answer."""
    exp = backend.experiment(ns, name)
    trials = backend.trials_of(ns, name)
    signature = (
        (exp.get("metadata") or {}).get("resourceVersion"),
        tuple(sorted(str((t.get("metadata") or {}).get("resourceVersion")) for t in trials)),
    )
    cached = backend.views.get((ns, name))
    if cached is None or cached[0] != signature:
        cached = (signature, asyncio.ensure_future(asyncio.to_thread(figures.view_from_objects, exp, trials)))
        backend.views[(ns, name)] = cached
        while len(backend.views) > VIEW_CACHE:
            backend.views.pop(next(iter(backend.views)))
    try:
        return await asyncio.shield(cached[1])
    except ValueError as exc:
        backend.views.pop((ns, name), None)
        raise RuntimeError(f"experiment {ns}/{name} cannot be read as v1beta1: {exc}") from None


async def _in_process_pool(backend: Backend, function: Callable[..., Any], *args: Any) -> Any:
    """A CPU-heavy figure (contour's interpolation, fANOVA) in the UI's worker process, so that
    the server's own thread keeps answering (the GIL would otherwise be held for seconds).

    A worker that died is replaced and the figure asked once more; one that takes longer than
    WORKER_SECONDS is killed (a page must get an answer, and the next figure a live worker)."""
    for attempt in (1, 2):
        pool = backend.worker()
        try:
            return await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(pool, function, *args), WORKER_SECONDS
            )
        except BrokenProcessPool:
            backend.drop_worker(pool)
            if attempt == 2:
                raise RuntimeError("the figures worker process died twice") from None
        except TimeoutError:
            backend.drop_worker(pool)
            raise RuntimeError(
                f"the figure took longer than {WORKER_SECONDS:.0f} s; its worker was restarted"
            ) from None
    raise AssertionError("unreachable")


def _parameter(view: figures.ExperimentView, query: Mapping[str, str], key: str, index: int) -> str:
    given = query.get(key)
    if given:
        return given
    names = [p.name for p in view.parameters]
    if not names:
        raise rows.BadQuery(f"experiment {view.name} has no parameters")
    return names[min(index, len(names) - 1)]


@_handles_errors
async def experiment_plot(request: web.Request) -> web.Response:
    backend = _backend(request)
    ns, name, kind = request.match_info["namespace"], request.match_info["name"], request.match_info["kind"]
    view = await _view(backend, ns, name)
    query = request.query
    try:
        if kind == "history":
            figure = figures.history(view)
        elif kind == "parallel":
            hidden = frozenset(h for h in (query.get("hidden") or "").split(",") if h)
            figure = figures.parallel_coordinates(view, hidden)
        elif kind == "slice":
            figure = figures.slice_plot(view, _parameter(view, query, "parameter", 0))
        elif kind == "contour":
            x, y = _parameter(view, query, "x", 0), _parameter(view, query, "y", 1)
            if x == y:
                figure = figures.message_figure("Contour", "Pick two different parameters.")
            else:
                figure = await _in_process_pool(backend, figures.contour, view, x, y)
        elif kind == "importance":
            figure = await _in_process_pool(backend, figures.importance, view)
        elif kind == "pareto":
            figure = figures.pareto_front(view)
        elif kind == "curves":
            figure = await _learning_curves(backend, view, query.get("log") == "1")
        else:
            return _error(404, f"no plot {kind[:40]!r}")
    except ValueError as exc:  # an unknown parameter, a bad pair of axes
        raise rows.BadQuery(str(exc)) from None
    return _json(figure)


async def _learning_curves(backend: Backend, view: figures.ExperimentView, log_y: bool) -> Any:
    """Every trial's objective curve from db-manager (the latest MAX_CURVES trials), early-stopped marked."""
    shown = [t for t in view.trials if t.state in ("Succeeded", "EarlyStopped", "Running")]
    shown.sort(key=lambda t: t.created.timestamp() if t.created else 0.0)
    shown = shown[-MAX_CURVES:]
    semaphore = asyncio.Semaphore(16)

    async def one(trial: str) -> tuple[str, list[tuple[datetime | float, float]]]:
        async with semaphore:
            series = rows.metric_series(await backend.observation_log(trial))
        return trial, series.get(view.objective_name, [])

    curves = dict(await asyncio.gather(*(one(t.name) for t in shown)))
    early = {t.name for t in shown if t.state == "EarlyStopped"}
    return figures.learning_curves(curves, early, log_y)


@_handles_errors
async def compare_plot(request: web.Request) -> web.Response:
    backend = _backend(request)
    keys = request.query.getall("e", [])
    if len(keys) < 2 or len(keys) > 8:
        raise rows.BadQuery("compare two to eight experiments: e=NAMESPACE/NAME&e=...")
    pairs = [key.partition("/")[::2] for key in keys]
    views = [await _view(backend, ns, name) for ns, name in pairs]
    now = _now()
    experiments = [rows.experiment_row(backend.experiment(ns, name), now) for ns, name in pairs]
    return _json({"figure": figures.compare(views), "experiments": experiments})


# ---------------------------------------------------------------- trials


def _trial(backend: Backend, ns: str, name: str) -> Obj:
    trial = backend.trials.get(ns, name)
    if trial is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"trial {ns}/{name} not found"}), content_type="application/json"
        )
    return trial


def _trial_of_experiment(backend: Backend, ns: str, name: str) -> tuple[Obj, str, Obj | None]:
    """A trial (404 when missing), the name of its experiment, and the experiment if it exists."""
    trial = _trial(backend, ns, name)
    exp_name = str(((trial.get("metadata") or {}).get("labels") or {}).get(rows.EXPERIMENT_LABEL) or "")
    return trial, exp_name, backend.experiments.get(ns, exp_name) if exp_name else None


@_handles_errors
async def get_trial(request: web.Request) -> web.Response:
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    trial, exp_name, exp = _trial_of_experiment(backend, ns, name)
    names = rows.metric_names(exp) if exp else []
    events = await backend.kube.list(EVENTS, ns, field_selector=f"involvedObject.name={name}")
    pods = await backend.kube.list(PODS, ns, label_selector=f"{TRIAL_LABEL}={name}")
    return _json(
        {
            "row": rows.trial_row(trial, names),
            "experiment": exp_name,
            "yaml": _to_yaml(trial),
            "conditions": (trial.get("status") or {}).get("conditions") or [],
            "earlyStoppingRules": (trial.get("spec") or {}).get("earlyStoppingRules") or [],
            "earlyStoppedAt": rows.condition_time(trial, "EarlyStopped"),
            "events": rows.trial_events(events),
            "pods": [
                {
                    "name": (p.get("metadata") or {}).get("name"),
                    "phase": (p.get("status") or {}).get("phase"),
                    "containers": [
                        c.get("name")
                        for c in [
                            *((p.get("spec") or {}).get("initContainers") or []),
                            *((p.get("spec") or {}).get("containers") or []),
                        ]
                    ],
                }
                for p in pods
            ],
        }
    )


@_handles_errors
async def trial_metrics(request: web.Request) -> web.Response:
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    trial = _trial(backend, ns, name)
    logs = await backend.observation_log(name)
    series = rows.metric_series(logs)
    rules = [
        EarlyStoppingRule.model_validate(r) for r in (trial.get("spec") or {}).get("earlyStoppingRules") or []
    ]
    fired = rows.condition_time(trial, "EarlyStopped")
    stopped_at = rfc3339.parse(fired) if fired else None
    figure = figures.trial_curves(series, request.query.get("log") == "1", rules, stopped_at)
    return _json({"figure": figure, "points": sum(len(v) for v in series.values())})


@_handles_errors
async def trial_architecture(request: web.Request) -> web.Response:
    """The NAS architecture of a trial as SVG: ENAS from its assignments, DARTS from its genotype."""
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    _, exp_name, exp = _trial_of_experiment(backend, ns, name)
    if exp is None:
        return _json({"svg": None})
    point = (await _view(backend, ns, exp_name)).trials
    this = next((t for t in point if t.name == name), None)
    if this is None:
        return _json({"svg": None})
    try:
        if "architecture" in this.parameters and "nn_config" in this.parameters:
            return _json({"svg": figures.nas_architecture_svg(this.parameters)})
        genotype = next((v for v in this.text_metrics.values() if v.startswith("Genotype(")), None)
        if genotype is not None:
            return _json({"svg": figures.darts_genotype_svg(genotype)})
    except ValueError as exc:
        return _json({"svg": None, "error": str(exc)})
    return _json({"svg": None})


@_handles_errors
async def trial_logs(request: web.Request) -> web.StreamResponse:
    """A trial Pod's log: JSON lines, or with follow=1 a server-sent stream from pods/log?follow=true."""
    backend = _backend(request)
    ns, name = request.match_info["namespace"], request.match_info["name"]
    _trial(backend, ns, name)
    pod_name = request.query.get("pod") or ""
    pod = await backend.kube.get(PODS, pod_name, ns) if pod_name else None
    if pod is None or ((pod.get("metadata") or {}).get("labels") or {}).get(TRIAL_LABEL) != name:
        return _error(404, f"no Pod {pod_name[:100]!r} of trial {name}")
    params = {"tailLines": str(LOG_TAIL)}
    container = request.query.get("container")
    if container:
        params["container"] = container
    path = PODS.path(ns, pod_name, "log")
    if request.query.get("follow") != "1":
        text = await backend.kube.request("GET", path, params=params)
        return _json({"lines": str(text or "").splitlines()})
    params["follow"] = "true"
    response = await _sse_response(request)
    try:
        async for line in backend.kube.stream_lines(path, params=params):
            await response.write(_sse("log", {"line": line}))
        await response.write(_sse("end", {}))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


# ---------------------------------------------------------------- server-sent events


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _sse_response(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={**security_headers(), "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    return response


async def events(request: web.Request) -> web.StreamResponse:
    """Watch events of experiments and trials (optionally of one namespace) as server-sent events."""
    backend = _backend(request)
    namespace = request.query.get("namespace") or None
    queue: asyncio.Queue[Obj] = asyncio.Queue()
    backend.subscribers.add(queue)
    response = await _sse_response(request)
    try:
        await response.write(_sse("hello", {}))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if namespace is None or event.get("namespace") == namespace:
                await response.write(_sse("change", event))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        backend.subscribers.discard(queue)
    return response


async def api_not_found(request: web.Request) -> web.Response:
    return _error(404, f"no API route {request.path[:200]!r}")


# ---------------------------------------------------------------- the application

BACKEND = web.AppKey("backend", Backend)
CSRF = web.AppKey("csrf", str)
PLOTLY = web.AppKey("plotly", bytes)


def make_app(backend: Backend, token: str) -> web.Application:
    app = web.Application(middlewares=[guard(token)], client_max_size=MAX_BODY)
    app[BACKEND] = backend
    app[CSRF] = csrf_token(token)
    app[PLOTLY] = plotly_js()
    ns_name = "/{namespace}/{name}"
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/namespaces", list_namespaces)
    app.router.add_get("/api/experiments", list_experiments)
    app.router.add_post("/api/experiments", create_experiment)
    app.router.add_get("/api/experiments" + ns_name, get_experiment)
    app.router.add_delete("/api/experiments" + ns_name, delete_experiment)
    app.router.add_patch("/api/experiments" + ns_name + "/budget", patch_budget)
    app.router.add_get("/api/experiments" + ns_name + "/trials", list_trials)
    app.router.add_get("/api/experiments" + ns_name + "/plots/{kind}", experiment_plot)
    app.router.add_get("/api/compare", compare_plot)
    app.router.add_get("/api/trials" + ns_name, get_trial)
    app.router.add_get("/api/trials" + ns_name + "/metrics", trial_metrics)
    app.router.add_get("/api/trials" + ns_name + "/architecture", trial_architecture)
    app.router.add_get("/api/trials" + ns_name + "/logs", trial_logs)
    app.router.add_get("/api/events", events)
    app.router.add_route("*", "/api/{rest:.*}", api_not_found)

    async def cleanup(_app: web.Application) -> None:
        await backend.stop()

    app.on_cleanup.append(cleanup)
    return app


def ui_url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


async def serve(
    kube: KubeClient,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str,
    db_manager: str | None = None,
    core_namespace: str = "kubeflow",
) -> tuple[web.AppRunner, str]:
    """Start the UI; returns the runner (to clean up) and the URL with its token."""
    backend = Backend(kube, db_manager=db_manager, core_namespace=core_namespace)
    await backend.start()
    runner = web.AppRunner(make_app(backend, token), access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, ui_url(host, int(bound), token)


def write_url(path: Path, url: str) -> None:
    """The URL (token inside) for the user: readable by the owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(url + "\n")
    os.replace(tmp, path)


@contextlib.asynccontextmanager
async def running(kube: KubeClient, **kwargs: Any) -> AsyncIterator[str]:
    runner, url = await serve(kube, **kwargs)
    try:
        yield url
    finally:
        await runner.cleanup()
