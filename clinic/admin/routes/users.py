"""Account administration and audit review."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin import bp
from clinic.admin.forms import (
    ConfirmForm,
    EditUserForm,
    NewUserForm,
    ResetPasswordForm,
    ResetTwoStepForm,
)
from clinic.auth import mfa, services
from clinic.auth.models import User
from clinic.auth.reauth import confirm_identity
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.inputs import query_int
from clinic.models import audit
from clinic.models.audit import AuditEvent
from clinic.submissions import once
from clinic.transaction import attempt

USER_SORTS = {
    "name": User.full_name,
    "email": User.email,
    "role": User.role,
    "created": User.created_at.desc(),
}


def _get_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/users")
def users():
    sort = request.args.get("sort", "name")
    if sort not in USER_SORTS:
        abort(400)
    show = request.args.get("show", "active")
    if show not in ("active", "inactive", "all"):
        abort(400)
    query = sa.select(User).order_by(USER_SORTS[sort], User.id)
    if show != "all":
        query = query.where(User.active.is_(show == "active"))
    page = db.paginate(query, page=query_int("page", 1), per_page=50, error_out=False)
    shown = [u.patient_id for u in page.items if u.patient_id]
    audit.record("account.list_viewed", actor=current_user, patients=shown)
    return render_template("admin/users.html", page=page, sort=sort, show=show)


@bp.route("/users/new", methods=["GET", "POST"])
@once
def new_user():
    form = NewUserForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            with attempt():
                user = services.create_user(
                    email=form.email.data,
                    full_name=form.full_name.data,
                    role=form.role.data,
                    password=form.password.data,
                    patient_mrn=form.patient_mrn.data,
                    by=current_user,
                )
        except Refused as err:
            show_beside(form, err, "email")
            status = err.status
        else:
            flash(f"Account created for {user.full_name}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_new.html", form=form), status


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int):
    user = _get_user(user_id)
    recent = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            sa.or_(
                AuditEvent.actor_id == user.id,
                sa.and_(
                    AuditEvent.object_type == "user_account", AuditEvent.object_id == str(user.id)
                ),
            )
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(20)
    ).all()
    audit.record("account.viewed", actor=current_user, obj=user, patient_id=user.patient_id)
    return render_template(
        "admin/user_detail.html",
        user=user,
        recent=recent,
        action_form=ConfirmForm(),
        reset_form=ResetPasswordForm(),
        **_two_step(user),
    )


def _two_step(user: User, form: ResetTwoStepForm | None = None) -> dict:
    return {
        "enrolled": mfa.is_enrolled(user),
        "mfa_form": form or ResetTwoStepForm(prefix="mfa"),
    }


@bp.route("/users/<int:user_id>/two-step/reset", methods=["POST"])
def reset_two_step(user_id: int):
    """Remove a user's second factor (a lost phone); asks for the admin's password and code."""
    user = _get_user(user_id)
    form = ResetTwoStepForm(prefix="mfa")
    if form.validate_on_submit():
        try:
            with attempt():
                confirm_identity(current_user, form.password.data, form.code.data, "two-step reset")
                mfa.reset(user, by=current_user)
        except Refused as err:
            show_beside(form, err, "password")
        else:
            flash(
                f"Two-step sign-in reset; {user.full_name} is signed out everywhere and sets it "
                "up again at the next sign-in.",
                "success",
            )
            return redirect(url_for("admin.user_detail", user_id=user.id))
    form.password.data = form.code.data = ""
    return render_template(
        "admin/user_detail.html",
        user=user,
        recent=[],
        action_form=ConfirmForm(),
        reset_form=ResetPasswordForm(),
        **_two_step(user, form),
    ), 422


def _changes_credentials(user: User, form: EditUserForm) -> bool:
    """Whether the edit touches the e-mail (a sign-in name) or the role."""
    email = services.normalise_email(form.email.data or "")
    return email != user.email or form.role.data is not user.role


def _conflict(form: EditUserForm, user: User):
    db.session.refresh(user)
    form.version.data = str(user.version)
    return render_template("admin/user_edit.html", form=form, user=user, conflict=True), 409


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = _get_user(user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.patient_mrn.data = user.patient.mrn if user.patient else ""
        form.version.data = str(user.version)
    form.patient_mrn.render_kw = {"readonly": True}
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        if form.version.data != str(user.version):
            return _conflict(form, user)
        try:
            with attempt():
                if _changes_credentials(user, form):
                    confirm_identity(current_user, form.password.data, form.code.data, "user edit")
                services.update_user(
                    user,
                    email=form.email.data,
                    full_name=form.full_name.data,
                    role=form.role.data,
                    by=current_user,
                )
        except StaleWrite:
            return _conflict(form, user)
        except Refused as err:
            show_beside(form, err, "email")
            status = err.status
            form.password.data = form.code.data = ""
        else:
            flash("Changes saved.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_edit.html", form=form, user=user, conflict=False), status


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int):
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            services.set_active(user, active, by=current_user)
    except Refused as err:
        flash(str(err), "danger")
    else:
        flash(
            f"{user.full_name} can sign in again."
            if active
            else f"{user.full_name} is deactivated and signed out everywhere.",
            "success",
        )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    user = _get_user(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with attempt():
                if user.id == current_user.id:
                    raise Refused(
                        "Change your own password on your account page, with your current "
                        "password.",
                        "new_password",
                    )
                confirm_identity(current_user, form.password.data, form.code.data, "reset")
                services.reset_password(user, form.new_password.data, by=current_user)
        except Refused as err:
            show_beside(form, err, "new_password")
        else:
            flash(f"New password set; {user.full_name} is signed out everywhere.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template(
        "admin/user_detail.html",
        user=user,
        recent=[],
        action_form=ConfirmForm(),
        reset_form=form,
        **_two_step(user),
    ), 422
