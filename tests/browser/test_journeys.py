"""The clinical screens in a real browser: worklist, chart, stage pages, label, time-out stop."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

PROVIDER = ("dr.patel@demo.example.com", "Provider demo Birch-47")
NURSE = ("nurse@demo.example.com", "Staff demo Willow-47")


def test_provider_worklist_chart_and_stage_pages(page):
    sign_in(page, *PROVIDER)
    assert page.get_by_role("heading", level=1).inner_text() == "Clinical"
    assert page.get_by_role("heading", name="Waiting for your signature").is_visible()
    assert _axe_violations(page) == []
    screenshot(page, "journeys-worklist")
    page.get_by_label("Find a patient").fill("Okafor")
    page.get_by_role("button", name="Find patient").click()
    page.get_by_role("link", name="Okafor, Grace").click()
    page.wait_for_load_state()
    assert "In follow-up" in page.content()
    assert "6 weeks" in page.content()
    assert _axe_violations(page) == []
    screenshot(page, "journeys-chart")
    page.get_by_role("link", name="Guided injection · cycle 1").first.click()
    page.wait_for_load_state()
    assert "Signed" in page.content()
    assert _axe_violations(page) == []
    screenshot(page, "journeys-injection-signed")
    page.get_by_role("link", name="Print label").click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    screenshot(page, "journeys-label")


def test_evaluation_form_and_refused_reasons(page):
    sign_in(page, *PROVIDER)
    page.get_by_role("link", name="Evaluation").first.click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    page.get_by_label("Pain location").fill("Lower back, right side")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert "Draft saved." in page.content()
    assert page.get_by_label("Pain location").input_value() == "Lower back, right side"
    assert "Complete stage is not available yet" in page.content()
    screenshot(page, "journeys-evaluation-form")


def test_time_out_mismatch_stops_the_injection(browser, live_server):
    # Its own context: the stop page is an HTTP 422, which Chromium logs as a console error.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.base_url = live_server.url
    sign_in(page, *PROVIDER)
    page.goto(page.base_url + "/clinical/worklist")
    # an injection that is up next (its product is processed)
    up_next = page.get_by_role("region", name="Up next")
    up_next.get_by_role("link", name="Guided injection (cycle 1)").first.click()
    page.wait_for_load_state()
    # no Start step: the time-out form reads the checklist out and starts the injection
    page.get_by_label("We confirmed every item above aloud").check()
    page.get_by_label("Team member 1", exact=True).select_option(label="Sam Whitaker, RN")
    page.get_by_label("Password of team member 1").fill(NURSE[1])
    page.get_by_label("Syringe specimen ID").fill("SP-ZZZZZZ")
    page.get_by_role("button", name="Confirm time-out").click()
    page.wait_for_load_state()
    assert page.locator("#hard-stop").is_visible()
    assert "STOP: the syringe does not match this patient" in page.content()
    # the stop undid the start: the injection is still pending, the input kept
    assert page.locator("h1 + .stage-status-pending").count() == 1
    assert page.get_by_label("Syringe specimen ID").input_value() == "SP-ZZZZZZ"
    assert _axe_violations(page) == []
    screenshot(page, "journeys-time-out-stop")
    context.close()


def test_stage_page_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    tab = context.new_page()
    tab.base_url = live_server.url
    sign_in(tab, *NURSE)
    tab.get_by_role("link", name="Processing (cycle 1)").first.click()
    tab.wait_for_load_state()
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(tab, "journeys-processing-phone")
    context.close()


def test_admin_catalogue_pages(page):
    sign_in(page, "admin@demo.example.com", "Admin demo Cedar-47")
    page.get_by_role("link", name="Clinical catalogues").click()
    page.wait_for_load_state()
    for path, name in (
        ("/admin/clinical/checklists", "checklists"),
        ("/admin/clinical/checklists/new?kind=injection&therapy=", "checklist-new"),
        ("/admin/clinical/conditions", "conditions"),
        ("/admin/clinical/follow-up-protocols/prp", "protocol"),
    ):
        page.goto(page.base_url + path)
        assert _axe_violations(page) == [], path
        screenshot(page, f"journeys-admin-{name}")


def test_a_refused_form_in_a_fold_opens_it_and_puts_the_cursor_on_the_field(browser, live_server):
    """A duplicate target comes back inside "Add a target site": the fold is open and the
    cursor is on the field whose reason is shown beside it."""
    # Its own context: the refusal is an HTTP 422, which Chromium logs as a console error.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.base_url = live_server.url
    sign_in(page, *PROVIDER)
    page.get_by_label("Find a patient").fill("Adeyemi")
    page.get_by_role("button", name="Find patient").click()
    page.get_by_role("link", name="Adeyemi, Amara").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Evaluation").first.click()
    page.wait_for_load_state()
    planned = page.locator("#plan p", has_text="Targets:").inner_text()
    level, side, structure = planned.split(":", 1)[1].split(";")[0].split()
    page.locator("#plan summary", has_text="Add a target site").click()
    form = page.locator("#target-form")
    form.get_by_label("Level").select_option(level)
    form.get_by_label("Side").select_option(side)
    form.get_by_label("Structure").select_option(structure)
    form.get_by_role("button", name="Add target").click()
    page.wait_for_load_state()
    error = page.locator("#structure-error")
    assert error.is_visible() and "already in the plan" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "structure"
    assert _axe_violations(page) == []
    context.close()
