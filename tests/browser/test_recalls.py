"""The front desk works the follow-up recall list in the browser (axe-checked)."""

from __future__ import annotations

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

DESK = next(login for login in DEMO_LOGINS if login.role is Role.FRONT_DESK)


def _check(page, name: str) -> None:
    assert _axe_violations(page) == [], name
    screenshot(page, name)


def test_recalls_book_a_suggested_slot_or_choose_another_time(page):
    sign_in(page, DESK.email, DESK.password)
    page.goto(page.base_url + "/front-desk")
    assert "overdue" in page.locator("#recall-summary").inner_text()
    page.get_by_role("link", name="Open recalls").click()
    page.wait_for_load_state()
    rows = page.locator("tr.recall-row")
    before = rows.count()
    assert before >= 3 and page.locator("tr.recall-row-overdue").count() >= 1
    assert "Overdue" in page.locator("tr.recall-row-overdue").first.inner_text()
    _check(page, "recalls")

    row = page.locator("tr.recall-row:not(.recall-row-overdue)").first
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="Book this slot").click()
    page.wait_for_load_state()
    assert "Booked: " in page.content()
    assert page.locator(f"#{row_id}").count() == 0
    assert page.locator("tr.recall-row").count() == before - 1

    page.locator("tr.recall-row").first.get_by_role("link", name="Another time").click()
    page.wait_for_load_state()
    assert page.get_by_label("For (clinical journey)").input_value().startswith("follow_up:")
    assert "MRN CJ" in page.locator("#picker-chosen").inner_text()  # who is booked, shown
    _check(page, "recall-booking-form")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/schedule/recalls")
    _check(page, "recalls-phone")
