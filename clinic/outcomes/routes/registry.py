"""The outcomes registry for providers and admins: cohort figures, charts and CSV exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from clinic import memory
from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.inputs import query_day, query_id
from clinic.journeys.models import Condition
from clinic.journeys.models.journey import LEVELS
from clinic.journeys.states import Therapy
from clinic.models import audit
from clinic.outcomes import bp, export
from clinic.outcomes.operations import Operations, operations
from clinic.outcomes.registry import (
    DOSE_BANDS,
    INSTRUMENTS,
    PAW_BANDS,
    REGIONS,
    Figures,
    Filters,
    figures,
)
from clinic.outcomes.routes.staff import _patient
from clinic.policy import CLINICAL, require_roles
from clinic.scheduling.export import attachment
from clinic.timeutil import clinic_today

REGISTRY_ROLES = (Role.PROVIDER, Role.ADMIN)


def _choice(name: str, allowed) -> str | None:
    """An allow-listed query value: absent is None, anything unknown is a 400."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if raw not in allowed:
        abort(400)
    return raw


def filters_from_request() -> Filters:
    start, end = query_day("from", strict=True), query_day("to", strict=True)
    if start and end and end < start:
        abort(400)
    return Filters(
        therapy=_choice("therapy", {t.value for t in Therapy}),
        condition_id=query_id("condition"),
        region=_choice("region", REGIONS),
        level=_choice("level", LEVELS),
        provider_id=query_id("provider"),
        paw=_choice("paw", PAW_BANDS),
        dose_band=_choice("dose", DOSE_BANDS),
        injected_from=start,
        injected_to=end,
        instrument=_choice("instrument", INSTRUMENTS) or "odi",
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    low_y: float | None
    high_y: float | None
    label: str
    value: str


W, H, PAD_L, PAD_B, PAD_T = 600, 240, 48, 36, 16
BLUE = "#0072B2"  # Okabe-Ito: told apart by people with any common colour-vision deficiency


def chart(result: Figures) -> dict | None:
    """Bars of mean improvement per timepoint with 95 % interval whiskers (suppressed: none)."""
    shown = [(t, t.change) for t in result.timepoints if t.change and not t.suppressed]
    if not shown:
        return None
    values = [c.mean for _t, c in shown] + [
        v for _t, c in shown for v in (c.low, c.high) if v is not None
    ]
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0

    def y(v: float) -> float:
        return round(PAD_T + (H - PAD_T - PAD_B) * (hi - v) / span, 1)

    step = (W - PAD_L) / len(shown)
    bars = []
    for i, (t, change) in enumerate(shown):
        top, zero = y(max(change.mean, 0.0)), y(min(change.mean, 0.0))
        bars.append(
            Bar(
                x=round(PAD_L + i * step + step * 0.25, 1),
                y=top,
                height=round(max(zero - top, 1.0), 1),
                low_y=None if change.low is None else y(change.low),
                high_y=None if change.high is None else y(change.high),
                label=t.label,
                value=f"{change.mean:.1f}",
            )
        )
    return dict(
        width=W, height=H, bars=bars, bar_width=round(step * 0.5, 1), zero_y=y(0.0),
        colour=BLUE, top_label=f"{hi:.0f}", bottom_label=f"{lo:.0f}", top_y=y(hi), bottom_y=y(lo),
    )  # fmt: skip


# The filter form's providers and conditions in one statement, built once: two columns each,
# not whole records (a user's would bring its patient record along).
_CHOICES: sa.CompoundSelect = sa.union_all(
    sa.select(
        sa.literal_column("0").label("kind"), User.id, User.full_name.label("text"), User.full_name
    ).where(User.role == Role.PROVIDER),
    sa.select(
        sa.literal_column("1"), Condition.id, Condition.code + " " + Condition.name, Condition.name
    ),
).order_by(sa.literal_column("kind"), sa.literal_column("full_name"))


def _options() -> dict:
    choices = db.session.execute(_CHOICES).all()
    return dict(
        providers=[(row.id, row.text) for row in choices if row.kind == 0],
        conditions=[(row.id, row.text) for row in choices if row.kind == 1],
        therapies=[(t.value, t.label) for t in Therapy],
        levels=[(v, v) for v in LEVELS],
        regions=[("cervical", "Neck"), ("lumbar", "Lower back")],
        paw_bands=[(v, v) for v in PAW_BANDS],
        dose_bands=list(zip(DOSE_BANDS, DOSE_LABELS, strict=True)),
        instruments=INSTRUMENTS,
    )


DOSE_LABELS = ("A: above 5 billion", "B: 3–5 billion", "C: 1–3 billion", "D: under 1 billion")


@bp.route("/registry")
@require_roles(*REGISTRY_ROLES)
def registry():
    filters = filters_from_request()
    result = figures(filters)
    audit.record("registry.viewed", actor=current_user, detail=filters.describe() or "all")
    # the filters the export links carry on; each link names its own variant
    args = request.args.copy()
    args.poplist("variant")
    return render_template(
        "outcomes/registry.html",
        result=result,
        chart=chart(result),
        args=args,
        **_options(),
    )


@bp.route("/registry/export.csv")
@require_roles(*REGISTRY_ROLES)
def registry_export():
    filters = filters_from_request()
    deidentified = _choice("variant", {"identified", "deidentified"}) == "deidentified"
    variant = "deidentified" if deidentified else "identified"
    audit.record(
        "registry.exported",
        actor=current_user,
        detail=f"{variant}; {filters.describe() or 'all'}",
    )
    name = f"registry-{variant}.csv"
    return Response(
        stream_with_context(
            memory.then_give_back(export.registry_rows(filters, deidentified=deidentified))
        ),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(name), "Cache-Control": "no-store"},
    )


