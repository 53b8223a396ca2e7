"""Application settings: one class per environment, secrets and endpoints from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style and plain postgres:// URLs mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Older keys still accepted for signed sessions while a new SECRET_KEY rolls out.
    SECRET_KEY_FALLBACKS = _env_list("SECRET_KEY_FALLBACKS")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'clinic.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {}  # extra options; engine_options() adds the rest
    CLINIC_NAME = os.environ.get("CLINIC_NAME", "Clinic Journey Tracker")
    CLINIC_TIMEZONE = os.environ.get("CLINIC_TIMEZONE", "America/New_York")
    CLINIC_LOCALE = os.environ.get("CLINIC_LOCALE", "en_GB")
    CLINIC_PHONE = os.environ.get("CLINIC_PHONE", "+1 617 555 0100")

    # Sessions: idle limits per kind of user and an absolute limit after login.
    STAFF_IDLE_MINUTES = _env_int("STAFF_IDLE_MINUTES", 15)
    PATIENT_IDLE_MINUTES = _env_int("PATIENT_IDLE_MINUTES", 30)
    SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    # The cookie is sent again when the session changes (sign-in, its "seen at" renewed every
    # few seconds of activity), not re-signed on every request.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_COOKIE_NAME = "cjt_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Login throttling (Flask-Limiter); memory:// is per process, use Redis in production.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    # Redis unreachable: count per process and log a warning rather than refuse sign-ins.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # A Redis that stops answering (host down, network cut) is given up on after a second,
    # like one that refuses, instead of holding the sign-in for the kernel's retries.
    RATELIMIT_STORAGE_OPTIONS: ClassVar[dict] = {
        "socket_timeout": 1.0,
        "socket_connect_timeout": 1.0,
    }
    # Strict limit per account and address pair; a per-address limit; and a per-account slowdown
    # (doubling waits after LOGIN_SLOWDOWN_AFTER failures) that spares addresses the account
    # signed in from within LOGIN_TRUSTED_ADDRESS_DAYS, so it can never lock its owner out.
    LOGIN_LIMIT_PER_ACCOUNT_ADDRESS = os.environ.get(
        "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", "10 per minute"
    )
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "50 per minute")
    LOGIN_SLOWDOWN_AFTER = _env_int("LOGIN_SLOWDOWN_AFTER", 5)
    LOGIN_SLOWDOWN_MAX_SECONDS = _env_int("LOGIN_SLOWDOWN_MAX_SECONDS", 60)
    LOGIN_SLOWDOWN_WINDOW_MINUTES = _env_int("LOGIN_SLOWDOWN_WINDOW_MINUTES", 15)
    LOGIN_TRUSTED_ADDRESS_DAYS = _env_int("LOGIN_TRUSTED_ADDRESS_DAYS", 30)

    # Outgoing e-mail: "outbox" keeps messages in the database for staff to read (development,
    # tests, demos); "smtp" sends them through MAIL_SERVER.
    MAIL_TRANSPORT = os.environ.get("MAIL_TRANSPORT", "outbox")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Clinic Journey Tracker <no-reply@localhost>")
    # Background jobs (SMTP e-mail): "inline" delivers right after the request's commit, in
    # the web process (development); "worker" leaves it to `flask worker` (production).
    JOBS_MODE = os.environ.get("JOBS_MODE", "inline")
    JOBS_MAX_ATTEMPTS = _env_int("JOBS_MAX_ATTEMPTS", 10)
    JOBS_RETRY_BASE_SECONDS = _env_int("JOBS_RETRY_BASE_SECONDS", 30)
    JOBS_RETRY_MAX_SECONDS = _env_int("JOBS_RETRY_MAX_SECONDS", 3600)
    JOBS_POLL_SECONDS = _env_int("JOBS_POLL_SECONDS", 5)
    JOBS_HEARTBEAT_MAX_AGE = _env_int("JOBS_HEARTBEAT_MAX_AGE", 60)
    # Patient messages (clinic/messaging): text messages kept in the local outbox for staff to
    # read (development), sent through Twilio, or "off" (the clinic sends no texts).
    SMS_TRANSPORT = os.environ.get("SMS_TRANSPORT", "outbox")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com")
    CLINIC_ADDRESS = os.environ.get("CLINIC_ADDRESS", "")
    MESSAGE_LINK_DAYS = _env_int("MESSAGE_LINK_DAYS", 30)
    # Public address used in links inside e-mails (invitations, password resets). Unset in
    # development: links use the address the request came in on (clinic.mail.external_url).
    PUBLIC_BASE_URL: str | None = os.environ.get("PUBLIC_BASE_URL") or None
    PORTAL_INVITE_HOURS = _env_int("PORTAL_INVITE_HOURS", 72)
    PORTAL_RESET_HOURS = _env_int("PORTAL_RESET_HOURS", 2)
    PORTAL_LINK_LIMIT = os.environ.get("PORTAL_LINK_LIMIT", "5 per hour")
    PORTAL_LINK_LIMIT_PER_ADDRESS = os.environ.get("PORTAL_LINK_LIMIT_PER_ADDRESS", "20 per hour")

    # Password hashing cost (Argon2id): RFC 9106's low-memory profile.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST_KIB = 65536
    ARGON2_PARALLELISM = 4

    # Database: bounded waits so a hung or unreachable server cannot hold every worker.
    DATABASE_CONNECT_TIMEOUT = _env_int("DATABASE_CONNECT_TIMEOUT", 5)
    DATABASE_STATEMENT_TIMEOUT_MS = _env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30000)
    # A server that stops answering mid-conversation (host down, network cut: packets go
    # unanswered rather than refused): the connection is dropped once what was sent has gone
    # unacknowledged this long, instead of the kernel's retries (~15 minutes).
    DATABASE_TCP_USER_TIMEOUT_MS = _env_int("DATABASE_TCP_USER_TIMEOUT_MS", 10000)
    DATABASE_POOL_SIZE = _env_int("DATABASE_POOL_SIZE", 5)
    DATABASE_MAX_OVERFLOW = _env_int("DATABASE_MAX_OVERFLOW", 5)
    # How long `flask db upgrade` waits for another run's migration lock (PostgreSQL).
    MIGRATION_LOCK_TIMEOUT = os.environ.get("MIGRATION_LOCK_TIMEOUT", "10min")

    # Reverse proxies in front (nginx): how many X-Forwarded-* hops to trust.
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = _env_int("PROXY_FIX_X_PROTO", PROXY_FIX_X_FOR)
    PROXY_FIX_X_HOST = _env_int("PROXY_FIX_X_HOST", 0)

    # A clinic's own questionnaire wording (JSON files), loaded beside the shipped samples.
    INSTRUMENTS_DIR = os.environ.get("INSTRUMENTS_DIR") or None

    # Logs: "json" (one object a line, for collectors) or "text"; Retry-After on 503 pages.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    UNAVAILABLE_RETRY_AFTER = _env_int("UNAVAILABLE_RETRY_AFTER", 30)

    # Request size: the largest form (a 20,000-character note) is far below these; a bigger
    # body gets the 413 page before it is parsed.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = _env_int("MAX_FORM_MEMORY_SIZE", 512 * 1024)
    MAX_FORM_PARTS = _env_int("MAX_FORM_PARTS", 1000)

    # Care team: how long a break-glass grant to a patient outside one's team lasts.
    BREAK_GLASS_HOURS = _env_int("BREAK_GLASS_HOURS", 4)
    # Two-step sign-in (TOTP): always for admins and providers; for every staff role when set.
    MFA_REQUIRED_FOR_ALL_STAFF = os.environ.get("MFA_REQUIRED_FOR_ALL_STAFF", "0") == "1"
    # A page view (GET) changes no record: it writes its audit row (and marks such as the
    # session's last-seen time or a message thread read). On PostgreSQL its commit does not
    # wait for the disk unless this is 1: the row is stored and visible at once, and only a
    # crash of the database server itself within ~0.6 s could lose it (an fsync costs ~3 ms
    # of every page). Changes (POST) always wait.
    DURABLE_READ_AUDIT = os.environ.get("DURABLE_READ_AUDIT", "0") == "1"
    # Days a new calendar feed link works (0: until replaced or switched off).
    CALENDAR_FEED_DAYS = _env_int("CALENDAR_FEED_DAYS", 180)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None
    PREFERRED_URL_SCHEME = "http"
    HSTS_SECONDS = 0
    DEMO_DATA_ALLOWED = False
    AUDIT_PAGE_SIZE = 50
    # Registry and operations figures from fewer patients than this are not shown.
    REGISTRY_MIN_CELL = _env_int("REGISTRY_MIN_CELL", 5)


class DevelopmentConfig(Config):
    """Local development: SQLite in instance/, a fixed throwaway key, demo data allowed."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret-change-me")
    DEMO_DATA_ALLOWED = True
    # The demo's cohorts are a dozen patients: show them rather than suppress every row.
    REGISTRY_MIN_CELL = _env_int("REGISTRY_MIN_CELL", 2)


