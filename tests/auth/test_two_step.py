"""Two-step sign-in for staff: enrolment, the code step, recovery codes, reset, asking again."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from clinic.auth import mfa
from clinic.auth.models import RecoveryCode, Role, SecondFactor
from clinic.models.audit import AuditEvent
from tests.careteam_helpers import join_care_team
from tests.conftest import CsrfClient, sign_in
from tests.factories import PASSWORD, TOTP_SECRET, PatientFactory, current_code


def _count(db, action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def _password_step(client, user):
    return client.post_form("/login", {"email": user.email, "password": PASSWORD})


def _enrol_through_pages(client, db) -> list[str]:
    """Start, read the secret off the page, confirm with a first code; the recovery codes."""
    assert (
        client.post_form("/account/two-step/start", token_from="/account/two-step").status_code
        == 302
    )
    page = client.get("/account/two-step/setup")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script (CSP)
    secret = re.search(r'<code[^>]*id="mfa-secret">([A-Z2-7 ]+)</code>', html).group(1)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    wrong = client.post_form("/account/two-step/setup", {"code": "000000"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    done = client.post_form("/account/two-step/setup", {"code": totp.now()})
    assert done.status_code == 200
    return re.findall(
        r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", done.get_data(as_text=True)
    )


def test_staff_member_enrols_with_qr_code_and_gets_ten_recovery_codes(client, login, db):
    user = login(Role.FRONT_DESK)
    codes = _enrol_through_pages(client, db)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert mfa.is_enrolled(user)
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only digests are kept
    factor = db.session.get(SecondFactor, user.id)
    assert factor.secret_encrypted and re.fullmatch(r"[A-Z2-7]+", mfa.secret_of(factor))
    assert mfa.secret_of(factor) not in factor.secret_encrypted  # encrypted at rest
    assert _count(db, "mfa.enrolled") == 1
    # the codes are shown once: the set-up page now only says it is on
    assert client.get("/account/two-step/setup").status_code == 302
    assert "10</strong> of 10" in client.get("/account/two-step").get_data(as_text=True)


def test_enrolled_user_signs_in_with_a_code_and_reaches_nothing_before_it(client, make_user, db):
    user = make_user(Role.PROVIDER)
    step = _password_step(client, user)
    assert step.status_code == 302 and step.headers["Location"].startswith("/login/code")
    assert _count(db, "auth.login") == 0 and _count(db, "auth.password_accepted") == 1
    for page in ("/clinical", "/account", "/admin/users"):
        blocked = client.get(page)
        assert blocked.status_code == 302 and blocked.headers["Location"].startswith("/login")
    done = client.post_form("/login/code", {"code": current_code(user)})
    assert done.status_code == 302 and done.headers["Location"] == "/clinical"
    assert client.get("/clinical").status_code == 200
    assert _count(db, "auth.login") == 1


def test_wrong_or_reused_code_is_refused_and_audited(client, make_user, db):
    user = make_user(Role.ADMIN)
    _password_step(client, user)
    wrong = client.post_form("/login/code", {"code": "123456"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    assert _count(db, "auth.code_failed") == 1
    code = current_code(user)
    assert client.post_form("/login/code", {"code": code}).status_code == 302
    client.post_form("/logout", token_from="/account")
    _password_step(client, user)
    replay = client.post_form("/login/code", {"code": code})
    assert replay.status_code == 422  # the same code never works twice


def test_five_wrong_codes_start_the_sign_in_over(client, make_user, db):
    user = make_user(Role.PROVIDER)
    _password_step(client, user)
    for _ in range(4):
        assert client.post_form("/login/code", {"code": "111111"}).status_code == 422
    last = client.post_form("/login/code", {"code": "111111"})
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    again = client.get("/login/code")
    assert again.status_code == 302 and again.headers["Location"] == "/login"


def test_recovery_code_works_once(client, make_user, db):
    user = make_user(Role.PROVIDER)
    codes = mfa.new_recovery_codes(user)
    _password_step(client, user)
    assert client.post_form("/login/code", {"code": codes[0].upper()}).status_code == 302
    assert _count(db, "mfa.recovery_code_used") == 1
    client.post_form("/logout", token_from="/account")
    _password_step(client, user)
    reused = client.post_form("/login/code", {"code": codes[0]})
    assert reused.status_code == 422
    assert mfa.recovery_codes_left(user) == 9


def test_unenrolled_provider_is_sent_to_enrolment_until_enrolled(client, make_user, db):
    user = make_user(Role.PROVIDER, enrolled=False)
    first = _password_step(client, user)
    assert first.status_code == 302  # no code asked: there is none yet
    for page in ("/clinical", "/schedule/day", "/account"):
        sent = client.get(page)
        assert sent.status_code == 302 and sent.headers["Location"] == "/account/two-step"
    assert "Your role needs two-step sign-in" in client.get("/account/two-step").get_data(
        as_text=True
    )
    _enrol_through_pages(client, db)
    assert client.get("/clinical").status_code == 200


def test_all_staff_must_enrol_when_configured_and_patients_never(app, client, make_user, db):
    app.config["MFA_REQUIRED_FOR_ALL_STAFF"] = True
    try:
        desk = make_user(Role.FRONT_DESK)
        sign_in(client, desk)
        assert client.get("/front-desk").headers["Location"] == "/account/two-step"
        client.post_form("/logout", token_from="/account/two-step")
        patient = make_user(Role.PATIENT)
        assert sign_in(client, patient).headers["Location"] == "/my"
        assert client.get("/my").status_code == 200
        assert client.get("/account/two-step").status_code == 403
    finally:
        app.config["MFA_REQUIRED_FOR_ALL_STAFF"] = False


def test_admin_resets_a_second_factor_with_their_own_password_and_code(
    app, client, login, make_user, db
):
    provider = make_user(Role.PROVIDER)
    other = CsrfClient(app.test_client())
    sign_in(other, provider)
    assert other.get("/clinical").status_code == 200
    admin = login(Role.ADMIN)
    page = f"/admin/users/{provider.id}"
    url = f"{page}/two-step/reset"
    wrong = client.post_form(url, {"mfa-password": PASSWORD, "mfa-code": "000000"}, token_from=page)
    assert wrong.status_code == 422 and mfa.is_enrolled(provider)
    assert _count(db, "auth.reauth_failed") == 1
    done = client.post_form(
        url, {"mfa-password": PASSWORD, "mfa-code": current_code(admin)}, token_from=page
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert mfa.factor_of(provider) is None
    assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mfa.reset"))
    assert event.actor_id == admin.id and event.object_id == str(provider.id)
    assert other.get("/clinical").status_code == 302  # their sessions ended
    # at the next sign-in they enrol again before anything else
    assert _password_step(other, provider).status_code == 302
    assert other.get("/clinical").headers["Location"] == "/account/two-step"


def test_reauthentication_refuses_a_wrong_code(client, login, make_user, db):
    admin = login(Role.ADMIN)
    user = make_user(Role.FRONT_DESK)
    form = {
        "full_name": user.full_name,
        "email": "changed@x.example.com",
        "role": "front_desk",
        "version": str(user.version),
        "password": PASSWORD,
        "code": "999999",
    }
    page = f"/admin/users/{user.id}/edit"
    refused = client.post_form(page, form)
    assert refused.status_code == 422 and 'id="code-error"' in refused.get_data(as_text=True)
    assert _count(db, "auth.reauth_failed") == 1
    assert client.post_form(page, {**form, "code": current_code(admin)}).status_code == 302


def test_own_password_change_asks_for_the_code_once_enrolled(client, login, db):
    user = login(Role.PROVIDER)
    new = "a different long passphrase 77"
    form = {"current_password": PASSWORD, "new_password": new, "confirm": new}
    refused = client.post_form("/account/password", form)
    assert refused.status_code == 422 and 'id="code-error"' in refused.get_data(as_text=True)
    done = client.post_form("/account/password", {**form, "code": current_code(user)})
    assert done.status_code == 302


def test_break_glass_refuses_a_wrong_code(client, login, make_user, db):
    journey = join_care_team(make_user(Role.PROVIDER), PatientFactory())
    login(Role.PROVIDER)
    response = client.post_form(
        f"/care-team/patients/{journey.patient_id}/break-glass",
        {
            "reason": "emergency",
            "explanation": "Patient phoned with new leg weakness",
            "password": PASSWORD,
            "code": "000000",
        },
    )
    assert response.status_code == 422 and "code from your authenticator" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize("secret", [TOTP_SECRET])
def test_qr_code_is_inline_svg_of_the_otpauth_link(app, make_user, db, secret):
    user = make_user(Role.FRONT_DESK)
    uri = mfa.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    svg = mfa.qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg
