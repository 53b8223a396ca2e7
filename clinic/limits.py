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


def size_in_words(limit: int) -> str:
    """A byte count as people write it: 1 MB, 1.5 MB, 512 KB, 900 bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{limit} bytes"


def too_large_message(limit: int) -> str:
    """What the 413 page says; nginx's own 413 page (clinic/static/too-large.html) says it too."""
    return (
        f"What was sent is larger than the clinic accepts ({size_in_words(limit)}), so it was "
        "not saved. Go back, shorten the text and try again."
    )


def _too_large(_error):
    message = too_large_message(request.max_content_length or 0)
    page = render_template("errors/error.html", code=413, title="Too much to send", message=message)
    return page, 413


def register_request_limits(app: Flask) -> None:
    """Install the bounded URL converter, the multipart refusal and the 413 page."""
    install_converter(app)
    app.before_request(_refuse_unexpected_multipart)
    app.register_error_handler(413, _too_large)
