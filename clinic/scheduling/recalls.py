"""Follow-up recalls: protocol follow-ups that are due and not booked, each with a suggested
time. A fixed number of queries whatever the number of follow-ups (no query per row)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.journeys.models import FollowUp, FollowUpProtocolStep, FollowUpStatus, Journey
from clinic.journeys.states import OPEN_JOURNEY
from clinic.patients.models import Patient
from clinic.scheduling import services
from clinic.scheduling.journey_links import visit_kind_for
from clinic.scheduling.models import LIVE_STATUSES, Appointment, RoomKind, VisitKind
from clinic.scheduling.slots import SEARCH_DAYS, Planner, Slot, busy_times
from clinic.timeutil import clinic_tz

CLOSING_DAYS = 7  # a window closing within a week is flagged
LOOKAHEAD_DAYS = 14  # windows opening in the next two weeks can be booked ahead
PAGE_SIZE = 50
SHOW = ("all", "overdue")

STATE_LABELS = {
    "overdue": "Overdue",
    "closing": "Window closing",
    "open": "Window open",
    "upcoming": "Window opens soon",
}


@dataclass
class Recall:
    follow_up: FollowUp
    provider: User
    kind: VisitKind
    state: str
    slot: Slot | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def window_state(follow_up: FollowUp, today: date) -> str:
    """overdue (window closed), closing (within a week), open, or upcoming (opens later)."""
    if follow_up.window_closes_on < today:
        return "overdue"
    if follow_up.window_opens_on > today:
        return "upcoming"
    if follow_up.window_closes_on <= today + timedelta(days=CLOSING_DAYS):
        return "closing"
    return "open"


def _unbooked(today: date, show: str, provider_id: int | None):
    """The where-clause: scheduled, in an open journey, not booked, window open or soon."""
    # NOT EXISTS (an anti-join on the live-booking index), not NOT IN over every booking
    booked = sa.exists().where(
        Appointment.follow_up_id == FollowUp.id, Appointment.status.in_(LIVE_STATUSES)
    )
    conditions = [
        FollowUp.status == FollowUpStatus.SCHEDULED,
        Journey.status.in_(OPEN_JOURNEY),
        ~booked,
        FollowUp.window_opens_on <= today + timedelta(days=LOOKAHEAD_DAYS),
    ]
    if show == "overdue":
        conditions.append(FollowUp.window_closes_on < today)
    if provider_id is not None:
        conditions.append(Journey.provider_id == provider_id)
    return conditions


@dataclass(frozen=True)
class Tally:
    listed: int  # window open, or opening within LOOKAHEAD_DAYS (the recall list's "all")
    due: int  # window open now (or closed)
    overdue: int  # window closed


# Unbooked follow-ups counted per responsible provider, per process: {today: (stamp, when,
# {provider id: Tally})}. Counting reads every open follow-up (15,000 at 100,000 patients,
# ~10 ms), and both the front-desk home and the recall list's total need it, so the tallies are
# reused while no follow-up, appointment or journey has been written since (their latest
# `updated_at`, three index probes), for at most COUNT_KEPT_SECONDS (a transaction that wrote
# earlier but committed later cannot keep an old count for longer).
_counted: dict[date, tuple[tuple, float, dict[int, Tally]]] = {}
COUNT_KEPT_SECONDS = 60


# The clinicians' and rooms' busy times the suggestions are planned against, per process, kept
# like the tallies: {today: (stamp, when, clinician and room ids, busy times)}. They cover
# every search a listed follow-up can start (its window opens within LOOKAHEAD_DAYS), and
# reading them is a month of every clinician's visits (1,200 rows at 100,000 patients, ~12 ms).
_busy_kept: dict[date, tuple[tuple, float, tuple, tuple]] = {}


def forget_counts() -> None:
    """Drop the kept counts and busy times (the test suite swaps the database under a running
    process)."""
    _counted.clear()
    _busy_kept.clear()


# The latest write to each table the kept counts, busy times and pages depend on (an index
# probe each); a page that runs its own query may read them with it (see count_due).
WRITTEN = tuple(
    sa.select(sa.func.max(model.updated_at)).scalar_subquery()
    for model in (FollowUp, Appointment, Journey)
)


def _last_written() -> tuple:
    return tuple(db.session.execute(sa.select(*WRITTEN)).one())


_OF_THEM = Patient.id.in_(sa.bindparam("patient_ids", expanding=True))
_LISTED: sa.BindParameter[list[int]] = sa.bindparam("follow_up_ids", expanding=True)
_WRITTEN_AND_PAGE = sa.select(
    *WRITTEN,
    sa.select(sa.func.sum(Patient.version)).where(_OF_THEM).scalar_subquery(),
    sa.select(sa.func.max(Patient.updated_at)).where(_OF_THEM).scalar_subquery(),
    sa.select(sa.func.sum(FollowUp.version)).where(FollowUp.id.in_(_LISTED)).scalar_subquery(),
    sa.select(sa.func.count())
    .where(Appointment.follow_up_id.in_(_LISTED), Appointment.status.in_(LIVE_STATUSES))
    .scalar_subquery(),
)


def last_written_and_page(patient_ids: list[int], follow_up_ids: list[int]) -> tuple[tuple, tuple]:
    """_last_written(), and what a kept page of recalls shows beyond it, in one statement: its
    patients' versions and latest `updated_at`, its follow-ups' versions and how many of them
    have a live booking (none, when the page was read). A booking or edit of a listed row
    shows even when its transaction committed after a later one (its `updated_at` then below
    the latest)."""
    row = db.session.execute(
        _WRITTEN_AND_PAGE, {"patient_ids": patient_ids, "follow_up_ids": follow_up_ids}
    ).one()
    return tuple(row[:3]), tuple(row[3:])


def _tallies(today: date, stamp: tuple | None = None) -> dict[int, Tally]:
    """The unbooked follow-ups' tallies by responsible provider, kept until a write (above);
    `stamp`: _last_written(), when the caller has read it already."""
    stamp, now = stamp or _last_written(), time.monotonic()
    kept = _counted.get(today)
    if kept is not None and kept[0] == stamp and now - kept[1] < COUNT_KEPT_SECONDS:
        return kept[2]
    tallies = _count_by_provider(today)
    _counted.clear()  # only today's is ever read
    _counted[today] = (stamp, now, tallies)
    return tallies


def _count_by_provider(today: date) -> dict[int, Tally]:
    """Unbooked follow-ups listed, due now and overdue per responsible provider, in one query."""
    overdue = sa.case((FollowUp.window_closes_on < today, 1), else_=0)
    open_now = sa.case((FollowUp.window_opens_on <= today, 1), else_=0)
    rows = db.session.execute(
        sa.select(Journey.provider_id, sa.func.count(), sa.func.sum(open_now), sa.func.sum(overdue))
        .select_from(FollowUp)
        .join(Journey, Journey.id == FollowUp.journey_id)
        .where(*_unbooked(today, "all", None))
        .group_by(Journey.provider_id)
    ).all()
    return {row[0]: Tally(int(row[1]), int(row[2] or 0), int(row[3] or 0)) for row in rows}


def count_due(today: date, stamp: tuple | None = None) -> dict[str, int]:
    """How many unbooked follow-ups are due now (window open) and overdue (`stamp`: the
    values of WRITTEN, when the caller has read them with its own query)."""
    tallies = _tallies(today, stamp).values()
    return {"due": sum(t.due for t in tallies), "overdue": sum(t.overdue for t in tallies)}


def _count_listed(today: date, show: str, provider_id: int | None, stamp: tuple) -> int:
    """The recall list's total for these filters, from the kept tallies."""
    tallies = _tallies(today, stamp)
    chosen = tallies.values() if provider_id is None else [tallies.get(provider_id)]
    return sum((t.overdue if show == "overdue" else t.listed) for t in chosen if t is not None)


