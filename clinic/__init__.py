"""Clinic Journey Tracker: the application factory."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic import transaction
from clinic.transaction import ClinicFlask
from config import (
    BASE_DIR,
    Config,
    ProductionConfig,
    config_from_env,
    engine_options,
    production_refusals,
)

MIGRATIONS_DIR = BASE_DIR / "migrations"


def create_app(config: type[Config] | None = None) -> Flask:
    """Build the app for a settings class (from CLINIC_ENV when not given)."""
    config = config or config_from_env()
    app = ClinicFlask(
        __name__,
        template_folder="../templates",
        static_folder="static",
        instance_relative_config=False,
    )
    app.config.from_object(config)
    _check_config(app, config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    _trust_proxies(app)
    from clinic.limits import register_request_limits

    register_request_limits(app)  # before the blueprints: their <int:...> rules use its converter

    register_extensions(app)
    register_blueprints(app)

    from clinic.web import register_web_hooks

    register_web_hooks(app)

    from clinic.static_files import register_static_fingerprints

    register_static_fingerprints(app)

    from clinic import health, logs, metrics, outage

    logs.register(app)
    outage.register(app)
    metrics.register(app)
    health.register(app)

    from clinic.cli import register_cli

    register_cli(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING if app.testing else logging.INFO)
    return app


def _check_config(app: Flask, config: type[Config]) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set (an environment variable in production).")
    if issubclass(config, ProductionConfig) and app.config["SECRET_KEY"].startswith("dev-only"):
        raise RuntimeError("The development SECRET_KEY cannot be used in production.")
    if issubclass(config, ProductionConfig) and (reasons := production_refusals(app.config)):
        raise RuntimeError("Refusing to start in production:\n" + "\n".join(reasons))


def _trust_proxies(app: Flask) -> None:
    """Take the client address, scheme and host from the proxies named in the settings."""
    hops = {
        "x_for": app.config.get("PROXY_FIX_X_FOR", 0),
        "x_proto": app.config.get("PROXY_FIX_X_PROTO", 0),
        "x_host": app.config.get("PROXY_FIX_X_HOST", 0),
    }
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)


def register_extensions(app: Flask) -> None:
    from clinic.extensions import bootstrap, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)

    from clinic.db_setup import configure_engine

    with app.app_context():
        configure_engine(db.engine)
        transaction.watch_commit_durability(db.engine)
    import clinic.models.registry
    import clinic.outcomes.registry_store  # noqa: F401  - keeps the stored registry rows current


# Each wing's package only declares its blueprint; its views (and the access rule of the whole
# blueprint) live in its `routes` module or package, imported here, so that importing a wing's
# models or services never pulls in views, policy and other wings (no import cycles).
WINGS = (
    "auth",
    "main",
    "admin",
    "patients",
    "scheduling",
    "journeys",
    "careteam",
    "portal",
    "outcomes",
    "instructions",
    "jobs",
    "messaging",
)


def register_blueprints(app: Flask) -> None:
    from importlib import import_module

    from clinic.auth.sessions import register_session_rules

    register_session_rules(app)
    for wing in WINGS:
        routes = import_module(f"clinic.{wing}.routes")
        blueprint = getattr(routes, "bp", None) or import_module(f"clinic.{wing}").bp
        app.register_blueprint(blueprint)
    app.register_blueprint(import_module("clinic.journeys.routes").admin_bp)
