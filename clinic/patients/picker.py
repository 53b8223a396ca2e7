"""The patient picker: find a patient by name, MRN, birth date or phone, see who it is, choose.

A page that chooses a patient (booking, the slot finder, opening a journey) shows the picker. It
is a plain GET search form whose results link back to the page with `patient=<id>`; the script
in static/js/patient-picker.js fills the same list as the person types, from `patients.pick_json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import request
from flask_login import current_user

from clinic.extensions import db
from clinic.inputs import query_text
from clinic.models import audit
from clinic.patients import services
from clinic.patients.models import Patient

PICK_LIMIT = 10
PLACEHOLDER = "__PATIENT__"


@dataclass
class Picker:
    """What the picker macro shows: the chosen patient, or the search and its results."""

    chosen: Patient | None
    action: str  # the page itself (the GET search goes there)
    keep: dict[str, str] = field(default_factory=dict)  # query args the search carries along
    query: str = ""
    results: list[Patient] | None = None
    error: str | None = None
    field_name: str = "patient_mrn"  # the hidden input the host form posts
    label: str = "Patient"
    param: str = "patient"  # the query arg a choice sets

    @property
    def prefix(self) -> str:
        """Element ids: "picker-…" for a page's one picker, "picker-<param>-…" otherwise."""
        return "picker" if self.param == "patient" else f"picker-{self.param}"

    def choose_url(self, patient_id: int | str) -> str:
        args = {**self.keep, self.param: str(patient_id)}
        return f"{self.action}?{urlencode(args)}"

    @property
    def choose_template(self) -> str:
        """The choose link with a placeholder, for the script to fill."""
        return self.choose_url(PLACEHOLDER)

    @property
    def find_arg(self) -> str:
        return "find" if self.param == "patient" else f"find_{self.param}"

    @property
    def change_url(self) -> str:
        return f"{self.action}?{urlencode(self.keep)}" if self.keep else self.action


def find(text: str, limit: int = PICK_LIMIT) -> list[Patient]:
    """At most `limit` patients matching a search box entry (audited as a search)."""
    terms = services.search_query(text)
    found = list(db.session.scalars(services.first_matches(terms, limit)))
    if terms.kind != "empty":
        audit.record(
            "patient.searched",
            actor=current_user,
            detail=f"by {terms.kind} (picker)",
            patients=[p.id for p in found],
        )
    return found


def by_mrn(mrn: str | None) -> Patient | None:
    mrn = (mrn or "").strip().upper()
    if not mrn:
        return None
    return db.session.scalar(sa.select(Patient).where(Patient.mrn == mrn))


def build(
    chosen: Patient | None,
    *,
    action: str,
    keep: dict[str, object] | None = None,
    error: str | None = None,
    label: str = "Patient",
    param: str = "patient",
) -> Picker:
    """The picker for a page: `keep` are the page's query args that choosing must carry over;
    `param` names the query arg of the choice (and "find" + it, of the search) when a page
    has two pickers."""
    find_arg = "find" if param == "patient" else f"find_{param}"
    kept = {
        name: str(value)
        for name, value in (keep or {}).items()
        if value not in (None, "") and name not in (param, "mrn", find_arg)
    }
    picker = Picker(chosen=chosen, action=action, keep=kept, error=error, label=label, param=param)
    if chosen is None:
        picker.query = query_text(find_arg, 80)
        if picker.query:
            picker.results = find(picker.query)
    return picker


def current_args(*names: str) -> dict[str, object]:
    """The named query args of this request, to carry through the picker."""
    return {name: request.args.get(name) for name in names}
