"""Specimen identity from the arm to the syringe: the label exists when collection starts, the
QR is a drawable SVG of the ID, the tube is scanned at processing, and the product has a time
limit from collection to injection (a warning, then a hard stop)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import segno
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.services import gating, journeys, stages
from clinic.journeys.states import StageKind
from clinic.models.audit import AuditEvent
from clinic.transaction import attempt
from tests import factories

SVG = "{http://www.w3.org/2000/svg}"


def _label_html(client, journey, specimen) -> str:
    response = client.get(f"/clinical/journeys/{journey.id}/specimens/{specimen.id}/label")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _modules(svg: ET.Element, size: int) -> set[tuple[int, int]]:
    """The dark modules drawn by segno's path ("M x y h n m dx dy h n ..." at half-row y)."""
    path = svg.find(f"{SVG}path")
    assert path is not None
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path.get("d", "")):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for col in range(int(float(a))):
                dark.add((int(y - 0.5), int(x) + col))
            x += float(a)
    border = 2
    return {(r - border, c - border) for r, c in dark if 0 <= r - border < size}


def test_the_label_exists_when_collection_starts_and_prints_before_completion(
    client, login, journey, provider, staff, db
):
    walk.evaluate(journey, provider)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    walk.screen(journey, staff)
    stages.start_stage(collection, staff)
    specimen = gating.specimen_of(collection.cycle)
    assert specimen is not None and specimen.custody_state is CustodyStep.LABELLED
    processing = walk.stage_of(journey, StageKind.PROCESSING)
    assert "collected specimen" in gating.start_blockers(processing)[0]
    login(Role.CLINICAL_STAFF, staff)
    page = client.get(f"/clinical/journeys/{journey.id}/stages/{collection.id}")
    assert "Print label" in page.get_data(as_text=True)
    html = _label_html(client, journey, specimen)
    patient = journey.patient
    for text in (
        specimen.code,
        patient.display_name,
        f"{patient.date_of_birth.day} {patient.date_of_birth:%b %Y}",
        patient.mrn,
        "FOR AUTOLOGOUS USE ONLY",
    ):
        assert text in html
    walk.collect(journey, staff)
    assert gating.specimen_of(collection.cycle).id == specimen.id  # the same ID all the way
    assert specimen.custody_state is CustodyStep.COLLECTED


def test_the_qr_is_a_namespaced_svg_that_encodes_the_specimen_id(
    client, login, journey, provider, staff, db
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    specimen = gating.specimen_of(journey.cycles[0])
    login(Role.CLINICAL_STAFF, staff)
    html = _label_html(client, journey, specimen)
    uri = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    svg = ET.fromstring(base64.b64decode(uri))  # noqa: S314 (our own page, in a test)
    assert svg.tag == f"{SVG}svg"  # without the namespace no browser draws it
    expected = segno.make(specimen.code, error="m")
    size = len(expected.matrix)
    wanted = {(r, c) for r, row in enumerate(expected.matrix) for c, v in enumerate(row) if v}
    assert _modules(svg, size) == wanted
    other = segno.make("SP-XXXXXX", error="m")
    assert wanted != {(r, c) for r, row in enumerate(other.matrix) for c, v in enumerate(row) if v}


def test_the_tube_is_scanned_at_processing_and_a_wrong_tube_is_a_hard_stop(
    db, journey, provider, staff, staff2
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.process(journey, staff, staff2, complete=False)
    code = gating.specimen_of(stage.cycle).code
    assert journeys.record_of(stage).tube_code == code
    with pytest.raises(Refused, match="not this patient's specimen") as err, attempt():
        stages.save_stage(stage, dict(tube_code="SP-ZZZZZZ"), staff)
    assert err.value.field == "tube_code"
    stages.save_stage(stage, dict(tube_code=code.lower()), staff)  # a scanner's case is fine
    stages.save_stage(stage, dict(tube_code=None), staff)
    walk.tick_all(stage, staff)
    assert "Scan or type the specimen ID from the tube." in gating.complete_blockers(stage)


def _ready_for_time_out(journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    return stage


def test_product_past_its_time_limit_is_a_hard_stop_and_near_it_a_warning(
    app, client, login, db, journey, provider, staff, staff2
):
    stage = _ready_for_time_out(journey, provider, staff, staff2)
    specimen = gating.specimen_of(stage.cycle)
    specimen.collected_at = specimen.collected_at - timedelta(hours=5)  # PRP: warn 2 h, stop 4 h
    with pytest.raises(Refused, match="past the 4-hour limit"), attempt():
        walk.time_out(stage, provider)
    assert journeys.record_of(stage).timeout_confirmed_at is None
    specimen.collected_at = specimen.collected_at + timedelta(hours=2)  # 3 hours
    db.session.flush()
    login(Role.PROVIDER, provider)
    page = client.get(f"/clinical/journeys/{journey.id}/stages/{stage.id}").get_data(as_text=True)
    assert 'id="product-age"' in page and "Inject without delay" in page
    app.config["PRODUCT_TIME_LIMITS_HOURS"] = {"prp": (1, 2)}  # the clinic's own setting
    try:
        with pytest.raises(Refused, match="past the 2-hour limit"), attempt():
            walk.time_out(stage, provider)
    finally:
        del app.config["PRODUCT_TIME_LIMITS_HOURS"]
    walk.time_out(stage, provider)
    assert journeys.record_of(stage).timeout_confirmed_at is not None


def test_product_time_stop_is_audited_through_the_page(
    client, login, db, journey, provider, staff, staff2
):
    stage = _ready_for_time_out(journey, provider, staff, staff2)
    specimen = gating.specimen_of(stage.cycle)
    specimen.collected_at = specimen.collected_at - timedelta(hours=6)
    db.session.flush()
    login(Role.PROVIDER, provider)
    response = client.post_form(
        f"/clinical/journeys/{journey.id}/stages/{stage.id}/time-out",
        {
            "members-0-user_id": str(staff.id),
            "members-0-password": factories.PASSWORD,
            "specimen_code": specimen.code,
        },
    )
    assert response.status_code == 422
    assert "Do not inject it" in response.get_data(as_text=True)
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "timeout.product_expired")
    ).all()
    assert len(rows) == 1
