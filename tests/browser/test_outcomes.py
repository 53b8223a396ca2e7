"""The outcomes registry's screens in a real browser, checked with axe: a patient's worry sent
from a phone, triaged by a provider into a coded adverse event, and the cohort dashboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

GRACE = ("grace.okafor@example.com", "Patient demo Aspen-47")
NOVAK = ("dr.novak@demo.example.com", "Provider demo Birch-47")
WORRY = "Since yesterday the injection site is hot and red, and I feel feverish."


def test_a_worry_from_a_phone_becomes_a_reviewed_serious_adverse_event(browser, live_server):
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = phone.new_page()
    page.base_url = live_server.url
    try:
        sign_in(page, *GRACE)
        page.goto(page.base_url + "/")
        page.get_by_role("button", name="Show navigation").click()
        page.get_by_role("link", name="Something worries me").click()
        page.wait_for_load_state()
        assert _axe_violations(page) == []
        # an empty message is refused beside the field
        page.get_by_role("button", name="Send to the clinical team").click()
        page.wait_for_load_state()
        assert page.locator("#body.is-invalid").count() == 1
        assert page.locator(".invalid-feedback", has_text="what worries you").is_visible()
        page.get_by_label("What worries you?").fill(WORRY)
        page.get_by_role("button", name="Send to the clinical team").click()
        page.wait_for_load_state()
        assert page.locator(".alert-success").count() == 1
        assert _axe_violations(page) == []
        screenshot(page, "outcomes-concern-phone")
    finally:
        phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.base_url = live_server.url
    try:
        sign_in(page, *NOVAK)
        page.get_by_role("link", name="Safety").first.click()
        page.wait_for_load_state()
        assert WORRY in page.content()
        assert _axe_violations(page) == []
        page.locator("li, tr, .card", has_text=WORRY).get_by_role(
            "link", name="Record as adverse event"
        ).first.click()
        page.wait_for_load_state()
        # the patient's own words are carried over; a missing term and grade are refused beside them
        assert page.get_by_label("What happened").input_value() == WORRY
        page.get_by_role("button", name="Record adverse event").click()
        page.wait_for_load_state()
        assert page.locator("#term_code.is-invalid").count() == 1
        assert page.locator("#grade.is-invalid").count() == 1
        assert page.get_by_label("What happened").input_value() == WORRY
        assert _axe_violations(page) == []
        event = page.get_by_label("Event", exact=True)
        event.select_option(event.locator("option").nth(1).get_attribute("value"))
        page.get_by_label("Started on").fill((date.today() - timedelta(days=1)).isoformat())
        page.get_by_label("Grade").select_option("3")
        page.get_by_label("Needed a hospital stay, or made one longer").check()
        page.get_by_label("Related to the procedure?").select_option(index=1)
        page.get_by_label("Related to the injected product?").select_option(index=1)
        page.get_by_label("Action taken").select_option(index=1)
        page.get_by_label("Outcome").select_option(index=1)
        page.get_by_role("button", name="Record adverse event").click()
        page.wait_for_load_state()
        assert page.locator(".invalid-feedback").all_inner_texts() == []
        assert page.locator(".badge", has_text="Serious").is_visible()
        assert _axe_violations(page) == []
        screenshot(page, "outcomes-adverse-event")
        page.get_by_role("button", name="Mark this serious event as reviewed").click()
        page.wait_for_load_state()
        assert page.locator(".alert-success", has_text="Marked as reviewed").is_visible()
        assert page.get_by_role("button", name="Mark this serious event as reviewed").count() == 0
    finally:
        desk.close()


def test_cohort_dashboard_filters_and_reads_as_a_table(page):
    sign_in(page, *NOVAK)
    page.get_by_role("link", name="Outcomes registry").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Outcomes registry").is_visible()
    assert _axe_violations(page) == []
    # every filter is a labelled control, reachable by keyboard
    for label in ("Questionnaire", "Therapy", "Diagnosis", "Provider", "Injected from"):
        assert page.get_by_label(label).count() == 1
    page.get_by_label("Therapy").select_option(index=1)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "therapy=" in page.url
    assert page.locator("svg.outcome-chart").count() == 1
    assert page.locator("table").first.is_visible()
    assert _axe_violations(page) == []
    screenshot(page, "outcomes-registry")
    page.get_by_role("link", name="Operations").first.click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    screenshot(page, "outcomes-operations")
