"""A past merge of two patient records, for the route matrix and the form fuzzer."""

from __future__ import annotations

import json

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.models.base import utcnow
from clinic.patients.models import PatientMerge
from tests.factories import PatientFactory, make_user


def make_merge_record() -> PatientMerge:
    survivor, retired = PatientFactory(), PatientFactory()
    now = utcnow()
    retired.merged_into_id, retired.merged_at = survivor.id, now
    record = PatientMerge(
        survivor_id=survivor.id,
        retired_id=retired.id,
        merged_by_id=make_user(Role.ADMIN).id,
        merged_at=now,
        reason="registered twice",
        moved=json.dumps({"appointment": [1]}),
        retired_snapshot=json.dumps(
            {"mrn": retired.mrn, "name": retired.display_name, "date_of_birth": "1970-01-01"}
        ),
    )
    db.session.add(record)
    db.session.flush()
    return record
