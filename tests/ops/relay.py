"""A TCP relay for operations tests: accepts on one address and copies every connection to
another, both ways. `python -m tests.ops.relay HOST PORT TARGET_HOST TARGET_PORT` runs one
(inside a network namespace, see servers.BlackHole) and prints "ready" once it listens."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time


def _copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _dial(target: tuple[str, int]) -> socket.socket | None:
    """A connection to `target`, retried for a few seconds (a link just brought back up may
    not route for a moment)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return socket.create_connection(target, timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


def serve(listener: socket.socket, target: tuple[str, int]) -> None:
    """Relay each accepted connection to `target` until the listener is closed."""
    while True:
        try:
            client, _address = listener.accept()
        except OSError:  # closed
            return
        upstream = _dial(target)
        if upstream is None:
            client.close()
            continue
        upstream.settimeout(None)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_copy, args=(source, sink), daemon=True).start()


def start(host: str, port: int, target: tuple[str, int]) -> socket.socket:
    """A relay in a thread of this process; returns its listener (close it to stop)."""
    listener = socket.create_server((host, port))
    threading.Thread(target=serve, args=(listener, target), daemon=True).start()
    return listener


if __name__ == "__main__":
    host, port, target_host, target_port = sys.argv[1:5]
    listener = socket.create_server((host, int(port)))
    print("ready", flush=True)
    serve(listener, (target_host, int(target_port)))