def recall_page(
    today: date,
    *,
    now: datetime,
    show: str = "all",
    provider_id: int | None = None,
    page: int = 1,
    patient_id: int | None = None,
    clinicians: list[User] | None = None,
    stamp: tuple | None = None,
) -> tuple[list[Recall], int]:
    """One page of recalls in due order, each with a suggested slot, and the total count
    (`clinicians`: services.clinicians(), `stamp`: _last_written(), when the caller has read
    them already)."""
    conditions = _unbooked(today, show, provider_id)
    stamp = stamp or _last_written()
    if patient_id is None:
        total = _count_listed(today, show, provider_id, stamp)
    else:  # one patient's few follow-ups, through their index
        conditions.append(FollowUp.patient_id == patient_id)
        total = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(FollowUp)
                .join(Journey, Journey.id == FollowUp.journey_id)
                .where(*conditions)
            )
            or 0
        )
    # The page's ids first, from the scheduled-by-due-date index alone (index-only: the
    # follow-ups of closed journeys it walks past, ~900 before the first page at 100,000
    # patients, are not read from the table), then those rows with their patient and provider.
    page_ids = (
        sa.select(FollowUp.id)
        .join(Journey, Journey.id == FollowUp.journey_id)
        .where(*conditions)
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .correlate(None)
    )
    rows = db.session.execute(
        sa.select(FollowUp, User, FollowUpProtocolStep.due_days)
        .join(Journey, Journey.id == FollowUp.journey_id)
        .join(User, User.id == Journey.provider_id)
        .outerjoin(FollowUpProtocolStep, FollowUpProtocolStep.id == FollowUp.protocol_step_id)
        .options(joinedload(FollowUp.patient), lazyload(User.patient))  # clinicians have none
        .where(FollowUp.id.in_(page_ids))
        .order_by(FollowUp.due_on, FollowUp.id)
    ).all()
    recalls = [
        Recall(
            follow_up=follow_up,
            provider=provider,
            kind=visit_kind_for(follow_up, due_days),
            state=window_state(follow_up, today),
        )
        for follow_up, provider, due_days in rows
    ]
    suggest(recalls, now, clinicians, kept=(today, stamp))
    return recalls, total


