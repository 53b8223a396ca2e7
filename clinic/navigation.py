"""What the navigation bar offers each role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template, request
from markupsafe import Markup

from clinic.auth.models import Role
from clinic.mail import outbox_enabled


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    outbox_only: bool = False  # shown only where e-mail goes to the local outbox
    sms_outbox_only: bool = False  # shown only where texts go to the local outbox


NAV: dict[Role, tuple[NavItem, ...]] = {
    Role.ADMIN: (
        NavItem("Users", "admin.users"),
        NavItem("Audit trail", "admin.audit"),
        NavItem("Break-glass review", "admin.break_glass_uses"),
        NavItem("Care teams", "careteam.journeys"),
        NavItem("Instructions", "instructions.overview"),
        NavItem("Clinical catalogues", "journeys_admin.checklist_list"),
        NavItem("Outcomes registry", "outcomes.registry"),
        NavItem("Front desk", "main.front_desk"),
        NavItem("Outbox", "portal.outbox", outbox_only=True),
        NavItem("Text outbox", "messaging.sms_outbox", sms_outbox_only=True),
        NavItem("Undelivered e-mail", "jobs.undelivered"),
        NavItem("Patient messages", "messaging.templates"),
        NavItem("Message settings", "messaging.settings"),
        NavItem("Rooms", "scheduling.rooms"),
        NavItem("Working hours", "scheduling.hours"),
    ),
    Role.FRONT_DESK: (
        NavItem("Front desk", "main.front_desk"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
        NavItem("Find a slot", "scheduling.find_slots"),
        NavItem("Recalls", "scheduling.recalls_list"),
        NavItem("Patients' requests", "messaging.requests"),
        NavItem("Messages out tomorrow", "messaging.upcoming"),
        NavItem("Inbox", "messaging.team_inbox"),
        NavItem("Patients", "patients.search"),
        NavItem("Outbox", "portal.outbox", outbox_only=True),
        NavItem("Text outbox", "messaging.sms_outbox", sms_outbox_only=True),
    ),
    Role.PROVIDER: (
        NavItem("Worklist", "main.clinical"),
        NavItem("Patients", "journeys.find_patient"),
        NavItem("Safety", "outcomes.safety"),
        NavItem("Inbox", "messaging.team_inbox"),
        NavItem("Outcomes registry", "outcomes.registry"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
    ),
    Role.CLINICAL_STAFF: (
        NavItem("Worklist", "main.clinical"),
        NavItem("Patients", "journeys.find_patient"),
        NavItem("Safety", "outcomes.safety"),
        NavItem("Inbox", "messaging.team_inbox"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
    ),
    Role.PATIENT: (
        NavItem("My care", "main.patient_home"),
        NavItem("My journey", "portal.my_journey"),
        NavItem("Instructions", "instructions.mine"),
        NavItem("Questionnaires", "outcomes.my_questionnaires"),
        NavItem("My progress", "outcomes.my_progress"),
        NavItem("Something worries me", "outcomes.raise_concern"),
        NavItem("Messages", "messaging.my_messages"),
    ),
}


def nav_for(user) -> tuple[NavItem, ...]:
    if not getattr(user, "is_authenticated", False):
        return ()

    outbox, sms_outbox = outbox_enabled(), sms_outbox_enabled()
    return tuple(
        item
        for item in NAV[user.role]
        if (outbox or not item.outbox_only) and (sms_outbox or not item.sms_outbox_only)
    )


def sms_outbox_enabled() -> bool:
    return current_app.config["SMS_TRANSPORT"] == "outbox"


def nav_links(user) -> Markup:
    """The navigation bar's links for a role, the current page marked. They hold nothing of the
    user's own, so each (role, page) is rendered once per app and reused: a page view otherwise
    builds every link's URL again."""
    if not getattr(user, "is_authenticated", False):
        return Markup("")
    rendered = current_app.extensions.setdefault("clinic_nav_links", {})
    key = (
        user.role,
        request.endpoint,
        outbox_enabled(),
        sms_outbox_enabled(),
        request.script_root,
    )
    links = rendered.get(key)
    if links is None:
        html = render_template("_nav_links.html", nav_items=nav_for(user))
        links = rendered[key] = Markup(html)  # noqa: S704 (a template's autoescaped output)
    return links
