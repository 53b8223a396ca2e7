"""Calendar subscription links: managed by the clinician or the front desk, read by apps."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user

from clinic.extensions import limiter
from clinic.models import audit
from clinic.policy import can_export_calendar, ensure
from clinic.scheduling import bp, export, feeds
from clinic.scheduling.forms import FeedForm
from clinic.scheduling.queries import appointments_between, get_clinician
from clinic.timeutil import clinic_day_bounds, clinic_today


def _clinician(clinician_id: int):
    clinician = get_clinician(clinician_id) or abort(404)
    ensure(can_export_calendar(current_user, clinician))
    return clinician


@bp.route("/clinicians/<int:clinician_id>/feed", methods=["GET", "POST"])
def calendar_feed(clinician_id: int):
    """Create or replace the subscription link; the link is shown once, right after."""
    clinician = _clinician(clinician_id)
    form = FeedForm()
    link = None
    if form.validate_on_submit():
        token = feeds.new_token(clinician, by=current_user, days=form.lifetime.data)
        link = url_for("scheduling.feed", token=token, _external=True)
    feed = feeds.feed_of(clinician)
    return render_template(
        "scheduling/feed.html",
        clinician=clinician,
        form=form,
        link=link,
        active=feeds.is_live(feed),
        expires_at=feed.expires_at if feed is not None and feeds.is_live(feed) else None,
    )


@bp.route("/clinicians/<int:clinician_id>/feed/revoke", methods=["POST"])
def revoke_feed(clinician_id: int):
    clinician = _clinician(clinician_id)
    form = FeedForm()
    if not form.validate_on_submit():
        abort(400)
    feeds.switch_off(clinician, by=current_user)
    return render_template(
        "scheduling/feed.html",
        clinician=clinician,
        form=form,
        link=None,
        active=False,
        revoked=True,
    )


@bp.route("/feed/<token>.ics")
@limiter.limit("30 per minute")
def feed(token: str):
    """The subscription itself: no session, the token is the key. Patients' names left out."""
    clinician = feeds.clinician_for(token) or abort(404)
    start = clinic_day_bounds(clinic_today() - timedelta(days=30))[0]
    end = clinic_day_bounds(clinic_today() + timedelta(days=90))[1]
    appointments = appointments_between(start, end, provider_id=clinician.id)
    body = export.to_ical(clinician, appointments, host=request.host, names=False)
    audit.record("calendar_feed.read", obj=clinician, detail=f"{len(appointments)} appointments")
    return Response(body, mimetype="text/calendar")
