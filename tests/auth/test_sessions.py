"""Sessions end when they should: logout, password change, deactivation, reset, idle, age."""

from __future__ import annotations

import time

import pytest

from clinic.auth import services
from clinic.auth.models import Role
from clinic.auth.sessions import SEEN_COOKIE_EVERY
from tests.factories import PASSWORD, current_code

NEW_PASSWORD = "Quiet harbour kestrel 77"


def _replay(app, cookie_value: str) -> int:
    """Status of a request made with a copied session cookie in a fresh browser."""
    other = app.test_client()
    other.set_cookie("cjt_session", cookie_value)
    return other.get("/account").status_code


def _session_cookie(client) -> str:
    return client.get_cookie("cjt_session").value


def test_login_issues_a_new_session(client, make_user):
    client.get("/login")
    before = _session_cookie(client)
    user = make_user(Role.PROVIDER)
    client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert _session_cookie(client) != before


def test_copied_cookie_is_refused_after_logout(app, client, login):
    login(Role.PROVIDER)
    copied = _session_cookie(client)
    assert _replay(app, copied) == 200
    client.post_form("/logout", token_from="/clinical")
    assert _replay(app, copied) == 302


def test_password_change_ends_sessions_and_needs_current_password(app, client, login, db):
    user = login(Role.FRONT_DESK)
    copied = _session_cookie(client)
    refused = client.post_form(
        "/account/password",
        {
            "current_password": "wrong wrong wrong",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 422
    assert "The current password is not correct." in refused.get_data(as_text=True)
    done = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert _replay(app, copied) == 302
    db.session.expire_all()
    assert services.authenticate(user.email, NEW_PASSWORD) is not None


def test_weak_new_password_is_refused_beside_the_field(client, login):
    login(Role.FRONT_DESK)
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "password1234", "confirm": "password1234"},
    )
    html = response.get_data(as_text=True)
    assert 'id="new_password-error"' in html
    assert "easy to guess" in html or "commonly used" in html


@pytest.mark.parametrize("action", ["deactivate", "reset"])
def test_admin_action_ends_the_users_sessions(app, client, login, make_user, action):
    victim = make_user(Role.PROVIDER)
    victim_client = app.test_client()
    from tests.conftest import CsrfClient, sign_in

    victim_client = CsrfClient(victim_client)
    sign_in(victim_client, victim)
    assert victim_client.get("/clinical").status_code == 200
    admin = login(Role.ADMIN)
    page = f"/admin/users/{victim.id}"
    if action == "deactivate":
        response = client.post_form(f"{page}/deactivate", token_from=page)
    else:
        response = client.post_form(
            f"{page}/password",
            {
                "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "password": PASSWORD,
                "code": current_code(admin),
            },
            token_from=page,
        )
    assert response.status_code == 302
    assert victim_client.get("/clinical").status_code == 302


@pytest.mark.parametrize(("role", "idle_minutes"), [(Role.FRONT_DESK, 15), (Role.PATIENT, 30)])
def test_idle_timeout_by_role(client, login, role, idle_minutes):
    login(role)
    home = "/front-desk" if role is Role.FRONT_DESK else "/my"
    with client.session_transaction() as sess:
        sess["seen_at"] = int(time.time()) - (idle_minutes * 60 - 30)
    assert client.get(home).status_code == 200  # still inside the limit; activity renews it
    with client.session_transaction() as sess:
        sess["seen_at"] = int(time.time()) - (idle_minutes * 60 + 5)
    response = client.get(home)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_staff_idle_limit_is_configurable(client, login, app):
    app.config["STAFF_IDLE_MINUTES"] = 5
    try:
        login(Role.PROVIDER)
        with client.session_transaction() as sess:
            sess["seen_at"] = int(time.time()) - 6 * 60
        assert client.get("/clinical").status_code == 302
    finally:
        app.config["STAFF_IDLE_MINUTES"] = 15


def test_absolute_limit_of_twelve_hours(client, login):
    login(Role.PROVIDER)
    with client.session_transaction() as sess:
        sess["auth_at"] = int(time.time()) - 12 * 3600 - 5
    assert client.get("/clinical").status_code == 302


def test_session_cookie_flags(client, make_user):
    user = make_user(Role.PROVIDER)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_the_session_cookie_is_sent_again_only_when_it_changes(client, login):
    """A page view right after another leaves the cookie as it was (no Set-Cookie: nothing to
    sign again); once its "seen at" is SEEN_COOKIE_EVERY seconds old, activity renews it."""
    login(Role.FRONT_DESK)
    client.get("/front-desk")
    quiet = client.get("/front-desk")
    assert quiet.status_code == 200
    assert "Set-Cookie" not in quiet.headers
    with client.session_transaction() as sess:
        sess["seen_at"] = int(time.time()) - SEEN_COOKIE_EVERY
        before = sess["seen_at"]
    renewed = client.get("/front-desk")
    assert "Set-Cookie" in renewed.headers
    with client.session_transaction() as sess:
        assert sess["seen_at"] > before
