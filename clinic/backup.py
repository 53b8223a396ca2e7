"""Online backups of the SQLite database (PostgreSQL uses pg_dump, see the README)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine


class BackupNotSupported(RuntimeError):
    """Raised for databases that are backed up with their own tools."""


def backup_sqlite(engine: Engine, target: Path) -> Path:
    """Copy the live SQLite database to `target` with SQLite's backup API (safe while in use)."""
    if engine.dialect.name != "sqlite":
        raise BackupNotSupported(
            "This database is PostgreSQL: back it up with pg_dump (see the README)."
        )
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name.")
    source = sqlite3.connect(engine.url.database)
    try:
        destination = sqlite3.connect(target)
        with destination:
            source.backup(destination)
        destination.close()
    finally:
        source.close()
    return target
