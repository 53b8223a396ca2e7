"""Calendar subscription links: secret, replaceable, revocable, and without patients' names."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar

from clinic.auth.models import Role
from clinic.models.base import utcnow
from clinic.scheduling.models import CalendarFeed
from tests.scheduling.factories import make_appointment
from tests.scheduling.test_pages import _today_at


def _create(client, clinician_id: int) -> str:
    page = f"/schedule/clinicians/{clinician_id}/feed"
    html = client.post_form(page, {}).get_data(as_text=True)
    return re.search(r'id="feed-link" class="form-control" readonly value="([^"]+)"', html).group(1)


def test_a_subscription_link_serves_the_calendar_without_names_or_a_session(
    client, login, clinic, db, app
):
    login(Role.FRONT_DESK)
    make_appointment(
        provider=clinic.provider, patient=clinic.patient, room=clinic.exam, starts_at=_today_at(10)
    )
    link = _create(client, clinic.provider.id)
    stored = db.session.scalar(sa.select(CalendarFeed.token_hash))
    assert link.split("/")[-1].removesuffix(".ics") not in stored  # only a hash is kept
    anonymous = app.test_client()
    response = anonymous.get(link.replace("http://localhost", ""))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    events = list(Calendar.from_ical(response.data).walk("VEVENT"))
    assert len(events) == 1
    summary = str(events[0]["summary"])
    assert clinic.patient.mrn in summary and "Quist" not in response.get_data(as_text=True)


def test_replacing_or_switching_off_the_link_stops_the_old_one(client, login, clinic, app):
    login(Role.FRONT_DESK)
    first = _create(client, clinic.provider.id).replace("http://localhost", "")
    second = _create(client, clinic.provider.id).replace("http://localhost", "")
    anonymous = app.test_client()
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    page = f"/schedule/clinicians/{clinic.provider.id}/feed"
    off = client.post_form(f"{page}/revoke", {}, token_from=page)
    assert "switched off" in off.get_data(as_text=True)
    assert anonymous.get(second).status_code == 404
    assert anonymous.get("/schedule/feed/not-a-real-token.ics").status_code == 404


def test_a_clinician_manages_only_their_own_link(client, login, clinic):
    me = login(Role.PROVIDER)
    assert client.get(f"/schedule/clinicians/{me.id}/feed").status_code == 200
    assert client.get(f"/schedule/clinicians/{clinic.provider.id}/feed").status_code == 403


def test_a_link_expires_after_the_chosen_lifetime_and_its_owner_switches_it_off(
    client, login, app, db
):
    me = login(Role.PROVIDER)
    page = f"/schedule/clinicians/{me.id}/feed"
    html = client.post_form(page, {"lifetime": "30"}).get_data(as_text=True)
    link = re.search(r'readonly value="([^"]+)"', html).group(1).replace("http://localhost", "")
    feed = db.session.scalars(sa.select(CalendarFeed)).one()
    lifetime = feed.expires_at - utcnow()
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30)
    assert "working until" in client.get(page).get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.get(link).status_code == 200
    feed.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert anonymous.get(link).status_code == 404  # expired
    fresh = client.post_form(page, {"lifetime": "0"}).get_data(as_text=True)
    link = re.search(r'readonly value="([^"]+)"', fresh).group(1).replace("http://localhost", "")
    db.session.expire_all()
    assert db.session.scalars(sa.select(CalendarFeed)).one().expires_at is None
    assert anonymous.get(link).status_code == 200
    client.post_form(f"{page}/revoke", {}, token_from=page)  # the owner switches it off
    assert anonymous.get(link).status_code == 404
