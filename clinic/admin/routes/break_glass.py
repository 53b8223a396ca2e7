"""Reviewing break-glass uses: who opened which chart outside their care team, and why."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin import bp
from clinic.careteam import services as team
from clinic.careteam.forms import ReviewForm
from clinic.careteam.models import BreakGlass
from clinic.errors import Conflict
from clinic.extensions import db
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.transaction import attempt


@bp.route("/break-glass")
def break_glass_uses():
    show = request.args.get("show", "open")
    if show not in ("open", "all"):
        abort(400)
    return _uses_page(show, ReviewForm(formdata=None))


def _uses_page(show: str, form: ReviewForm, refused_id: int | None = None):
    """The list; after a refused review, that use's note as written with the reason beside it
    (422)."""
    uses = team.break_glass_uses(show)
    audit.record(
        "break_glass.list_viewed",
        actor=current_user,
        patients={u.patient_id for u in uses},
    )
    page = render_template(
        "admin/break_glass.html",
        uses=uses,
        show=show,
        form=form,
        refused_id=refused_id,
        now=utcnow(),
    )
    return page, 422 if refused_id else 200


@bp.route("/break-glass/<int:grant_id>/review", methods=["POST"])
def review_break_glass(grant_id: int):
    grant = db.get_or_404(BreakGlass, grant_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _uses_page("open", form, grant.id)
    try:
        with attempt():
            team.review_break_glass(grant, form.note.data, current_user)
    except Conflict as err:
        flash(str(err), "warning")
    else:
        flash("Marked reviewed.", "success")
    return redirect(url_for("admin.break_glass_uses"))