def _search_start(follow_up: FollowUp, now: datetime) -> datetime:
    opens = datetime.combine(follow_up.window_opens_on, datetime.min.time(), clinic_tz())
    return max(now, opens.astimezone(UTC))


def _known_busy(
    today: date, stamp: tuple, clinicians: list[User], rooms: list, end: datetime
) -> tuple | None:
    """The clinicians' and rooms' busy times from today's start, kept until a write (see
    _busy_kept); None when the searches reach past what is kept."""
    tz = clinic_tz()
    first = datetime.combine(today, datetime.min.time(), tz).astimezone(UTC)
    last = datetime.combine(
        today + timedelta(days=LOOKAHEAD_DAYS + SEARCH_DAYS + 3), datetime.min.time(), tz
    ).astimezone(UTC)
    if end > last:
        return None
    ids = (tuple(c.id for c in clinicians), tuple(r.id for r in rooms))
    now = time.monotonic()
    kept = _busy_kept.get(today)
    if kept and kept[0] == stamp and kept[2] == ids and now - kept[1] < COUNT_KEPT_SECONDS:
        return kept[3]
    busy = busy_times(list(ids[0]), list(ids[1]), first, last)
    _busy_kept.clear()
    _busy_kept[today] = (stamp, now, ids, busy)
    return busy


def suggest(
    recalls: list[Recall],
    now: datetime,
    clinicians: list[User] | None = None,
    kept: tuple[date, tuple] | None = None,
) -> None:
    """Give each recall the earliest free slot from its window's opening (or now): a visit
    with the responsible provider (an exam room when one is free), a phone check with the
    clinical staff or the provider. Slots handed out are held, so no two rows share one.
    `kept`: (today, _last_written()) to plan against the busy times kept per process."""
    if not recalls:
        return
    if clinicians is None:
        clinicians = services.clinicians()
    staff = [c for c in clinicians if c.role is Role.CLINICAL_STAFF]
    active = {c.id for c in clinicians}
    rooms = [r for r in services.active_rooms() if r.kind in (RoomKind.EXAM, RoomKind.ULTRASOUND)]
    starts = [_search_start(r.follow_up, now) for r in recalls]
    end = max(starts) + timedelta(days=SEARCH_DAYS + 2)
    known = _known_busy(*kept, clinicians, rooms, end) if kept is not None else None
    planner = Planner(
        clinicians, rooms, [r.follow_up.patient_id for r in recalls], min(starts), end, known
    )
    for recall, after in zip(recalls, starts, strict=True):
        own = [recall.provider] if recall.provider.id in active else []
        people = staff + own if recall.kind is VisitKind.PHONE_CHECK else own
        found = planner.next_free(
            recall.kind,
            providers=people,
            rooms=[] if recall.kind is VisitKind.PHONE_CHECK else rooms,
            patient_id=recall.follow_up.patient_id,
            after=after,
            limit=1,
        )
        if found:
            recall.slot = found[0]
            planner.hold(found[0], recall.follow_up.patient_id)
