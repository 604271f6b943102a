"""``pinning demo``: a man-in-the-middle on loopback, defeated by a pin.

Everything happens in this process, on 127.0.0.1, with keys and certificates made in memory:
no network and no child process; a server key touches the disk only inside a private temporary
directory removed at once. A genuine HTTPS server has its own CA; an intercepting
proxy (think corporate TLS inspection, or a rogue CA) presents a certificate for the same name
from another CA that the client also trusts. An unpinned client hands its secret to the proxy;
a pinned one refuses the proxy inside the handshake and reaches the genuine server.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..policy.failure import PinMismatch
from ..policy.pins import Pin
from ..policy.policy import PinFailure, PinPolicy
from ..tls.context import create_default_context
from .certs import CA, server_context

__all__ = ["run_demo"]

HOST = "api.example.test"
SECRET = "Authorization: Bearer s3cr3t-demo-token"
_TIMEOUT = 5.0


@dataclass
class _Server:
    """A TLS server on 127.0.0.1 handling each connection with ``handle`` in a thread."""

    ctx: ssl.SSLContext
    handle: Callable[[ssl.SSLSocket], None]
    listener: socket.socket = field(init=False)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # accept() wakes up often enough to notice close()
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self.threads.append(worker)
            worker.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(_TIMEOUT)
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as tls:
                self.handle(tls)
        except (OSError, ssl.SSLError):
            raw.close()

    def settle(self) -> None:
        """Wait until every connection accepted so far has been handled."""
        for worker in list(self.threads):
            worker.join(_TIMEOUT)

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(_TIMEOUT)
        self.listener.close()
        for worker in self.threads:
            worker.join(_TIMEOUT)


def _read_request(tls: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _request(ctx: ssl.SSLContext, port: int) -> str:
    """Send a request carrying the secret to 127.0.0.1:port as HOST; return the status line."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=_TIMEOUT)
    with raw, ctx.wrap_socket(raw, server_hostname=HOST) as tls:
        tls.sendall(f"GET /account HTTP/1.1\r\nHost: {HOST}\r\n{SECRET}\r\n\r\n".encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = tls.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def run_demo(say: Callable[[str], None] = print) -> int:
    """Run the demonstration, printing each step with ``say``; return 0 when it went as designed."""
    genuine_ca = CA("Genuine Example CA")
    rogue_ca = CA("Corporate Inspection CA")
    genuine = genuine_ca.issue(HOST)
    seen_by_proxy: list[bytes] = []

    def genuine_handler(tls: ssl.SSLSocket) -> None:
        _read_request(tls)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def proxy_handler(tls: ssl.SSLSocket) -> None:
        request = _read_request(tls)
        if not request:
            return
        seen_by_proxy.append(request)
        upstream_ctx = ssl.create_default_context(cadata=genuine_ca.pem.decode())
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=_TIMEOUT)
        with raw, upstream_ctx.wrap_socket(raw, server_hostname=HOST) as upstream:
            upstream.sendall(request)
            tls.sendall(upstream.recv(4096))

    server = _Server(server_context(genuine), genuine_handler)
    proxy = _Server(server_context(rogue_ca.issue(HOST)), proxy_handler)
    try:
        trusted = (genuine_ca.pem + rogue_ca.pem).decode()
        say(
            f"A genuine HTTPS server for {HOST} listens on 127.0.0.1:{server.port} (its CA: "
            f"{genuine_ca.name.rfc4514_string()})."
        )
        say(
            f"An intercepting proxy listens on 127.0.0.1:{proxy.port} with a certificate for "
            f"{HOST} from {rogue_ca.name.rfc4514_string()}, which this client also trusts.\n"
        )

        say("1. Without pinning, the client talks to the proxy and CA validation passes:")
        plain = ssl.create_default_context(cadata=trusted)
        say(f"   answer: {_request(plain, proxy.port)}")
        leaked = any(SECRET.encode() in request for request in seen_by_proxy)
        say(f"   the proxy read the secret header: {leaked}\n")

        pins = [Pin.from_certificate(genuine.cert_pem), Pin.from_certificate(genuine_ca.pem)]
        reports: list[PinFailure] = []
        policy = PinPolicy({HOST: pins}, reporter=reports.append)
        say(f"2. With pinning: {HOST} pinned to its server key and its CA's key:")
        say(f"   {pins[0]}\n   {pins[1]}")
        pinned = create_default_context(policy, cadata=trusted)
        before = len(seen_by_proxy)
        refused = False
        try:
            _request(pinned, proxy.port)
        except PinMismatch as exc:
            refused = True
            say("   refused inside the handshake: PinMismatch")
            say("   " + str(exc).replace("\n", "\n   "))
        proxy.settle()
        server_saw = len(seen_by_proxy) - before
        say(f"   requests that reached the proxy: {server_saw}")
        say(f"   failure reports handed to the policy's reporter: {len(reports)}\n")

        say("3. The same pinned client against the genuine server:")
        status = _request(pinned, server.port)
        say(f"   answer: {status}")
        ok = leaked and refused and server_saw == 0 and status.startswith("HTTP/1.1 200")
        say(
            "\nThe pin stopped the interception; the genuine server was reached."
            if ok
            else "\nThe demonstration did not go as designed."
        )
        return 0 if ok else 1
    finally:
        proxy.close()
        server.close()
