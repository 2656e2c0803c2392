"""db-manager benchmark.

    .venv/bin/python -m bench.dbmanager_bench [--rows 1000000,10000000] [--queries 50]

1. ReportObservationLog rows/s over gRPC into MariaDB, PostgreSQL and SQLite, batches of 1, 100,
   10,000, against a baseline of plain SQL executemany INSERTs into Katib's schema (no gRPC, no
   per-trial lock, no duplicate check) on the same database, each request followed by the
   baseline's insert of the same rows.
2. GetObservationLog p50/p99 for one trial's metric (about 100 rows) with N rows in the table:
   our schema (with the (trial, metric, time) index) against Katib's exact schema (no index),
   same database server, same db-manager code, both over gRPC.
(The collector's read throughput is in bench/collector_bench.py.)

Uses private databases (MariaDB `katibpy_bench_*`, PostgreSQL schemas in db `test`, SQLite files),
dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import grpc
import psycopg
import pymysql
import sqlalchemy as sa

from katib_py.dbmanager.server import DBManagerServer
from katib_py.dbmanager.settings import DBSettings, load
from katib_py.kube import rfc3339
from katib_py.proto import api_pb2, api_pb2_grpc

KATIB_DDL = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS observation_logs (trial_name VARCHAR(255) NOT NULL, "
        "id INTEGER PRIMARY KEY AUTOINCREMENT, time DATETIME, metric_name VARCHAR(255) NOT NULL, "
        "value TEXT NOT NULL)"
    ),
    "mariadb": (
        "CREATE TABLE IF NOT EXISTS observation_logs (trial_name VARCHAR(255) NOT NULL, "
        "id INT AUTO_INCREMENT PRIMARY KEY, time DATETIME(6), metric_name VARCHAR(255) NOT NULL, "
        "value TEXT NOT NULL)"
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS observation_logs (trial_name VARCHAR(255) NOT NULL, "
        "id serial PRIMARY KEY, time TIMESTAMP(6), metric_name VARCHAR(255) NOT NULL, value TEXT NOT NULL)"
    ),
}
ROWS_PER_TRIAL = 200  # two metrics, 100 values each


@contextmanager
def private_database(backend: str) -> Iterator[str]:
    name = f"katibpy_bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/{name}.db"
        return
    if backend == "mariadb":
        admin = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
        admin.cursor().execute(f"CREATE DATABASE {name}")
        try:
            yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        finally:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
            admin.close()
    else:
        pg = psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True)
        pg.execute(f"CREATE SCHEMA {name}")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{name}"
        finally:
            pg.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            pg.close()


@contextmanager
def db_manager(url: str, skip_init: bool = False) -> Iterator[api_pb2_grpc.DBManagerStub]:
    server = DBManagerServer(DBSettings(load(env={}, db_url=url).url, skip_init), "127.0.0.1:0")
    server.start()
    assert server.ready.wait(60), "database not reachable"
    channel = grpc.insecure_channel(
        f"127.0.0.1:{server.port}", options=[("grpc.max_receive_message_length", 2**31 - 1)]
    )
    try:
        yield api_pb2_grpc.DBManagerStub(channel)
    finally:
        channel.close()
        server.stop(grace=1)


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


# ---------------------------------------------------------------- 1. ReportObservationLog


def metric_logs(start: int, count: int) -> list[api_pb2.MetricLog]:
    base = datetime(2024, 1, 1)
    return [
        api_pb2.MetricLog(
            time_stamp=rfc3339.format(base + timedelta(microseconds=i)),
            metric=api_pb2.Metric(name="loss", value=f"0.{i:08d}"),
        )
        for i in range(start, start + count)
    ]


def bench_report(backend: str) -> list[list[str]]:
    """Each request of ours followed by the same rows' plain INSERT, so that load on the shared
    machine falls on both alike; each side's time summed apart."""
    plan = [(1, 1500), (100, 100), (10_000, 5)]
    out = []
    with private_database(backend) as url, db_manager(url) as stub:
        baseline_engine = sa.create_engine(url)
        with baseline_engine.begin() as conn:
            conn.execute(sa.text(KATIB_DDL[backend].replace("observation_logs", "katib_logs")))
        insert = sa.text(
            "INSERT INTO katib_logs (trial_name, time, metric_name, value) VALUES (:t, :time, :m, :v)"
        )
        for batch, requests in plan:
            trial = f"report-{batch}"
            batches = [metric_logs(i * batch, batch) for i in range(requests)]
            ours_seconds = base_seconds = 0.0
            for logs in batches:
                request = api_pb2.ReportObservationLogRequest(
                    trial_name=trial, observation_log=api_pb2.ObservationLog(metric_logs=logs)
                )
                rows = [
                    {"t": trial, "time": rfc3339.parse(m.time_stamp), "m": m.metric.name, "v": m.metric.value}
                    for m in logs
                ]
                started = time.perf_counter()
                stub.ReportObservationLog(request, timeout=300)
                middle = time.perf_counter()
                with baseline_engine.begin() as conn:
                    conn.execute(insert, rows)
                ours_seconds += middle - started
                base_seconds += time.perf_counter() - middle
            ours, base = batch * requests / ours_seconds, batch * requests / base_seconds
            out.append(
                [
                    backend,
                    f"{batch:,}",
                    f"{batch * requests:,}",
                    f"{ours:,.0f}",
                    f"{base:,.0f}",
                    f"{ours / base:.2f}",
                ]
            )
        baseline_engine.dispose()
    return out


