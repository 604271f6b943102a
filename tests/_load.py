"""Helpers for the load and robustness tests: resource snapshots, a policy swapper that says which
policy a handshake could have seen, HTTP over raw TLS, and the tally of outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tlsutil import HOST, TIMEOUT, Handler, Server, http_response, read_request

from pinning.policy.policy import PinPolicy
from pinning.tls.context import pin_context

REQUEST = b"GET / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nConnection: close\r\n\r\n"


# --- Resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """The open file descriptors (number and target) and live threads of this process."""

    fds: frozenset[tuple[str, str]]
    threads: frozenset[threading.Thread]


def snapshot() -> Resources:
    """Collect garbage, then list ``/proc/self/fd`` and :func:`threading.enumerate`."""
    gc.collect()
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.add((name, os.readlink(f"/proc/self/fd/{name}")))
        except OSError:  # The directory listdir itself had open, closed by now.
            continue
    return Resources(frozenset(fds), frozenset(threading.enumerate()))


def leaks(before: Resources, grace: float = 3.0) -> list[str]:
    """Return what is open now and was not in ``before``; waits up to ``grace`` seconds for
    threads that are finishing and descriptors that the collector has yet to close."""
    deadline = time.monotonic() + grace
    while True:
        now = snapshot()
        found = [f"fd {fd} -> {target}" for fd, target in sorted(now.fds - before.fds)]
        found += [f"thread {thread.name!r}" for thread in now.threads - before.threads]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# --- Policy swaps ------------------------------------------------------------------------------


class Swapper:
    """Installs a new policy on one context with :func:`pin_context` at each swap, and says which
    of them a handshake can have been decided by.

    Generation ``g`` is the policy ``make(g)``; generation 0 is installed at once. :attr:`counter`
    works like a sequence lock: it is odd while a swap is in progress and goes up by two with each
    swap, so a handshake that read ``before`` when it started and ``after`` when it ended was
    decided by a generation of :meth:`window` (one generation when no swap overlapped it). Only
    one thread swaps at a time.
    """

    def __init__(self, ctx: ssl.SSLContext, make: Callable[[int], PinPolicy]) -> None:
        self.ctx = ctx
        self.make = make
        self.counter = 0
        self.generation = 0
        pin_context(ctx, make(0))

    @property
    def swaps(self) -> int:
        return self.generation

    def swap(self) -> None:
        """Install the next generation."""
        replacement = self.make(self.generation + 1)
        self.counter += 1
        pin_context(self.ctx, replacement)
        self.generation += 1
        self.counter += 1

    @staticmethod
    def window(before: int, after: int) -> range:
        """The generations that can have decided a handshake between these two readings."""
        return range(before // 2, (after + 1) // 2 + 1)


class SwapStorm:
    """A thread that swaps the policy until stopped: flurries of swaps a millisecond apart, then a
    calm long enough for some handshakes to see no swap at all."""

    def __init__(self, swapper: Swapper, flurry: int = 10, calm: float = 0.15) -> None:
        self.swapper = swapper
        self.pauses = [0.001] * flurry + [calm]
        self.swaps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="swap-storm")

    def _run(self) -> None:
        while True:
            for pause in self.pauses:
                if self._stop.is_set():
                    return
                self.swapper.swap()
                self.swaps += 1
                self._stop.wait(pause)

    def __enter__(self) -> SwapStorm:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive()


# --- HTTP over TLS ----------------------------------------------------------------------------


def polite_handler(body: bytes) -> Handler:
    """An HTTP server that records the request, answers ``body``, then waits for the client to
    close first, so that a client's TLS close_notify never meets a closed socket (a reset)."""

    def handle(sock: socket.socket, server: Server) -> None:
        request = read_request(sock)
        server.record(request)
        if not request:
            return  # A refused client: it closed without a byte.
        sock.sendall(http_response(body))
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass

    return handle


def parse_response(data: bytes) -> bytes | None:
    """Return the body of a complete HTTP response in ``data``, or None while it is incomplete."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return None
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None or len(body) < length:
        return None
    if not head.startswith(b"HTTP/1.1 200 "):
        raise AssertionError(f"unexpected response head {head[:40]!r}")
    return body[:length]


def wrap_socket_get(ctx: ssl.SSLContext, server: Server) -> bytes:
    """GET / from ``server`` through ``ctx.wrap_socket`` (which runs the handshake); the body."""
    raw = socket.create_connection(server.address, timeout=TIMEOUT)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=HOST)
    except BaseException:
        raw.close()
        raise
    with tls:
        tls.sendall(REQUEST)
        data = b""
        while (body := parse_response(data)) is None:
            chunk = tls.recv(65536)
            if not chunk:
                raise ConnectionError(f"the server closed after {len(data)} bytes")
            data += chunk
        return body


async def asyncio_get(ctx: ssl.SSLContext, server: Server) -> bytes:
    """GET / from ``server`` over an asyncio stream (``ssl.SSLObject``); return the body."""
    reader, writer = await asyncio.open_connection(
        server.address[0], server.port, ssl=ctx, server_hostname=HOST
    )
    try:
        writer.write(REQUEST)
        data = await reader.readuntil(b"\r\n\r\n")
        while (body := parse_response(data)) is None:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError(f"the server closed after {len(data)} bytes")
            data += chunk
        return body
    finally:
        writer.close()
        await writer.wait_closed()


# --- Tallies ----------------------------------------------------------------------------------


class Tally:
    """Thread-safe counters of outcomes."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, ...]] = Counter()
        self._lock = threading.Lock()

    def add(self, *key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def total(self, **where: str) -> int:
        """The count of keys (phase, server, outcome, client) matching ``where``."""
        positions = {"phase": 0, "server": 1, "outcome": 2, "client": 3}
        with self._lock:
            return sum(
                count
                for key, count in self.counts.items()
                if all(key[positions[name]] == value for name, value in where.items())
            )

    def table(self) -> str:
        with self._lock:
            rows = sorted(self.counts.items())
        return "\n".join(f"  {' / '.join(key):60s} {count:6d}" for key, count in rows)
