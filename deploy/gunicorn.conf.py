"""gunicorn settings for the clinic app: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Behind nginx (deploy/nginx/clinic.conf), which buffers request bodies, so sync workers are
never held by a slow client. Access lines name the path without its query string and with
secret path segments replaced (clinic.logs.GunicornLogger). Metrics are off unless
METRICS_ADDRESS names a private host:port.
"""

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5  # nginx keeps upstream connections open
# Recycle workers now and then (a guard against slow leaks); jitter keeps them from restarting
# together. A worker takes ~2 s of CPU to start (importing and building the app), so recycling
# too often costs throughput: at 2,000 requests a busy 2-worker server spent ~1/8 of its time
# starting workers (make bench). Not much less often: a worker that served ~25,000 requests
# of every page (make bench, no restart) grew to 152 MB, where one replaced every 10,000
# stays at 132-146 MB.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
limit_request_line = 4094
limit_request_fields = 100

control_socket_disable = True  # gunicorn 24+: no shared control socket between instances

accesslog = "-"
errorlog = "-"
logger_class = "clinic.logs.GunicornLogger"
# %(U)s is the path alone (never %(r)s or %(q)s, which carry the query string).
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
)

metrics_address = os.environ.get("METRICS_ADDRESS", "")
METRICS_DIR_PREFIX = "clinic-metrics-"
if metrics_address:
    # Set before prometheus_client is imported anywhere, so every worker writes its numbers
    # where the master gathers them.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get(
        "PROMETHEUS_MULTIPROC_DIR"
    ) or tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)


def on_starting(server):
    # Settings production refuses (security.md): say why once, one line per reason, and stop
    # before any worker starts, rather than a traceback from every worker that fails to boot.
    from config import ProductionConfig, config_from_env, production_refusals

    try:
        settings = config_from_env()
    except RuntimeError as err:
        reasons = [str(err)]
    else:
        values = {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
        production = issubclass(settings, ProductionConfig)
        reasons = production_refusals(values) if production else []
    if reasons:
        for reason in reasons:
            server.log.error("Refusing to start: %s", reason)
        raise SystemExit(1)


def when_ready(server):
    if metrics_address:
        from clinic.metrics import serve

        serve(metrics_address)
        server.log.info("metrics served on %s", metrics_address)


def child_exit(server, worker):
    if metrics_address:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    # The metrics folder made above for this run goes with the master (one was left in /tmp
    # per start). Found by its name, as a reload (HUP) reads this file again and keeps it.
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "/nonexistent")
    made_here = folder.name.startswith(METRICS_DIR_PREFIX)
    if metrics_address and made_here and folder.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)
