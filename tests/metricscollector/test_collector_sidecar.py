"""The collector as a subprocess beside a real training process, reporting to a real db-manager."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import grpc
import pymysql
import pytest
from tensorboardX import SummaryWriter


def trial() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}"


def start_training(
    writer: Path, log: Path, count: int, delay: float, fmt: str = "text"
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(writer), str(count), str(delay), fmt], stdout=out)


def stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, proc.startup_log + err  # type: ignore[attr-defined]


def test_reports_while_running_and_flushes_on_sigterm(
    tmp_path: Path, writer_script: Path, db_manager: Any, collector: Any, observations: Any, wait_until: Any
) -> None:
    name, log = trial(), tmp_path / "metrics.log"
    address = f"127.0.0.1:{db_manager.port}"
    training = start_training(writer_script, log, 40, 0.05)
    proc = collector(
        "-t", name, "-m", "accuracy;loss", "-o-type", "maximize", "-s-db", address,
        "-path", str(log), "-format", "TEXT", "-p", "100ms",
    )  # fmt: skip
    wait_until(lambda: len(observations(address, name, "loss")) >= 5)
    assert training.poll() is None, "metrics must arrive while the trial runs"
    training.wait(60)
    with log.open("a") as stream:
        stream.write("epoch 40: loss=40 accuracy=0.0040")  # last line without newline
    code, out, err = stop(proc)
    assert code == 0, err
    loss = observations(address, name, "loss")
    assert [value for _, _, value in loss] == [str(i) for i in range(41)]
    assert loss[0][0] == "0001-01-01T00:00:00.000001Z"
    assert len(observations(address, name, "accuracy")) == 41
    assert "epoch 3: loss=3 accuracy=0.0003" in out.splitlines()


def test_objective_never_seen_stores_unavailable(
    tmp_path: Path, writer_script: Path, db_manager: Any, collector: Any, observations: Any
) -> None:
    name, log = trial(), tmp_path / "metrics.log"
    address = f"127.0.0.1:{db_manager.port}"
    start_training(writer_script, log, 5, 0.0, "none").wait(30)
    proc = collector("-t", name, "-m", "accuracy", "-s-db", address, "-path", str(log), "-format", "TEXT")
    code, _, err = stop(proc)
    assert code == 0, err
    assert observations(address, name) == [("0001-01-01T00:00:00Z", "accuracy", "unavailable")]


def test_json_numbers_and_strings_and_malformed_lines_counted(
    tmp_path: Path, writer_script: Path, db_manager: Any, collector: Any, observations: Any, wait_until: Any
) -> None:
    name, log = trial(), tmp_path / "metrics.json"
    address = f"127.0.0.1:{db_manager.port}"
    start_training(writer_script, log, 30, 0.0, "json").wait(30)
    proc = collector(
        "-t", name, "-m", "accuracy;loss", "-s-db", address, "-path", str(log), "-format", "JSON"
    )
    wait_until(lambda: len(observations(address, name, "loss")) == 30)
    code, _, err = stop(proc)
    assert code == 0, err
    assert [v for _, _, v in observations(address, name, "loss")] == [str(i) for i in range(30)]
    assert [v for _, _, v in observations(address, name, "accuracy")][:3] == ["0.0", "0.001", "0.002"]
    assert "skipped 3 malformed lines" in err


def test_tensorflow_event_directory(
    tmp_path: Path, db_manager: Any, collector: Any, observations: Any
) -> None:
    name, folder = trial(), tmp_path / "tb"
    writer = SummaryWriter(str(folder / "train"))
    for step in range(4):
        writer.add_scalar("accuracy", step / 4, step, walltime=1_700_000_000 + step)
    writer.close()
    address = f"127.0.0.1:{db_manager.port}"
    proc = collector("-t", name, "-m", "accuracy;train/loss", "-s-db", address, "-path", str(folder))
    code, _, err = stop(proc)
    assert code == 0, err
    assert observations(address, name) == [
        ("2023-11-14T22:13:20Z", "accuracy", "0.0"),
        ("2023-11-14T22:13:21Z", "accuracy", "0.25"),
        ("2023-11-14T22:13:22Z", "accuracy", "0.5"),
        ("2023-11-14T22:13:23Z", "accuracy", "0.75"),
    ]


def kill_connections(database: str) -> int:
    admin = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    killed = 0
    with admin.cursor() as cursor:
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (database,))
        for (conn_id,) in cursor.fetchall():
            try:
                cursor.execute(f"KILL CONNECTION {int(conn_id)}")
                killed += 1
            except pymysql.err.OperationalError:
                pass
    admin.close()
    return killed


def run_through_outages(
    tmp_path: Path,
    writer_script: Path,
    dbm: Any,
    collector: Any,
    observations: Any,
    wait_until: Any,
    outage: Any,
) -> None:
    name, log = trial(), tmp_path / "metrics.log"

    def serving() -> bool:
        # db-manager answers UNAVAILABLE until its first database connection: on a loaded machine
        # that is a while after its port opens
        assert dbm.proc.poll() is None, "db-manager exited"
        try:
            return bool(observations(dbm.address, "warm-up") == [])
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                return False
            raise

    wait_until(serving)
    training = start_training(writer_script, log, 150, 0.02)
    proc = collector(
        "-t", name, "-m", "loss;accuracy", "-s-db", dbm.address, "-path", str(log),
        "-format", "TEXT", "-p", "50ms",
    )  # fmt: skip
    wait_until(lambda: len(observations(dbm.address, name, "loss")) >= 10)
    outage()
    training.wait(60)
    code, _, err = stop(proc)
    assert code == 0, err
    assert "retry in" in err, "the outage must have been noticed by the collector"
    values = [v for _, _, v in observations(dbm.address, name, "loss")]
    assert values == [str(i) for i in range(150)], "every line exactly once"
    assert len(observations(dbm.address, name, "accuracy")) == 150


def test_db_manager_killed_and_restarted_during_run_loses_and_duplicates_nothing(
    tmp_path: Path,
    writer_script: Path,
    sqlite_url: str,
    db_manager_process: Any,
    collector: Any,
    observations: Any,
    wait_until: Any,
) -> None:
    dbm = db_manager_process(sqlite_url)

    def outage() -> None:
        dbm.kill()
        folder = Path(sqlite_url.removeprefix("sqlite:///")).parent
        folder.rename(tmp_path / "away")  # the database goes away too: start-up must wait for it
        dbm.start()
        wait_until(lambda: "not ready" in (tmp_path / "db-manager.log").read_text())
        (tmp_path / "away").rename(folder)

    run_through_outages(tmp_path, writer_script, dbm, collector, observations, wait_until, outage)


@pytest.mark.db
def test_mariadb_connections_killed_during_run_loses_and_duplicates_nothing(
    tmp_path: Path,
    writer_script: Path,
    mariadb_url: str,
    db_manager_process: Any,
    collector: Any,
    observations: Any,
    wait_until: Any,
) -> None:
    dbm = db_manager_process(mariadb_url)
    database = mariadb_url.rsplit("/", 1)[1].split("?")[0]

    def outage() -> None:
        assert kill_connections(database) >= 1
        dbm.kill()
        dbm.start()
        kill_connections(database)

    run_through_outages(tmp_path, writer_script, dbm, collector, observations, wait_until, outage)
