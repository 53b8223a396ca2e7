"""A clinic that has run for a few years, built in bulk: `flask demo generate --patients N`.

At N patients: N bulk patients (one in 20 with a portal account), N/5 journeys in every state
(three quarters treated, with their stages, records, specimens, custody events, follow-ups,
answered questionnaires and adverse events; the rest evaluating, in treatment, not a candidate,
cancelled), a year of past and a quarter of future appointments for four bench clinicians
(the same working days at every size, so day pages compare like with like), and the audit
rows such use leaves, ~18 per patient, read events and list views included. Rows go in
with ids assigned up front, in batches (PostgreSQL: COPY for the audit trail), so 100,000
patients take minutes, not hours.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bench.registry_data import _flush, _next_id, _sync_sequences, bulk_registry
from clinic.extensions import db
from clinic.outcomes import registry_store
from clinic.patients.models import fold_name, phone_digits, reversed_digits, sound_key
from clinic.timeutil import clinic_tz

SURNAMES = (
    "Garcia",
    "Smith",
    "Nguyen",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Larsen",
    "Moreau",
    "Tanaka",
    "Silva",
    "Brown",
    "Cohen",
    "Rossi",
    "Murphy",
    "Ivanova",
    "Patel",
)
GIVEN = (
    "Ana",
    "Ben",
    "Chloe",
    "Dmitri",
    "Ebony",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Marco",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
)
BATCH = 5000
AUDIT_PER_PATIENT = 18
READ_ACTIONS = (
    "patient.viewed",
    "patient.viewed",
    "patient.viewed",
    "stage.viewed",
    "questionnaire.viewed",
    "outcomes.viewed",
    "portal.home_viewed",
)
WRITE_ACTIONS = (
    "appointment.booked",
    "appointment.checked_in",
    "stage.saved",
    "questionnaire.completed",
    "patient.updated",
    "follow_up.recorded",
)


def generate(patients: int, journeys: int | None = None, seed: int = 7, echo=print) -> None:
    """Everything above, added to the current database (demo data already loaded)."""
    journeys = patients // 5 if journeys is None else journeys
    began = time.perf_counter()

    def step(what: str) -> None:
        db.session.commit()
        echo(f"  {what} ({time.perf_counter() - began:.0f}s)")

    rng = random.Random(seed)
    bulk_patients(patients, rng)
    step(f"{patients:,} patients and their portal accounts")
    providers = bench_clinicians(4)
    treated = journeys * 3 // 4
    bulk_registry(min(treated, patients))
    specimens(rng)
    db.session.execute(
        sa.text(  # a journey whose every follow-up has come due is completed
            "UPDATE journey SET status = 'completed' WHERE status = 'follow_up' "
            "AND patient_id IN (SELECT id FROM patient WHERE mrn LIKE 'BX%') AND NOT EXISTS "
            "(SELECT 1 FROM follow_up f WHERE f.journey_id = journey.id AND f.due_on > :today)"
        ),
        {"today": date.today()},
    )
    step(f"{treated:,} treated journeys with follow-ups, answers, specimens and events")
    other_journeys(journeys - treated, treated, providers, rng)
    records()
    step(f"{journeys - treated:,} journeys in the other states, every stage with its record")
    stored = registry_store.rebuild()  # the rows went in by Core, past the ORM's bookkeeping
    step(f"the registry's stored rows ({stored[0]:,} cycles, {stored[1]:,} answers)")
    appointments(providers, rng)
    step("a year of past and a quarter of future appointments")
    audit_trail(AUDIT_PER_PATIENT * patients, rng)
    step(f"{AUDIT_PER_PATIENT * patients:,} audit rows")
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
        step("statistics")


def _insert(table: str, rows: list[dict]) -> None:
    if rows:
        db.session.execute(sa.insert(db.metadata.tables[table]), rows)
        rows.clear()


def bulk_patients(count: int, rng: random.Random) -> None:
    """Patients BX0000000…, one in 20 with a portal account (patient-NNN@bench.example.com)."""
    now = datetime.now(UTC)
    pid = _next_id("patient")
    uid = _next_id("user_account")
    people: list[dict] = []
    accounts: list[dict] = []
    for n in range(count):
        family, given = rng.choice(SURNAMES) + str(n % 997), rng.choice(GIVEN)
        phone = f"+1 617 {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        people.append(
            dict(
                id=pid + n,
                mrn=f"BX{n:07d}",
                given_name=given,
                family_name=family,
                given_key=fold_name(given),
                family_key=fold_name(family),
                given_sound=sound_key(given),
                family_sound=sound_key(family),
                date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randint(0, 25000)),
                sex="female" if n % 2 else "male",
                phone=phone,
                phone_key=phone_digits(phone),
                phone_rev=reversed_digits(phone_digits(phone)),
                preferred_contact="phone",
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        if n % 20 == 3:
            uid += 1
            accounts.append(
                dict(
                    id=uid - 1,
                    email=f"patient-{n}@bench.example.com",
                    full_name=f"{given} {family}",
                    role="patient",
                    password_hash="!",
                    active=True,
                    session_version=1,
                    patient_id=pid + n,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
        if len(people) == BATCH:
            _insert("patient", people)
            _insert("user_account", accounts)
    _insert("patient", people)
    _insert("user_account", accounts)
    _sync_sequences(("patient", "user_account"))


def bench_clinicians(count: int) -> list[int]:
    """Clinicians of the bench's own (Dr Bench 0…), so the demo's bookings never clash."""
    now = datetime.now(UTC)
    have = db.session.scalars(
        sa.text("SELECT id FROM user_account WHERE email LIKE 'bench%@bench.example.com'")
    ).all()
    if len(have) < count:
        _insert(
            "user_account",
            [
                dict(
                    email=f"bench{n}@bench.example.com",
                    full_name=f"Dr Bench {n}",
                    role="provider",
                    password_hash="!",
                    active=True,
                    session_version=1,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
                for n in range(len(have), count)
            ],
        )
    return list(
        db.session.scalars(
            sa.text(
                "SELECT id FROM user_account WHERE email LIKE 'bench%@bench.example.com' "
                "ORDER BY id"
            )
        )
    )


def specimens(rng: random.Random) -> None:
    """One specimen per treated cycle (the bench's own) and its six custody hand-offs."""
    cycles = db.session.execute(
        sa.text(
            "SELECT c.id, j.id, j.patient_id, j.therapy, s.started_at, s.completed_by_id "
            "FROM treatment_cycle c JOIN journey j ON j.id = c.journey_id "
            "JOIN stage s ON s.cycle_id = c.id AND s.kind = 'collection' "
            "JOIN patient p ON p.id = j.patient_id AND p.mrn LIKE 'BX%' "
            "WHERE s.started_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM specimen x WHERE x.cycle_id = c.id)"
        )
    ).all()
    sid = _next_id("specimen")
    rows: dict[str, list[dict]] = {"specimen": [], "custody_event": []}
    now = datetime.now(UTC)
    steps = ("labelled", "collected", "received", "processed", "released", "administered")
    for n, (cycle, journey, patient, therapy, collected, by) in enumerate(cycles):
        collected = _aware(collected)
        rows["specimen"].append(
            dict(
                id=sid + n,
                code=f"SB{sid + n:08d}",
                patient_id=patient,
                journey_id=journey,
                cycle_id=cycle,
                product_type=therapy,
                collected_at=collected,
                collected_by_id=by,
                custody_state="administered",
                created_at=now,
                updated_at=now,
            )
        )
        for k, step in enumerate(steps):
            rows["custody_event"].append(
                dict(
                    specimen_id=sid + n,
                    step=step,
                    at=collected + timedelta(minutes=10 * k + rng.randint(0, 5)),
                    by_id=by,
                )
            )
        _flush(rows)
    _flush(rows, force=True)
    _sync_sequences(("specimen",))


def _aware(value: datetime | str) -> datetime:
    """A timestamp read by plain SQL (SQLite hands back naive UTC text) as an aware datetime."""
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def other_journeys(count: int, skip: int, providers: list[int], rng: random.Random) -> None:
    """Journeys of the next `count` bench patients, in turn evaluating, in treatment (collection
    done and waiting to be signed, processing under way), not a candidate and cancelled."""
    patients = db.session.scalars(
        sa.text("SELECT id FROM patient WHERE mrn LIKE 'BX%' ORDER BY id LIMIT :n OFFSET :o"),
        {"n": count, "o": skip},
    ).all()
    now = datetime.now(UTC)
    stamp = dict(created_at=now, updated_at=now, version=1)
    names = ("journey", "target_site", "treatment_cycle", "stage")
    ids = {name: _next_id(name) for name in names}
    rows: dict[str, list[dict]] = {name: [] for name in names}

    def new(table: str) -> int:
        ids[table] += 1
        return ids[table] - 1

    for n, patient in enumerate(patients):
        provider = providers[n % len(providers)]
        state = ("evaluating", "in_treatment", "evaluating", "not_candidate", "cancelled")[n % 5]
        opened = now - timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 8))
        journey = new("journey")
        reason = "Not a candidate after evaluation" if state == "not_candidate" else None
        reason = "Patient chose not to go on" if state == "cancelled" else reason
        rows["journey"].append(
            dict(
                id=journey,
                patient_id=patient,
                therapy="prp",
                provider_id=provider,
                status=state,
                status_reason=reason,
                **stamp,
            )
        )
        rows["target_site"].append(
            dict(
                id=new("target_site"),
                journey_id=journey,
                level="L4-L5",
                side="left",
                structure="facet",
            )
        )
        signed = dict(
            status="signed",
            started_at=opened,
            completed_at=opened,
            completed_by_id=provider,
            signed_at=opened,
            signed_by_id=provider,
        )
        if state == "evaluating":
            evaluation = (
                dict(status="in_progress", started_at=opened) if n % 2 else dict(status="pending")
            )
        elif state == "cancelled":
            evaluation = dict(
                status="cancelled",
                started_at=opened,
                ended_at=opened,
                ended_by_id=provider,
                end_reason="Journey cancelled",
            )
        elif state == "not_candidate":
            evaluation = signed
        else:
            evaluation = signed
        rows["stage"].append(_stage(new("stage"), journey, None, "evaluation", evaluation, stamp))
        if state == "in_treatment":
            cycle = new("treatment_cycle")
            rows["treatment_cycle"].append(
                dict(id=cycle, journey_id=journey, number=1, created_at=now, updated_at=now)
            )
            day = now - timedelta(hours=rng.randint(1, 30))
            done = dict(
                status="completed", started_at=day, completed_at=day, completed_by_id=provider
            )
            rows["stage"].append(_stage(new("stage"), journey, cycle, "collection", done, stamp))
            under_way = dict(status="in_progress", started_at=day + timedelta(minutes=30))
            rows["stage"].append(
                _stage(new("stage"), journey, cycle, "processing", under_way, stamp)
            )
        _flush(rows)
    _flush(rows, force=True)
    _sync_sequences(names)