# ---------------------------------------------------------------- 2. GetObservationLog


def load_rows(backend: str, url: str, table_name: str, start: int, stop: int) -> None:
    """Bulk-load rows start..stop-1 with the database's own row generator."""
    engine = sa.create_engine(url)
    chunk = 1_000_000
    with engine.begin() as conn:
        for low in range(start, stop, chunk):
            high = min(stop, low + chunk) - 1
            if backend == "mariadb":
                sql = (
                    f"INSERT INTO {table_name} (trial_name, time, metric_name, value) "
                    f"SELECT CONCAT('trial-', seq DIV {ROWS_PER_TRIAL}), "
                    "TIMESTAMPADD(MICROSECOND, seq * 1000, '2024-01-01'), "
                    "IF(seq MOD 2 = 0, 'loss', 'accuracy'), CAST(RAND(seq) AS CHAR) "
                    f"FROM seq_{low}_to_{high}"
                )
            else:
                sql = (
                    f"INSERT INTO {table_name} (trial_name, time, metric_name, value) "
                    f"SELECT 'trial-' || (g / {ROWS_PER_TRIAL}), "
                    "timestamp '2024-01-01' + g * interval '1 millisecond', "
                    "CASE WHEN g % 2 = 0 THEN 'loss' ELSE 'accuracy' END, random()::text "
                    f"FROM generate_series({low}, {high}) g"
                )
            conn.execute(sa.text(sql))
        if backend == "postgresql":
            conn.execute(sa.text(f"ANALYZE {table_name}"))
    engine.dispose()


def latencies(stub: api_pb2_grpc.DBManagerStub, trials: int, queries: int) -> tuple[float, float, int]:
    times = []
    rows = 0
    step = max(1, trials // (queries + 1))
    for q in range(queries):
        request = api_pb2.GetObservationLogRequest(trial_name=f"trial-{(q + 1) * step}", metric_name="loss")
        started = time.perf_counter()
        reply = stub.GetObservationLog(request, timeout=600)
        times.append(time.perf_counter() - started)
        rows = len(reply.observation_log.metric_logs)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times) * 1000, p99 * 1000, rows


def bench_get(backend: str, sizes: list[int], queries: int, katib_queries: int) -> list[list[str]]:
    out = []
    with private_database(backend) as ours_url, private_database(backend) as katib_url:
        engine = sa.create_engine(katib_url)
        with engine.begin() as conn:
            conn.execute(sa.text(KATIB_DDL[backend]))
        engine.dispose()
        with db_manager(ours_url) as ours, db_manager(katib_url, skip_init=True) as katib:
            loaded = 0
            for size in sizes:
                started = time.perf_counter()
                load_rows(backend, ours_url, "observation_logs", loaded, size)
                load_rows(backend, katib_url, "observation_logs", loaded, size)
                load_seconds = time.perf_counter() - started
                loaded = size
                trials = size // ROWS_PER_TRIAL
                o50, o99, orows = latencies(ours, trials, queries)
                k50, k99, krows = latencies(katib, trials, katib_queries)
                assert orows == krows, (orows, krows)
                out.append(
                    [backend, f"{size:,}", f"{orows}", f"{o50:.2f}", f"{o99:.2f}", f"{k50:.1f}", f"{k99:.1f}",
                     f"{k50 / o50:,.0f}x", f"{load_seconds:.0f}s"]
                )  # fmt: skip
                print(
                    f"  {backend} {size:,} rows: ours p50 {o50:.2f} ms, Katib schema p50 {k50:.1f} ms",
                    flush=True,
                )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", default="1000000,10000000", help="table sizes for GetObservationLog, comma separated"
    )
    parser.add_argument("--queries", type=int, default=50, help="GetObservationLog calls per size (ours)")
    parser.add_argument(
        "--katib-queries", type=int, default=10, help="calls per size on Katib's schema (slow)"
    )
    parser.add_argument("--skip", default="", help="comma separated parts to skip: report,get")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    sizes = [int(s) for s in args.rows.split(",") if s]
    if "report" not in skip:
        rows = bench_report("mariadb") + bench_report("postgresql") + bench_report("sqlite")
        table(
            "ReportObservationLog over gRPC (ours: per-trial lock, duplicate check, insert) "
            "vs plain SQL executemany (baseline)",
            ["db", "batch", "rows", "ours rows/s", "baseline rows/s", "ours/baseline"],
            rows,
        )
    if "get" not in skip:
        rows = []
        for backend in ("mariadb", "postgresql"):
            rows += bench_get(backend, sizes, args.queries, args.katib_queries)
        table(
            "GetObservationLog(trial, metric) over gRPC: our schema (index) vs Katib's schema (no index)",
            ["db", "table rows", "rows/reply", "ours p50 ms", "ours p99 ms", "katib p50 ms", "katib p99 ms",
             "speed-up p50", "load time"],
            rows,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
