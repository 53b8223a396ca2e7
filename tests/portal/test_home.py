"""The patient's home: next visits in the clinic's time, what is due, nothing of others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.auth.models import Role
from clinic.scheduling.models import Status
from tests.scheduling.factories import make_appointment


def _at(days: int, hour_utc: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour_utc, 0, tzinfo=UTC)


def test_home_lists_own_upcoming_visits_with_preparation(client, sign_in_as, make_user, db):
    me = make_user(Role.PATIENT)
    other = make_user(Role.PATIENT)
    make_appointment(patient=me.patient, starts_at=_at(3, 15))
    make_appointment(patient=me.patient, starts_at=_at(4, 15), status=Status.CANCELLED)
    make_appointment(patient=me.patient, starts_at=_at(-3, 15))
    make_appointment(patient=other.patient, starts_at=_at(5, 15))
    db.session.flush()
    sign_in_as(Role.PATIENT, me)
    html = client.get("/my").get_data(as_text=True)
    assert html.count("border-start border-4") == 1
    assert "About 30 minutes" in html  # how to prepare for a follow-up
    local = _at(3, 15).astimezone(ZoneInfo("America/New_York"))
    assert f"{local.day} {local:%b %Y, %H:%M}" in html


def test_home_query_count_does_not_grow_with_history(
    client, sign_in_as, make_user, count_queries, db
):
    def measure(visits: int) -> int:
        me = make_user(Role.PATIENT)
        for i in range(visits):
            make_appointment(patient=me.patient, starts_at=_at(2 + i, 14))
        sign_in_as(Role.PATIENT, me)
        with count_queries() as counter:
            assert client.get("/my").status_code == 200
        return counter.count

    assert measure(1) == measure(12)
