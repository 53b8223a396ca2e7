"""Prometheus metrics: requests and latency per route, and the database connection pool.

The numbers are kept in each process; gunicorn's master serves them on METRICS_ADDRESS (a
separate, non-public address, see deploy/gunicorn.conf.py), gathered across workers through
prometheus_client's multiprocess mode. Routes are endpoints, so no path or id ever becomes a
label.
"""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event

from clinic.extensions import db

REQUESTS = Counter(
    "clinic_http_requests_total",
    "Requests served, by route and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer a request, by route",
    ["route"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_IN_USE = Gauge(
    "clinic_db_pool_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "clinic_db_pool_connections_open",
    "Database connections open (in use or idle in the pool)",
    multiprocess_mode="livesum",
)


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response):
    route = request.endpoint or "unmatched"
    REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(route).observe(time.perf_counter() - started)
    return response


def _watch_pool(engine) -> None:
    event.listen(engine, "connect", lambda *_: POOL_OPEN.inc())
    event.listen(engine, "close", lambda *_: POOL_OPEN.dec())
    event.listen(engine, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: POOL_IN_USE.dec())


def register(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_observe)
    with app.app_context():
        _watch_pool(db.engine)


def serve(address: str) -> None:
    """Serve every process's metrics on host:port (called in gunicorn's master)."""

    host, _, port = address.rpartition(":")
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
