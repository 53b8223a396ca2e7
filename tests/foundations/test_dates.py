"""One date and time style: the filters in clinic/dates.py, and no template formats on its own."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from babel.dates import format_skeleton, format_time
from flask import Flask, render_template_string

from clinic.dates import fmt_date, fmt_datetime, fmt_short_date, fmt_time, label
from clinic.journeys.codes import Guidance
from clinic.patients.models import Sex
from clinic.scheduling.models import Status as AppointmentStatus
from clinic.timeutil import to_clinic

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# 15:30 UTC on a November day is 10:30 in New York (EST).
RAW_VALUE = re.compile(r"\.\w+\.value\s*(\|\s*(replace|capitalize|title))?$")
MOMENT = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


def _render(app: Flask, source: str, **values) -> str:
    with app.test_request_context():
        return render_template_string(source, **values)


@pytest.mark.dialect_independent
def test_each_filter_writes_the_clinic_style_in_its_zone(app):
    page = _render(
        app,
        "{{ m|date }}|{{ m|short_date }}|{{ m|datetime }}|{{ m|time }}|{{ d|long_date }}"
        "|{{ m|iso }}|{{ m|local_hm }}|{{ t|time }}|{{ none|date }}",
        m=MOMENT,
        d=date(2026, 11, 27),
        t=time(8, 5),
        none=None,
    )
    assert page == (
        "27 Nov 2026|27 Nov|27 Nov 2026, 10:30|10:30|Friday, 27 November 2026"
        "|2026-11-27|10:30|08:05|"
    )


@pytest.mark.dialect_independent
def test_the_locale_setting_changes_every_page_style(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLINIC_LOCALE", "en_US")
    page = _render(app, "{{ m|date }}|{{ m|datetime }}|{{ m|local_hm }}", m=MOMENT)
    # the machine format for links stays the same whatever the locale
    assert page == "Nov 27, 2026|Nov 27, 2026, 10:30\u202fAM|10:30"


@pytest.mark.dialect_independent
def test_older_filter_names_still_work(app):
    page = _render(
        app,
        "{{ m|clinictime }}|{{ m|clinictime('%H:%M') }}|{{ m|clinictime('%d %b %Y') }}"
        "|{{ m|local_date }}",
        m=MOMENT,
    )
    assert page == "27 Nov 2026, 10:30|10:30|27 Nov 2026|2026-11-27"


@pytest.mark.dialect_independent
def test_labels_come_from_the_enums_or_read_as_words():
    assert label(AppointmentStatus.NO_SHOW) == AppointmentStatus.NO_SHOW.label
    assert label(Sex.FEMALE) == Sex.FEMALE.label
    assert label(Guidance.FLUOROSCOPY) != "fluoroscopy"
    assert label("lumbar_facet") == "Lumbar facet"
    assert label(None) == ""


def _display_expressions(source: str):
    """Each {{ ... }} written as page text (not inside a tag's attributes)."""
    for match in re.finditer(r"{{(.*?)}}", source, re.S):
        before = source[: match.start()]
        inside_tag = before.rfind("<") > before.rfind(">")
        yield match.group(1), inside_tag


@pytest.mark.dialect_independent
def test_no_template_formats_dates_on_its_own():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text()
        name = path.relative_to(TEMPLATES)
        if "strftime" in source:
            offenders.append(f"{name}: strftime (use |date, |short_date, |datetime or |time)")
        if re.search(r"clinictime\(", source):
            offenders.append(f"{name}: clinictime with a format (use the clinic's filters)")
        for expression, inside_tag in _display_expressions(source):
            if "isoformat" in expression and not inside_tag:
                offenders.append(f"{name}: isoformat shown as text: {expression.strip()}")
    assert offenders == []


@pytest.mark.dialect_independent
def test_no_template_shows_a_raw_enum_value():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for expression, inside_tag in _display_expressions(path.read_text()):
            text = expression.strip()
            if not inside_tag and re.search(
                r"\.\w+\.value\s*(\|\s*(replace|capitalize|title))?$", text
            ):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {text} (use |label)")
    assert offenders == []


@pytest.mark.dialect_independent
@pytest.mark.parametrize("locale", ["en_GB", "en_US", "de_DE", "fr_FR"])
def test_the_cached_patterns_write_what_babel_writes(app, monkeypatch, locale):
    """The filters parse each locale's pattern once (a long list calls them thousands of times);
    what they write is still Babel's format_skeleton / format_time, in every locale and hour."""
    monkeypatch.setitem(app.config, "CLINIC_LOCALE", locale)
    with app.app_context():
        for hours in range(0, 400 * 24, 37):
            moment = MOMENT + timedelta(hours=hours, minutes=hours % 60)
            local = to_clinic(moment)
            day = format_skeleton("yMMMd", local.date(), locale=locale)
            clock = format_time(local.time(), "short", locale=locale)
            assert fmt_date(moment) == day
            assert fmt_short_date(moment) == format_skeleton("MMMd", local.date(), locale=locale)
            assert fmt_time(moment) == clock
            assert fmt_datetime(moment) == f"{day}, {clock}"
        assert fmt_time(time(9, 5)) == format_time(time(9, 5), "short", locale=locale)
