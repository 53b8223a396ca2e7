"""Command-line tools: creating users, loading demo data."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from clinic.auth import mfa
from clinic.auth.models import Role, User
from clinic.auth.passwords import verify_password
from clinic.demo import DEMO_LOGINS, DEMO_TOTP_SECRETS
from tests.factories import PatientFactory

GOOD = "Copper meadow falcon 31"


def _user(db, email):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_users_create_reads_password_from_stdin(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--role",
            "provider",
            "--email",
            "Cli.Doc@x.example.com",
            "--name",
            "Dr Cli",
            "--password-stdin",
        ],
        input=GOOD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = _user(db, "cli.doc@x.example.com")
    assert user.role is Role.PROVIDER and verify_password(user.password_hash, GOOD)


def test_users_create_prompts_for_password(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--role", "admin", "--email", "root@x.example.com"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert _user(db, "root@x.example.com").role is Role.ADMIN


def test_users_create_links_a_patient_and_refuses_weak_passwords(app, db):
    patient = PatientFactory()
    db.session.commit()  # the refused run below rolls its own work back
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "patient",
            "--email",
            "p@x.example.com",
            "--patient",
            patient.mrn,
            "--password-stdin",
        ],
        input="password1234\n",
    )
    assert weak.exit_code != 0 and "commonly used" in weak.output
    ok = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "patient",
            "--email",
            "p@x.example.com",
            "--patient",
            patient.mrn,
            "--password-stdin",
        ],
        input=GOOD + "\n",
    )
    assert ok.exit_code == 0, ok.output
    assert _user(db, "p@x.example.com").patient_id == patient.id


def test_demo_load_gives_one_login_per_role(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    roles = set(db.session.scalars(sa.select(User.role)).all())
    assert roles == set(Role)
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "already has data" in again.output
    logins = runner.invoke(args=["demo", "logins"]).output
    for login in DEMO_LOGINS:
        assert login.email in logins and login.password in logins
    for email, secret in DEMO_TOTP_SECRETS.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert mfa.is_enrolled(user) and secret in logins


def test_demo_logins_work(client, db, app):
    app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    for login in DEMO_LOGINS:
        response = client.post_form("/login", {"email": login.email, "password": login.password})
        assert response.status_code == 302, login.email
        if login.email in DEMO_TOTP_SECRETS:  # the code from the printed secret
            assert response.headers["Location"].startswith("/login/code")
            code = pyotp.TOTP(DEMO_TOTP_SECRETS[login.email]).now()
            response = client.post_form(response.headers["Location"], {"code": code})
            assert response.status_code == 302, login.email
        client.post_form("/logout", token_from=response.headers["Location"])


def test_demo_data_is_refused_in_production(tmp_path):
    from tests.ops.settings import production_app

    app = production_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0 and "refused" in result.output


def test_serve_dev_migrates_loads_the_demo_once_and_serves_from_one_process(tmp_path, monkeypatch):
    """`make run` is one `flask serve-dev`: the migrations, the demo into an empty database,
    the sign-ins printed, then the development server, without importing the app again."""
    import werkzeug.serving

    from tests.conftest import make_test_app
    from tests.ops.settings import limiter_kept

    served = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.append((host, port))
    )
    with limiter_kept():
        app = make_test_app(f"sqlite:///{tmp_path / 'dev.db'}")
        runner = app.test_cli_runner()
        first = runner.invoke(args=["serve-dev", "--port", "5099"])
        assert first.exit_code == 0, first.output
        assert "Demo data loaded." in first.output
        assert all(login.email in first.output for login in DEMO_LOGINS)
        assert "Serving on http://127.0.0.1:5099" in first.output
        again = runner.invoke(args=["serve-dev"])
        assert again.exit_code == 0, again.output
        assert "already has data" in again.output
    assert served == [("127.0.0.1", 5099), ("127.0.0.1", 5000)]
