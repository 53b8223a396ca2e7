"""Configuration means what the README says: every variable is read, proxies and clinic
questionnaires work, production refuses unsafe settings, the engine bounds its waits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from config import BASE_DIR, engine_options
from tests import factories
from tests.conftest import CsrfClient
from tests.ops.servers import free_port, wait_for_port
from tests.ops.settings import GOOD_SECRET, production_app, production_settings

README = BASE_DIR / "README.md"
# Each README table of variables, by its heading, and the file that must read every one.
READERS = {
    "Configuration": BASE_DIR / "config.py",
    "Processes (gunicorn)": BASE_DIR / "deploy" / "gunicorn.conf.py",
    "Test suite": BASE_DIR / "tests",
}
ENV_READ = re.compile(
    r"""(?:environ\.get|environ\[|_env_\w+|getenv)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def readme_tables() -> dict[str, set[str]]:
    """The variables named in the first column of each README table, by heading."""
    tables: dict[str, set[str]] = {}
    heading = None
    for line in README.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("| `") and heading in READERS:
            first_cell = line.split("|")[1]
            tables.setdefault(heading, set()).update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return tables


def variables_read(path: Path) -> set[str]:
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return {name for f in files for name in ENV_READ.findall(f.read_text())}


@pytest.mark.parametrize("heading", sorted(READERS))
def test_every_documented_variable_is_read_and_every_read_one_documented(heading):
    documented = readme_tables().get(heading, set())
    read = variables_read(READERS[heading])
    assert documented, f"README has no table under '{heading}'"
    assert documented - read == set(), f"documented under '{heading}' but never read"
    if heading != "Test suite":
        assert read - documented == set(), f"read by {READERS[heading].name} but not documented"


def test_environment_reaches_the_settings(tmp_path):
    env = {
        **os.environ,
        "PROXY_FIX_X_FOR": "1",
        "INSTRUMENTS_DIR": str(tmp_path),
        "SECRET_KEY_FALLBACKS": "old-key-one, old-key-two",
        "DATABASE_STATEMENT_TIMEOUT_MS": "1234",
        "DATABASE_CONNECT_TIMEOUT": "3",
    }
    script = (
        "import json, config; c = config.Config; print(json.dumps([c.PROXY_FIX_X_FOR, "
        "c.PROXY_FIX_X_PROTO, c.INSTRUMENTS_DIR, c.SECRET_KEY_FALLBACKS, "
        "c.DATABASE_STATEMENT_TIMEOUT_MS, c.DATABASE_CONNECT_TIMEOUT]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=BASE_DIR, capture_output=True, text=True
    )
    assert json.loads(out.stdout) == [
        1,
        1,
        str(tmp_path),
        ["old-key-one", "old-key-two"],
        1234,
        3,
    ], out.stderr


def test_behind_a_proxy_the_audit_trail_records_the_client_address(sibling_app, db):
    proxied = sibling_app(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    client = CsrfClient(proxied.test_client())
    user = factories.make_user(Role.FRONT_DESK)
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    token = client.csrf_token()
    response = client.post(
        "/login",
        data={"email": user.email, "password": "wrong password!", "csrf_token": token},
        headers=forwarded,
    )
    assert response.status_code == 200
    failed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert [event.remote_addr for event in failed][-1:] == ["203.0.113.7"]


def test_a_clinics_own_questionnaire_wording_loads_from_instruments_dir(sibling_app, tmp_path):
    from clinic.outcomes.instruments import SHIPPED_DIR, get_instrument

    data = json.loads((SHIPPED_DIR / "ndi.json").read_text())
    data["version"] += 1
    data["items"][0]["text"] = "The clinic's licensed wording, item one"
    (tmp_path / "ndi.json").write_text(json.dumps(data))
    clinic = sibling_app(INSTRUMENTS_DIR=str(tmp_path))
    with clinic.app_context():
        assert get_instrument("ndi").items[0].text == "The clinic's licensed wording, item one"


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("SECRET_KEY", "x" * 31, "SECRET_KEY must be a random value of at least 32 bytes"),
        ("PUBLIC_BASE_URL", None, "PUBLIC_BASE_URL must be set"),
        ("MAIL_TRANSPORT", "outbox", "MAIL_TRANSPORT=outbox"),
        ("SMS_TRANSPORT", "outbox", "SMS_TRANSPORT=outbox keeps patients' texts"),
        ("SMS_TRANSPORT", "Off", "SMS_TRANSPORT must be off or twilio"),
        ("SMS_TRANSPORT", "twilio", "SMS_TRANSPORT=twilio needs TWILIO_ACCOUNT_SID"),
        ("MAIL_TRANSPORT", "smpt", "MAIL_TRANSPORT must be smtp"),
        ("RATELIMIT_STORAGE_URI", "memory://", "RATELIMIT_STORAGE_URI must be shared storage"),
        ("MAIL_FROM", "Clinic Journey Tracker <no-reply@localhost>", "MAIL_FROM must be an"),
        ("MAIL_FROM", "no-reply@clinic", "MAIL_FROM must be an address of the clinic's own"),
        ("MAIL_FROM", "", "MAIL_FROM must be an address"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(tmp_path, setting, value, reason):
    with pytest.raises(RuntimeError) as refused:
        production_app(tmp_path, **{setting: value})
    lines = str(refused.value).splitlines()
    assert len(lines) == 2 and lines[1].startswith(reason), lines


def test_production_starts_with_safe_settings(tmp_path):
    app = production_app(tmp_path)
    assert app.config["SECRET_KEY"] == GOOD_SECRET


TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "a-token",
    "TWILIO_FROM_NUMBER": "+15550100",
}


@pytest.mark.parametrize("transport", ["off", "twilio"])
def test_production_starts_with_texts_off_or_through_twilio(tmp_path, transport):
    settings = TWILIO if transport == "twilio" else {}
    app = production_app(tmp_path, SMS_TRANSPORT=transport, **settings)
    assert app.config["SMS_TRANSPORT"] == transport


def test_an_empty_number_setting_means_its_default():
    """`REGISTRY_MIN_CELL=` in an environment file (systemd's EnvironmentFile) is unset, like
    every other number; it stopped the app from importing its settings (int(''))."""
    script = "import config; print(config.Config.REGISTRY_MIN_CELL, config.Config.MAIL_PORT)"
    env = {**os.environ, "REGISTRY_MIN_CELL": "", "MAIL_PORT": ""}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=BASE_DIR, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", "587"]


def test_production_sends_no_texts_unless_told_to():
    script = (
        "import json, config; print(json.dumps([config.Config.SMS_TRANSPORT, "
        "config.ProductionConfig.SMS_TRANSPORT]))"
    )

    def transports(**env: str) -> list[str]:
        clean = {k: v for k, v in os.environ.items() if k != "SMS_TRANSPORT"}
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**clean, **env},
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert transports() == ["outbox", "off"]
    assert transports(SMS_TRANSPORT="twilio") == ["twilio", "twilio"]


def test_a_rotated_key_keeps_sessions_signed_with_the_old_one(tmp_path):
    from flask.sessions import SecureCookieSessionInterface

    old, new = "o" * 40, "n" * 40
    rotated = production_app(tmp_path, SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old])
    signer_app = Flask("old")
    signer_app.secret_key = old
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer_app)
    cookie = serializer.dumps({"note": "signed before the rotation"})
    name = rotated.config["SESSION_COOKIE_NAME"]
    with rotated.test_request_context(headers={"Cookie": f"{name}={cookie}"}):
        from flask import session

        assert session.get("note") == "signed before the rotation"


