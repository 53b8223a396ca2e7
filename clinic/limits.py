"""Limits on the request itself: body size (413 page), no multipart where nothing is uploaded,
and bounded `<int:...>` ids in every URL."""

from __future__ import annotations

from flask import Flask, abort, render_template, request

from clinic.inputs import install_converter

# Endpoints whose forms take a file; none do today, so every multipart body is refused.
UPLOAD_ENDPOINTS: frozenset[str] = frozenset()


def _refuse_unexpected_multipart() -> None:
    if request.mimetype == "multipart/form-data" and request.endpoint not in UPLOAD_ENDPOINTS:
        abort(400)


def _too_large(_error):
    limit = request.max_content_length or 0
    size = f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MB"
    message = (
        f"What was sent is larger than the clinic accepts ({size}). Shorten the text and "
        "try again; nothing was saved."
    )
    page = render_template("errors/error.html", code=413, title="Too much to send", message=message)
    return page, 413


def register_request_limits(app: Flask) -> None:
    """Install the bounded URL converter, the multipart refusal and the 413 page."""
    install_converter(app)
    app.before_request(_refuse_unexpected_multipart)
    app.register_error_handler(413, _too_large)
