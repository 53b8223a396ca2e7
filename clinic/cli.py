"""Command-line tools: `flask users create`, `flask demo load|logins`, `flask backup`,
`flask worker`, `flask messages plan|send`, `flask registry rebuild`, `flask serve-dev` (what
`make run` runs)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo, pass_script_info, with_appcontext

from clinic.auth import services as accounts
from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
demo_cli = AppGroup("demo", help="Demo data for development (refused in production).")


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in e-mail address.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "full_name", default=None, help="Full name (defaults to the e-mail).")
@click.option("--patient", "patient_mrn", default=None, help="MRN to link a patient account to.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(
    email: str, role: str, full_name: str | None, patient_mrn: str | None, password_stdin: bool
) -> None:
    """Create an account; the password is prompted for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            email=email,
            full_name=full_name or email,
            role=Role(role),
            password=password,
            patient_mrn=patient_mrn,
            by=None,
        )
    except Refused as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} account {user.email} (id {user.id}).")


def _refuse_outside_development() -> None:
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise click.ClickException("Demo data is refused in this configuration (production).")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has accounts.")
def load_demo_command(if_empty: bool) -> None:
    """Load demo accounts and patients."""
    _refuse_outside_development()
    _load_demo(if_empty)


def _load_demo(if_empty: bool) -> None:
    from clinic.demo import database_is_empty, load_demo_data

    if not database_is_empty():
        if if_empty:
            click.echo("The database already has data; demo data not loaded.")
            return
        raise click.ClickException("The database is not empty; demo data goes into an empty one.")
    load_demo_data()
    db.session.commit()
    click.echo("Demo data loaded.")


@click.command("serve-dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@pass_script_info
def serve_dev_command(info: ScriptInfo, host: str, port: int) -> None:
    """`make run` in one process: apply the migrations, load the demo into an empty database,
    print the demo sign-ins and serve with Flask's development server (as `flask run`).
    Development only; separate commands each imported the whole app again (~4 s each)."""
    from flask.cli import get_debug_flag, show_server_banner
    from werkzeug.serving import is_running_from_reloader, run_simple

    app = info.load_app()
    debug = get_debug_flag()
    if not is_running_from_reloader():  # the reloader's child serves; the parent set up
        with app.app_context():
            _refuse_outside_development()
            _migrate_keeping_logging()
            _load_demo(if_empty=True)
            from clinic.demo import demo_logins_table

            click.echo("\nDemo sign-ins (development only):")
            click.echo(demo_logins_table())
            db.session.remove()
        click.echo(f"\nServing on http://{host}:{port}  (Ctrl+C stops)")
    show_server_banner(debug, info.app_import_path)
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


def _migrate_keeping_logging() -> None:
    """`flask db upgrade`; Alembic's env.py configures logging from alembic.ini, which would
    otherwise also quieten the server's own log lines afterwards."""
    import logging

    from flask_migrate import upgrade

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        upgrade()
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


@demo_cli.command("generate")
@click.option("--patients", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--journeys", type=click.IntRange(0), default=None, help="Default: patients / 5.")
@click.option("--seed", type=int, default=7, show_default=True)
def demo_generate_command(patients: int, journeys: int | None, seed: int) -> None:
    """Add a clinic's years of history in bulk (for the benchmark): patients, journeys in every
    state with their records, a year of appointments and ~18 audit rows per patient."""
    from clinic.demo import database_is_empty, load_demo_data

    try:  # bench/ sits beside wsgi.py in a checkout; an installed wheel does not carry it
        from bench.clinic_data import generate
    except ImportError:
        raise click.ClickException("flask demo generate runs from a checkout (bench/).") from None

    _refuse_outside_development()
    if database_is_empty():
        load_demo_data()
        db.session.commit()
    generate(patients, journeys, seed=seed, echo=click.echo)
    click.echo(f"Generated a clinic of {patients:,} patients.")


@demo_cli.command("logins")
def demo_logins_command() -> None:
    """Print the demo sign-ins for every role."""
    from clinic.demo import demo_logins_table

    _refuse_outside_development()
    click.echo(demo_logins_table())


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@with_appcontext  # added with add_command, so Flask does not push the app context itself
def backup_command(target: str) -> None:
    """Back up the database to TARGET while the app keeps running (SQLite: a copy made with
    its backup API; PostgreSQL: pg_dump in the custom format, for pg_restore)."""
    from pathlib import Path

    from clinic.backup import BackupFailed, BackupNotSupported, backup

    try:
        path = backup(db.engine, Path(target))
    except (BackupNotSupported, BackupFailed, FileExistsError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backup written to {path}.")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option(
    "--metrics-address",
    default=None,
    help="host:port to serve the queue's Prometheus metrics on (a private address).",
)
@with_appcontext
def worker_command(once: bool, metrics_address: str | None) -> None:
    """Deliver queued e-mail with retries until stopped (SIGTERM or Ctrl+C)."""
    import signal
    import threading

    from clinic.jobs.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if metrics_address:
        from prometheus_client import start_http_server

        host, _, port = metrics_address.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = Worker(app)
    click.echo(f"Job worker {worker.name} running (mail transport {app.config['MAIL_TRANSPORT']}).")
    worker.run(stop, once=once)


@click.command("load-instructions")
@with_appcontext
def load_instructions_command() -> None:
    """Add the shipped sample instructions wherever a therapy and phase has none."""
    from clinic.instructions.services import load_samples

    added = load_samples()
    db.session.commit()
    click.echo(f"{added} sample texts added (marked as awaiting the clinic's review).")


messages_cli = AppGroup("messages", help="Patient messages: plan and send what is due.")


@messages_cli.command("plan")
def plan_messages_command() -> None:
    """Plan the confirmations, reminders, nudges and recalls that have become due."""
    from clinic.messaging.scheduler import Sender

    result = Sender(current_app._get_current_object()).plan()  # type: ignore[attr-defined]
    click.echo(f"{result.planned} messages planned, {result.skipped} dropped (visit changed).")


@messages_cli.command("send")
def send_messages_command() -> None:
    """Send the planned messages that are due now (what `flask worker` does each turn)."""
    from clinic.messaging.scheduler import Sender

    handled = Sender(current_app._get_current_object()).send_due()  # type: ignore[attr-defined]
    click.echo(f"{handled} messages handled.")


@messages_cli.command("load-defaults")
def load_message_defaults_command() -> None:
    """Add the shipped wording wherever a message has none."""
    from clinic.messaging.services import load_defaults

    added = load_defaults()
    db.session.commit()
    click.echo(f"{added} message templates added (samples for the clinic's review).")


registry_cli = AppGroup("registry", help="The outcomes registry's stored rows.")


@registry_cli.command("rebuild")
def rebuild_registry_command() -> None:
    """Recompute the registry's stored rows from the records (after a bulk import or a change
    to how they are computed; day-to-day changes keep them current by themselves)."""
    from clinic.outcomes.registry_store import rebuild

    cycles, answers = rebuild()
    db.session.commit()
    click.echo(f"Registry rows recomputed: {cycles} treated cycles, {answers} follow-up answers.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(registry_cli)
    app.cli.add_command(messages_cli)
    app.cli.add_command(load_instructions_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(serve_dev_command)
