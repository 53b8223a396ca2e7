"""The front desk's day in the browser: register, find a slot, book, the board, calendars."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from clinic.patients.models import Sex
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

DESK = next(login for login in DEMO_LOGINS if login.role is Role.FRONT_DESK)
ADMIN = next(login for login in DEMO_LOGINS if login.role is Role.ADMIN)


def _check(page, name: str) -> None:
    assert _axe_violations(page) == [], name
    screenshot(page, name)


def test_register_find_a_slot_and_book(page):
    sign_in(page, DESK.email, DESK.password)
    page.get_by_role("link", name="Register a new patient").click()
    page.get_by_label("Given name").fill("Tove")
    page.get_by_label("Family name").fill("Marsh")
    page.get_by_label("Date of birth").fill("1966-02-14")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone", exact=True).fill("617 555 0911")
    page.get_by_label("Preferred contact method").select_option("phone")
    page.get_by_label("Emergency contact name").fill("Ola Marsh")
    page.get_by_label("Emergency contact phone").fill("617 555 0912")
    _check(page, "patient-register")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "is registered as CJ" in page.content()
    mrn = re.search(r"registered as (CJ\d+)", page.content()).group(1)
    _check(page, "patient-detail")

    page.goto(page.base_url + "/schedule/slots")
    page.get_by_label("Find the patient").fill(mrn)  # the picker lists them as you type
    page.locator("#picker-results").get_by_role("link", name="Choose Tove Marsh").click()
    page.wait_for_load_state()
    assert mrn in page.locator("#picker-chosen").inner_text()
    page.get_by_label("Visit").select_option("evaluation")
    page.get_by_role("button", name="Find free slots").click()
    page.wait_for_load_state()
    _check(page, "slot-finder")
    page.locator("#slot-results").get_by_role("link", name="Book this").first.click()
    page.wait_for_load_state()
    chosen = page.locator("#picker-chosen").inner_text()
    assert "Marsh, Tove" in chosen and mrn in chosen and "14 Feb 1966" in chosen
    _check(page, "booking-form")
    page.get_by_role("button", name="Book").click()
    page.wait_for_load_state()
    assert "Booked: Evaluation for Tove Marsh" in page.content()
    _check(page, "appointment")


def test_day_board_checks_in_and_refreshes_itself(page, live_app):
    sign_in(page, DESK.email, DESK.password)
    page.get_by_role("link", name="Open the day board").click()
    page.wait_for_load_state()
    _check(page, "day-board")
    # Book a phone check for today that nobody else holds, then check the patient in.
    with live_app.app_context():
        from clinic.extensions import db
        from clinic.patients.services import register_patient
        from clinic.scheduling import services
        from clinic.scheduling.models import VisitKind
        from clinic.timeutil import clinic_day_bounds, clinic_today

        nurse = next(c for c in services.clinicians() if c.role is Role.CLINICAL_STAFF)
        patient = register_patient(
            given_name="Board", family_name="Walker", date_of_birth=date(1970, 1, 1), sex=Sex.MALE
        )
        start = clinic_day_bounds(clinic_today())[1] - timedelta(minutes=15)
        services.book(
            patient=patient,
            provider=nurse,
            room=None,
            kind=VisitKind.PHONE_CHECK,
            starts_at=start,
            ends_at=start + timedelta(minutes=10),
            by=None,
        )
        db.session.commit()
        db.session.remove()
    page.evaluate("window.boardRefresh()")
    row = page.locator("#day-board-rows tr", has_text="Walker, Board")
    row.wait_for()
    assert page.url.endswith("/schedule/board")  # refreshed in place, no reload
    # a phone check: reached, not arrived (a late one also offers "Not reached")
    row.get_by_role("button", name=re.compile(r"^Reached:")).click()
    page.wait_for_load_state()
    assert "Board Walker: checked in" in page.content()
    walker = page.locator("#day-board-rows tr", has_text="Walker, Board")
    assert "Reached, call to start" in walker.inner_text()


def test_calendars_and_booking_from_an_empty_slot(page):
    sign_in(page, DESK.email, DESK.password)
    page.goto(page.base_url + "/schedule/day")
    _check(page, "calendar-day")
    page.get_by_role("link", name="By room").click()
    page.wait_for_load_state()
    _check(page, "calendar-rooms")
    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_load_state()
    _check(page, "calendar-week-grid")  # every clinician
    page.get_by_role("button", name="Show").click()  # one clinician's week
    page.wait_for_load_state()
    _check(page, "calendar-week")
    page.get_by_role("link", name="Calendar subscription").click()
    page.get_by_role("button", name="Create a link").click()
    page.wait_for_load_state()
    assert "/schedule/feed/" in page.get_by_label("Subscription link").input_value()
    _check(page, "calendar-feed")
    # a Monday two to three weeks out: the demo clinic is closed at weekends, so
    # "two weeks from today" has no free slot when today is a Saturday or Sunday
    two_weeks = datetime.now(UTC).date() + timedelta(days=14)
    next_monday = two_weeks + timedelta(days=-two_weeks.weekday() % 7)
    page.goto(page.base_url + f"/schedule/day?date={next_monday.isoformat()}")
    page.locator("a.calendar-book").first.click()
    page.wait_for_load_state()
    assert page.get_by_label("Date").input_value() == next_monday.isoformat()
    assert page.get_by_label("Start time").input_value()


def test_admin_rooms_and_hours_pages(page):
    sign_in(page, ADMIN.email, ADMIN.password)
    for path, name in (
        ("/schedule/rooms", "rooms"),
        ("/schedule/rooms/new", "room-new"),
        ("/schedule/hours", "hours"),
    ):
        page.goto(page.base_url + path)
        _check(page, f"admin-{name}")
    page.get_by_role("link", name="Dr. Priya Patel").click()
    page.wait_for_load_state()
    _check(page, "admin-hours-edit")