@bp.route("/patients/<int:patient_id>/outcomes.csv")
@require_roles(*CLINICAL)
def patient_outcomes_csv(patient_id: int):
    patient = _patient(patient_id)
    audit.record("outcomes.exported", actor=current_user, obj=patient, patient_id=patient.id)
    body = "".join(export.patient_rows(patient))
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": attachment(f"outcomes-{patient.mrn}.csv"),
            "Cache-Control": "no-store",
        },
    )


ORANGE = "#E69F00"  # Okabe-Ito, beside BLUE: the pair stays distinct in every colour vision


def ops_chart(result: Operations) -> dict | None:
    """Per month, the clinic's no-show rate and follow-up completion (0–100 %) as paired bars."""
    months = result.clinic
    if not months:
        return None
    step = (W - PAD_L) / len(months)
    width = round(step * 0.35, 1)

    def y(percent: float) -> float:
        return round(PAD_T + (H - PAD_T - PAD_B) * (100 - percent) / 100, 1)

    groups = []
    for i, row in enumerate(months):
        figs = row.figures(result.min_cell)
        x = PAD_L + i * step + step * 0.1
        bars = []
        for offset, key, colour in ((0, "no_show", ORANGE), (width, "follow_up_done", BLUE)):
            fig = figs[key]
            if fig.value is None or fig.suppressed:
                continue
            top = y(fig.value)
            bars.append(dict(x=round(x + offset, 1), y=top, height=max(y(0) - top, 1.0),
                             colour=colour, value=f"{fig.value:.0f}%"))  # fmt: skip
        groups.append(dict(label=_month_label(row.month, short=True), x=round(x + width, 1),
                           bars=bars))  # fmt: skip
    return dict(width=W, height=H, groups=groups, bar_width=width, zero_y=y(0), top_y=y(100),
                blue=BLUE, orange=ORANGE)  # fmt: skip


def _month_label(month: str, short: bool = False) -> str:
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%b %y" if short else "%B %Y")


@bp.route("/registry/operations")
@require_roles(*REGISTRY_ROLES)
def registry_operations():
    today = clinic_today()
    end = query_day("to", strict=True) or today
    start = query_day("from", strict=True) or (end - timedelta(days=365)).replace(day=1)
    if end < start or (end - start).days > 3 * 366:
        abort(400)
    provider_id = query_id("provider")
    result = operations(start, end, provider_id, today)
    detail = f"from={start}; to={end}" + (f"; provider={provider_id}" if provider_id else "")
    audit.record("registry.operations_viewed", actor=current_user, detail=detail)
    return render_template(
        "outcomes/operations.html",
        result=result,
        chart=ops_chart(result),
        month_label=_month_label,
        args=request.args,
        providers=_options()["providers"],
    )