class TestConfig(Config):
    """The test suite: in-memory throttling, CSRF on (tests fetch tokens like a browser)."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - the test suite only
    SQLALCHEMY_DATABASE_URI = _database_url(
        os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + str(INSTANCE_DIR / "test.db")
    )
    RATELIMIT_STORAGE_URI = "memory://"
    DEMO_DATA_ALLOWED = True
    # The cheapest Argon2id the library accepts: thousands of hashes in the suite, none real.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST_KIB = 8
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    """Production: PostgreSQL, Redis-backed throttling, secure cookies, HSTS, SMTP mail, no
    texts unless Twilio is set up."""

    MAIL_TRANSPORT = os.environ.get("MAIL_TRANSPORT", "smtp")
    SMS_TRANSPORT = os.environ.get("SMS_TRANSPORT", "off")  # "twilio" once the clinic has it
    JOBS_MODE = os.environ.get("JOBS_MODE", "worker")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")  # required: no localhost default
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    # "__Host-": the browser accepts it only over HTTPS, for this host, path "/", no Domain.
    SESSION_COOKIE_NAME = "__Host-cjt_session" if SESSION_COOKIE_SECURE else "cjt_session"
    SESSION_COOKIE_PATH = "/"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 31536000)
    DATABASE_POOL_SIZE = _env_int("DATABASE_POOL_SIZE", 10)


PRODUCTION_MIN_SECRET_BYTES = 32
# Sender domains no mail server accepts from the internet (the shipped default is the first).
LOCAL_MAIL_DOMAINS = ("localhost", "localdomain", "local", "invalid", "test")
TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


def production_refusals(settings: Mapping[str, Any]) -> list[str]:
    """Why these production settings are unsafe to start with, one line each (empty: fine)."""
    reasons = []
    key = settings.get("SECRET_KEY") or ""
    if len(key.encode()) < PRODUCTION_MIN_SECRET_BYTES or key.startswith("dev-only"):
        reasons.append(
            f"SECRET_KEY must be a random value of at least {PRODUCTION_MIN_SECRET_BYTES} bytes."
        )
    if not settings.get("PUBLIC_BASE_URL"):
        reasons.append("PUBLIC_BASE_URL must be set: e-mailed links would point nowhere.")
    if settings.get("MAIL_TRANSPORT") == "outbox":
        reasons.append("MAIL_TRANSPORT=outbox lets staff read patients' links; use smtp.")
    sms = settings.get("SMS_TRANSPORT")
    if sms == "outbox":
        reasons.append(
            "SMS_TRANSPORT=outbox keeps patients' texts in the database for staff to read; "
            "use twilio or off."
        )
    elif sms not in ("off", "twilio"):
        reasons.append("SMS_TRANSPORT must be off or twilio.")
    elif sms == "twilio" and not all(settings.get(name) for name in TWILIO_SETTINGS):
        reasons.append(f"SMS_TRANSPORT=twilio needs {', '.join(TWILIO_SETTINGS)}.")
    if settings.get("MAIL_TRANSPORT") not in ("outbox", "smtp"):
        reasons.append("MAIL_TRANSPORT must be smtp.")
    if str(settings.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        reasons.append("RATELIMIT_STORAGE_URI must be shared storage (redis://), not memory://.")
    if not _mail_from_is_public(str(settings.get("MAIL_FROM") or "")):
        reasons.append(
            "MAIL_FROM must be an address of the clinic's own domain: mail servers refuse or "
            "junk mail from a local one such as no-reply@localhost."
        )
    return reasons


def _mail_from_is_public(mail_from: str) -> bool:
    """Whether MAIL_FROM names an address whose domain a mail server can check."""
    _name, address = parseaddr(mail_from)
    local, _at, domain = address.rpartition("@")
    domain = domain.rstrip(".").lower()
    if not local or "." not in domain:
        return False
    return domain.rsplit(".", 1)[1] not in LOCAL_MAIL_DOMAINS


def engine_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: liveness pings, hidden parameters, and on PostgreSQL a pool
    size, a connect timeout, a statement timeout and no JIT compilation (its liveness check
    on checkout is clinic.db_setup's, which also begins the transaction)."""
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    uri = str(settings.get("SQLALCHEMY_DATABASE_URI", ""))
    if uri.startswith("postgresql"):
        # with psycopg the pool's liveness check is the transaction's BEGIN (clinic.db_setup)
        options["pool_pre_ping"] = not uri.startswith("postgresql+psycopg://")
        options["pool_size"] = settings.get("DATABASE_POOL_SIZE", 5)
        options["max_overflow"] = settings.get("DATABASE_MAX_OVERFLOW", 5)
        statement_ms = int(settings.get("DATABASE_STATEMENT_TIMEOUT_MS", 0))
        options["connect_args"] = {
            "connect_timeout": settings.get("DATABASE_CONNECT_TIMEOUT", 5),
            # JIT compiling pays off for long reports, never for a page's short queries:
            # the planner's estimate for a worklist query crosses jit_above_cost at 100,000
            # patients and each request then spends tens of ms compiling (EXPLAIN ANALYZE).
            "options": f"-c statement_timeout={statement_ms} -c jit=off",
            # an unreachable server ends the connection (then the 503 page) rather than
            # holding a worker: sent data unacknowledged for this long, or an idle wait
            # whose keepalive probes go unanswered (30 s, then 3 probes 10 s apart)
            "tcp_user_timeout": settings.get("DATABASE_TCP_USER_TIMEOUT_MS", 10000),
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
    return options


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The settings class named by CLINIC_ENV (development when unset)."""
    name = os.environ.get("CLINIC_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"CLINIC_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