STAGE_COLUMNS = (
    "status",
    "started_at",
    "completed_at",
    "completed_by_id",
    "signed_at",
    "signed_by_id",
    "ended_at",
    "ended_by_id",
    "end_reason",
)


def _stage(sid: int, journey: int, cycle: int | None, kind: str, state: dict, stamp: dict) -> dict:
    """A stage row with every column named (one executemany takes the first row's keys)."""
    row = dict.fromkeys(STAGE_COLUMNS) | state | stamp
    return row | dict(id=sid, journey_id=journey, cycle_id=cycle, kind=kind)


RECORDS = {  # stage kind: its record table and the columns a new record needs
    "evaluation": ("evaluation_record", ""),
    "collection": ("collection_record", ", identifiers_checked"),
    "processing": ("processing_record", ""),
    "injection": ("injection_record", ", images_saved"),
    "recovery": ("recovery_record", ", discharge_criteria_met"),
}


def records() -> None:
    """An empty record for every stage that has none yet (as starting a stage makes one)."""
    for kind, (table, flags) in RECORDS.items():
        falses = ", false" * flags.count(",")
        db.session.execute(
            sa.text(
                f"INSERT INTO {table} (stage_id{flags}) SELECT s.id{falses} FROM stage s "
                f"WHERE s.kind = '{kind}' AND NOT EXISTS "
                f"(SELECT 1 FROM {table} r WHERE r.stage_id = s.id)"
            )
        )


