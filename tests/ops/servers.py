"""Private servers for operations tests: Redis, PostgreSQL, gunicorn and nginx, each started
by the test on a free port and stopped by it (never the machine's own servers)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REQUIRED = os.environ.get("REQUIRE_NGINX_TESTS") == "1"


def need(program: str, found: str | None) -> str:
    """The program's path, or skip (fail when REQUIRE_NGINX_TESTS=1) when it is missing."""
    if found:
        return found
    message = f"{program} is not installed (apt-get install {program})"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port}")


class PrivateRedis:
    """redis-server on a free port, without persistence."""

    def __init__(self) -> None:
        self.binary = need("redis-server", shutil.which("redis-server"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb) on a free port, trust authentication."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        self.bin = Path(need("postgresql", found[-1] if found else None)).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cjt-ops-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_owner, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def own(self, path: Path) -> None:
        """Let the server's user read a file the test wrote (a certificate, pg_hba.conf)."""
        if self._as_owner:
            shutil.chown(path, "postgres", "postgres")

    def start(self, *settings: str) -> PrivatePostgres:
        """Start it; `settings` are further `name=value` server settings."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in settings)
        log = str(self.dir / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class BlackHole:
    """A path to a local port that can fail like a host that vanished: packets go unanswered
    instead of refused. The client dials the relay inside a network namespace (a veth pair
    away, tests.ops.relay), which dials a relay here that reaches the port; `cut()` takes the
    namespace's end of the pair down, so whatever the client sends is silently dropped."""

    def __init__(self, port: int) -> None:
        need("iproute2", shutil.which("ip"))
        if os.geteuid() != 0:
            message = "a network namespace needs root"
            pytest.fail(message) if REQUIRED else pytest.skip(message)
        number = os.getpid()
        self.port = port
        self.namespace = f"cjtbh{number}"
        self.outside, self.inside = f"cjb{number}a", f"cjb{number}b"  # <= 15 characters
        subnet = f"10.231.{number % 250}"
        self.host_address, self.address = f"{subnet}.1", f"{subnet}.2"
        self.relay_port = 6432  # the namespace's own port space
        self.listener: socket.socket | None = None
        self.relay: subprocess.Popen | None = None

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def start(self) -> BlackHole:
        from tests.ops import relay

        ns = ("netns", "exec", self.namespace, "ip")
        self._ip("netns", "add", self.namespace)
        self._ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
        self._ip("link", "set", self.inside, "netns", self.namespace)
        self._ip("addr", "add", f"{self.host_address}/30", "dev", self.outside)
        self._ip("link", "set", self.outside, "up")
        self._ip(*ns, "addr", "add", f"{self.address}/30", "dev", self.inside)
        self._ip(*ns, "link", "set", self.inside, "up")
        self.listener = relay.start(self.host_address, 0, ("127.0.0.1", self.port))
        relay_args = [self.address, self.relay_port, self.host_address]
        relay_args.append(self.listener.getsockname()[1])
        self.relay = subprocess.Popen(
            ["ip", *ns[:3], sys.executable, "-m", "tests.ops.relay", *map(str, relay_args)],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.relay.stdout is not None and self.relay.stdout.readline().strip() == "ready"
        return self

    @property
    def host(self) -> str:
        """host:port to dial instead of the local port."""
        return f"{self.address}:{self.relay_port}"

    def cut(self) -> None:
        self._ip("netns", "exec", self.namespace, "ip", "link", "set", self.inside, "down")

    def mend(self) -> None:
        """Bring the link back, and return once both ways across it carry connections again."""
        self._ip("netns", "exec", self.namespace, "ip", "link", "set", self.inside, "up")
        inward = (self.address, self.relay_port)
        outward = f"import socket; socket.create_connection(({self.host_address!r}, 9), 1)"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            from_inside = subprocess.run(
                ["ip", "netns", "exec", self.namespace, sys.executable, "-c", outward],
                capture_output=True,
                text=True,
            )
            # refused is an answer from this side: the way out works (nothing listens on 9)
            if "ConnectionRefusedError" in from_inside.stderr:
                with contextlib.suppress(OSError), socket.create_connection(inward, timeout=1):
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the path through {self.namespace} did not come back")

    def remove(self) -> None:
        if self.relay is not None:
            self.relay.kill()
            self.relay.wait(timeout=10)
        if self.listener is not None:
            self.listener.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ip("link", "del", self.outside)  # both ends of the pair
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ip("netns", "del", self.namespace)
