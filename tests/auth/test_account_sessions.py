"""The sessions list on the account page, signing out everywhere, and the production cookie."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role, SignedInSession
from clinic.models.audit import AuditEvent
from config import ProductionConfig
from tests.conftest import CsrfClient, sign_in


def test_sessions_list_shows_each_browser_and_sign_out_everywhere_ends_them(app, client, login, db):
    user = login(Role.FRONT_DESK)
    phone = CsrfClient(app.test_client())
    sign_in(phone, user)
    page = client.get("/account/sessions", headers={"User-Agent": "Desk browser"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<tr>") == 3  # header and two sessions
    assert "this browser" in html
    assert "/account/sessions" in client.get("/account").get_data(as_text=True)
    viewed = sa.select(sa.func.count()).where(AuditEvent.action == "account.sessions_viewed")
    assert db.session.scalar(viewed) == 1
    done = phone.post_form("/account/sessions/end-all", token_from="/account/sessions")
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302  # the other browser is signed out too
    assert phone.get("/account").status_code == 302
    open_rows = sa.select(sa.func.count(SignedInSession.id)).where(
        SignedInSession.user_id == user.id, SignedInSession.ended_at.is_(None)
    )
    assert db.session.scalar(open_rows) == 0


def test_a_session_ended_in_the_list_is_refused_even_with_the_right_version(app, client, login, db):
    user = login(Role.CLINICAL_STAFF)
    assert client.get("/account").status_code == 200
    db.session.execute(
        sa.update(SignedInSession)
        .where(SignedInSession.user_id == user.id)
        .values(ended_at=sa.func.current_timestamp())
    )
    db.session.flush()
    assert client.get("/account").status_code == 302


def test_production_session_cookie_is_a_host_cookie():
    assert ProductionConfig.SESSION_COOKIE_NAME == "__Host-cjt_session"
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.SESSION_COOKIE_PATH == "/"
