"""The every-clinician week grid in the browser: move a visit by keyboard through the page's
one move form (a dialog opened from the visit's "Move"), and by dragging it onto free time;
the warning outside working hours shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from clinic.patients.models import Sex
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

DESK = next(login for login in DEMO_LOGINS if login.role is Role.FRONT_DESK)


def _a_visit_next_week(live_app, given: str, hour: int):
    """A booked follow-up next Wednesday at `hour`:00 with a provider who works then."""
    with live_app.app_context():
        from clinic.extensions import db
        from clinic.patients.services import register_patient
        from clinic.scheduling import services
        from clinic.scheduling.models import VisitKind
        from clinic.scheduling.slots import hours_by_clinician
        from clinic.timeutil import clinic_today, clinic_tz

        today = clinic_today()
        wednesday = today + timedelta(days=7 - today.weekday() + 2)
        people = [c for c in services.clinicians() if c.role is Role.PROVIDER]
        hours = hours_by_clinician([p.id for p in people])
        provider = next(p for p in people if 2 in hours.get(p.id, {}))
        patient = register_patient(
            given_name=given, family_name="Gridley", date_of_birth=date(1961, 3, 3), sex=Sex.MALE
        )
        for minute in range(0, 8 * 60, 15):  # the first free quarter hour from `hour`
            local = datetime.combine(wednesday, time(hour), clinic_tz()) + timedelta(minutes=minute)
            starts = local.astimezone(UTC)
            try:
                with db.session.begin_nested():
                    visit = services.book(
                        patient=patient,
                        provider=provider,
                        room=None,
                        kind=VisitKind.PHONE_CHECK,
                        starts_at=starts,
                        ends_at=starts + VisitKind.PHONE_CHECK.default_length,
                        by=None,
                    )
                break
            except services.BookingConflict:
                continue
        db.session.commit()
        return visit.id, wednesday, provider.full_name


def test_move_a_visit_by_keyboard_and_get_the_working_hours_warning(page, live_app):
    visit_id, wednesday, provider = _a_visit_next_week(live_app, "Keyes", 11)
    sign_in(page, DESK.email, DESK.password)
    page.goto(page.base_url + f"/schedule/week?date={wednesday.isoformat()}")
    visit = page.locator(f"#visit-{visit_id}")
    assert "Gridley, Keyes" in visit.inner_text()
    assert _axe_violations(page) == []
    screenshot(page, "week-grid")
    move = visit.get_by_role("button", name="Move Keyes Gridley")  # a link without scripts
    assert move.get_attribute("href").endswith(f"/appointments/{visit_id}/reschedule")
    assert page.locator("form[id^=move-]").count() == 1  # one move form for the whole page
    move.focus()
    page.keyboard.press("Enter")  # opens the page's move form, filled in with this visit
    dialog = page.get_by_role("dialog", name="Move Keyes Gridley")
    assert dialog.is_visible() and _axe_violations(page) == []
    assert page.evaluate("document.activeElement.id") == "move-provider"  # With
    assert page.locator("#move-day").input_value() == wednesday.isoformat()
    page.keyboard.press("Escape")  # closes it; focus goes back to "Move"
    assert not dialog.is_visible() and page.evaluate(
        "document.activeElement.textContent"
    ).startswith("Move")
    page.keyboard.press(" ")  # a button also opens on the space bar
    page.keyboard.press("Tab")  # Date
    page.keyboard.press("Tab")  # Start time
    page.locator("#move-start").fill("21:00")  # after everyone's hours
    page.locator("#move-start").press("Enter")
    page.wait_for_load_state()
    content = page.content()
    assert "Moved: Keyes Gridley" in content and f"outside {provider}" in content
    assert f"/schedule/week?date={wednesday.isoformat()}" in page.url
    moved = page.locator(".week-visit", has_text="Gridley, Keyes")
    assert "21:00" in moved.inner_text() and "outside working hours" in moved.inner_text()


def test_drag_a_visit_onto_free_time(page, live_app):
    visit_id, wednesday, _ = _a_visit_next_week(live_app, "Dragan", 12)
    sign_in(page, DESK.email, DESK.password)
    page.goto(page.base_url + f"/schedule/week?date={wednesday.isoformat()}")
    lane = page.locator(f"#visit-{visit_id}").locator("xpath=ancestor::tr[1]")
    free = lane.locator(".week-free").first
    start = free.get_attribute("data-start")
    with page.expect_navigation():
        page.locator(f"#visit-{visit_id}").drag_to(free)
    assert "Moved: Dragan Gridley" in page.content()
    moved = page.locator(".week-visit", has_text="Gridley, Dragan")
    assert moved.inner_text().startswith(start)
