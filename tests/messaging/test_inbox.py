"""Secure messages: a patient writes to the care team; who may read which thread (care team,
front desk for appointments only, no admin, no other patient); assignment, read/unread,
reply, the urgent flag on the worklist; the patient is told a reply waits, never its text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.messaging import inbox
from clinic.messaging.models import MessageKind, PatientMessage, Thread, ThreadSubject
from tests.careteam_helpers import join_care_team
from tests.factories import make_user
from tests.messaging.helpers import outbox, sender

# a time after any notice written now, outside the quiet hours in New York
TOMORROW_NOON = (datetime.now(UTC) + timedelta(days=1)).replace(hour=16)


@pytest.fixture
def patient_user(db):
    user = make_user(Role.PATIENT)
    user.patient.email = user.email
    db.session.flush()
    return user


def _write(client, subject="question", body="Can I shower after the injection?", title=""):
    return client.post_form("/my/messages", {"subject": subject, "title": title, "body": body})


def test_a_patient_writes_and_sees_the_advice_beside_the_form(client, login, patient_user):
    login(Role.PATIENT, patient_user)
    page = client.get("/my/messages").get_data(as_text=True)
    assert "Not for emergencies" in page and "911" in page and "Office hours" in page
    answer = _write(client)
    assert answer.status_code == 302
    thread = db.session.scalar(sa.select(Thread))
    assert thread.patient_id == patient_user.patient_id and thread.subject is ThreadSubject.QUESTION
    assert thread.unread_by_team and not thread.urgent
    assert "Can I shower" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_a_message_that_sounds_urgent_is_flagged_for_the_worklist(
    client, login, patient_user, make_user
):
    login(Role.PATIENT, patient_user)
    _write(client, "side_effect", "I have a fever and the site is swollen since last night.")
    thread = db.session.scalar(sa.select(Thread))
    assert thread.urgent
    nurse = make_user(Role.CLINICAL_STAFF)
    join_care_team(nurse, patient_user.patient)
    client.post_form("/logout", {}, token_from="/my/messages")
    login(Role.CLINICAL_STAFF, nurse)
    worklist = client.get("/clinical/worklist").get_data(as_text=True)
    assert "sound" in worklist and f"/messages/inbox/{thread.id}" in worklist


def test_an_empty_subject_or_body_is_refused_beside_the_field(client, login, patient_user):
    login(Role.PATIENT, patient_user)
    answer = _write(client, subject="", body="")
    assert answer.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def _thread(patient, subject=ThreadSubject.QUESTION, body="How long should I rest?"):
    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    return inbox.start(account, subject, "", body)


def test_who_sees_which_thread(client, sign_in_as, patient_user, make_user):
    question = _thread(patient_user.patient)
    about_visit = _thread(patient_user.patient, ThreadSubject.APPOINTMENT, "Can I come later?")
    on_team = make_user(Role.CLINICAL_STAFF)
    join_care_team(on_team, patient_user.patient)
    off_team = make_user(Role.PROVIDER)
    desk = make_user(Role.FRONT_DESK)
    other_patient = make_user(Role.PATIENT)
    expectations = [
        (on_team, question, 200),
        (on_team, about_visit, 200),
        (off_team, question, 403),
        (off_team, about_visit, 403),
        (desk, question, 403),
        (desk, about_visit, 200),
    ]
    for user, thread, status in expectations:
        sign_in_as(user.role, user)
        assert client.get(f"/messages/inbox/{thread.id}").status_code == status, (
            user.role,
            thread.subject,
        )
    sign_in_as(Role.FRONT_DESK, desk)
    listing = client.get("/messages/inbox").get_data(as_text=True)
    assert "Can I come later" not in listing  # titles only
    assert (
        f"/messages/inbox/{about_visit.id}" in listing
        and f"/messages/inbox/{question.id}" not in listing
    )
    sign_in_as(Role.PROVIDER, off_team)
    assert f"/messages/inbox/{question.id}" not in client.get("/messages/inbox").get_data(
        as_text=True
    )
    sign_in_as(Role.PATIENT, other_patient)
    assert client.get(f"/my/messages/{question.id}").status_code == 404
    sign_in_as(Role.ADMIN, make_user(Role.ADMIN))
    assert client.get(f"/messages/inbox/{question.id}").status_code == 403


def test_a_reply_tells_the_patient_without_its_text(
    app, client, sign_in_as, patient_user, make_user
):
    thread = _thread(patient_user.patient)
    nurse = make_user(Role.CLINICAL_STAFF)
    join_care_team(nurse, patient_user.patient)
    sign_in_as(Role.CLINICAL_STAFF, nurse)
    page = client.get(f"/messages/inbox/{thread.id}")
    assert page.status_code == 200
    db.session.expire_all()
    assert not thread.unread_by_team  # opening it reads it
    answer = client.post_form(
        f"/messages/inbox/{thread.id}", {"body": "Rest for two days; SECRET-DETAIL-42."}
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert thread.unread_by_patient and thread.assigned_to_id == nurse.id
    notice = db.session.scalar(sa.select(PatientMessage))
    assert notice.kind is MessageKind.REPLY_WAITING and notice.body is None
    sender(app).send_due(TOMORROW_NOON)
    mail = outbox(patient_user.patient.email)
    assert len(mail) == 1 and "SECRET-DETAIL-42" not in mail[0].body
    assert "/my/messages" in mail[0].body
    # the patient reads it; the team sees the patient's answer as unread
    sign_in_as(Role.PATIENT, patient_user)
    assert "SECRET-DETAIL-42" in client.get(f"/my/messages/{thread.id}").get_data(as_text=True)
    db.session.expire_all()
    assert not thread.unread_by_patient
    client.post_form(f"/my/messages/{thread.id}", {"body": "Thank you."})
    db.session.expire_all()
    assert thread.unread_by_team


def _key(page) -> str:
    return re.search(r'name="submission_key" value="([^"]+)"', page.get_data(as_text=True))[1]


def test_a_double_sent_reply_is_sent_once(client, sign_in_as, patient_user, make_user):
    """A double click on Send: one message in the thread and one notice to the patient."""
    thread = _thread(patient_user.patient)
    nurse = make_user(Role.CLINICAL_STAFF)
    join_care_team(nurse, patient_user.patient)
    sign_in_as(Role.CLINICAL_STAFF, nurse)
    key = _key(client.get(f"/messages/inbox/{thread.id}"))
    for _ in range(2):
        answer = client.post_form(
            f"/messages/inbox/{thread.id}", {"body": "Rest for two days.", "submission_key": key}
        )
        assert answer.status_code == 302
    sign_in_as(Role.PATIENT, patient_user)
    key = _key(client.get(f"/my/messages/{thread.id}"))
    for _ in range(2):
        answer = client.post_form(
            f"/my/messages/{thread.id}", {"body": "Thank you.", "submission_key": key}
        )
        assert answer.status_code == 302
    db.session.expire_all()
    bodies = [m.body for m in thread.messages]
    assert bodies.count("Rest for two days.") == 1 and bodies.count("Thank you.") == 1
    notices = sa.select(sa.func.count()).select_from(PatientMessage)
    assert db.session.scalar(notices.where(PatientMessage.kind == MessageKind.REPLY_WAITING)) == 1


def test_a_reply_read_before_the_notice_goes_sends_no_notice(
    app, client, sign_in_as, patient_user, make_user
):
    thread = _thread(patient_user.patient)
    nurse = make_user(Role.CLINICAL_STAFF)
    join_care_team(nurse, patient_user.patient)
    inbox.reply(thread, nurse, "Rest for two days.")
    inbox.mark_read(thread, patient_user)
    sender(app).send_due(TOMORROW_NOON)
    assert outbox(patient_user.patient.email) == []


def test_assignment_urgent_flag_and_unread(client, sign_in_as, patient_user, make_user):
    thread = _thread(patient_user.patient)
    provider = make_user(Role.PROVIDER)
    nurse = make_user(Role.CLINICAL_STAFF)
    join_care_team(provider, patient_user.patient)
    journey = join_care_team(nurse, patient_user.patient)
    assert journey
    outsider = make_user(Role.CLINICAL_STAFF)
    sign_in_as(Role.PROVIDER, provider)
    url = f"/messages/inbox/{thread.id}"
    client.get(url)
    assert (
        client.post_form(f"{url}/assign", {"assignee": nurse.id}, token_from=url).status_code == 302
    )
    db.session.expire_all()
    assert thread.assigned_to_id == nurse.id
    client.post_form(f"{url}/assign", {"assignee": outsider.id}, token_from=url)
    db.session.expire_all()
    assert thread.assigned_to_id == nurse.id  # not on the team: refused
    client.post_form(f"{url}/urgent", {}, token_from=url)
    db.session.expire_all()
    assert thread.urgent
    client.post_form(f"{url}/unread", {}, token_from=url)
    db.session.expire_all()
    assert thread.unread_by_team
    inbox_page = client.get("/messages/inbox?show=unread").get_data(as_text=True)
    assert "sounds urgent" in inbox_page


def test_the_worklist_names_urgent_threads_in_a_fixed_number_of_statements(
    client, login, make_user
):
    """The banner's threads come with their patients' names in its one statement (not a
    statement per thread for its patient, nor one for the threads' messages)."""
    from tests.journeys.test_query_counts import counted

    nurse = make_user(Role.CLINICAL_STAFF)

    def urgent_patient():
        user = make_user(Role.PATIENT)
        join_care_team(nurse, user.patient)
        thread = inbox.start(user, ThreadSubject.SIDE_EFFECT, "", "I have a fever since last night")
        assert thread.urgent
        return user.patient

    def statements() -> tuple[int, str]:
        client.get("/clinical/worklist")  # warm (templates, kept rows)
        db.session.expire_all()  # as a request of its own finds them: not loaded yet
        with counted() as run:
            page = client.get("/clinical/worklist").get_data(as_text=True)
        return len(run), page

    login(Role.CLINICAL_STAFF, nurse)
    first = urgent_patient()
    one, page = statements()
    assert "1 patient message sounds urgent" in page and first.display_name in page
    others = [urgent_patient() for _ in range(3)]
    four, page = statements()
    assert "4 patient messages sound urgent" in page
    assert all(p.display_name in page for p in [first, *others])
    assert one == four, (one, four)
