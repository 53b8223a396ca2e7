"""nginx (the site in deploy/nginx) in front of two gunicorn instances (deploy/gunicorn.conf.py)
with production settings, a SQLite file and a private Redis: started and stopped by the test."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import flask_bootstrap

from config import BASE_DIR
from tests.ops.servers import PrivateRedis, free_port, need, wait_for_port

SITE = BASE_DIR / "deploy" / "nginx" / "clinic.conf"
HEADERS_SNIPPET = BASE_DIR / "deploy" / "nginx" / "clinic-headers.conf"
BOOTSTRAP_STATIC = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"
PASSWORD = "Harbour lantern quietly 77"
EMAIL = "desk@clinic.example"


class Stack:
    def __init__(self) -> None:
        self.nginx_binary = need("nginx", shutil.which("nginx") or _if_exists("/usr/sbin/nginx"))
        need("openssl", shutil.which("openssl"))
        self.dir = Path(tempfile.mkdtemp(prefix="cjt-ops-nginx-"))
        self.dir.chmod(0o755)
        self.redis = PrivateRedis()
        self.https_port = free_port()
        self.app_ports = [free_port(), free_port()]
        self.metrics_port = free_port()
        self.database = self.dir / "clinic.db"
        self.processes: list[subprocess.Popen] = []

    # -- settings and set-up ------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "CLINIC_ENV": "production",
            "SECRET_KEY": "k" * 48,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "PUBLIC_BASE_URL": f"https://localhost:{self.https_port}",
            "MAIL_FROM": "Clinic <no-reply@clinic.example.com>",
            "RATELIMIT_STORAGE_URI": self.redis.url,
            "PROXY_FIX_X_FOR": "1",
            "LOGIN_LIMIT_PER_ADDRESS": "3 per minute",
            "LOGIN_LIMIT_PER_ACCOUNT": "100 per minute",
            "LOG_FORMAT": "json",
            "WEB_CONCURRENCY": "1",
            **extra,
        }

    def flask(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=BASE_DIR,
            env=self.env(),
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
        )

    def start(self) -> Stack:
        self.redis.start()
        self.flask("db", "upgrade")
        self.flask(
            "users", "create", "--role", "front_desk", "--email", EMAIL, "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        for number, port in enumerate(self.app_ports):
            extra = {"GUNICORN_BIND": f"127.0.0.1:{port}"}
            if number == 0:
                extra["METRICS_ADDRESS"] = f"127.0.0.1:{self.metrics_port}"
            self._spawn(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "wsgi:app"],
                self.dir / f"gunicorn-{number}.log",
                self.env(**extra),
            )
        self.start_nginx()
        for port in self.app_ports:
            wait_for_port(port, timeout=30)
        return self

    def start_nginx(self) -> Stack:
        """nginx alone, in front of the app ports (whatever listens there, or nothing)."""
        self._make_certificate()
        (self.dir / "nginx.conf").write_text(self.nginx_conf())
        self._spawn(
            [
                self.nginx_binary,
                "-p",
                str(self.dir),
                "-c",
                str(self.dir / "nginx.conf"),
                "-e",
                str(self.dir / "error.log"),
            ],
            self.dir / "nginx.out",
            os.environ.copy(),
        )
        wait_for_port(self.https_port, timeout=30)
        return self

    def _spawn(self, command: list[str], log: Path, env: dict[str, str]) -> None:
        with log.open("w") as out:
            self.processes.append(
                subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
            )

    def _make_certificate(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(self.dir / "key.pem"),
                "-out",
                str(self.dir / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )

    def nginx_conf(self) -> str:
        """The repository's site with this test's ports and paths, in a minimal nginx.conf."""
        site = SITE.read_text()
        upstreams = "\n    ".join(f"server 127.0.0.1:{port};" for port in self.app_ports)
        for old, new in {
            "server 127.0.0.1:8000;": upstreams,
            "listen 80;": f"listen 127.0.0.1:{free_port()};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{self.https_port} ssl http2;",
            "/etc/ssl/certs/clinic.example.org.pem": str(self.dir / "cert.pem"),
            "/etc/ssl/private/clinic.example.org.key": str(self.dir / "key.pem"),
            "/var/log/nginx/": f"{self.dir}/",
            "/srv/clinic/clinic/static/": f"{BASE_DIR / 'clinic' / 'static'}/",
            "/srv/clinic/.venv/lib/python3.11/site-packages/flask_bootstrap/static/bootstrap5/": (
                f"{BOOTSTRAP_STATIC}/"
            ),
            "/etc/nginx/snippets/clinic-headers.conf": str(HEADERS_SNIPPET),
        }.items():
            assert old in site, f"{old} no longer in {SITE.name}: update the test"
            site = site.replace(old, new)
        site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
        temp = "\n".join(
            f"{kind}_temp_path {self.dir}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;" if os.geteuid() == 0 else ""
        return (
            f"daemon off;\n{user}\nworker_processes 1;\npid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/error.log warn;\nevents {{ worker_connections 256; }}\n"
            f"http {{\ninclude /etc/nginx/mime.types;\n{temp}\n{site}\n}}\n"
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.redis.stop()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self) -> str:
        names = ["gunicorn-0.log", "gunicorn-1.log", "clinic.access.log", "error.log"]
        return "\n".join((self.dir / n).read_text() for n in names if (self.dir / n).exists())


def _if_exists(path: str) -> str | None:
    return path if Path(path).exists() else None


class Browser:
    """An HTTPS client from one loopback address, keeping its cookies."""

    TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

    def __init__(self, stack: Stack, address: str) -> None:
        self.stack, self.address = stack, address
        self.cookies: dict[str, str] = {}
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.stack.https_port,
            source_address=(self.address, 0),
            context=self.context,
            timeout=10,
        )
        sent = {"Host": "localhost", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.text = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response

    def post_form(self, path: str, fields: dict[str, str], token_from: str = "/login"):  # noqa: S107
        page = self.request("GET", token_from)
        fields = {**fields, "csrf_token": self.TOKEN.search(page.text).group(1)}
        body = urlencode(fields).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # What a browser sends on port 443: nginx passes $host, which carries no port.
            "Referer": f"https://localhost{token_from}",
        }
        return self.request("POST", path, body, headers)
