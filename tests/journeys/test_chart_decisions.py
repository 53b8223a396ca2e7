"""The chart's provider decisions (a repeat treatment, ending the journey) sent as the chart's
own forms send them: they work, and one taken from an older chart is a 409 that does nothing."""

from __future__ import annotations

import re

from clinic.auth.models import Role
from clinic.journeys import walkthrough as walk
from clinic.journeys.states import JourneyStatus


def _treated(journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    walk.recover(journey, staff)
    assert journey.status is JourneyStatus.FOLLOW_UP


def _chart(journey) -> str:
    return f"/clinical/patients/{journey.patient_id}/chart"


def _form(client, journey, action: str) -> dict:
    """The named form's hidden fields, as the chart renders them."""
    page = client.get(_chart(journey)).get_data(as_text=True)
    form = re.search(
        rf'action="/clinical/journeys/{journey.id}/{action}"[^>]*>(.*?)</form>', page, re.S
    )
    assert form, f"no {action} form on the chart"
    return dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form[1]))


def test_a_provider_starts_a_repeat_treatment_from_the_chart(
    client, login, db, journey, provider, staff, staff2
):
    _treated(journey, provider, staff, staff2)
    login(Role.PROVIDER, provider)
    sent = client.post(
        f"/clinical/journeys/{journey.id}/repeat", data=_form(client, journey, "repeat")
    )
    assert sent.status_code == 302  # it was a 400: the form carried no version
    db.session.refresh(journey)
    assert journey.status is JourneyStatus.IN_TREATMENT and len(journey.cycles) == 2


def test_a_provider_discharges_from_the_chart_and_an_older_chart_changes_nothing(
    client, login, db, journey, provider, staff, staff2
):
    _treated(journey, provider, staff, staff2)
    login(Role.PROVIDER, provider)
    older = _form(client, journey, "end/complete")  # a second tab, opened first
    repeat = client.post(
        f"/clinical/journeys/{journey.id}/repeat", data=_form(client, journey, "repeat")
    )
    assert repeat.status_code == 302
    stale = client.post(
        f"/clinical/journeys/{journey.id}/end/complete", data={**older, "reason": "Done"}
    )
    assert stale.status_code == 409
    assert "This journey changed after the chart was opened" in stale.get_data(as_text=True)
    # the journey can still end (in treatment now): its form is open with the reason kept
    box = re.search(rf'<input[^>]*id="reason-{journey.id}"[^>]*>', stale.get_data(as_text=True))
    assert 'value="Done"' in box[0]
    db.session.refresh(journey)
    assert journey.status is JourneyStatus.IN_TREATMENT and journey.status_reason is None
    current = _form(client, journey, "end/cancel")
    ended = client.post(
        f"/clinical/journeys/{journey.id}/end/cancel", data={**current, "reason": "Moved away"}
    )
    assert ended.status_code == 302  # it was a 400: the form carried no version
    db.session.refresh(journey)
    assert journey.status is JourneyStatus.CANCELLED and journey.status_reason == "Moved away"
