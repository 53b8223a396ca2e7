"""Calendar subscriptions: a secret link per clinician, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.auth.models import User
from clinic.extensions import db
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.scheduling.models import CalendarFeed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_of(clinician: User) -> CalendarFeed | None:
    return db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.clinician_id == clinician.id)
    )


def new_token(clinician: User, *, by: User, days: int | None = None) -> str:
    """A fresh secret for this clinician's feed, working for `days` (0: until switched off;
    None: CALENDAR_FEED_DAYS); any earlier link stops working."""
    if days is None:
        days = int(current_app.config["CALENDAR_FEED_DAYS"])
    token = secrets.token_urlsafe(32)
    feed = feed_of(clinician) or CalendarFeed(clinician_id=clinician.id)
    replaced = feed.token_hash is not None
    feed.token_hash = _digest(token)
    feed.expires_at = utcnow() + timedelta(days=days) if days > 0 else None
    db.session.add(feed)
    db.session.flush()
    audit.record(
        "calendar_feed.replaced" if replaced else "calendar_feed.created",
        actor=by,
        obj=clinician,
        detail=f"works for {days} days" if days else "works until switched off",
    )
    return token


def is_live(feed: CalendarFeed | None) -> bool:
    """Whether the feed has a link that still works."""
    return bool(
        feed and feed.token_hash and (feed.expires_at is None or feed.expires_at > utcnow())
    )


def switch_off(clinician: User, *, by: User) -> None:
    feed = feed_of(clinician)
    if feed is not None and feed.token_hash is not None:
        feed.token_hash = None
        db.session.flush()
        audit.record("calendar_feed.revoked", actor=by, obj=clinician)


def clinician_for(token: str) -> User | None:
    """The active clinician whose feed this token opens, if any."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        sa.select(User)
        .join(CalendarFeed, CalendarFeed.clinician_id == User.id)
        .where(
            CalendarFeed.token_hash == _digest(token),
            User.active.is_(True),
            sa.or_(CalendarFeed.expires_at.is_(None), CalendarFeed.expires_at > utcnow()),
        )
    )
