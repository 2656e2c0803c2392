"""The `observation_logs` table: Katib's columns, plus the index Katib lacks.

Katib has only the primary key, so every GetObservationLog scans the whole table. The index on
(trial_name, metric_name, time) serves GetObservationLog, DeleteObservationLog (prefix
trial_name) and the duplicate check of ReportObservationLog.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql, postgresql

TABLE_NAME = "observation_logs"
INDEX_NAME = "ix_observation_logs_trial_metric_time"

metadata = MetaData()

# DATETIME(6) on MySQL/MariaDB and TIMESTAMP(6) on PostgreSQL, as Katib declares them.
time_type = (
    DateTime()
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
)

observation_logs = Table(
    TABLE_NAME,
    metadata,
    Column("trial_name", String(255), nullable=False),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", time_type),
    Column("metric_name", String(255), nullable=False),
    Column("value", Text, nullable=False),
)

trial_metric_time_index = Index(
    INDEX_NAME, observation_logs.c.trial_name, observation_logs.c.metric_name, observation_logs.c.time
)
