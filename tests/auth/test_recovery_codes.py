"""A new set of recovery codes from one's own two-step page: confirmed by the password and a
current code, shown once, audited, throttled; the account pages warn when few are left."""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic.auth import mfa
from clinic.auth.models import RecoveryCode, Role
from clinic.models.audit import AuditEvent
from tests.conftest import CsrfClient, sign_in
from tests.factories import PASSWORD, current_code

PAGE = "/account/two-step"
RENEW = "/account/two-step/recovery-codes"
CODE = re.compile(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>")


def _count(db, action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def _stored(db, user) -> set[str]:
    return set(
        db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    )


def _renew(client, user, code: str | None = None, password: str = PASSWORD):
    form = {"password": password, "code": current_code(user) if code is None else code}
    return client.post_form(RENEW, form, token_from=PAGE)


def _second_step(client, user, code: str):
    """Sign out, give the password, then `code` at the code step."""
    client.post_form("/logout", token_from="/account")
    client.post_form("/login", {"email": user.email, "password": PASSWORD}, token_from="/login")
    return client.post_form("/login/code", {"code": code})


def test_new_codes_are_shown_once_uncached_and_the_old_ones_stop_working(client, login, db):
    user = login(Role.PROVIDER)
    old = mfa.new_recovery_codes(user)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'for="password"' in page and 'for="code"' in page  # each field has its label
    done = _renew(client, user)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Your new recovery codes" in html
    assert done.headers["Cache-Control"] == "no-store" and done.headers["Pragma"] == "no-cache"
    new = CODE.findall(html)
    assert len(set(new)) == 10 and not set(new) & set(old)
    assert not set(new) & _stored(db, user)  # only digests are kept
    (event,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "mfa.recovery_codes_renewed")
    )
    assert event.actor_id == user.id and event.object_id == str(user.id)
    assert "10</strong> of 10" in client.get(PAGE).get_data(as_text=True)
    # at sign-in an old code is refused at once, a new one works
    assert _second_step(client, user, old[0]).status_code == 422
    assert client.post_form("/login/code", {"code": new[0]}).status_code == 302
    assert mfa.recovery_codes_left(user) == 9


def test_a_wrong_code_is_shown_beside_the_field_and_changes_nothing(client, login, db):
    user = login(Role.ADMIN)
    old = mfa.new_recovery_codes(user)
    before = _stored(db, user)
    for wrong in ("000000", old[0]):  # a recovery code does not confirm a new set
        refused = _renew(client, user, code=wrong)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert 'id="code-error"' in html and 'aria-invalid="true"' in html
        assert not CODE.search(html)
    db.session.expire_all()
    assert _stored(db, user) == before and mfa.recovery_codes_left(user) == 10  # none spent
    assert _count(db, "mfa.recovery_codes_renewed") == 0
    assert _count(db, "auth.reauth_failed") == 2
    wrong_password = _renew(client, user, password="not my password at all")
    assert wrong_password.status_code == 422
    assert 'id="password-error"' in wrong_password.get_data(as_text=True)
    assert _stored(db, user) == before


def test_a_post_without_the_form_token_is_refused(client, login, db):
    user = login(Role.PROVIDER)
    mfa.new_recovery_codes(user)
    before = _stored(db, user)
    response = client.post(RENEW, data={"password": PASSWORD, "code": current_code(user)})
    assert response.status_code == 400
    assert _stored(db, user) == before and _count(db, "mfa.recovery_codes_renewed") == 0


def test_five_wrong_confirmations_end_the_session(app, client, login, db):
    user = login(Role.PROVIDER)
    mfa.new_recovery_codes(user)
    before = _stored(db, user)
    copied = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    for _ in range(4):
        assert _renew(client, user, code="111111").status_code == 422
    last = _renew(client, user, code="111111")
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    assert client.get(PAGE).headers["Location"].startswith("/login")
    replay = CsrfClient(app.test_client())
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], copied)
    assert replay.get(PAGE).status_code == 302  # the copied session was ended too
    assert _stored(db, user) == before and _count(db, "auth.sessions_ended") == 1
    # signing in again (with a code) starts a fresh count
    assert sign_in(client, user).status_code == 302
    assert _renew(client, user, code="111111").status_code == 422
    assert _renew(client, user).status_code == 200


def test_tries_per_minute_are_limited_like_the_code_step(app, client, login, db):
    user = login(Role.PROVIDER)
    limit = app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"]
    app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"] = "2 per minute"
    try:
        assert _renew(client, user, code="111111").status_code == 422
        assert _renew(client, user, code="111111").status_code == 422
        assert _renew(client, user).status_code == 429  # the right code waits too
    finally:
        app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"] = limit
    assert _count(db, "mfa.recovery_codes_renewed") == 0


def test_without_a_second_factor_there_is_nothing_to_renew(client, login, db):
    user = login(Role.FRONT_DESK)  # front desk staff enrol only when the clinic asks
    page = client.get(PAGE).get_data(as_text=True)
    assert RENEW not in page and "Set up two-step sign-in" in page
    response = client.post_form(RENEW, {"password": PASSWORD, "code": "123456"}, token_from=PAGE)
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert _stored(db, user) == set() and _count(db, "mfa.recovery_codes_renewed") == 0


def test_a_patient_cannot_reach_it(client, login, db):
    login(Role.PATIENT)
    response = client.post_form(RENEW, {"password": PASSWORD, "code": "123456"}, token_from="/my")
    assert response.status_code == 403
    assert "recovery" not in client.get("/account").get_data(as_text=True).lower()


def test_account_pages_warn_when_three_or_fewer_codes_are_left(client, login, db):
    user = login(Role.PROVIDER)
    codes = mfa.new_recovery_codes(user)
    assert 'id="recovery-codes-low"' not in client.get("/account").get_data(as_text=True)
    for code in codes[:7]:
        assert mfa.verify_code(user, code, consume_recovery=True)
    account = client.get("/account").get_data(as_text=True)
    assert 'id="recovery-codes-low"' in account and "Only 3 recovery codes are left." in account
    assert f'href="{PAGE}#new-recovery-codes"' in account
    two_step = client.get(PAGE).get_data(as_text=True)
    assert 'id="recovery-codes-low"' in two_step and 'id="new-recovery-codes"' in two_step
