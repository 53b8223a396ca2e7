"""Request-level behaviour shared by every wing: security headers, error pages, template helpers."""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden

from clinic import outage, transaction
from clinic.auth.models import Role
from clinic.dates import register_date_filters
from clinic.navigation import nav_links
from clinic.submissions import once_field
from clinic.transaction import keep_after_rollback
from clinic.url_patterns import url_pattern

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint not in ("static", "bootstrap.static"):
        # Pages may show patient data: never keep them in a browser or proxy cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"

    hsts = current_app.config.get("HSTS_SECONDS", 0)
    if hsts and request.is_secure:
        headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
    return response


def _error_page(code: int, title: str, message: str):
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _forbidden(_error):
    keep_after_rollback(
        action="access.denied",
        actor=current_user if current_user.is_authenticated else None,
        detail=f"{request.method} {request.path}",
    )
    transaction.rollback()
    reason = getattr(_error, "description", None)
    if not reason or reason == Forbidden.description:
        reason = "Your account does not give access to this page."
    return _error_page(403, "Not available to you", reason)


def _server_error(error):
    original = getattr(error, "original_exception", None)
    if outage.is_database_outage(original):
        return outage.unavailable_response()
    transaction.rollback()
    return _error_page(
        500,
        "Something went wrong",
        "The request could not be completed and nothing was saved. Please try again; if it "
        "keeps happening, tell the clinic's administrator the time it happened.",
    )


def _conflict(_error):
    transaction.rollback()
    return _error_page(
        409,
        "Saved by someone else first",
        "Someone else changed the same record at the same moment, so your change was not "
        "saved. Go back, reload the page to see the current version, and try again.",
    )


def _too_many(_error):
    keep_after_rollback(action="auth.throttled", detail=f"{request.method} {request.path}")
    transaction.rollback()
    return _error_page(
        429,
        "Too many attempts",
        "There were too many tries in a short time. Wait a minute, then try again.",
    )


def _csrf_error(_error: CSRFError):
    transaction.rollback()
    if request.endpoint == "auth.login":
        flash("The sign-in form had expired. Please try again.", "warning")
        return redirect(url_for("auth.login"))
    return _error_page(
        400,
        "The form had expired",
        "For your safety the form could not be accepted (it was open too long or was sent "
        "twice). Go back, reload the page and try again.",
    )


def register_web_hooks(app: Flask) -> None:
    app.after_request(_security_headers)
    app.register_error_handler(403, _forbidden)
    app.register_error_handler(500, _server_error)
    app.register_error_handler(409, _conflict)
    app.register_error_handler(429, _too_many)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(
        400, lambda e: _error_page(400, "Bad request", "The request could not be understood.")
    )
    app.register_error_handler(
        404, lambda e: _error_page(404, "Not found", "There is no page at this address.")
    )
    app.register_error_handler(
        405, lambda e: _error_page(405, "Not allowed", "This page cannot be used that way.")
    )
    register_date_filters(app)
    app.jinja_env.globals["once_field"] = once_field
    app.jinja_env.globals["url_pattern"] = url_pattern
    app.jinja_env.globals["nav_links"] = nav_links

    @app.context_processor
    def _template_globals() -> dict:

        return {
            "Role": Role,
            "clinic_name": app.config["CLINIC_NAME"],
        }
