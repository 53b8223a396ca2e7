"""The worklist's rows, filled from a pattern and kept by their values, print what the table's
loop printed: escaped names, the user's patients, cycles, appointments and times."""

from __future__ import annotations

from datetime import UTC, datetime

from clinic.dates import fmt_datetime, fmt_time
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.journeys.worklist_rows import WorklistRows
from clinic.journeys.worklist_view import NextVisit, ShownStage
from clinic.scheduling.models import VisitKind

STAGE = ShownStage(
    id=12, journey_id=7, kind=StageKind.COLLECTION, status=StageStatus.IN_PROGRESS,
    updated_at=datetime(2026, 11, 27, 14, 5, 59, tzinfo=UTC), cycle_number=None, patient_id=3,
    therapy=Therapy.PRP, family_name='O\'Brien <b>&', given_name='Siobhán "Sam"', mrn="MRN<1>",
)  # fmt: skip
VISIT = NextVisit(3, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), VisitKind.PROCEDURE)


def _rows(app):
    module = app.jinja_env.get_template("journeys/_worklist_row.html").module
    return WorklistRows(module)


def test_a_row_escapes_the_names_and_links_the_chart_and_the_stage(app):
    with app.test_request_context():
        row = str(_rows(app).row(STAGE))
        updated = fmt_datetime(STAGE.updated_at)  # as the `datetime` filter writes it
    name = "O&#39;Brien &lt;b&gt;&amp;, Siobhán &#34;Sam&#34;"
    assert f'<a href="/clinical/patients/3/chart">{name}</a>' in row
    assert "MRN MRN&lt;1&gt; · not on your team" in row
    assert '<a href="/clinical/journeys/7/stages/12">Cell collection</a>' in row
    assert "<td>PRP</td>" in row
    assert '<span class="badge stage-status-in_progress">In progress</span>' in row
    assert '<span class="text-body-secondary">none booked</span>' in row
    assert f"<td>{updated}</td>" in row and updated.startswith("27 Nov 2026, ")


def test_each_kind_of_row_prints_its_parts(app):
    with app.test_request_context():
        rows = _rows(app)
        mine = str(rows.row(STAGE._replace(mine=True, cycle_number=2, therapy=Therapy.BMAC)))
        booked = str(rows.row(STAGE._replace(visit=VISIT)))
        today = str(rows.row(STAGE._replace(visit=VISIT._replace(today=True))))
        starts, clock = fmt_datetime(VISIT.starts_at), fmt_time(VISIT.starts_at)
    assert '· <span class="badge text-bg-info">your patient</span>' in mine
    assert "Cell collection (cycle 2)</a>" in mine
    assert "<td>Bone marrow aspirate concentrate (BMAC)</td>" in mine
    assert f'{starts}<div class="small text-body-secondary">Procedure</div>' in booked
    assert f'today {clock}<div class="small text-body-secondary">Procedure</div>' in today


def test_a_kept_row_follows_its_values(app):
    """Rows are kept by the values they print: a renamed patient's row is made again."""
    with app.test_request_context():
        rows = _rows(app)
        first = rows.row(STAGE)
        assert rows.row(STAGE) is first
        renamed = str(rows.row(STAGE._replace(family_name="Byrne")))
    assert "Byrne, Siobhán" in renamed and "Brien" not in renamed
