"""What the stage page shows: record, gating reasons, checklist, notes, custody."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.orm import joinedload

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.journeys import forms as f
from clinic.journeys import models as m
from clinic.journeys.services import checklists, gating, safety, verification
from clinic.journeys.services.journeys import record_of
from clinic.journeys.services.screening import measured_flags
from clinic.journeys.services.stages import reopen_refusal
from clinic.journeys.stageform import display, field_groups, visible_fields
from clinic.journeys.states import StageKind, StageStatus
from clinic.models.base import UTCDateTime
from clinic.policy import can_open_journey, sign_refusal, stage_work_refusal


def stage_context(stage: m.Stage, **overrides) -> dict:
    journey = stage.journey
    ticks, notes = _ticks_and_notes(stage)
    specimen = _specimen_with_custody(stage.cycle)
    refusal = stage_work_refusal(current_user, stage)
    checklist_form = f.ChecklistForm(formdata=None)
    items = stage.checklist_template.items if stage.checklist_template else []
    checklist_form.item_ids.choices = [(i.id, i.text) for i in items]
    checklist_form.shown.data = ",".join(str(i) for i in sorted(ticks))
    volume = _product_volume(stage)
    context = dict(
        stage=stage,
        journey=journey,
        patient=journey.patient,
        record=record_of(stage),
        specimen=specimen,
        ticks=ticks,
        checklist_items=items,
        notes=notes,
        work_refusal=refusal,
        sign_refusal=sign_refusal(current_user, stage),
        reopen_refusal=reopen_refusal(stage),
        start_blockers=gating.start_blockers(stage) if stage.status is StageStatus.PENDING else [],
        complete_blockers=gating.complete_blockers(stage)
        if stage.status is StageStatus.IN_PROGRESS
        else [],
        action_form=f.ActionForm(formdata=None, version=str(stage.version)),
        reason_form=f.ReasonForm(formdata=None, version=str(stage.version)),
        note_form=f.NoteForm(formdata=None),
        checklist_form=checklist_form,
        # only an open injection shows the time-out form (its choices are every clinician)
        timeout_form=timeout_form(submitted=False)
        if stage.kind is StageKind.INJECTION and stage.status in OPEN
        else None,
        team=verification.team_of(stage) if stage.kind is StageKind.INJECTION else [],
        timeout_checklist=_timeout_checklist(stage),
        site_form=_site_form(stage, volume),
        first_site_form=first_site_form(stage, submitted=False),
        target_form=f.TargetForm(formdata=None),
        # only an evaluation shows the plan (diagnoses and targets)
        conditions_form=_conditions_form(journey) if stage.kind is StageKind.EVALUATION else None,
        may_plan=can_open_journey(current_user),
        cervical_risk=safety.cervical_transforaminal_risk(journey),
        product_age=safety.product_age(specimen)
        if stage.kind is StageKind.INJECTION and stage.status in OPEN
        else (0.0, None, None),
        product_volume=volume,
        measured_flags=_measured_flags(stage),
        conflict=None,
        checklist_entry=None,  # after a stale checklist save: what the user had ticked
        mismatch=None,
        StageStatus=StageStatus,
        visible_fields=visible_fields,
        field_groups=field_groups,
        show=show,
        StageKind=StageKind,
    )
    context.update(overrides)
    return context


OPEN = (StageStatus.PENDING, StageStatus.IN_PROGRESS)


class Named(NamedTuple):
    full_name: str


class Tick(NamedTuple):
    """A checklist tick as the page shows it."""

    ticked_at: datetime
    ticked_by: Named


class Note(NamedTuple):
    """A stage note as the page shows it."""

    is_addendum: bool
    author: Named
    written_at: datetime
    body: str


def _ticks_statement() -> sa.CompoundSelect:
    """The stage's checklist ticks (by item) and its notes (in order), each with the person's
    name, in one statement built once with the stage as a parameter."""
    stage_id = sa.bindparam("page_stage", type_=sa.Integer)

    def part(number: int, table, key, at, flag, body, by):
        return (
            sa.select(
                sa.literal(number, sa.Integer).label("part"),
                sa.type_coerce(key, sa.Integer()).label("key"),
                sa.type_coerce(at, UTCDateTime()).label("at"),
                sa.type_coerce(flag, sa.Boolean()).label("flag"),
                sa.type_coerce(body, sa.String()).label("body"),
                User.full_name,
            )
            .join_from(table, User, User.id == by)
            .where(table.stage_id == stage_id)
        )

    tick, note = m.ChecklistTick, m.StageNote
    return sa.union_all(
        part(
            0,
            tick,
            tick.item_id,
            tick.ticked_at,
            sa.false(),
            sa.cast(sa.null(), sa.Text),
            tick.ticked_by_id,
        ),
        part(1, note, note.id, note.written_at, note.is_addendum, note.body, note.author_id),
    ).order_by(sa.text("part"), sa.text("key"))


_TICKS_AND_NOTES = _ticks_statement()


def _ticks_and_notes(stage: m.Stage) -> tuple[dict[int, Tick], list[Note]]:
    db.session.flush()  # as the ORM's execute would: the rows see this request's writes
    ticks: dict[int, Tick] = {}
    notes: list[Note] = []
    for part, key, at, flag, body, name in db.session.connection().execute(
        _TICKS_AND_NOTES, {"page_stage": stage.id}
    ):
        if part == 0:
            ticks[key] = Tick(at, Named(name))
        else:
            notes.append(Note(flag, Named(name), at, body))
    return ticks, notes


# Built once: building the statement and its loader options, and working out its cache key,
# each time cost more than the database took to answer.
_SPECIMEN_WITH_CUSTODY = (
    sa.select(m.Specimen)
    .where(m.Specimen.cycle_id == sa.bindparam("page_cycle", type_=sa.Integer))
    .options(joinedload(m.Specimen.events).joinedload(m.CustodyEvent.by))
)


def _specimen_with_custody(cycle: m.Cycle | None) -> m.Specimen | None:
    """The cycle's specimen with its chain of custody and who did each step (the page lists
    them), in one statement."""
    if cycle is None:
        return None
    found = db.session.scalars(_SPECIMEN_WITH_CUSTODY, {"page_cycle": cycle.id})
    return found.unique().first()


def _timeout_checklist(stage: m.Stage) -> m.ChecklistTemplate | None:
    """The checklist the time-out form reads out: the stage's, or for a pending injection the
    version its time-out will fix when it starts the stage."""
    if stage.kind is not StageKind.INJECTION:
        return None
    if stage.checklist_template is not None or stage.status is not StageStatus.PENDING:
        return stage.checklist_template
    return checklists.current_template(stage.kind, stage.journey.therapy)


def clinical_team_choices() -> list[tuple[str, str]]:
    """Active providers and clinical staff, for choosing who is present."""
    people = db.session.execute(
        sa.select(User.id, User.full_name)
        .where(User.role.in_([Role.PROVIDER, Role.CLINICAL_STAFF]), User.active)
        .order_by(User.full_name)
    )
    return [("", "—")] + [(str(user_id), name) for user_id, name in people]


def timeout_form(submitted: bool) -> f.TimeOutForm:
    """The time-out form with the team's choices on every member row."""
    form = f.TimeOutForm() if submitted else f.TimeOutForm(formdata=None)
    choices = clinical_team_choices()
    for entry in form.members:
        entry.form.user_id.choices = choices
    return form


