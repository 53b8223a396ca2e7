"""Signing in and out: same answer for unknown and wrong, auditing, safe redirects."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from tests.conftest import sign_in
from tests.factories import PASSWORD

FAILED = "The e-mail or password is not correct."


def _actions(db) -> list[str]:
    return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_login_page_renders_with_labels(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label class="form-label" for="email">E-mail</label>' in html
    assert 'for="password"' in html


def test_each_role_lands_on_its_home(client, make_user):
    homes = {
        Role.ADMIN: "/admin/users",
        Role.FRONT_DESK: "/front-desk",
        Role.PROVIDER: "/clinical",
        Role.CLINICAL_STAFF: "/clinical",
        Role.PATIENT: "/my",
    }
    for role, home in homes.items():
        user = make_user(role)
        response = sign_in(client, user)
        assert response.status_code == 302
        assert response.headers["Location"] == home
        assert client.get(home).status_code == 200
        client.post_form("/logout", token_from=home)


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user, db):
    user = make_user(Role.PROVIDER)
    wrong = client.post_form("/login", {"email": user.email, "password": "not the password!"})
    unknown = client.post_form("/login", {"email": "nobody@x.example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 200
    assert FAILED in wrong.get_data(as_text=True)
    assert FAILED in unknown.get_data(as_text=True)
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert {r.detail for r in rows} == {"wrong password", "unknown account"}
    assert all("not the password" not in (r.detail or "") for r in rows)


def test_email_is_case_insensitive_and_login_is_audited(client, make_user, db):
    user = make_user(Role.FRONT_DESK)
    response = client.post_form("/login", {"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login")).one()
    assert event.actor_id == user.id
    assert event.remote_addr == "127.0.0.1"


def test_deactivated_account_cannot_sign_in(client, make_user):
    user = make_user(Role.FRONT_DESK, active=False)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert FAILED in response.get_data(as_text=True)


def test_safe_next_redirect_is_followed(client, make_user):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user, url="/login?next=/admin/audit")
    assert response.headers["Location"] == "/admin/audit"


def test_offsite_next_redirects_are_ignored(client, make_user):
    user = make_user(Role.ADMIN)
    for target in (
        "https://evil.example.com/",
        "//evil.example.com",
        "/\\evil.example.com",
        "javascript:alert(1)",
    ):
        client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
        response = sign_in(client, user, url="/login?next=" + target)
        assert response.headers["Location"] == "/admin/users", target
        client.post_form("/logout", token_from="/admin/users")


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get("/admin/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_needs_post_and_is_audited(client, login, db):
    user = login(Role.CLINICAL_STAFF)
    assert client.get("/logout").status_code == 405
    response = client.post_form("/logout", token_from="/clinical")
    assert response.status_code == 302
    assert client.get("/clinical").status_code == 302
    assert "auth.logout" in _actions(db)
    assert user.id
