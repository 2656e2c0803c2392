"""Bring the database schema to the newest Alembic revision shipped in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select

from katib_py.dbmanager.schema import observation_logs

VERSION_TABLE = "katib_py_alembic_version"
SCRIPT_LOCATION = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return cfg


def upgrade(engine: Engine) -> None:
    """Create the table and index if missing, and apply every later revision."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def check_table(engine: Engine) -> None:
    """What Katib does with SKIP_DB_INITIALIZATION: only check the table answers."""
    with engine.connect() as connection:
        connection.execute(select(observation_logs.c.id).limit(1)).all()
