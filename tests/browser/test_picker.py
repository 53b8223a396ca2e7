"""The patient picker in the browser: search as you type with the script, a plain search form
without it; either way the person sees name, birth date, MRN and phone before "Book"."""

from __future__ import annotations

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

DESK = next(login for login in DEMO_LOGINS if login.role is Role.FRONT_DESK)


def _a_demo_patient(live_app):
    with live_app.app_context():
        import sqlalchemy as sa

        from clinic.extensions import db
        from clinic.patients.models import Patient

        patient = db.session.scalar(
            sa.select(Patient).where(Patient.phone.is_not(None)).order_by(Patient.id).limit(1)
        )
        return patient.family_name, patient.full_name, patient.mrn, patient.phone_key


def test_the_picker_searches_as_you_type(page, live_app):
    _, full_name, mrn, phone_key = _a_demo_patient(live_app)
    sign_in(page, DESK.email, DESK.password)
    page.goto(page.base_url + "/schedule/book?kind=evaluation")
    last_four = phone_key[-4:]
    page.get_by_label("Find the patient").press_sequentially(last_four, delay=50)
    results = page.locator("#picker-results")
    results.get_by_role("link", name=f"Choose {full_name}").wait_for()
    assert mrn in results.inner_text() and "born" in results.inner_text()
    assert page.url.endswith("/schedule/book?kind=evaluation")  # no page load while typing
    assert _axe_violations(page) == []
    screenshot(page, "picker-typing")
    page.get_by_label("Find the patient").press("ArrowDown")  # into the list by keyboard
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert mrn in page.locator("#picker-chosen").inner_text()
    assert f"Booking for {full_name}" in page.locator("#booking-who").inner_text()


def test_the_picker_works_without_javascript(browser, live_server, live_app):
    family, full_name, mrn, _ = _a_demo_patient(live_app)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.base_url = live_server.url
    try:
        sign_in(page, DESK.email, DESK.password)
        page.goto(page.base_url + "/schedule/book?kind=evaluation")
        page.get_by_label("Find the patient").fill(family)
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        assert "find=" in page.url
        page.locator("#picker-results").get_by_role("link", name=f"Choose {full_name}").click()
        page.wait_for_load_state()
        assert mrn in page.locator("#picker-chosen").inner_text()
        assert page.get_by_label("Visit").input_value() == "evaluation"  # kept through the search
        screenshot(page, "picker-no-script")
    finally:
        context.close()
