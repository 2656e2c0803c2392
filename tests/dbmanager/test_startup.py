"""Start-up waits for the database (no crash loop), and adopts a table Katib created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pymysql
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2

from katib_py.dbmanager.schema import INDEX_NAME
from katib_py.proto import api_pb2

KATIB_MYSQL_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS observation_logs (trial_name VARCHAR(255) NOT NULL, "
    "id INT AUTO_INCREMENT PRIMARY KEY, time DATETIME(6), "
    "metric_name VARCHAR(255) NOT NULL, value TEXT NOT NULL)"
)


def health(dbm: Any) -> int:
    return int(dbm.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status)


def test_waits_for_a_missing_database_then_serves(
    tmp_path: Path, db_manager_factory: Any, wait_for: Any
) -> None:
    folder = tmp_path / "not-yet"
    dbm = db_manager_factory(f"sqlite:///{folder / 'katib.db'}", wait_ready=False)
    assert health(dbm) == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as err:
        dbm.stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name="t"), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    folder.mkdir()
    assert dbm.server.ready.wait(60)
    assert health(dbm) == health_pb2.HealthCheckResponse.SERVING


def test_health_not_serving_while_database_is_gone(tmp_path: Path, db_manager_factory: Any) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    dbm = db_manager_factory(f"sqlite:///{folder / 'katib.db'}")
    assert health(dbm) == health_pb2.HealthCheckResponse.SERVING
    folder.rename(tmp_path / "moved")
    (tmp_path / "db").write_text("a file where the database folder was")
    dbm.server.engine.dispose()
    assert health(dbm) == health_pb2.HealthCheckResponse.NOT_SERVING
    (tmp_path / "db").unlink()
    (tmp_path / "moved").rename(folder)
    assert health(dbm) == health_pb2.HealthCheckResponse.SERVING


def test_unreachable_mariadb_is_retried_not_fatal(db_manager_factory: Any) -> None:
    dbm = db_manager_factory("mysql+pymysql://root@127.0.0.1:1/test", wait_ready=False)
    assert not dbm.server.ready.wait(1.5)
    assert dbm.server._startup.is_alive()
    assert health(dbm) == health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.db
def test_katib_created_table_is_kept_and_indexed(mariadb_url: str, db_manager_factory: Any) -> None:
    database = mariadb_url.rsplit("/", 1)[1].split("?")[0]
    conn = pymysql.connect(host="127.0.0.1", user="root", database=database, autocommit=True)
    conn.cursor().execute(KATIB_MYSQL_SCHEMA)
    conn.cursor().execute(
        "INSERT INTO observation_logs (trial_name, time, metric_name, value) "
        "VALUES ('old', '2024-01-01 00:00:00', 'loss', '0.25')"
    )
    conn.close()
    dbm = db_manager_factory(mariadb_url)
    reply = dbm.stub.GetObservationLog(api_pb2.GetObservationLogRequest(trial_name="old"), timeout=10)
    assert [(m.time_stamp, m.metric.value) for m in reply.observation_log.metric_logs] == [
        ("2024-01-01T00:00:00Z", "0.25")
    ]
    engine = sa.create_engine(mariadb_url)
    assert INDEX_NAME in {ix["name"] for ix in sa.inspect(engine).get_indexes("observation_logs")}
    engine.dispose()
