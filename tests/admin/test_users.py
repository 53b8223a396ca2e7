"""Admin account management: create, edit with conflict detection, deactivate, reset."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.models.audit import AuditEvent
from tests.factories import PASSWORD, PatientFactory, current_code

GOOD = "Maple kettle horizon 58"


def _user(db, email):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_admin_creates_a_staff_account(client, login, db):
    admin = login(Role.ADMIN)
    response = client.post_form(
        "/admin/users/new",
        {
            "full_name": "Dana Kim",
            "email": "Dana.Kim@x.example.com",
            "role": "provider",
            "password": GOOD,
            "confirm": GOOD,
        },
    )
    assert response.status_code == 302
    user = _user(db, "dana.kim@x.example.com")
    assert user.role is Role.PROVIDER and user.active
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.created")
    ).one()
    assert event.actor_id == admin.id and event.object_id == str(user.id)
    assert GOOD not in (event.detail or "")


def test_bad_input_is_shown_beside_the_field_and_other_input_kept(client, login, db):
    login(Role.ADMIN)
    response = client.post_form(
        "/admin/users/new",
        {
            "full_name": "Dana Kim",
            "email": "dana@x.example.com",
            "role": "provider",
            "password": "short",
            "confirm": "short",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in html and "at least 12" in html
    assert 'value="Dana Kim"' in html and 'value="dana@x.example.com"' in html
    assert _user(db, "dana@x.example.com") is None


def test_duplicate_email_is_refused(client, login, make_user, db):
    login(Role.ADMIN)
    existing = make_user(Role.FRONT_DESK)
    response = client.post_form(
        "/admin/users/new",
        {
            "full_name": "Copy",
            "email": existing.email,
            "role": "provider",
            "password": GOOD,
            "confirm": GOOD,
        },
    )
    assert "already exists" in response.get_data(as_text=True)


def test_patient_account_needs_an_unlinked_patient(client, login, db):
    login(Role.ADMIN)
    patient = PatientFactory()
    form = {
        "full_name": patient.full_name,
        "email": "pat@x.example.com",
        "role": "patient",
        "password": GOOD,
        "confirm": GOOD,
    }
    missing = client.post_form("/admin/users/new", form)
    assert "needs the patient" in missing.get_data(as_text=True)
    created = client.post_form("/admin/users/new", {**form, "patient_mrn": patient.mrn})
    assert created.status_code == 302
    assert _user(db, "pat@x.example.com").patient_id == patient.id
    again = client.post_form(
        "/admin/users/new", {**form, "email": "pat2@x.example.com", "patient_mrn": patient.mrn}
    )
    assert "already has a portal account" in again.get_data(as_text=True)


def test_edit_saves_and_is_audited(client, login, make_user, db):
    me = login(Role.ADMIN)
    user = make_user(Role.FRONT_DESK)
    page = f"/admin/users/{user.id}/edit"
    response = client.post_form(
        page,
        {
            "full_name": "Renamed Person",
            "email": user.email,
            "role": "clinical_staff",
            "version": str(user.version),
            "password": PASSWORD,
            "code": current_code(me),
        },
    )
    assert response.status_code == 302
    changed = _user(db, user.email)
    assert changed.full_name == "Renamed Person" and changed.role is Role.CLINICAL_STAFF
    assert changed.session_version == 2  # a role change signs the person out
    detail = db.session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "user.updated")
    )
    assert detail == "changed: name, role"


def test_stale_edit_gets_409_with_newer_values_and_keeps_input(client, login, make_user, db):
    login(Role.ADMIN)
    user = make_user(Role.FRONT_DESK, full_name="Original Name")
    page = f"/admin/users/{user.id}/edit"
    stale_version = str(user.version)
    first = client.post_form(
        page,
        {
            "full_name": "First Editor",
            "email": user.email,
            "role": "front_desk",
            "version": stale_version,
        },
    )
    assert first.status_code == 302
    second = client.post_form(
        page,
        {
            "full_name": "Second Editor",
            "email": user.email,
            "role": "front_desk",
            "version": stale_version,
        },
    )
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else saved this account" in html
    assert "<td>First Editor</td>" in html
    assert 'value="Second Editor"' in html
    assert _user(db, user.email).full_name == "First Editor"


def test_admin_cannot_deactivate_or_demote_themself(client, login, db):
    admin = login(Role.ADMIN)
    page = f"/admin/users/{admin.id}"
    client.post_form(f"{page}/deactivate", token_from=page)
    assert _user(db, admin.email).active
    response = client.post_form(
        f"{page}/edit",
        {
            "full_name": admin.full_name,
            "email": admin.email,
            "role": "front_desk",
            "version": str(admin.version),
            "password": PASSWORD,
            "code": current_code(admin),
        },
    )
    assert "your own administrator role" in response.get_data(as_text=True)


def test_deactivate_and_reactivate(client, login, make_user, db):
    login(Role.ADMIN)
    user = make_user(Role.PROVIDER)
    page = f"/admin/users/{user.id}"
    client.post_form(f"{page}/deactivate", token_from=page)
    assert not _user(db, user.email).active
    client.post_form(f"{page}/reactivate", token_from=page)
    assert _user(db, user.email).active
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
    ).all()
    assert {"user.deactivated", "user.activated"} <= set(actions)


def test_reset_password_refuses_weak_password(client, login, make_user, db):
    me = login(Role.ADMIN)
    user = make_user(Role.PROVIDER)
    page = f"/admin/users/{user.id}"
    response = client.post_form(
        f"{page}/password",
        {
            "new_password": "password1234",
            "confirm": "password1234",
            "password": PASSWORD,
            "code": current_code(me),
        },
        token_from=page,
    )
    assert response.status_code == 422
    assert 'id="new_password-error"' in response.get_data(as_text=True)
    assert _user(db, user.email).session_version == 1


def test_user_list_filters_and_sorts(client, login, make_user):
    login(Role.ADMIN)
    make_user(Role.PROVIDER, full_name="Zed Inactive", active=False)
    active_page = client.get("/admin/users").get_data(as_text=True)
    assert "Zed Inactive" not in active_page
    assert "Zed Inactive" in client.get("/admin/users?show=inactive").get_data(as_text=True)
    assert client.get("/admin/users?sort=email&show=all").status_code == 200


def test_changing_an_email_or_role_asks_for_the_admins_password(client, login, make_user, db):
    me = login(Role.ADMIN)
    user = make_user(Role.FRONT_DESK)
    page = f"/admin/users/{user.id}/edit"
    form = {
        "full_name": user.full_name,
        "email": "new.address@x.example.com",
        "role": "front_desk",
        "version": str(user.version),
    }
    refused = client.post_form(page, form)
    assert refused.status_code == 422 and 'id="password-error"' in refused.get_data(as_text=True)
    assert _user(db, user.email) is not None
    failed = sa.select(sa.func.count()).where(AuditEvent.action == "auth.reauth_failed")
    assert db.session.scalar(failed) == 1
    assert (
        client.post_form(page, {**form, "password": PASSWORD, "code": current_code(me)}).status_code
        == 302
    )
    assert _user(db, "new.address@x.example.com") is not None
    # a name alone needs no confirmation
    renamed = {**form, "email": "new.address@x.example.com", "full_name": "Only A Name"}
    renamed["version"] = str(_user(db, "new.address@x.example.com").version)
    assert client.post_form(page, renamed).status_code == 302


def test_an_admin_changes_their_own_credentials_like_anyone(client, login, db):
    admin = login(Role.ADMIN)
    page = f"/admin/users/{admin.id}"
    response = client.post_form(
        f"{page}/password",
        {
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
            "password": PASSWORD,
            "code": current_code(admin),
        },
        token_from=page,
    )
    assert response.status_code == 422 and "your account page" in response.get_data(as_text=True)
    assert _user(db, admin.email).session_version == 1
    edit = client.post_form(
        f"{page}/edit",
        {
            "full_name": admin.full_name,
            "email": "taken.over@x.example.com",
            "role": "admin",
            "version": str(admin.version),
            "password": "not my password at all",
        },
    )
    assert edit.status_code == 422 and _user(db, "taken.over@x.example.com") is None


def test_a_page_number_too_large_for_the_database_is_not_a_server_error(client, login, db):
    login(Role.ADMIN)
    assert client.get("/admin/users?page=99999999999999999999").status_code == 400
    assert client.get("/admin/users?page=abc").status_code == 400
    far = client.get("/admin/users?page=2147483647")
    assert far.status_code == 200
