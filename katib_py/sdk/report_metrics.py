"""Push metrics from training code (Katib's `kubeflow.katib.report_metrics`, same signature).

One difference: the timestamp keeps microseconds (Katib's SDK sends whole seconds), so two
reports of the same value within one second stay two rows (db-manager treats identical
(metric, time, value) rows of a trial as a retried report).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import grpc

from katib_py.kube import rfc3339
from katib_py.proto import api_pb2, api_pb2_grpc


def report_metrics(
    metrics: dict[str, float | int | str],
    db_manager_address: str = "katib-db-manager.kubeflow:6789",
    timeout: int = 120,
) -> None:
    """Store `metrics` for the trial named by `KATIB_TRIAL_NAME`.

    Raises ValueError when the variable is missing or a value is not a number, and
    RuntimeError when db-manager cannot be reached within `timeout` seconds.
    """
    trial_name = os.getenv("KATIB_TRIAL_NAME")
    if trial_name is None:
        raise ValueError("The Trial name is not passed to environment variables")
    for name, value in metrics.items():
        try:
            float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"The Trial metric {name} with value {value!r} can't be converted to float"
            ) from None
    stamp = rfc3339.format(datetime.now(UTC))
    request = api_pb2.ReportObservationLogRequest(
        trial_name=trial_name,
        observation_log=api_pb2.ObservationLog(
            metric_logs=[
                api_pb2.MetricLog(time_stamp=stamp, metric=api_pb2.Metric(name=name, value=str(value)))
                for name, value in metrics.items()
            ]
        ),
    )
    with grpc.insecure_channel(db_manager_address) as channel:
        stub = api_pb2_grpc.DBManagerStub(channel)
        try:
            stub.ReportObservationLog(request, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise RuntimeError(
                f"Unable to report metrics of the Trial {trial_name} to {db_manager_address}: {exc}"
            ) from exc