def test_engine_bounds_waits_and_hides_parameters_on_postgresql():
    options = engine_options(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/clinic",
            "DATABASE_CONNECT_TIMEOUT": 4,
            "DATABASE_STATEMENT_TIMEOUT_MS": 15000,
            "DATABASE_TCP_USER_TIMEOUT_MS": 7000,
        }
    )
    # the liveness check on checkout is clinic.db_setup's, which also begins the transaction
    assert options["pool_pre_ping"] is False and options["hide_parameters"] is True
    assert engine_options({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"})["pool_pre_ping"] is True
    assert options["connect_args"] == {
        "connect_timeout": 4,
        "options": "-c statement_timeout=15000 -c jit=off",
        "tcp_user_timeout": 7000,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def test_database_errors_never_carry_parameters(app, db):
    with pytest.raises(sa.exc.DBAPIError) as failed, db.session.begin_nested():
        db.session.execute(
            sa.text("INSERT INTO user_account (email) VALUES (:email)"),
            {"email": "private.person@example.org"},
        )
    assert "SQL parameters hidden" in str(failed.value)
    assert "[parameters:" not in str(failed.value)


def test_gunicorn_refuses_unsafe_production_settings_once_before_any_worker(tmp_path):
    """`gunicorn -c deploy/gunicorn.conf.py` with settings production refuses: one log line
    per reason from the master and an exit, not a traceback from every worker that fails."""
    env = {
        **os.environ,
        "CLINIC_ENV": "production",
        "SECRET_KEY": "short",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_BASE_URL": "https://clinic.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
        "GUNICORN_BIND": "127.0.0.1:0",
        "METRICS_ADDRESS": "",
        "LOG_FORMAT": "json",
    }
    env.pop("MAIL_FROM", None)  # the shipped no-reply@localhost
    run = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    messages = [json.loads(line)["message"] for line in run.stderr.splitlines()]
    refusals = [m for m in messages if m.startswith("Refusing to start: ")]
    assert refusals == [
        "Refusing to start: SECRET_KEY must be a random value of at least 32 bytes.",
        "Refusing to start: RATELIMIT_STORAGE_URI must be shared storage (redis://), not "
        "memory://.",
        "Refusing to start: MAIL_FROM must be an address of the clinic's own domain: mail "
        "servers refuse or junk mail from a local one such as no-reply@localhost.",
    ]
    assert not any("Booting worker" in m for m in messages)
    assert "Traceback" not in run.stderr + run.stdout


PRODUCTION_ENV = ("SECRET_KEY", "PUBLIC_BASE_URL", "MAIL_FROM", "RATELIMIT_STORAGE_URI")


def test_gunicorn_removes_the_metrics_folder_it_made_when_it_stops(tmp_path):
    """METRICS_ADDRESS without PROMETHEUS_MULTIPROC_DIR: gunicorn makes a fresh folder for
    its workers' metrics in the temporary directory, and removes it when it stops."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    metrics_port = free_port()
    env = {
        **os.environ,
        "CLINIC_ENV": "production",
        **{k: str(v) for k, v in production_settings(tmp_path).items() if k in PRODUCTION_ENV},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "1",
        "METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
        "TMPDIR": str(temp),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(metrics_port, timeout=30)
        made = list(temp.glob("clinic-metrics-*"))
        assert len(made) == 1 and made[0].is_dir()
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
    assert list(temp.iterdir()) == []
