"""Cohort figures, the injected-volume dose, exports, and who may see them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from clinic.outcomes import cohort as cohort_query
from clinic.outcomes import registry, registry_store
from clinic.outcomes.cohort import Filters
from clinic.outcomes.export import csv_line, safe_cell
from clinic.outcomes.registry_models import RegistryFigures, RegistryGeneration
from clinic.timeutil import clinic_today
from tests.outcomes.registry_data import answered, complete, response, treat

# ODI baseline → 6 weeks for seven patients: changes 10, 20, 30, −5, 0 (in window), one answered
# out of window, one not answered. n 5, mean 11, 3 reach 10 points, 1 worse.
PAIRS = [(50, 40), (40, 20), (60, 30), (30, 35), (44, 44)]


@pytest.fixture
def cohort(db, make_journey, provider, staff, staff2):
    journeys = [treat(make_journey, provider, staff, staff2) for _ in range(7)]
    for journey, (base, six) in zip(journeys, PAIRS, strict=False):
        answered(journey, "odi", base, six)
    answered(journeys[5], "odi", 50, 10, in_window=False)
    answered(journeys[6], "odi", 50, None)
    return journeys


def _six_weeks(result):
    return next(t for t in result.timepoints if t.label == "6 weeks")


def test_figures_per_timepoint_match_hand_computation(app, cohort):
    result = registry.figures(Filters(instrument="odi"))
    six = _six_weeks(result)
    assert (result.cycles, result.patients) == (7, 7)
    assert (six.eligible, six.answered, six.out_of_window, six.missing) == (7, 5, 1, 1)
    assert six.completeness == pytest.approx(100 * 5 / 7)
    assert six.change.n == 5 and six.change.mean == pytest.approx(11)
    assert six.change.low == pytest.approx(11 - 2.776 * (205 / 5) ** 0.5, abs=0.01)
    assert six.responder_share == 60 and six.worse_share == 20
    three = next(t for t in result.timepoints if t.label == "3 months")
    assert three.pending == 7 and three.eligible == 0  # not reached: never counted as missing


def test_pgic_share_counts_in_window_answers_beside_the_chosen_instrument(app, cohort):
    # PGIC at 6 weeks: 1, 2, 3, 5 in window (2 of 4 "much better"), one out of window, two not
    # answered; the answers are read in the same grouped query as the ODI's and kept apart.
    for journey, score in zip(cohort, (1, 2, 3, 5), strict=False):
        complete(response(journey, "pgic", "6 weeks"), score)
    complete(response(cohort[4], "pgic", "6 weeks"), 1, in_window=False)
    six = _six_weeks(registry.figures(Filters(instrument="odi")))
    assert (six.pgic_answered, six.pgic_responders, six.pgic_share) == (4, 2, 50)
    assert (six.eligible, six.answered, six.change.n) == (7, 5, 5)  # the ODI's, unchanged


def test_pain_scale_responders_need_two_points_or_thirty_percent(app, cohort):
    # NRS 8→6 (2 points), 3→2 (1 point but 33 %), 9→8 (1 point, 11 %), 5→6 (worse), 4→4
    for journey, (base, six) in zip(cohort, [(8, 6), (3, 2), (9, 8), (5, 6), (4, 4)], strict=False):
        answered(journey, "nrs_pain", base, six)
    six = _six_weeks(registry.figures(Filters(instrument="nrs_pain")))
    assert six.change.n == 5 and six.change.mean == pytest.approx(0.6)
    assert (six.responders, six.worse, six.answered, six.missing) == (2, 1, 5, 2)


def test_small_cells_are_suppressed(app, cohort):
    app.config["REGISTRY_MIN_CELL"] = 8
    try:
        assert _six_weeks(registry.figures(Filters())).suppressed
    finally:
        app.config["REGISTRY_MIN_CELL"] = 5
    assert not _six_weeks(registry.figures(Filters())).suppressed


def test_dose_comes_from_the_injected_volume(db, cohort):
    # 1,100 ×10³/µL × 3 mL injected = 3.3 billion (band B); the 6 mL product would say 6.6 (A)
    rows = db.session.execute(sa.select(cohort_query.cohort(Filters()))).all()
    assert {float(r.dose_billions) for r in rows} == {3.3} and {r.dose_band for r in rows} == {"B"}
    assert registry.figures(Filters(dose_band="A")).cycles == 0
    assert registry.figures(Filters(dose_band="B")).cycles == 7


def test_filters_narrow_the_cohort(cohort, provider):
    assert registry.figures(Filters(therapy="bmac")).cycles == 0
    assert registry.figures(Filters(region="cervical")).cycles == 0
    assert registry.figures(Filters(level="L4-L5", provider_id=provider.id)).cycles == 7


def _count_queries(db, run):
    seen = []
    engine = db.session.get_bind()
    listener = lambda *args: seen.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_query_count_does_not_grow_with_the_data(db, app, make_journey, provider, staff, staff2):
    answered(treat(make_journey, provider, staff, staff2), "odi", 50, 40)
    registry_store.refresh_pending()  # the stored rows, as a commit leaves them
    one = _count_queries(db, lambda: registry.figures(Filters()))
    for _ in range(3):
        answered(treat(make_journey, provider, staff, staff2), "odi", 50, 40)
    registry_store.refresh_pending()
    assert _count_queries(db, lambda: registry.figures(Filters())) == one <= 5


def _fresh(filters: Filters, today=None) -> registry.Figures:
    """The figures computed now from the stored rows, past any stored figures."""
    return registry._figures(filters, registry._aggregates(filters, today or clinic_today()))


def _stored(db) -> dict[str, int]:
    """The stored figures' filters and generation."""
    rows = db.session.execute(sa.select(RegistryFigures.filters_key, RegistryFigures.generation))
    return dict(rows.all())


