"""Bulk registry data for the benchmark: treated journeys with their stages, follow-ups,
scored questionnaire sets and adverse events, inserted in batches with ids assigned up front.

Item-level answers are not generated (the registry and its export read the scores only).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from clinic.extensions import db

STEPS = (  # label, due days, window before, window after (the shipped protocol)
    ("Day 1-2 phone check", 1, 0, 1),
    ("2 weeks", 14, 3, 4),
    ("6 weeks", 42, 10, 10),
    ("3 months", 91, 21, 23),
    ("6 months", 182, 45, 45),
    ("12 months", 365, 90, 90),
)
SETS = ("odi", "nrs_pain", "pgic")
LEVELS = ("L4-L5", "L5-S1", "L3-L4", "C5-C6")
BATCH = 5000
FACT_COLUMNS = ("completed_at", "completed_by_id", "plan", "pain_medicine", "work_status",
                "later_procedure", "later_procedure_on", "loss_reason")  # fmt: skip


def _next_id(table: str) -> int:
    return int(db.session.scalar(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))) + 1


def _flush(rows: dict[str, list[dict]], force: bool = False) -> None:
    """Insert every table's pending rows, parents first, once any batch is full (or at the end)."""
    if not force and max(len(v) for v in rows.values()) < BATCH:
        return
    for table, batch in rows.items():
        if batch:
            db.session.execute(sa.insert(db.metadata.tables[table]), batch)
            batch.clear()


