"""Servers for the command line and reporter tests: TLS servers for any name, and an HTTP server
that collects pin failure reports (and can hang or fail on purpose).

TLS servers come from :mod:`tlsutil` (loopback, ephemeral ports, joined on exit); this module adds
certificates for other names than ``localhost`` (reached with ``--connect-to``) and a CA file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tlsutil import Identity, Server, pki, serving

LOOPBACK = "127.0.0.1"


@functools.cache
def identity_for(name: str) -> Identity:
    """A certificate for ``name`` from the genuine CA of :func:`tlsutil.pki`."""
    leaf = pki().genuine_ca.issue_cert(name)
    return Identity(leaf.private_key_pem.bytes(), tuple(b.bytes() for b in leaf.cert_chain_pems))


def write_cafile(directory: Path) -> Path:
    """Write the genuine CA's certificate (PEM) to ``directory/ca.pem``; return the path."""
    path = directory / "ca.pem"
    path.write_bytes(pki().genuine_ca.cert_pem.bytes())
    return path


@contextlib.contextmanager
def tls_server(identity: Identity) -> Iterator[Server]:
    """A TLS server presenting ``identity`` on 127.0.0.1 for a ``with`` block."""
    with serving(identity) as server:
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    return port


# --- The report collector ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ReportCollector:
    """An HTTP server on 127.0.0.1 that records each POST.

    Modes: ``"ok"`` answers 204; ``"error"`` answers 500; ``"hang"`` records the request, then
    answers nothing until the collector closes (or :attr:`release` is set).
    """

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.received: list[Received] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with collector._lock:
                    collector.received.append(Received(self.path, dict(self.headers), body))
                if collector.mode == "hang":
                    collector.release.wait(30)
                self.send_response(500 if collector.mode == "error" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/pin-reports"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` requests arrived; return whether they did."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def __enter__(self) -> ReportCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