def _generation(db) -> int:
    return db.session.scalar(sa.select(RegistryGeneration.value))


def test_a_view_stores_its_figures_and_the_next_reads_them_in_one_statement(
    app, client, login, db, cohort, provider
):
    login(Role.PROVIDER, provider)
    assert client.get("/registry").status_code == 200  # computed, then stored
    assert _stored(db) == {"instrument=odi": _generation(db)}
    assert _count_queries(db, lambda: registry.figures(Filters())) == 1
    assert registry.figures(Filters()) == _fresh(Filters())
    app.config["REGISTRY_MIN_CELL"] = 8  # the small-cell rule is applied to stored figures too
    try:
        assert _six_weeks(registry.figures(Filters())).suppressed
    finally:
        app.config["REGISTRY_MIN_CELL"] = 5


def test_two_sets_of_filters_are_stored_apart(client, login, db, cohort, provider):
    for journey, (base, six) in zip(cohort, [(8, 6), (3, 2)], strict=False):
        answered(journey, "nrs_pain", base, six)
    login(Role.PROVIDER, provider)
    assert client.get("/registry").status_code == 200
    assert client.get("/registry?instrument=nrs_pain&therapy=prp").status_code == 200
    pain = Filters(therapy="prp", instrument="nrs_pain")
    assert set(_stored(db)) == {"instrument=odi", "therapy=prp;instrument=nrs_pain"}
    odi, nrs = registry.figures(Filters()), registry.figures(pain)
    assert odi == _fresh(Filters()) and nrs == _fresh(pain)
    assert (_six_weeks(odi).change.n, _six_weeks(nrs).change.n) == (5, 2)


def test_an_answer_saved_by_a_request_makes_the_stored_figures_out_of_date(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2, days_ago=42)  # 6 weeks: open today
    answered(journey, "nrs_pain", 8, None)
    six = response(journey, "nrs_pain", "6 weeks")
    pain = Filters(instrument="nrs_pain")
    login(Role.PROVIDER, provider)
    assert client.get("/registry?instrument=nrs_pain").status_code == 200
    before = _generation(db)
    assert _stored(db) == {"instrument=nrs_pain": before}
    assert _six_weeks(registry.figures(pain)).answered == 0
    entered = client.post_form(
        f"/questionnaires/{six.id}/enter",
        {"item_axial": "5", "submit": "Submit answers", "version": str(six.version)},
    )
    assert entered.status_code == 302
    assert _generation(db) == before + 1  # moved on by the request's own commit
    page = client.get("/registry?instrument=nrs_pain").get_data(as_text=True)
    assert _stored(db) == {"instrument=nrs_pain": before + 1}
    after = registry.figures(pain)
    assert after == _fresh(pain) and _six_weeks(after).answered == 1
    assert _six_weeks(after).change.n == 1 and "Pain (0–10)" in page


def test_an_adverse_event_reported_by_a_request_shows_in_the_next_view(
    client, login, db, cohort, provider
):
    login(Role.PROVIDER, provider)
    assert client.get("/registry").status_code == 200
    assert registry.figures(Filters()).serious_events == 0
    form = {"term_code": "deep_infection", "grade": "3", "serious_hospital": "y",
            "related_procedure": "probable", "related_product": "possible",
            "action_taken": "admitted", "outcome": "recovering",
            "onset_on": (clinic_today() - timedelta(days=3)).isoformat(),
            "cycle_id": str(cohort[0].cycles[0].id)}  # fmt: skip
    reported = client.post_form(f"/journeys/{cohort[0].id}/adverse-events/new", form)
    assert reported.status_code == 302
    assert client.get("/registry").status_code == 200
    result = registry.figures(Filters())
    assert result == _fresh(Filters())
    assert result.serious_events == 1 and result.events[3]["probable"] == 1


