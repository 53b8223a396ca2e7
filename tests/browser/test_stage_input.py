"""Stage pages never lose input: a draft saved twice keeps every field, saving one section keeps
what was typed in another, and leaving with unsaved changes asks first."""

from __future__ import annotations

import pytest

from clinic.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import FIRST_OF_EACH_ROLE, _axe_violations

pytestmark = pytest.mark.browser

NURSE = ("nurse@demo.example.com", "Staff demo Willow-47")


def _processing_page(page) -> None:
    sign_in(page, *NURSE)
    page.get_by_role("link", name="Processing (cycle 1)").first.click()
    page.wait_for_load_state()


def test_saving_the_processing_draft_twice_keeps_who_processed_and_verified(page):
    _processing_page(page)
    processed = page.get_by_label("Processed by")
    verified = page.get_by_label("Verified by (a second person)")
    processed.select_option(label="Dr. Priya Patel")
    verified.select_option(label="Sam Whitaker, RN")  # the signed-in nurse: her own session
    chosen = (processed.input_value(), verified.input_value())
    for _ in range(2):
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_load_state()
        assert "Draft saved." in page.content()
        assert (processed.input_value(), verified.input_value()) == chosen


def test_saving_the_checklist_keeps_what_was_typed_in_the_record(page):
    _processing_page(page)
    page.get_by_role("button", name="Save draft").click()  # starts the stage: checklist shown
    page.wait_for_load_state()
    device = page.get_by_label("Device / kit")
    device.click()
    device.press_sequentially("Typed but not saved")
    page.locator("#checklist input[type=checkbox]").first.check()
    page.get_by_role("button", name="Save checklist").click()
    page.wait_for_load_state()
    assert "Checklist saved." in page.content()
    assert page.get_by_label("Device / kit").input_value() == "Typed but not saved"
    assert page.locator("#kept-input-note").is_visible()
    assert page.locator("#checklist input[type=checkbox]").first.is_checked()
    assert _axe_violations(page) == []
    screenshot(page, "journeys-kept-input")


def test_leaving_with_unsaved_changes_asks_first(page):
    _processing_page(page)
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    start = page.url
    device = page.get_by_label("Device / kit")
    device.click()
    device.press_sequentially("Unsaved")
    page.get_by_role("link", name="Clinical").first.click(no_wait_after=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.url == start
    assert page.get_by_label("Device / kit").input_value() == "Unsaved"


def test_the_patient_banner_stays_in_view_and_the_screen_page_reads_well(page):
    sign_in(page, *NURSE)
    page.goto(page.base_url + "/clinical/patients?q=Okafor")
    page.get_by_role("link", name="Okafor, Grace").first.click()
    page.wait_for_load_state()
    banner = page.get_by_role("complementary", name="Patient safety banner")
    assert "Iodinated contrast" in banner.inner_text()
    assert "Aspirin 81 mg daily" in banner.inner_text()
    page.mouse.wheel(0, 2500)
    page.wait_for_timeout(300)
    box = banner.bounding_box()
    assert box is not None and 0 <= box["y"] < 120, box  # sticky: still at the top
    assert _axe_violations(page) == []
    screenshot(page, "journeys-chart-banner")
    page.goto(page.base_url + "/clinical/patients?q=Lindgren")
    page.get_by_role("link", name="Lindgren, Ruth").first.click()
    page.wait_for_load_state()
    assert "Apixaban 5 mg twice daily" in page.content()
    assert "Outside the plan" not in page.content()  # shown on the injection page, not here
    page.get_by_role("link", name="Guided injection · cycle 1").first.click()
    page.wait_for_load_state()
    assert "Outside the plan" in page.content()
    assert _axe_violations(page) == []


def test_a_patient_reads_approved_instructions_with_the_warning_signs_highlighted(page):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(page, login.email, login.password)
    page.goto(page.base_url + "/my/instructions")
    block = page.locator("#warning-signs")
    assert block.is_visible()
    assert "100.4 °F" in block.inner_text() and "Call 911" in block.inner_text()
    assert _axe_violations(page) == []
    page.goto(page.base_url + "/my/instructions?phase=days_0_3")
    assert "acetaminophen" in page.content() and "paracetamol" not in page.content()
    screenshot(page, "portal-instructions-warning-signs")