def bulk_registry(journeys: int, seed: int = 11) -> None:
    """`journeys` treated lower-back and neck journeys of the bench patients, injected over the
    past 15 months, with follow-ups, answered sets (some late, some missing) and events."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = date.today()
    providers = db.session.scalars(
        sa.select(sa.text("id"))
        .select_from(sa.text("user_account"))
        .where(sa.text("email LIKE 'bench%@bench.example.com'"))
    ).all()
    patients = db.session.scalars(
        sa.select(sa.text("id")).select_from(sa.text("patient")).where(sa.text("mrn LIKE 'BX%'"))
        .order_by(sa.text("id")).limit(journeys)
    ).all()  # fmt: skip
    names = ("journey", "target_site", "treatment_cycle", "stage", "collection_record",
             "processing_record", "injection_record", "injection_site", "follow_up",
             "questionnaire_response", "adverse_event")  # fmt: skip
    ids = {name: _next_id(name) for name in names if name not in _NO_ID}
    rows: dict[str, list[dict]] = {name: [] for name in names}
    stamp = dict(created_at=now, updated_at=now)

    def new(table: str) -> int:
        ids[table] += 1
        return ids[table] - 1

    for n, patient_id in enumerate(patients):
        provider = providers[n % len(providers)]
        therapy = ("prp", "prp", "bmac", "adipose")[n % 4]
        level = LEVELS[n % len(LEVELS)]
        injected = now - timedelta(days=rng.randint(5, 460), hours=rng.randint(0, 6))
        injected_on = injected.date()
        journey = new("journey")
        rows["journey"].append(
            dict(
                id=journey,
                patient_id=patient_id,
                therapy=therapy,
                provider_id=provider,
                status="follow_up",
                version=1,
                **stamp,
            )
        )
        rows["target_site"].append(
            dict(
                id=new("target_site"),
                journey_id=journey,
                level=level,
                side="midline",
                structure="disc",
            )
        )
        cycle = new("treatment_cycle")
        rows["treatment_cycle"].append(dict(id=cycle, journey_id=journey, number=1, **stamp))
        done = dict(status="signed", completed_by_id=provider, signed_by_id=provider, version=1)
        evaluated = injected - timedelta(days=rng.randint(7, 60))
        collected = injected - timedelta(minutes=rng.randint(30, 180))
        stages = {}
        for kind, at in (("evaluation", evaluated), ("collection", collected),
                         ("processing", collected + timedelta(minutes=20)),
                         ("injection", injected)):  # fmt: skip
            stages[kind] = new("stage")
            rows["stage"].append(dict(
                id=stages[kind], journey_id=journey,
                cycle_id=None if kind == "evaluation" else cycle, kind=kind, started_at=at,
                completed_at=at, signed_at=at, **done, **stamp))  # fmt: skip
        rows["collection_record"].append(dict(stage_id=stages["collection"],
                                              identifiers_checked=True, collected_at=collected,
                                              collected_by_id=provider))  # fmt: skip
        platelets = Decimal(rng.randint(400, 2000))
        paw = f"P{rng.randint(1, 4)}-x-A"
        rows["processing_record"].append(dict(stage_id=stages["processing"], paw_class=paw,
                                              final_volume_ml=Decimal(6),
                                              product_platelets=platelets))  # fmt: skip
        rows["injection_record"].append(dict(stage_id=stages["injection"],
                                             procedure_started_at=injected, images_saved=True,
                                             product_disposition="used"))  # fmt: skip
        rows["injection_site"].append(dict(id=new("injection_site"), stage_id=stages["injection"],
                                           level=level, side="midline", structure="disc",
                                           approach="intradiscal",
                                           volume_ml=Decimal(rng.choice((2, 3, 4)))))  # fmt: skip
        baseline = rng.randint(30, 70)
        for code in SETS[:2]:
            rows["questionnaire_response"].append(_response(
                new("questionnaire_response"), patient_id, journey, cycle, None, code, "baseline",
                evaluated.date(), injected_on, baseline if code == "odi" else 7,
                evaluated + timedelta(days=2), True, stamp))  # fmt: skip
        for label, due_days, before, after in STEPS:
            due = injected_on + timedelta(days=due_days)
            opens, closes = due - timedelta(days=before), due + timedelta(days=after)
            closed = closes < today
            roll = rng.random()
            status = "scheduled"
            extra: dict = dict.fromkeys(FACT_COLUMNS)
            if closed and roll < 0.8:
                status = "done"
                extra.update(completed_at=now, completed_by_id=provider,
                                             plan="continue", pain_medicine="none",
                                             work_status="full_duty")  # fmt: skip
                if roll < 0.01:
                    extra.update(later_procedure="surgery", later_procedure_on=due)
            elif closed and roll < 0.9:
                status, extra["loss_reason"] = "missed", "unreachable"
            follow_up = new("follow_up")
            rows["follow_up"].append(dict(
                id=follow_up, patient_id=patient_id, journey_id=journey, cycle_id=cycle,
                label=label, due_on=due, window_opens_on=opens, window_closes_on=closes,
                status=status, adverse_infection=False, adverse_pain_flare=False,
                adverse_swelling=False, adverse_neuro_deficit=False, version=1, **extra,
                **stamp))  # fmt: skip
            if due_days < 7:
                continue
            answered = opens <= today and roll < 0.85
            late = answered and roll > 0.8
            on = min(closes + timedelta(days=3) if late else opens + timedelta(days=2), today)
            score = max(0, baseline - rng.randint(-8, 30))
            for code in SETS:
                value = score if code == "odi" else (rng.randint(1, 7) if code == "pgic" else 4)
                rows["questionnaire_response"].append(_response(
                    new("questionnaire_response"), patient_id, journey, cycle, follow_up, code,
                    label, opens, closes, value if answered else None,
                    datetime.combine(on, datetime.min.time(), UTC) if answered else None,
                    not late, stamp))  # fmt: skip
        if rng.random() < 0.05:
            serious = rng.random() < 0.1
            rows["adverse_event"].append(dict(
                id=new("adverse_event"), patient_id=patient_id, journey_id=journey,
                cycle_id=cycle, term_code="pain_flare", term_label="Pain flare after injection",
                terminology="clinic", onset_on=injected_on + timedelta(days=2),
                resolved_on=injected_on + timedelta(days=6), grade=3 if serious else 1,
                serious_death=False, serious_life_threatening=False, serious_hospital=serious,
                serious_disability=False, serious_other=False, serious=serious,
                related_procedure="possible", related_product="unlikely", action_taken="advice",
                outcome="recovered", reported_at=now, reported_by_id=provider,
                version=1))  # fmt: skip
        _flush(rows)
    _flush(rows, force=True)
    _sync_sequences(names)
    db.session.commit()


_NO_ID = ("collection_record", "processing_record", "injection_record")


def _response(rid, patient, journey, cycle, follow_up, code, timepoint, opens, closes, score,
              completed_at, in_window, stamp):  # fmt: skip
    answered = score is not None
    return dict(
        id=rid, patient_id=patient, journey_id=journey, cycle_id=cycle, follow_up_id=follow_up,
        instrument_code=code, instrument_version=1, timepoint=timepoint, available_from=opens,
        due_by=closes, status="completed" if answered else "assigned",
        score=Decimal(score) if answered else None, completed_at=completed_at,
        in_window=in_window if answered else None, on_behalf=False, version=1, **stamp,
    )  # fmt: skip


def _sync_sequences(names: tuple[str, ...]) -> None:
    """PostgreSQL: move each id sequence past the ids given explicitly."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in names:
        if table in _NO_ID:
            continue
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        )
