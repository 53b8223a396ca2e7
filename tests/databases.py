"""Test databases: a fresh SQLite file, and PostgreSQL when TEST_DATABASE_URL names one."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from config import INSTANCE_DIR, _database_url

PG_HINT = (
    "PostgreSQL runs are skipped: set TEST_DATABASE_URL=postgresql://USER@HOST:5432/DBNAME "
    "(an empty database the tests may wipe) to run the suite on PostgreSQL too."
)


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return _database_url(url) if url else None


def sqlite_url(name: str) -> str:
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = Path(INSTANCE_DIR) / f"{name}-{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def sibling_postgres_url(base: str, suffix: str) -> str:
    """A second PostgreSQL database beside the test one (created empty, dropped first)."""
    url = make_url(base)
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def wipe_postgres(url: str) -> None:
    """Empty the database's public schema so that migrations start from nothing."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_url(kind: str, name: str) -> str:
    """An empty database of this kind for one purpose (`name`)."""
    if kind == "sqlite":
        return sqlite_url(name)
    base = postgres_url()
    assert base, PG_HINT
    if name == "main":
        wipe_postgres(base)
        return base
    return sibling_postgres_url(base, name)
