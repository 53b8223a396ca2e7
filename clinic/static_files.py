"""Static file URLs carry a fingerprint of the file's content (`?v=…`): nginx lets browsers
keep such a URL for a year (deploy/nginx/clinic.conf), and a changed file gets a new URL."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, current_app
from werkzeug.security import safe_join

# The app's own files and Bootstrap-Flask's (/bootstrap/static/…).
STATIC_ENDPOINTS = {"static": None, "bootstrap.static": "bootstrap"}
# path -> (modified ns, size, fingerprint): read each file once, again only when it changes.
_known: dict[str, tuple[int, int, str]] = {}
# (static folder, file name as asked) -> the file's path ("" when the name leaves the folder)
_paths: dict[tuple[str, str], str] = {}


def fingerprint(path: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256 (None when there is no such file). A page
    writes several static URLs: each costs one `os.stat` (a `Path` and its `stat` cost three
    times as much), and the file is read again only when it changed."""
    try:
        stat = os.stat(path)
        known = _known.get(path)
        if known and known[0] == stat.st_mtime_ns and known[1] == stat.st_size:
            return known[2]
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None
    _known[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def _static_folder(endpoint: str) -> str | None:
    blueprint = STATIC_ENDPOINTS[endpoint]
    owner = current_app.blueprints.get(blueprint) if blueprint else current_app
    return owner.static_folder if owner else None


def _add_fingerprint(endpoint: str, values: dict) -> None:
    if endpoint not in STATIC_ENDPOINTS or "v" in values or "filename" not in values:
        return
    folder = _static_folder(endpoint)
    if not folder:
        return
    key = (folder, values["filename"])
    path = _paths.get(key)
    if path is None:
        path = _paths[key] = safe_join(folder, values["filename"]) or ""
    if path and (digest := fingerprint(path)):
        values["v"] = digest


def register_static_fingerprints(app: Flask) -> None:
    """Add `v=<fingerprint>` to every url_for of a static file."""
    app.url_defaults(_add_fingerprint)
