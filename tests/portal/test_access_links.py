"""Portal invitations and password resets: single use, expiring, bound to one patient."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.errors import Refused
from clinic.mail import OutboxMessage
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.portal.models import PortalLink
from tests.factories import PatientFactory

NEW = "Lilac ferry compass 64"
LINK = re.compile(r"http://[^/\s]+(/portal/link/[\w-]+)")


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Ada", family_name="Quinn", email="ada.q@x.example.com")


def _last_link(db) -> str:
    db.session.expire_all()
    body = db.session.scalars(
        sa.select(OutboxMessage.body).order_by(OutboxMessage.id.desc())
    ).first()
    return LINK.search(body).group(1)


def _invite(client, patient, email="ada.q@x.example.com"):
    page = f"/portal-access/{patient.id}"
    return client.post_form(f"{page}/invite", {"email": email}, token_from=page)


def _redeem(app, path: str, password: str = NEW):
    from tests.conftest import CsrfClient

    visitor = CsrfClient(app.test_client())
    return visitor.post_form(
        path, {"new_password": password, "confirm": password}, token_from="/portal/forgot"
    )


def _can_sign_in(app, email: str, password: str = NEW) -> bool:
    from tests.conftest import CsrfClient

    visitor = CsrfClient(app.test_client())
    return visitor.post_form("/login", {"email": email, "password": password}).status_code == 302


def test_invite_lifecycle_creates_the_account_once(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    response = _invite(client, patient)
    assert response.status_code == 302
    path = _last_link(db)
    assert app.test_client().get(path).status_code == 200
    assert _redeem(app, path).status_code == 302
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    assert account.role is Role.PATIENT and account.email == "ada.q@x.example.com"
    assert _can_sign_in(app, "ada.q@x.example.com")
    # the same link is dead now
    assert app.test_client().get(path).status_code == 410
    assert _redeem(app, path, "Another strong phrase 99").status_code == 410
    actions = set(db.session.scalars(sa.select(AuditEvent.action)).all())
    assert {"portal.invite_sent", "portal.invite_redeemed"} <= actions


def test_expired_link_is_refused(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    link = db.session.scalars(sa.select(PortalLink)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    link.created_at = link.expires_at - timedelta(hours=72)
    db.session.commit()
    assert _redeem(app, path).status_code == 410
    assert db.session.scalar(sa.select(User).where(User.patient_id == patient.id)) is None


def test_tampered_token_is_refused(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert _redeem(app, tampered).status_code == 410
    assert app.test_client().get("/portal/link/x").status_code == 410


def test_resend_replaces_the_old_link(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    first = _last_link(db)
    _invite(client, patient, "ada.new@x.example.com")
    second = _last_link(db)
    assert _redeem(app, first).status_code == 410
    assert _redeem(app, second).status_code == 302
    assert _can_sign_in(app, "ada.new@x.example.com")


def test_revoked_invitation_cannot_be_used(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    page = f"/portal-access/{patient.id}"
    assert client.post_form(f"{page}/revoke", token_from=page).status_code == 302
    assert _redeem(app, path).status_code == 410


def test_revoking_an_account_signs_the_patient_out(app, client, login, patient, db):
    from tests.conftest import CsrfClient

    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    patient_browser = CsrfClient(app.test_client())
    patient_browser.post_form("/login", {"email": "ada.q@x.example.com", "password": NEW})
    assert patient_browser.get("/my").status_code == 200
    page = f"/portal-access/{patient.id}"
    client.post_form(f"{page}/revoke", token_from=page)
    assert patient_browser.get("/my").status_code == 302
    assert not _can_sign_in(app, "ada.q@x.example.com")
    # a fresh invitation restores access with a new password
    _invite(client, patient)
    assert _redeem(app, _last_link(db), "Brand new meadow 2031").status_code == 302
    assert _can_sign_in(app, "ada.q@x.example.com", "Brand new meadow 2031")


def test_weak_password_is_refused_and_the_link_still_works(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    weak = _redeem(app, path, "adaquinn1970")
    assert weak.status_code == 422
    assert 'id="new_password-error"' in weak.get_data(as_text=True)
    assert _redeem(app, path).status_code == 302


def test_invite_refused_for_email_of_another_account(client, login, make_user, patient):
    login(Role.FRONT_DESK)
    staff = make_user(Role.PROVIDER)
    response = _invite(client, patient, staff.email)
    assert response.status_code == 409
    assert "belongs to another account" in response.get_data(as_text=True)


def test_invite_refused_when_already_using_the_portal(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    response = _invite(client, patient)
    assert response.status_code == 409
    assert "already uses the portal" in response.get_data(as_text=True)


def test_staff_reset_link_sets_a_new_password(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    page = f"/portal-access/{patient.id}"
    client.post_form(f"{page}/reset", token_from=page)
    assert _redeem(app, _last_link(db), "Second sturdy phrase 808").status_code == 302
    assert _can_sign_in(app, "ada.q@x.example.com", "Second sturdy phrase 808")
    assert not _can_sign_in(app, "ada.q@x.example.com", NEW)


def test_forgot_password_gives_the_same_answer_and_mails_only_patients(
    app, client, login, make_user, patient, db
):
    staff = make_user(Role.PROVIDER)
    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    count = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    from tests.conftest import CsrfClient

    visitor = CsrfClient(app.test_client())
    for email in ("nobody@x.example.com", staff.email, "ADA.Q@x.example.com"):
        response = visitor.post_form("/portal/forgot", {"email": email})
        assert response.status_code == 302
        assert "If a patient portal account uses" in visitor.get("/login").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == count + 1
    assert _redeem(app, _last_link(db), "Forgotten but found 1234").status_code == 302


def test_forgot_password_is_rate_limited_per_email(client):
    statuses = [
        client.post_form("/portal/forgot", {"email": "victim@x.example.com"}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429


def test_sending_links_is_rate_limited_per_patient(client, login, patient):
    login(Role.FRONT_DESK)
    statuses = [_invite(client, patient).status_code for _ in range(6)]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429


def test_outbox_shows_messages_and_is_absent_with_smtp(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    listing = client.get("/outbox").get_data(as_text=True)
    assert "ada.q@x.example.com" in listing
    app.config["MAIL_TRANSPORT"] = "smtp"
    try:
        assert client.get("/outbox").status_code == 404
        assert "Outbox" not in client.get("/front-desk").get_data(as_text=True)
    finally:
        app.config["MAIL_TRANSPORT"] = "outbox"


def test_access_page_lists_links_and_is_audited(client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    html = client.get(f"/portal-access/{patient.id}").get_data(as_text=True)
    assert "Invitation" in html and "waiting for the patient" in html
    viewed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "portal.access_viewed")
    ).all()
    assert viewed and viewed[-1].patient_id == patient.id


def test_disabling_a_patient_account_kills_its_open_links(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    page = f"/portal-access/{patient.id}"
    client.post_form(f"{page}/reset", token_from=page)
    reset_path = _last_link(db)
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    client.post_form("/logout", token_from="/front-desk")
    login(Role.ADMIN)
    admin_page = f"/admin/users/{account.id}"
    client.post_form(f"{admin_page}/deactivate", token_from=admin_page)
    assert _redeem(app, reset_path, "Another strong phrase 77").status_code == 410
    db.session.expire_all()
    assert not db.session.get(User, account.id).active
    assert not _can_sign_in(app, "ada.q@x.example.com", "Another strong phrase 77")


def test_a_reset_link_never_reactivates_a_disabled_account(app, client, login, patient, db):
    from clinic.portal import services as portal

    login(Role.FRONT_DESK)
    _invite(client, patient)
    _redeem(app, _last_link(db))
    with app.test_request_context():
        message = portal.send_reset(patient, by=None)
    token = LINK.search(message.body).group(1).rsplit("/", 1)[1]
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    account.active = False  # disabled without the service (e.g. directly in the database)
    db.session.flush()
    with pytest.raises(Refused):
        portal.redeem(token, "Another strong phrase 77")


def test_outbox_masks_portal_links(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    message = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    html = client.get(f"/outbox/{message.id}").get_data(as_text=True)
    token = path.rsplit("/", 1)[1]
    assert token not in html and "/portal/link/[hidden" in html
    assert "Dear Ada" in html


def test_reinvitation_never_moves_the_account_to_a_new_address(app, client, login, patient, db):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    assert _redeem(app, _last_link(db)).status_code == 302
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    account.active = False
    db.session.flush()
    moved = _invite(client, patient, email="someone.else@x.example.com")
    assert moved.status_code == 422 and "change the e-mail on the patient" in moved.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert account.email == "ada.q@x.example.com"


def _edit_form(patient, **changes) -> dict:
    form = {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex.value,
        "email": patient.email,
        "preferred_contact": "email",
        "version": str(patient.version),
    }
    form.update(changes)
    return form


def test_changing_a_portal_users_email_needs_a_reason_and_tells_the_old_address(
    app, client, login, patient, db
):
    login(Role.FRONT_DESK)
    _invite(client, patient)
    assert _redeem(app, _last_link(db)).status_code == 302
    page = f"/patients/{patient.id}/edit"
    new = "ada.new@x.example.com"
    first = client.post_form(page, _edit_form(patient, email=new))
    html = first.get_data(as_text=True)
    assert first.status_code == 422 and 'id="email_change_reason-error"' in html
    db.session.expire_all()
    assert patient.email == "ada.q@x.example.com"
    sent_before = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
    done = client.post_form(
        page, _edit_form(patient, email=new, email_change_reason="Patient phoned: new address")
    )
    assert done.status_code == 302
    db.session.expire_all()
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    assert patient.email == new and account.email == new
    notices = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.id).offset(sent_before)
    ).all()
    assert [n.recipient for n in notices] == ["ada.q@x.example.com"]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "portal.account_email_changed")
    ).one()
    assert "Patient phoned" in event.detail and event.patient_id == patient.id


def test_email_of_a_patient_without_portal_account_changes_without_a_reason(
    client, login, patient, db
):
    login(Role.FRONT_DESK)
    page = f"/patients/{patient.id}/edit"
    html = client.get(page).get_data(as_text=True)
    assert "email_change_reason" not in html
    response = client.post_form(page, _edit_form(patient, email="other@x.example.com"))
    assert response.status_code == 302


def test_setting_the_password_signs_the_patient_in(app, client, login, patient, db):
    from tests.conftest import CsrfClient

    login(Role.FRONT_DESK)
    _invite(client, patient)
    path = _last_link(db)
    phone = CsrfClient(app.test_client())
    answer = phone.post_form(
        path, {"new_password": NEW, "confirm": NEW}, token_from="/portal/forgot"
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/my")
    home = phone.get("/my")
    assert home.status_code == 200 and "you are signed in" in home.get_data(as_text=True)
    assert phone.get(path).status_code == 410  # the link is spent
