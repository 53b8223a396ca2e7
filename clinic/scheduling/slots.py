"""Free-slot finding inside clinicians' working hours, in the clinic's time zone."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.scheduling.models import LIVE_STATUSES, Appointment, Room, VisitKind, WorkingHours
from clinic.timeutil import clinic_tz

STEP = timedelta(minutes=15)
SEARCH_DAYS = 28


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    provider: User
    room: Room | None


def hours_by_clinician(clinician_ids: list[int]) -> dict[int, dict[int, WorkingHours]]:
    """{clinician id: {weekday: hours}} in one query."""
    result: dict[int, dict[int, WorkingHours]] = defaultdict(dict)
    if clinician_ids:
        rows = db.session.scalars(
            sa.select(WorkingHours).where(WorkingHours.clinician_id.in_(clinician_ids))
        )
        for row in rows:
            result[row.clinician_id][row.weekday] = row
    return result


class Hours(Protocol):
    """A shift's clinic wall-clock start and end: working hours, or a light row's."""

    @property
    def starts(self) -> time: ...
    @property
    def ends(self) -> time: ...


def shift_bounds(day: date, hours: Hours) -> tuple[datetime, datetime]:
    """The UTC instants a shift on this clinic date starts and ends (DST-aware)."""
    tz = clinic_tz()
    start = datetime.combine(day, hours.starts, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, hours.ends, tzinfo=tz).astimezone(UTC)
    return start, end


@dataclass
class Spans:
    """Busy spans kept in start order, with the latest end so far beside each: whether a time
    is free is two lookups (a bisect and a max), however many spans a clinician has."""

    starts: list[datetime] = field(default_factory=list)
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)
    _reach: list[datetime] | None = None

    def copy(self) -> Spans:
        return Spans(list(self.starts), list(self.spans), self._reach)

    def add(self, start: datetime, end: datetime) -> None:
        insort(self.spans, (start, end))
        self.starts = [s for s, _e in self.spans]
        self._reach = None

    def free(self, start: datetime, end: datetime) -> bool:
        """No span overlaps [start, end): every span starting before `end` ends by `start`."""
        if self._reach is None:
            self._reach, latest = [], None
            for _s, e in self.spans:
                latest = e if latest is None or e > latest else latest
                self._reach.append(latest)
        before = bisect_left(self.starts, end)
        return before == 0 or self._reach[before - 1] <= start


def _spans(rows: list[tuple[datetime, datetime]]) -> Spans:
    spans = sorted(rows)
    return Spans([s for s, _e in spans], spans)


def _busy(provider_ids, room_ids, patient_ids, start, end):
    """Live appointments touching these people or rooms between start and end, in one query."""
    who = []
    if provider_ids:
        who.append(Appointment.provider_id.in_(provider_ids))
    if room_ids:
        who.append(Appointment.room_id.in_(room_ids))
    if patient_ids:
        who.append(Appointment.patient_id.in_(patient_ids))
    by_provider, by_room, by_patient = defaultdict(list), defaultdict(list), defaultdict(list)
    if who:
        rows = db.session.execute(
            sa.select(
                Appointment.provider_id,
                Appointment.room_id,
                Appointment.patient_id,
                Appointment.starts_at,
                Appointment.ends_at,
            ).where(
                Appointment.status.in_(LIVE_STATUSES),
                Appointment.starts_at < end,
                Appointment.ends_at > start,
                sa.or_(*who),
            )
        ).all()
        wanted_providers, wanted_rooms = set(provider_ids or ()), set(room_ids or ())
        wanted_patients = set(patient_ids or ())
        # a clinician's visits bring every patient's: keep only those asked for
        for provider_id, room_id, patient_id, starts_at, ends_at in rows:
            span = (starts_at, ends_at)
            if provider_id in wanted_providers:
                by_provider[provider_id].append(span)
            if room_id in wanted_rooms:
                by_room[room_id].append(span)
            if patient_id in wanted_patients:
                by_patient[patient_id].append(span)
    return tuple(
        defaultdict(Spans, {key: _spans(spans) for key, spans in found.items()})
        for found in (by_provider, by_room, by_patient)
    )


def busy_times(
    provider_ids: list[int], room_ids: list[int], start: datetime, end: datetime
) -> tuple[dict[int, Spans], dict[int, Spans]]:
    """The clinicians' and rooms' busy times between start and end (one query), to give a
    Planner (`known`) that is not to read them again."""
    by_provider, by_room, _patients = _busy(provider_ids, room_ids, [], start, end)
    return by_provider, by_room


def _round_up(moment: datetime) -> datetime:
    """The next quarter hour at or after this moment (clinic quarter hours are UTC ones):
    10:15:00 stays, 10:15:30 is 10:30 (a slot never starts before the moment asked for)."""
    moment = moment.astimezone(UTC)
    mark = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return mark if mark == moment else mark + timedelta(minutes=15)


def _horizon(after: datetime, days: int) -> datetime:
    tz = clinic_tz()
    first_day = after.astimezone(tz).date()
    end = datetime.combine(first_day + timedelta(days=days + 1), datetime.min.time(), tz)
    return end.astimezone(UTC)


class Planner:
    """Free time for many searches at once: working hours and busy times are read in two
    queries, and every slot handed out with `hold` is not offered again (a recall list
    never suggests one time twice). `known`: the providers' and rooms' busy times from
    `busy_times` over at least start to end, already read (only the patients' are read)."""

    def __init__(
        self,
        providers: list[User],
        rooms: list[Room],
        patient_ids: list[int],
        start: datetime,
        end: datetime,
        known: tuple[dict[int, Spans], dict[int, Spans]] | None = None,
    ) -> None:
        self.hours = hours_by_clinician([p.id for p in providers])
        if known is None:
            self.by_provider, self.by_room, self.by_patient = _busy(
                [p.id for p in providers], [r.id for r in rooms], patient_ids, start, end
            )
        else:  # copies: what `hold` adds stays in this planner
            self.by_provider, self.by_room = (
                defaultdict(Spans, {key: spans.copy() for key, spans in found.items()})
                for found in known
            )
            self.by_patient = _busy([], [], patient_ids, start, end)[2]

    def hold(self, slot: Slot, patient_id: int | None) -> None:
        self.by_provider[slot.provider.id].add(slot.starts_at, slot.ends_at)
        if slot.room is not None:
            self.by_room[slot.room.id].add(slot.starts_at, slot.ends_at)
        if patient_id is not None:
            self.by_patient[patient_id].add(slot.starts_at, slot.ends_at)

    def next_free(
        self,
        kind: VisitKind,
        *,
        providers: list[User],
        rooms: list[Room],
        patient_id: int | None,
        after: datetime,
        length: timedelta | None = None,
        limit: int = 10,
        days: int = SEARCH_DAYS,
    ) -> list[Slot]:
        """The earliest free slots (see `find_slots`), from what was loaded."""
        length = length or kind.default_length
        after = _round_up(after)
        if not providers or (kind.needs_room and not rooms):
            return []
        first_day = after.astimezone(clinic_tz()).date()
        by_patient = self.by_patient[patient_id] if patient_id is not None else Spans()
        # looked up once per search, not per candidate time
        people = [
            (p, p.full_name, self.by_provider[p.id], self.hours.get(p.id, {})) for p in providers
        ]
        want_room = bool(rooms) and bool(kind.needs_room or kind.room_kinds)
        room_spans = [(r, self.by_room[r.id]) for r in rooms] if want_room else []
        found: list[Slot] = []
        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            candidates = []
            for provider, name, busy, hours in people:
                shift = hours.get(day.weekday())
                if shift is None:
                    continue
                start, end = shift_bounds(day, shift)
                late = max(start, after) - start
                moment = start + ((late + STEP - timedelta(microseconds=1)) // STEP) * STEP
                while moment + length <= end:
                    candidates.append((moment, name, busy, provider))
                    moment += STEP
            for moment, _name, busy, provider in sorted(candidates, key=lambda c: (c[0], c[1])):
                finish = moment + length
                if not busy.free(moment, finish) or not by_patient.free(moment, finish):
                    continue
                room = None
                if want_room:
                    room = next((r for r, spans in room_spans if spans.free(moment, finish)), None)
                    if room is None and kind.needs_room:
                        continue
                found.append(Slot(moment, finish, provider, room))
                if len(found) >= limit:
                    return found
        return found


def find_slots(
    kind: VisitKind,
    *,
    providers: list[User],
    rooms: list[Room],
    patient: Patient | None = None,
    after: datetime,
    length: timedelta | None = None,
    limit: int = 10,
    days: int = SEARCH_DAYS,
) -> list[Slot]:
    """The earliest free slots for this kind of visit, each with a clinician (from `providers`)
    and, when the visit needs one, a room (from `rooms`), inside the clinician's hours."""
    if not providers or (kind.needs_room and not rooms):
        return []
    start = _round_up(after)
    planner = Planner(
        providers, rooms, [patient.id] if patient else [], start, _horizon(start, days)
    )
    return planner.next_free(
        kind,
        providers=providers,
        rooms=rooms,
        patient_id=patient.id if patient else None,
        after=start,
        length=length,
        limit=limit,
        days=days,
    )


def within_hours(clinician: User, starts_at: datetime, ends_at: datetime) -> bool:
    """Does the visit fall inside the clinician's working hours that day?"""
    day = starts_at.astimezone(clinic_tz()).date()
    shift = hours_by_clinician([clinician.id]).get(clinician.id, {}).get(day.weekday())
    if shift is None:
        return False
    start, end = shift_bounds(day, shift)
    return start <= starts_at and ends_at <= end
