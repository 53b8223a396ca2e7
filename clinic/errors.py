"""The one vocabulary for saying no.

Services raise these; routes never invent their own. A `Refused` carries a message for the
user and, when it concerns one input, the form field it belongs beside (`show_beside`). A
`Conflict` is a clash with what the database already holds (a unique value taken, a slot
booked). A `StaleWrite` is a save made from an older version of the record than the one
stored: the route answers 409 through the `stale_notice` macro, showing the newer values and
keeping the user's input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash


class Refused(Exception):
    """A rule refused the change; nothing of it is kept. Answered with 422 beside `field`."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class Conflict(Refused):
    """The change clashes with what is already stored (taken value, double booking): 409."""

    status = 409


class StaleWrite(Conflict):
    """The record changed since the form was loaded: the first save won, this one is refused."""

    def __init__(
        self,
        message: str = "Someone else saved this record after you opened it.",
        field: str | None = None,
        changes: Iterable[tuple[str, object, object]] = (),
        current: Any = None,
    ) -> None:
        super().__init__(message, field)
        self.changes = list(changes)
        self.current = current  # the newer record, when the page shows it


class NoPage:
    """The caller is the app itself (a walkthrough, the time-out), not a page: no "what the
    page showed" to compare with what is saved."""

    def __repr__(self) -> str:
        return "NO_PAGE"


# A save from a page passes what the page showed, or None when the request did not say:
# then which version the user saw is unknown and the save is refused as stale.
NO_PAGE = NoPage()


def show_beside(form, err: Refused, default_field: str | None = None) -> None:
    """Put a refusal beside its field on `form` (or `default_field`); flash it otherwise."""
    name = err.field or default_field
    field = form[name] if form is not None and name and name in form else None
    if field is None:
        flash(err.message, "danger")
        return
    if isinstance(field.errors, tuple):  # WTForms keeps an unvalidated field's errors as ()
        field.errors = list(field.errors)
    field.errors.append(err.message)
