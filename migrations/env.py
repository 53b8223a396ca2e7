import logging
from contextlib import contextmanager
from logging.config import fileConfig

import sqlalchemy as sa

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def render_item(type_, obj, autogen_context):
    """Write the app's column types as plain SQLAlchemy types in revisions."""
    from clinic.models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# One key for "this database's schema is being changed" (any constant; the same in every copy).
MIGRATION_LOCK_KEY = 727_364_919


@contextmanager
def migration_lock(connection):
    """On PostgreSQL, let one `flask db upgrade` at a time change the schema: a second run
    started meanwhile (another node deploying) waits for the first, then finds the schema at
    the head and does nothing; after MIGRATION_LOCK_TIMEOUT it gives up with a clear error.
    The app's statement timeout is lifted: a migration may rewrite a large table; the lock
    timeout also bounds each DDL statement's wait for its table lock."""
    if connection.dialect.name == "sqlite":
        # Batch migrations rebuild a table (copy, drop, rename); with foreign keys enforced the
        # drop of a referenced table fails once rows point at it. The pragma only takes effect
        # outside a transaction, so it is set on the driver connection before one begins, and
        # the keys are checked again at the end.
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            problems = raw.execute("PRAGMA foreign_key_check").fetchall()
            raw.execute("PRAGMA foreign_keys = ON")
        if problems:
            raise RuntimeError(f"The migration left rows whose references are broken: {problems[:5]}")
        return
    if connection.dialect.name != "postgresql":
        yield
        return
    timeout = current_app.config.get("MIGRATION_LOCK_TIMEOUT") or "10min"
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.execute(sa.text("SELECT set_config('lock_timeout', :t, false)"),
                       {"t": timeout})
    try:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except sa.exc.OperationalError as err:
        raise RuntimeError(
            "Another migration has held the schema lock for longer than "
            f"MIGRATION_LOCK_TIMEOUT ({timeout}); is one still running?"
        ) from err
    connection.commit()  # the session-level lock outlives this; migrations begin afresh
    logger.info("Holding the migration lock.")
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("compare_type", True)
    conf_args.setdefault("render_as_batch", True)

    connectable = get_engine()

    with connectable.connect() as connection:
        with migration_lock(connection):
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