def test_stored_figures_hold_for_the_day_they_were_computed_for(db, cohort):
    registry_store.settle()  # the cohort as its commit leaves it
    today = clinic_today()
    registry.figures(Filters(), today=today)
    assert _count_queries(db, lambda: registry.figures(Filters(), today=today)) == 1
    later = today + timedelta(days=120)  # what was still pending has opened by then
    # a miss: the aggregates and their storing (on PostgreSQL also the lock that makes views
    # missing at once compute one at a time, and a second read after it)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert _count_queries(db, lambda: registry.figures(Filters(), today=later)) == (
        8 if postgres else 6
    )
    three = next(t for t in registry.figures(Filters(), today=later).timepoints
                 if t.label == "3 months")  # fmt: skip
    assert three.eligible == 7 and three.pending == 0
    assert registry.figures(Filters(), today=later) == _fresh(Filters(), later)


def test_csv_cells_that_start_a_formula_are_neutralised():
    assert [safe_cell(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "ok")] == [
        "'=1+1", "'+x", "'-x", "'@x", "'\tx", "ok"
    ]  # fmt: skip
    assert csv_line(["a,b", 'say "hi"', None, -3]) == '"a,b","say ""hi""",,-3\r\n'


def test_registry_export_rows_audit_and_de_identification(client, login, db, cohort, provider):
    login(Role.PROVIDER, provider)
    identified = client.get("/registry/export.csv?therapy=prp")
    assert identified.status_code == 200 and identified.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(identified.get_data(as_text=True))))
    assert len(rows) == 7 * 6  # every treated cycle × every follow-up of the protocol
    mrns = {j.patient.mrn for j in cohort}
    assert {r["patient"] for r in rows} == mrns
    first = next(
        r for r in rows if r["patient"] == cohort[0].patient.mrn and r["timepoint"] == "6 weeks"
    )
    assert (first["odi_baseline"], first["odi_score"], first["odi_in_window"]) == (
        "50",
        "40",
        "yes",
    )
    assert first["platelet_dose_billions"] == "3.30" and first["injected_ml"] == "3"
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "registry.exported")
    ).all()
    assert audit and "therapy=prp" in audit[-1].detail

    body = client.get("/registry/export.csv?variant=deidentified").get_data(as_text=True)
    shifted = list(csv.DictReader(io.StringIO(body)))
    assert not any(mrn in body for mrn in mrns)
    assert all(j.patient.family_name not in body for j in cohort)
    by_subject: dict[str, set] = {}
    for plain, masked in zip(rows, shifted, strict=True):
        from datetime import date

        gap = date.fromisoformat(masked["due_date"]) - date.fromisoformat(plain["due_date"])
        by_subject.setdefault(masked["patient"], set()).add(gap.days)
    assert all(len(gaps) == 1 and 0 not in gaps for gaps in by_subject.values())


def test_export_read_in_chunks_equals_one_statement(
    client, login, db, cohort, provider, monkeypatch
):
    """Chunks of cycles give the same lines, in the same order, as the whole cohort at once."""
    from clinic.outcomes import export

    values = export.RegistryValues(deidentified=False)
    whole = [
        export.csv_line(values(row._mapping))
        for row in db.session.execute(export.registry_query(Filters()))
    ]
    monkeypatch.setattr(export, "EXPORT_CHUNK", 2)
    chunked = list(export.registry_rows(Filters(), deidentified=False))
    assert len(chunked) == 1 + 4  # the header, then 7 cycles two at a time
    assert "".join(chunked[1:]) == "".join(whole) and len(whole) == 7 * 6


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PATIENT, Role.CLINICAL_STAFF])
def test_registry_is_for_providers_and_admins(client, login, role):
    login(role)
    assert client.get("/registry").status_code == 403
    assert client.get("/registry/export.csv").status_code == 403


def test_dashboard_page_shows_figures_and_refuses_unknown_filters(client, login, cohort, provider):
    login(Role.PROVIDER, provider)
    page = client.get("/registry?instrument=odi")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in text and "11.0" in text and "71%" in text
    assert client.get("/registry?therapy=snake-oil").status_code == 400
    assert client.get("/registry?from=2026-02-30").status_code == 400


def test_patient_outcome_table_as_csv(client, login, cohort, provider):
    login(Role.PROVIDER, provider)
    patient = cohort[0].patient
    body = client.get(f"/patients/{patient.id}/outcomes.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    six = next(r for r in rows if r["timepoint"] == "6 weeks" and r["score"] == "40")
    assert six["change_from_cycle_baseline"] == "10" and six["clinically_important"] == "yes"


def test_a_variant_in_the_registry_address_is_not_a_server_error(client, login, db):
    """The export links name their own variant; one already in the address (a link copied
    from an export) must not be passed twice."""
    login(Role.PROVIDER)
    page = client.get("/registry?variant=deidentified&therapy=prp")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "variant=deidentified&amp;therapy=prp" in html or "therapy=prp&amp;variant" in html