def appointments(providers: list[int], rng: random.Random) -> None:
    """Every bench clinician's working days, 8:00–17:00 in half-hours with gaps, from a year
    ago to a quarter ahead: past visits completed (a few no-shows and cancellations), future
    ones booked. Patients take turns, so no patient is in two places at once."""
    tz = clinic_tz()
    now = datetime.now(UTC)
    patients = db.session.scalars(
        sa.text("SELECT id FROM patient WHERE mrn LIKE 'BX%' ORDER BY id")
    ).all()
    turn = _cycle(patients)
    today = date.today()
    rows: list[dict] = []
    for offset in range(-365, 92):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for slot in range(18):
            if slot % 6 == 5:
                continue  # gaps, as a real day has
            starts = datetime(day.year, day.month, day.day, 8, tzinfo=tz) + timedelta(
                minutes=30 * slot
            )
            for provider in providers:
                roll = rng.random()
                past = starts.astimezone(UTC) < now
                status, reason, checked_in = "booked", None, None
                if past and roll < 0.05:
                    status = "no_show"
                elif roll < 0.12:
                    status, reason = "cancelled", "Patient asked to cancel"
                elif past:
                    status, checked_in = "completed", starts - timedelta(minutes=10)
                rows.append(
                    dict(
                        patient_id=next(turn),
                        provider_id=provider,
                        room_id=None,
                        kind="follow_up",
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=30),
                        status=status,
                        cancel_reason=reason,
                        checked_in_at=checked_in,
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                )
        if len(rows) >= BATCH:
            _insert("appointment", rows)
    _insert("appointment", rows)


