"""Admin edits to the clinical catalogues: conditions and follow-up protocols (checklists
are versioned in checklists.py)."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.errors import NO_PAGE, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import Therapy
from clinic.models import audit
from clinic.policy import can_manage_catalogues


def _require_admin(by: User) -> None:
    if not can_manage_catalogues(by):
        raise Refused("Only an administrator edits the clinical catalogues.")


def add_condition(code: str, name: str, by: User) -> m.Condition:
    _require_admin(by)
    code = code.strip().upper()
    if db.session.scalar(sa.select(m.Condition.id).where(m.Condition.code == code)):
        raise Refused("That code is already in the catalogue.", field="code")
    condition = m.Condition(code=code, name=name.strip(), active=True)
    db.session.add(condition)
    db.session.flush()
    audit.record("catalogue.condition_added", actor=by, obj=condition, detail=code)
    return condition


def set_condition_active(condition: m.Condition, active: bool, by: User) -> None:
    """Retired conditions stay on the journeys that used them; they are no longer offered."""
    _require_admin(by)
    if condition.active == active:
        return  # already so (a second click, another tab): nothing changes, nothing audited
    condition.active = active
    db.session.flush()
    audit.record(
        "catalogue.condition_" + ("restored" if active else "retired"),
        actor=by,
        obj=condition,
        detail=condition.code,
    )


MAX_PROTOCOL_DAYS = 3650  # ten years after an injection


def parse_protocol(text: str) -> list[tuple[str, int, int, int]]:
    """Lines of "label | due day | days before | days after" into steps; ValueError says why."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4 or not parts[0]:
            raise ValueError(f"Line {number}: write label | due day | days before | days after.")
        try:
            due, before, after = (int(p) for p in parts[1:])
        except ValueError:
            raise ValueError(f"Line {number}: the days must be whole numbers.") from None
        if max(due, before, after) > MAX_PROTOCOL_DAYS:
            raise ValueError(f"Line {number}: keep follow-ups within {MAX_PROTOCOL_DAYS} days.")
        if due < 0 or before < 0 or after < 0 or before > due:
            raise ValueError(f"Line {number}: the window must not open before the injection.")
        steps.append((parts[0][:80], due, before, after))
    if not steps:
        raise ValueError("A protocol needs at least one follow-up.")
    return steps


def replace_protocol(
    therapy: Therapy,
    steps: list[tuple[str, int, int, int]],
    by: User,
    seen: list[int] | NoPage | None = NO_PAGE,
) -> None:
    """New steps for this therapy; old ones are retired (follow-ups already made keep them).

    `seen` is the ids of the steps the editor's page showed: when another save replaced them
    since, this one is stale (StaleWrite, with the protocol saved now) and changes nothing.
    None (the request did not say which steps its page showed) is stale too.
    """
    _require_admin(by)
    # Locked, so two saves from the same page meet here on PostgreSQL (the later one sees the
    # rows the earlier one retired, and none of its own).
    current = db.session.scalars(
        sa.select(m.FollowUpProtocolStep)
        .where(m.FollowUpProtocolStep.therapy == therapy, m.FollowUpProtocolStep.active)
        .order_by(m.FollowUpProtocolStep.position)
        .with_for_update()
    ).all()
    if not isinstance(seen, NoPage) and seen != [step.id for step in current]:
        saved = "; ".join(f"{s.label} (day {s.due_days})" for s in current) or "none"
        yours = "; ".join(f"{label} (day {due})" for label, due, _, _ in steps)
        raise StaleWrite(changes=[("Follow-ups", saved, yours)])
    db.session.execute(
        sa.update(m.FollowUpProtocolStep)
        .where(m.FollowUpProtocolStep.therapy == therapy)
        .values(active=False)
    )
    for position, (label, due, before, after) in enumerate(steps, start=1):
        db.session.add(
            m.FollowUpProtocolStep(
                therapy=therapy,
                position=position,
                label=label,
                due_days=due,
                window_before_days=before,
                window_after_days=after,
            )
        )
    db.session.flush()
    audit.record(
        "catalogue.protocol_changed",
        actor=by,
        object_type="follow_up_protocol",
        object_id=therapy.value,
        detail=f"{len(steps)} follow-ups",
    )


def current_protocol(therapy: Therapy) -> list[m.FollowUpProtocolStep]:
    return list(
        db.session.scalars(
            sa.select(m.FollowUpProtocolStep)
            .where(m.FollowUpProtocolStep.therapy == therapy, m.FollowUpProtocolStep.active)
            .order_by(m.FollowUpProtocolStep.position)
        )
    )