def _measured_flags(stage: m.Stage) -> list[str]:
    """Baseline counts at collection that cross a catalogue threshold (platelets, Hb)."""
    if stage.kind is not StageKind.COLLECTION:
        return []

    record = record_of(stage)
    return measured_flags({"platelets": record.baseline_platelets, "hb": record.baseline_hb})


def _product_volume(stage: m.Stage):
    if stage.kind is not StageKind.INJECTION:
        return None
    processing = gating.sibling(stage, StageKind.PROCESSING)
    return record_of(processing).final_volume_ml if processing else None


def _site_form(stage: m.Stage, volume) -> f.SiteForm:
    """The site form starts at the first planned target not yet injected, with the product's
    volume when it is known: the team changes what differs instead of entering it all."""
    form = f.SiteForm(formdata=None)
    if stage.kind is not StageKind.INJECTION:
        return form
    done = _fill_next_target(stage, form)
    if volume is not None and not done:
        form.volume_ml.data = volume
    return form


def _fill_next_target(stage: m.Stage, form: f.SiteForm) -> set:
    """Level, side and structure from the first planned target not yet injected."""
    done = {(s.level, s.side, s.structure) for s in record_of(stage).sites}
    targets = [t for t in stage.journey.targets if (t.level, t.side, t.structure) not in done]
    if targets:
        form.level.data, form.side.data = targets[0].level, targets[0].side
        form.structure.data = targets[0].structure
    return done


def first_site_form(stage: m.Stage, submitted: bool) -> f.FirstSiteForm | None:
    """The first injected site's fields inside the injection record's form, while the injection
    is in progress with no site yet (else None: more sites go through "Add site"). Level, side
    and structure come from the plan; the volume is left for the team to give."""
    if stage.kind is not StageKind.INJECTION or stage.status is not StageStatus.IN_PROGRESS:
        return None
    if record_of(stage).sites or stage_work_refusal(current_user, stage):
        return None
    if submitted:
        return f.FirstSiteForm(prefix="site", meta={"csrf": False})
    form = f.FirstSiteForm(formdata=None, prefix="site", meta={"csrf": False})
    _fill_next_target(stage, form)
    return form


def show(record, name: str) -> str:
    """A record field as the page shows it (people by name)."""
    value = getattr(record, name)
    if name.endswith("_by_id") and value is not None:
        person = db.session.get(User, value)
        return person.full_name if person else "—"
    return display(value)


def _conditions_form(journey: m.Journey) -> f.ConditionsForm:
    form = f.ConditionsForm(formdata=None)
    form.condition_ids.choices = [
        (c.id, c.display)
        for c in db.session.scalars(
            sa.select(m.Condition).where(m.Condition.active).order_by(m.Condition.name)
        )
    ]
    form.condition_ids.data = [c.id for c in journey.conditions]
    return form
