"""Where the database is: Katib's environment variables, or one SQLAlchemy URL.

Precedence: `--db-url`, then `KATIB_DB_URL`, then Katib's `DB_NAME` (mysql | postgres) with its
`KATIB_MYSQL_*` / `KATIB_POSTGRESQL_*` variables, and when none of these is set, SQLite in the
current directory (`sqlite:///katib.db`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

DEFAULT_SQLITE_URL = "sqlite:///katib.db"


@dataclass(frozen=True)
class DBSettings:
    """The database URL and whether to skip creating/migrating the schema."""

    url: URL
    skip_initialization: bool = False


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "t", "true", "y", "yes", "on"}


def url_from_env(env: Mapping[str, str]) -> URL:
    """The SQLAlchemy URL Katib's environment describes (see module docstring for precedence)."""
    if env.get("KATIB_DB_URL"):
        return make_url(env["KATIB_DB_URL"])
    db_name = env.get("DB_NAME", "")
    if db_name == "mysql":
        return URL.create(
            "mysql+pymysql",
            username=env.get("DB_USER") or "root",
            password=env.get("DB_PASSWORD") or None,
            host=env.get("KATIB_MYSQL_DB_HOST") or "katib-mysql",
            port=int(env.get("KATIB_MYSQL_DB_PORT") or 3306),
            database=env.get("KATIB_MYSQL_DB_DATABASE") or "katib",
            query={"charset": "utf8mb4"},
        )
    if db_name == "postgres":
        return URL.create(
            "postgresql+psycopg",
            username=env.get("DB_USER") or "katib",
            password=env.get("DB_PASSWORD") or None,
            host=env.get("KATIB_POSTGRESQL_DB_HOST") or "katib-postgres",
            port=int(env.get("KATIB_POSTGRESQL_DB_PORT") or 5432),
            database=env.get("KATIB_POSTGRESQL_DB_DATABASE") or "katib",
            query={"sslmode": env.get("KATIB_POSTGRESQL_SSL_MODE") or "disable"},
        )
    if db_name:
        raise ValueError(f"DB_NAME must be 'mysql' or 'postgres', not {db_name!r}")
    return make_url(DEFAULT_SQLITE_URL)


def load(env: Mapping[str, str] | None = None, db_url: str | None = None) -> DBSettings:
    """Settings from the environment, with an explicit URL (the --db-url flag) winning."""
    env = os.environ if env is None else env
    url = make_url(db_url) if db_url else url_from_env(env)
    return DBSettings(url=url, skip_initialization=_truthy(env.get("SKIP_DB_INITIALIZATION")))
