"""Create forms carry a one-time key, so a repeated post returns the first result.

The page renders `once_field()` (a fresh random key) inside the form and the route is wrapped
in `@once`. The first post claims the key in the request's own transaction; when it succeeds
with a redirect, `remember_result` stores where it led. Any later post with the same key
(a double click, a resend after a slow answer, the back button) creates nothing and is sent
to that first result. Two posts at the same moment meet at the key's primary key: the second
waits for the first to commit, then finds its result. A refused first post rolls its claim
back, so the corrected form can be sent with the same key.
"""

from __future__ import annotations

import re
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from clinic.extensions import db
from clinic.models.submission import RESULT_MAX, FormSubmission

FIELD = "submission_key"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_key() -> str:
    return secrets.token_urlsafe(24)


def once_field() -> Markup:
    """The hidden input a create form carries (a template global)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, new_key())


def _owner_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _replay(submission: FormSubmission):
    if submission.user_id != _owner_id():
        abort(400)
    flash("That form had already been sent; nothing was saved twice.", "info")
    return redirect(submission.result_url or request.path)


def claim(key: str | None):
    """Claim `key` for this request, or answer with the first post's result."""
    if not key:
        return None
    if not _SHAPE.match(key):
        abort(400)
    existing = db.session.get(FormSubmission, key)
    if existing is not None:
        return _replay(existing)
    submission = FormSubmission(key=key, user_id=_owner_id())
    try:
        with db.session.begin_nested():
            db.session.add(submission)
    except IntegrityError:
        # Another post with this key committed while we waited for its lock.
        winner = db.session.get(FormSubmission, key, populate_existing=True)
        if winner is None:  # it was rolled back meanwhile: let the user send the form again
            abort(409)
        return _replay(winner)
    g.submission = submission
    return None


def once(view):
    """Route decorator: a POST with an already used submission key creates nothing."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "POST":
            replay = claim(request.form.get(FIELD))
            if replay is not None:
                return replay
        return view(*args, **kwargs)

    return wrapper


def remember_result(response) -> None:
    """Store where a successful first post led (called just before the commit)."""
    submission = g.pop("submission", None)
    if submission is None or not response.location:
        return
    parts = urlsplit(response.location)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    path += f"#{parts.fragment}" if parts.fragment else ""
    submission.result_url = path[:RESULT_MAX]
