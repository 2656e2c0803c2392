"""Katib's environment variables and KATIB_DB_URL to an SQLAlchemy URL."""

from __future__ import annotations

import pytest

from katib_py.dbmanager.settings import load


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "sqlite:///katib.db"),
        ({"KATIB_DB_URL": "sqlite:////data/k.db", "DB_NAME": "mysql"}, "sqlite:////data/k.db"),
        ({"DB_NAME": "mysql"}, "mysql+pymysql://root@katib-mysql:3306/katib?charset=utf8mb4"),
        (
            {
                "DB_NAME": "mysql",
                "DB_USER": "u",
                "DB_PASSWORD": "p@ss",
                "KATIB_MYSQL_DB_HOST": "db",
                "KATIB_MYSQL_DB_PORT": "3307",
                "KATIB_MYSQL_DB_DATABASE": "kk",
            },
            "mysql+pymysql://u:p%40ss@db:3307/kk?charset=utf8mb4",
        ),
        ({"DB_NAME": "postgres"}, "postgresql+psycopg://katib@katib-postgres:5432/katib?sslmode=disable"),
        (
            {
                "DB_NAME": "postgres",
                "KATIB_POSTGRESQL_DB_HOST": "pg",
                "KATIB_POSTGRESQL_DB_PORT": "6543",
                "KATIB_POSTGRESQL_DB_DATABASE": "kdb",
                "KATIB_POSTGRESQL_SSL_MODE": "require",
            },
            "postgresql+psycopg://katib@pg:6543/kdb?sslmode=require",
        ),
    ],
)
def test_url_from_env(env: dict[str, str], expected: str) -> None:
    assert load(env).url.render_as_string(hide_password=False) == expected


def test_flag_wins_and_skip_initialization() -> None:
    settings = load({"DB_NAME": "mysql", "SKIP_DB_INITIALIZATION": "true"}, db_url="sqlite://")
    assert settings.url.render_as_string() == "sqlite://"
    assert settings.skip_initialization
    assert not load({}).skip_initialization


def test_unknown_db_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="DB_NAME"):
        load({"DB_NAME": "oracle"})
