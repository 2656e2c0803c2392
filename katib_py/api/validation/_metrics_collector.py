"""The metrics collector spec, kind by kind, and every metrics filter.

Katib's `validateMetricsCollector` (`pkg/webhook/v1beta1/experiment/validator/validator.go`): the
kinds the pod webhook injects (`AutoInjectMetricsCollectorList` in
`pkg/metricscollector/v1beta1/common/const.go`) need a katib-config entry with an image
(`GetMetricsCollectorConfigData` in `pkg/util/v1beta1/katibconfig/config.go`); File needs an
absolute file path and TEXT or JSON (no filter with JSON); TensorFlowEvent an absolute directory;
PrometheusMetric a positive port and a path starting with `/`; Custom its container. Katib returns
before the filters for StdOut, the most used kind; here every filter is compiled by the collector's
own engine (RE2, `katib_py.api.collector_flags`) and must have two groups (metric name, then
value), StdOut included, so admission accepts exactly the filters the collector can run. `None`,
Katib's name for `Push` before v0.18, is accepted.
"""

from __future__ import annotations

import posixpath

from katib_py.api.collector_flags import FilterError, compile_filter
from katib_py.api.config import KatibConfig
from katib_py.api.models import CollectorKind, FileFormat, FileSystemKind, MetricsCollectorSpec
from katib_py.api.validation._errors import Add, FieldError

AUTO_INJECT_KINDS = ("StdOut", "TensorFlowEvent", "File", "PrometheusMetric")


def validate_metrics_collector(mc: MetricsCollectorSpec | None, cfg: KatibConfig, add: Add) -> None:
    base = "spec.metricsCollectorSpec"
    kind = mc.collector.kind if mc and mc.collector else None
    if kind is None or mc is None:
        add(FieldError(f"{base}.collector.kind", "must be specified"))
        return
    if kind in AUTO_INJECT_KINDS and cfg.metrics_collector(kind) is None:
        add(
            FieldError(
                f"{base}.collector.kind",
                "GetMetricsCollectorConfigData failed: katib-config has no runtime.metricsCollectors "
                f"entry with an image for kind {kind}",
            )
        )
    source = mc.source
    fsp = source.file_system_path if source else None
    spath = f"{base}.source"
    if kind in (CollectorKind.PUSH, CollectorKind.NONE, CollectorKind.STDOUT):
        pass
    elif kind == CollectorKind.FILE:
        if fsp is None or fsp.kind != FileSystemKind.FILE or not posixpath.isabs(fsp.path or ""):
            add(
                FieldError(
                    f"{spath}.fileSystemPath.path",
                    "file path where metrics file exists is required (kind File, absolute path)",
                )
            )
        fmt = fsp.format if fsp else None
        if fmt not in (FileFormat.TEXT, FileFormat.JSON):
            add(
                FieldError(
                    f"{spath}.fileSystemPath.format",
                    f"format of metrics file is required for metrics collector: TEXT or JSON, got {fmt!r}",
                )
            )
        if fmt == FileFormat.JSON and source is not None and source.filter is not None:
            add(FieldError(f"{spath}.filter", "filter must be nil when format of metrics file is json"))
    elif kind == CollectorKind.TENSORFLOW_EVENT:
        if fsp is None or fsp.kind != FileSystemKind.DIRECTORY or not posixpath.isabs(fsp.path or ""):
            add(
                FieldError(
                    spath,
                    "directory path where tensorflow event files exist is required by "
                    ".spec.metricsCollectorSpec.source.fileSystemPath.path",
                )
            )
        if fsp is not None and fsp.format:
            add(FieldError(f"{spath}.fileSystemPath.format", f"must be empty, got {fsp.format!r}"))
    elif kind == CollectorKind.PROMETHEUS_METRIC:
        http_get = (source.http_get if source else None) or {}
        port = http_get.get("port")
        try:
            port_ok = int(str(port)) > 0
        except ValueError:
            port_ok = False
        if not port_ok:
            add(
                FieldError(
                    f"{spath}.httpGet.port",
                    f"must be a positive integer value for metrics collector kind: {kind}, got {port!r}",
                )
            )
        if not str(http_get.get("path") or "").startswith("/"):
            add(
                FieldError(
                    f"{spath}.httpGet.path",
                    f"path is invalid for metrics collector kind: {kind}: must start with '/'",
                )
            )
    elif kind == CollectorKind.CUSTOM:
        if mc.collector and mc.collector.custom_collector is None:
            add(
                FieldError(f"{base}.collector.customCollector", f"metrics collector kind: {kind} is required")
            )
        if fsp is not None and (
            not posixpath.isabs(fsp.path or "")
            or fsp.kind not in (FileSystemKind.DIRECTORY, FileSystemKind.FILE)
        ):
            add(
                FieldError(
                    f"{spath}.fileSystemPath",
                    ".spec.metricsCollectorSpec.source is invalid: needs an absolute path and kind "
                    "Directory or File",
                )
            )
    else:
        valid = ", ".join(k.value for k in CollectorKind)
        add(
            FieldError(f"{base}.collector.kind", f"invalid metrics collector kind: {kind!r} (valid: {valid})")
        )
    # Every kind's filters are checked, StdOut included (Katib skips StdOut's).
    for j, flt in enumerate((source.filter.metrics_format if source and source.filter else None) or []):
        fpath = f"{spath}.filter.metricsFormat[{j}]"
        try:
            compile_filter(flt)
        except FilterError as exc:
            add(FieldError(fpath, str(exc)))
