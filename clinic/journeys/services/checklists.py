"""Checklists: the current template version for a stage, ticking items, new versions."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.errors import NO_PAGE, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import can_manage_catalogues, stage_work_refusal


def current_template(kind: StageKind, therapy: Therapy) -> m.ChecklistTemplate | None:
    """The newest active version for this therapy and stage, else the all-therapy one."""
    for wanted in (therapy, None):
        condition = (
            m.ChecklistTemplate.therapy.is_(None)
            if wanted is None
            else m.ChecklistTemplate.therapy == wanted
        )
        template = db.session.scalar(
            sa.select(m.ChecklistTemplate)
            .where(m.ChecklistTemplate.stage_kind == kind, condition, m.ChecklistTemplate.active)
            .order_by(m.ChecklistTemplate.version.desc())
            .limit(1)
        )
        if template is not None:
            return template
    return None


def set_ticks(
    stage: m.Stage,
    item_ids: set[int],
    by: User,
    how: str | None = None,
    shown: set[int] | NoPage | None = NO_PAGE,
) -> None:
    """Tick the given items and untick the rest; a kept tick keeps its who and when.

    `shown` is what the user's page showed ticked: when someone changed the ticks since, the
    save is stale (StaleWrite, listing the items that differ) instead of undoing their ticks.
    None (the request did not say what its page showed) is stale too: nothing tells this save
    from one that would undo a colleague's ticks.
    """
    refusal = stage_work_refusal(by, stage)
    if refusal:
        raise Refused(refusal)
    if stage.status is not StageStatus.IN_PROGRESS:
        raise Refused("The checklist can be changed only while the stage is in progress.")
    template = stage.checklist_template
    valid = {item.id for item in template.items} if template else set()
    if not item_ids <= valid:
        raise Refused("That item is not on this stage's checklist.")
    existing = {
        t.item_id: t
        for t in db.session.scalars(
            sa.select(m.ChecklistTick).where(m.ChecklistTick.stage_id == stage.id)
        )
    }
    if not isinstance(shown, NoPage) and shown != existing.keys():
        raise StaleWrite(changes=_tick_changes(template, set(existing), shown, item_ids))
    # A save is a change of the stage: two saves at the same moment meet at its version.
    stage.updated_at = utcnow()
    for item_id in item_ids - existing.keys():
        db.session.add(m.ChecklistTick(stage_id=stage.id, item_id=item_id, ticked_by_id=by.id))
    for item_id in existing.keys() - item_ids:
        db.session.delete(existing[item_id])
    db.session.flush()
    audit.record(
        "checklist.ticked",
        actor=by,
        obj=stage,
        patient_id=stage.journey.patient_id,
        detail=f"{len(item_ids)} of {len(valid)} ticked" + (f"; {how}" if how else ""),
    )


def _tick_changes(template, saved: set[int], shown: set[int] | None, mine: set[int]) -> list:
    """(item, saved now, your entry) for each item someone else ticked or unticked (each item
    saved otherwise than entered, when the page did not say what it showed)."""
    seen = mine if shown is None else shown

    def state(ticked: bool) -> str:
        return "ticked" if ticked else "not ticked"

    return [
        (item.text, state(item.id in saved), state(item.id in mine))
        for item in (template.items if template else [])
        if (item.id in saved) != (item.id in seen)
    ]


def confirm_read_aloud(stage: m.Stage, template_id: int | None, by: User) -> None:
    """At the time-out the team read every item of the checklist shown aloud: each is ticked in
    the name of the person who recorded it (the team's own confirmations are the time-out's).
    The version the page showed must be the stage's, so what is ticked is what was read."""
    template = stage.checklist_template
    if template is None:
        return
    if template_id != template.id:
        raise Refused(
            "The time-out checklist changed since this page was opened: read the items shown "
            "now aloud and confirm again.",
            field="checklist_read",
        )
    set_ticks(stage, {item.id for item in template.items}, by, how="read aloud at the time-out")


def _therapy_is(therapy: Therapy | None):
    return (
        m.ChecklistTemplate.therapy.is_(None)
        if therapy is None
        else m.ChecklistTemplate.therapy == therapy
    )


def latest_version(kind: StageKind, therapy: Therapy | None) -> int | None:
    """The newest version number published for exactly this stage and therapy (or none)."""
    return db.session.scalar(
        sa.select(sa.func.max(m.ChecklistTemplate.version)).where(
            m.ChecklistTemplate.stage_kind == kind, _therapy_is(therapy)
        )
    )


def _published_changes(kind, therapy, title: str, items: list[tuple[str, bool]]) -> list:
    """(what, published now, your entry) for a stale publish."""
    saved = db.session.scalar(
        sa.select(m.ChecklistTemplate)
        .where(m.ChecklistTemplate.stage_kind == kind, _therapy_is(therapy))
        .order_by(m.ChecklistTemplate.version.desc())
        .limit(1)
    )

    def listed(pairs) -> str:
        return "; ".join(text if required else f"(optional) {text}" for text, required in pairs)

    if saved is None:
        return []
    return [
        ("Version", saved.version, "new"),
        ("Title", saved.title, title.strip()),
        ("Items", listed((i.text, i.required) for i in saved.items), listed(items)),
    ]


def new_version(
    kind: StageKind,
    therapy: Therapy | None,
    title: str,
    items: list[tuple[str, bool]],
    by: User,
    based_on: int | NoPage | None = NO_PAGE,
) -> m.ChecklistTemplate:
    """Publish a new version; earlier versions stay for the stages that used them.

    `based_on` is the version the editor's page was opened on (None: there was none, or the
    request did not say): when another was published since, this one is stale (StaleWrite,
    with what is published now) and would otherwise drop that version's changes unseen.
    """
    if not can_manage_catalogues(by):
        raise Refused("Only an administrator edits checklists.")
    if not items:
        raise Refused("A checklist needs at least one item.", field="items")
    latest = latest_version(kind, therapy)
    if not isinstance(based_on, NoPage) and (latest or 0) != (based_on or 0):
        raise StaleWrite(changes=_published_changes(kind, therapy, title, items))
    condition = _therapy_is(therapy)
    db.session.execute(
        sa.update(m.ChecklistTemplate)
        .where(m.ChecklistTemplate.stage_kind == kind, condition)
        .values(active=False)
    )
    template = m.ChecklistTemplate(
        stage_kind=kind,
        therapy=therapy,
        version=(latest or 0) + 1,
        title=title.strip(),
        created_by_id=by.id,
    )
    template.items = [
        m.ChecklistItem(position=n, text=text.strip(), required=required)
        for n, (text, required) in enumerate(items, start=1)
    ]
    db.session.add(template)
    db.session.flush()
    audit.record("checklist.published", actor=by, obj=template, detail=f"v{template.version}")
    return template
