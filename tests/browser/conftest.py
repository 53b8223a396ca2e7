"""Browser tests: the real app served on a local port, driven by Playwright in Debian's Chromium.

They are skipped when Chromium or Playwright is missing, unless REQUIRE_BROWSER_TESTS=1
(as in CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import make_test_app
from tests.databases import fresh_url, postgres_url, sqlite_url
from tests.live import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def postgres_database() -> str:
    url = postgres_url()
    assert url
    return str(make_url(url).database)


# The app of the module's live server, for the sign-in helper's code step.
_LIVE: dict = {}


def _browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make test installs it)"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_seed(db_kind: str) -> str:
    """A database at migration head holding the demo data, built once per database kind."""
    from clinic.demo import load_demo_data
    from clinic.extensions import db

    url = fresh_url(db_kind, "live_seed")
    app = make_test_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        load_demo_data()
        db.session.commit()
        db.engine.dispose()  # a PostgreSQL template must have no connections
    return url


def _copy_of(db_kind: str, seed_url: str) -> str:
    """A fresh copy of the seed database for one module (whose tests may change it)."""
    if db_kind == "sqlite":
        target = sqlite_url("live")
        source = sqlite3.connect(str(make_url(seed_url).database))
        copy = sqlite3.connect(str(make_url(target).database))
        source.backup(copy)
        copy.close()
        source.close()
        return target
    seed = make_url(seed_url)
    name = f"{postgres_database()}_live"
    admin = sa.create_engine(seed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{seed.database}"'))
    admin.dispose()
    return seed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def live_app(db_kind: str, demo_seed: str):
    """An app on its own copy of the demo database, with real commits."""
    app = make_test_app(_copy_of(db_kind, demo_seed))
    _LIVE["app"] = app
    yield app
    _LIVE.pop("app", None)
    with app.app_context():
        from clinic.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(live_app):
    from clinic.extensions import limiter

    with live_app.app_context():
        limiter.reset()
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context; console errors (CSP refusals included) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.base_url = live_server.url
    yield tab
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the page; enrolled demo accounts also type the code their app shows."""
    page.goto(page.base_url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:
        page.get_by_label("Code").fill(fresh_code(email))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def fresh_code(email: str, secret: str | None = None) -> str:
    """The code an authenticator shows now for this account. The live database forgets the
    last code used, since tests sign the same person in more often than once a half-minute."""
    import pyotp
    import sqlalchemy as sa

    from clinic.auth.models import SecondFactor, User
    from clinic.demo import DEMO_TOTP_SECRETS
    from clinic.extensions import db

    with _LIVE["app"].app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        db.session.execute(
            sa.update(SecondFactor).where(SecondFactor.user_id == user_id).values(last_step=None)
        )
        db.session.commit()
    return pyotp.TOTP(secret or DEMO_TOTP_SECRETS[email]).now()
