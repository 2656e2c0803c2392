"""db-manager: Katib's DBManager gRPC service on MySQL/MariaDB, PostgreSQL or SQLite.

Differences from Katib, on purpose:
- The `observation_logs` table (Katib's columns) gets an index on (trial_name, metric_name, time);
  the schema is created and migrated with the Alembic revisions shipped in `migrations/`.
- Start-up never crash-loops: gRPC listens at once with health NOT_SERVING, and the database is
  retried with exponential backoff until it answers. Health is SERVING only while `SELECT 1` works.
- ReportObservationLog with only empty timestamps is a no-op (Katib returns an SQL error).
- ReportObservationLog is safe to retry: rows the trial already holds with the same metric name,
  time and value are not stored again, also when copies of a report arrive at the same moment
  (a per-trial lock, see `store.py`). Two genuinely different reports of one metric with the same
  value at the same microsecond are therefore stored once.
- A metric log no backend can hold is refused by name (INVALID_ARGUMENT) and the others of its
  request are stored, so every backend stores the same rows (see `service.py`); Katib's MySQL
  failed the whole request.
- Configuration: `--db-url`, `KATIB_DB_URL` (any SQLAlchemy URL), or Katib's `DB_NAME` variables;
  without any of them, `sqlite:///katib.db` in the working directory.
"""
