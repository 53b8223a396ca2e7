"""One-time submission keys: a create form posted twice makes one record."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, utcnow

KEY_MAX = 64
RESULT_MAX = 500


class FormSubmission(Model):
    """A create form's key, claimed by its first post, with where that post led."""

    __tablename__ = "form_submission"

    key: Mapped[str] = mapped_column(sa.String(KEY_MAX), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, index=True
    )
    result_url: Mapped[str | None] = mapped_column(sa.String(RESULT_MAX))