def _cycle(values: Sequence[int]) -> Iterator[int]:
    while True:
        yield from values


def audit_trail(count: int, rng: random.Random) -> None:
    """`count` audit rows over the past year: mostly reads of a chart, a stage or answers, some
    writes, and one patient search in ten with the patients it listed (audit_event_patient)."""
    staff = db.session.execute(
        sa.text("SELECT id, role FROM user_account WHERE role <> 'patient' ORDER BY id")
    ).all()
    patients = db.session.scalars(
        sa.text("SELECT id FROM patient WHERE mrn LIKE 'BX%' ORDER BY id")
    ).all()
    start = datetime.now(UTC) - timedelta(days=365)
    first = _next_id("audit_event")
    span = 365 * 86400
    events: list[tuple] = []
    listed: list[tuple] = []
    for n in range(count):
        actor, role = staff[n % len(staff)]
        at = start + timedelta(seconds=span * n // count + rng.randint(0, 59))
        patient = patients[rng.randrange(len(patients))]
        kind = n % 10
        if kind == 0:
            action, object_type, object_id, patient_id = "patient.searched", None, None, None
            shown = {patients[rng.randrange(len(patients))] for _ in range(rng.randint(1, 8))}
            listed.extend((first + n, p) for p in shown)
        elif kind < 8:
            action, object_type = rng.choice(READ_ACTIONS), "patient"
            object_id, patient_id = str(patient), patient
        else:
            action, object_type = rng.choice(WRITE_ACTIONS), "patient"
            object_id, patient_id = str(patient), patient
        detail = "q=garcia" if kind == 0 else None
        events.append(
            (
                first + n,
                at,
                actor,
                str(role),
                action,
                object_type,
                object_id,
                patient_id,
                "10.0.0.7",
                detail,
            )
        )
        if len(events) >= 50_000:
            _write_audit(events, listed)
    _write_audit(events, listed)
    _sync_sequences(("audit_event",))


AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "remote_addr",
    "detail",
)


def _write_audit(events: list[tuple], listed: list[tuple]) -> None:
    """PostgreSQL: COPY; elsewhere batched INSERTs."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY audit_event ({', '.join(AUDIT_COLUMNS)}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with cursor.copy(
                "COPY audit_event_patient (audit_event_id, patient_id) FROM STDIN"
            ) as copy:
                for pair in listed:
                    copy.write_row(pair)
    else:
        table = db.metadata.tables["audit_event"]
        connection.execute(
            sa.insert(table), [dict(zip(AUDIT_COLUMNS, e, strict=True)) for e in events]
        )
        if listed:
            connection.execute(
                sa.insert(db.metadata.tables["audit_event_patient"]),
                [dict(audit_event_id=e, patient_id=p) for e, p in listed],
            )
    events.clear()
    listed.clear()
