"""What the day's common tasks cost, measured in the browser: clicks and page loads.

A click is a click on a link, a button, a checkbox or a choice in a list; typing into a field
reached with the Tab key is not counted. A page load is a navigation of the main frame. The
figures are written to test-artifacts/measured-<task>.json; README quotes them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from tests.browser.conftest import _LIVE, screenshot, sign_in
from tests.browser.measure import Counter
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

DESK = next(login for login in DEMO_LOGINS if login.role is Role.FRONT_DESK)
PROVIDER = ("dr.patel@demo.example.com", "Provider demo Birch-47")
NURSE = ("nurse@demo.example.com", "Staff demo Willow-47")


def _type(page, label: str, text: str, exact: bool = False) -> None:
    """Typing into a field reached by keyboard: not a click."""
    page.get_by_label(label, exact=exact).fill(text)


def _choose(counter: Counter, page, field: str, value: str | None = None, **kw) -> None:
    """Choosing an option in a list: one click."""
    counter.clicks += 1
    page.get_by_label(field, exact=True).select_option(value, **kw)


def test_front_desk_registers_and_books_an_evaluation(page):
    sign_in(page, DESK.email, DESK.password)
    counter = Counter(page)
    counter.click(page.get_by_role("link", name="Register a new patient"))
    page.wait_for_load_state()
    _type(page, "Given name", "Ines")
    _type(page, "Family name", "Varga")
    _type(page, "Date of birth", "1971-08-30")
    _choose(counter, page, "Sex", "female")  # no default: the desk asks
    _type(page, "Phone", "617 555 0733", exact=True)
    if page.get_by_label("Preferred contact method").input_value() != "phone":
        _choose(counter, page, "Preferred contact method", "phone")
    _type(page, "Emergency contact name", "Pal Varga")
    _type(page, "Emergency contact phone", "617 555 0734")
    counter.click(page.get_by_role("button", name="Save"))
    page.wait_for_load_state()
    assert "is registered as" in page.content()
    counter.click(page.get_by_role("link", name="Book an evaluation"))
    page.wait_for_load_state()
    counter.click(page.locator("#slot-results").get_by_role("link", name="Book this").first)
    page.wait_for_load_state()
    counter.click(page.get_by_role("button", name="Book"))
    page.wait_for_load_state()
    assert "Booked: Evaluation for Ines Varga" in page.content()
    assert _axe_violations(page) == []
    screenshot(page, "measured-booking-done")
    figures = counter.record("front-desk-register-and-book")
    assert figures["clicks"] <= 6, figures


def _injection_up_next(page) -> None:
    up_next = page.get_by_role("region", name="Up next")
    return up_next.get_by_role("link", name="Guided injection (cycle 1)").first


def _specimen_code(stage_url: str) -> str:
    from clinic.extensions import db
    from clinic.journeys import models as m
    from clinic.journeys.services import gating

    stage_id = int(stage_url.split("/stages/")[1].split("#")[0].split("?")[0])
    with _LIVE["app"].app_context():
        stage = db.session.get(m.Stage, stage_id)
        return gating.specimen_of(stage.cycle).code


def _clinic_minutes_ago(minutes: int) -> str:
    from datetime import datetime

    from clinic.timeutil import clinic_tz

    with _LIVE["app"].app_context():
        moment = datetime.now(clinic_tz()) - timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_provider_completes_and_signs_an_injection(browser, live_server):
    # Its own tab: a refused form (422) is a console error that should show as the reason.
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.base_url = live_server.url
    sign_in(page, *PROVIDER)
    page.goto(page.base_url + "/clinical/worklist")
    counter = Counter(page)
    counter.click(_injection_up_next(page))
    page.wait_for_load_state()
    stage_url = page.url
    # The pending injection opens on its time-out: the checklist is read aloud in that form,
    # and confirming it starts the stage.
    assert page.get_by_role("button", name="Start stage").count() == 0
    assert _axe_violations(page) == []
    screenshot(page, "measured-injection-time-out")
    _choose(counter, page, "Team member 1", label="Sam Whitaker, RN")
    _type(page, "Password of team member 1", NURSE[1])
    counter.click(page.get_by_label("We confirmed every item above aloud"))
    _type(page, "Syringe specimen ID", _specimen_code(stage_url))
    counter.click(page.get_by_role("button", name="Confirm time-out"))
    page.wait_for_load_state()
    assert "Time-out complete" in page.content(), page.locator(
        ".invalid-feedback, .alert, .text-danger"
    ).all_inner_texts()
    # The first site is part of the record's form, its level, side and structure from the plan.
    planned_level = page.get_by_label("Level").input_value()
    assert page.get_by_role("button", name="Add site").count() == 0
    screenshot(page, "measured-injection-record")
    _type(page, "Volume (mL)", "3")
    _choose(counter, page, "Guidance", "fluoroscopy")
    _type(page, "Contrast (mL)", "0.5")
    _type(page, "Fluoroscopy time (s)", "20")
    _choose(counter, page, "Complications", "none")
    # the demo product was collected moments ago (its seed is made as the tests start)
    _type(page, "Started at", _clinic_minutes_ago(-1))
    _type(page, "Ended at", _clinic_minutes_ago(-3))
    counter.click(page.get_by_label("Images saved"))
    _choose(counter, page, "Product", "used")
    counter.click(page.get_by_role("button", name="Save, complete and sign"))
    page.wait_for_load_state()
    assert "injected site recorded, stage completed, signed" in page.content(), page.locator(
        ".invalid-feedback, .alert, .text-danger"
    ).all_inner_texts()
    assert page.url.endswith("#actions")
    assert _axe_violations(page) == []
    screenshot(page, "measured-injection-signed")
    figures = counter.record("provider-completes-and-signs-injection")
    # Before: about 26 clicks and 9 page loads, then 20 and 6 (a Start step, nine checklist
    # ticks and their save, a separate site form). Now the time-out form reads the checklist
    # out and starts the stage, and the first site is saved with the record.
    assert figures["clicks"] <= 12 and figures["page_loads"] <= 4, figures
    with _LIVE["app"].app_context():
        from clinic.extensions import db
        from clinic.journeys import models as m
        from clinic.journeys.services.journeys import record_of

        stage_id = int(stage_url.rsplit("/", 1)[1])
        stage = db.session.get(m.Stage, stage_id)
        assert stage.status.value == "signed"
        sites = record_of(stage).sites
        target = stage.journey.targets[0]
        assert [(s.level, s.side, s.structure, s.volume_ml) for s in sites] == [
            (target.level, target.side, target.structure, 3)
        ]
        assert planned_level == target.level
        ticks = db.session.scalars(
            sa.select(m.ChecklistTick).where(m.ChecklistTick.stage_id == stage_id)
        ).all()
        assert len(ticks) == len(stage.checklist_template.items)
        assert {t.ticked_by.email for t in ticks} == {PROVIDER[0]}
        team = db.session.scalars(
            sa.select(m.TimeoutMember).where(m.TimeoutMember.stage_id == stage_id)
        ).all()
        assert sorted(t.confirmed_by for t in team) == ["password", "session"]
