"""Markup and values a page keeps per app between requests (the week grid's days, a page of
recalls): a small store per kind, the oldest entry dropped first once it is full. Each user
checks what it keeps against the records it shows; this only stores."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

_LOCK = threading.Lock()  # gunicorn's sync workers serve one request at a time; threads may not


def store(app: Flask, name: str) -> dict[Any, Any]:
    return app.extensions.setdefault(name, {})


def put(kept: dict[Any, Any], key: object, value: object, limit: int) -> None:
    """Keep `value` under `key` as the newest entry, dropping the oldest past `limit`."""
    with _LOCK:
        kept.pop(key, None)
        kept[key] = value
        while len(kept) > limit:
            kept.pop(next(iter(kept)))
