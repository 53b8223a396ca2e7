"""Online backups: SQLite through its backup API, PostgreSQL through pg_dump's custom format."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, Engine


class BackupNotSupported(RuntimeError):
    """Raised for databases that cannot be backed up from here."""


class BackupFailed(RuntimeError):
    """pg_dump could not write the backup (its own message says why)."""


def backup(engine: Engine, target: Path) -> Path:
    """Back up the app's database to `target` (a new file) while the app keeps running."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        return backup_sqlite(engine, target)
    if engine.dialect.name == "postgresql":
        return backup_postgres(engine.url, target)
    raise BackupNotSupported(f"No backup method for {engine.dialect.name}.")


# Rows a backup leaves out: the workers' heartbeats say which worker was alive on *this*
# database a moment ago, so a restored copy would report a worker it has never had
# ("worker": "ok" in /readyz) until they aged out. A restored database starts with none, and
# says so ("no heartbeat yet") until a worker pointed at it beats.
NOT_BACKED_UP = ("worker_heartbeat",)


def _private_file(path: Path) -> None:
    """Create `path` empty and readable by its owner alone, before anything is written into
    it: a backup holds every patient's record, and a file made under the usual umask is
    readable by every local user while the copy is being written."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def backup_sqlite(engine: Engine, target: Path) -> Path:
    """Copy the live SQLite database to `target` with SQLite's backup API (safe while in use)."""
    if engine.dialect.name != "sqlite":
        raise BackupNotSupported("This database is not SQLite.")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name.")
    _private_file(target)  # an empty file is a new database to SQLite
    source = sqlite3.connect(engine.url.database)
    try:
        destination = sqlite3.connect(target)
        with destination:
            source.backup(destination)
        with destination:
            for table in NOT_BACKED_UP:
                if destination.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).fetchone():
                    destination.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        destination.close()
    finally:
        source.close()
    return target


def libpq_address(url: URL) -> tuple[str, dict[str, str]]:
    """A connection URI for PostgreSQL's own tools, and the environment carrying the
    password (never on the command line, where `ps` would show it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def backup_postgres(url: URL, target: Path) -> Path:
    """pg_dump in the custom format: one consistent snapshot, restorable with pg_restore."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupNotSupported("pg_dump is not installed (apt-get install postgresql-client).")
    address, env = libpq_address(url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a run that was killed
    _private_file(partial)  # pg_dump writes into it, keeping its mode
    result = subprocess.run(  # noqa: S603 - fixed program, arguments not from a request
        [
            pg_dump,
            "--format=custom",
            "--no-password",
            *(f"--exclude-table-data={table}" for table in NOT_BACKED_UP),
            f"--file={partial}",
            f"--dbname={address}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()}")
    partial.rename(target)
    return target
