"""Loopback TLS servers, proxies and a PKI for the context and client tests.

Everything listens on 127.0.0.1, on ephemeral ports, in threads that :meth:`Server.close` joins.

The PKI:

- ``genuine``: the real CA of ``localhost``; policies pin its key (and a backup pin).
- ``rogue``: a CA the client *also* trusts (a corporate or rogue root): a MitM's certificates from
  it pass CA verification, so only the pins stop it.
- ``untrusted``: a CA the client does not trust.
- self-signed certificates, for pin-only (``CERT_NONE``) servers.
- ``client_ca``: the CA of client certificates, for mTLS servers.

The servers record every application byte they receive, so that a test can assert that a refused
client wrote nothing, and the attackers answer eagerly, right after the handshake, so that a client
that checked the pins late (on first write or first read) would read the forged answer as a
success.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import os
import selectors
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pinning.policy.pins import Pin
from pinning.policy.policy import PinPolicy

HOST = "localhost"
LOOPBACK = "127.0.0.1"
TIMEOUT = 5.0
SECRET = "s3cr3t-token-7f1c"  # Sent in a header and the body; must never reach an attacker.
BACKUP_PIN = Pin(bytes(range(32)))  # A backup pin no test key has.

GENUINE_BODY = b"genuine answer"
ROGUE_BODY = b"forged answer"


# --- PKI -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A private key and its certificate chain (PEM, leaf first), as a server or client loads it."""

    key_pem: bytes
    chain_pems: tuple[bytes, ...]

    @property
    def pin(self) -> Pin:
        """The pin of the leaf's key."""
        return Pin.from_certificate(self.chain_pems[0])

    def load_into(self, ctx: ssl.SSLContext) -> None:
        """Load the key and chain into ``ctx`` (through a temporary file, as ssl requires)."""
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(self.key_pem)
                for pem in self.chain_pems:
                    file.write(pem)
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)


def _from_trustme(leaf: trustme.LeafCert) -> Identity:
    return Identity(
        leaf.private_key_pem.bytes(), tuple(blob.bytes() for blob in leaf.cert_chain_pems)
    )


def _self_signed(*names: str) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.timezone.utc)
    alt: list[x509.GeneralName] = []
    for text in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(text)))
        except ValueError:
            alt.append(x509.DNSName(text))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Identity(key_pem, (cert.public_bytes(serialization.Encoding.PEM),))


@dataclass(frozen=True)
class PKI:
    genuine_ca: trustme.CA
    rogue_ca: trustme.CA
    client_ca: trustme.CA
    genuine: Identity  # localhost and 127.0.0.1, from the genuine CA
    genuine_other_name: Identity  # other.example only, from the genuine CA
    rogue: Identity  # localhost and 127.0.0.1, from the rogue CA
    untrusted: Identity  # localhost and 127.0.0.1, from a CA nobody trusts
    stuffed: Identity  # the rogue leaf followed by the genuine CA certificate (CVE-2016-2402)
    self_signed: Identity  # localhost and 127.0.0.1, self-signed
    self_signed_other_key: Identity  # the same names, another key
    client_a: Identity  # client certificates from client_ca
    client_b: Identity

    @property
    def genuine_ca_pin(self) -> Pin:
        return Pin.from_certificate(self.genuine_ca.cert_pem.bytes())

    @property
    def rogue_ca_pin(self) -> Pin:
        return Pin.from_certificate(self.rogue_ca.cert_pem.bytes())

    @property
    def client_cadata(self) -> str:
        """What a client trusts: the genuine CA and the rogue (corporate) CA."""
        return self.genuine_ca.cert_pem.bytes().decode() + self.rogue_ca.cert_pem.bytes().decode()


@functools.lru_cache(maxsize=1)
def pki() -> PKI:
    """The test PKI, made once per session."""
    genuine_ca = trustme.CA(organization_name="Genuine Root")
    rogue_ca = trustme.CA(organization_name="Rogue Root")
    untrusted_ca = trustme.CA(organization_name="Untrusted Root")
    client_ca = trustme.CA(organization_name="Client Root")
    rogue = _from_trustme(rogue_ca.issue_cert(HOST, LOOPBACK))
    stuffed = Identity(rogue.key_pem, (*rogue.chain_pems, genuine_ca.cert_pem.bytes()))
    return PKI(
        genuine_ca=genuine_ca,
        rogue_ca=rogue_ca,
        client_ca=client_ca,
        genuine=_from_trustme(genuine_ca.issue_cert(HOST, LOOPBACK)),
        genuine_other_name=_from_trustme(genuine_ca.issue_cert("other.example")),
        rogue=rogue,
        untrusted=_from_trustme(untrusted_ca.issue_cert(HOST, LOOPBACK)),
        stuffed=stuffed,
        self_signed=_self_signed(HOST, LOOPBACK),
        self_signed_other_key=_self_signed(HOST, LOOPBACK),
        client_a=_from_trustme(client_ca.issue_cert("client-a@example.com")),
        client_b=_from_trustme(client_ca.issue_cert("client-b@example.com")),
    )


def policy(rules: dict[str, list[Pin]], **options: object) -> PinPolicy:
    """A PinPolicy whose every rule also holds :data:`BACKUP_PIN` (so none warns)."""
    return PinPolicy({pattern: [*pins, BACKUP_PIN] for pattern, pins in rules.items()}, **options)  # type: ignore[arg-type]


def genuine_policy(**options: object) -> PinPolicy:
    """Pins ``localhost`` to the genuine CA's key."""
    return policy({HOST: [pki().genuine_ca_pin]}, **options)


def client_context(
    pinned: PinPolicy | None = None, *, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """A client context trusting the genuine and rogue CAs, pinned with ``pinned`` if given."""
    from pinning.tls.context import pin_context

    ctx = ssl.create_default_context(cadata=pki().client_cadata)
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx if pinned is None else pin_context(ctx, pinned)


def pin_only_context(pinned: PinPolicy) -> ssl.SSLContext:
    """A pin-only client context: no CA or host name verification, nothing but the pins."""
    from pinning.tls.context import pin_context

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return pin_context(ctx, pinned)


def server_context(
    identity: Identity,
    *,
    client_certs: ssl.VerifyMode = ssl.CERT_NONE,
    maximum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A server context presenting ``identity``; it asks for client certificates if told to."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    identity.load_into(ctx)
    if maximum is not None:
        ctx.maximum_version = maximum
    if client_certs != ssl.CERT_NONE:
        ctx.verify_mode = client_certs
        pki().client_ca.configure_trust(ctx)
    return ctx


# --- Servers -------------------------------------------------------------------------------------

Handler = Callable[[socket.socket, "Server"], None]


class Server:
    """A TCP server on 127.0.0.1 that serves each connection in its own thread.

    With ``ctx``, each connection is TLS-wrapped (server side) before ``handler`` gets it;
    handshake failures are recorded in ``handshake_errors``. The handler records, with
    :meth:`record`, the application bytes it received.

    Use it as a context manager: leaving it stops accepting and joins every thread.
    """

    def __init__(self, handler: Handler, ctx: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ctx = ctx
        self.listener = socket.create_server((LOOPBACK, 0), backlog=64)
        self.port: int = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.handshake_errors: list[BaseException] = []
        self.handler_errors: list[BaseException] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="tls-accept", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}/"

    def record(self, data: bytes) -> None:
        """Record application bytes a handler received (b"" when none came)."""
        with self._lock:
            self.received.append(bytes(data))

    def record_handshake_error(self, exc: BaseException) -> None:
        with self._lock:
            self.handshake_errors.append(exc)

    @property
    def all_received(self) -> bytes:
        with self._lock:
            return b"".join(self.received)

    def __enter__(self) -> Server:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, then wait for every connection thread to finish."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        if self._acceptor.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection(self.address, timeout=TIMEOUT).close()  # Wake accept().
            self._acceptor.join(TIMEOUT)
        self.listener.close()
        for thread in list(self._threads):
            thread.join(TIMEOUT)
        alive = [thread for thread in self._threads if thread.is_alive()]
        assert not alive, f"server threads did not finish: {alive}"
        assert not self._acceptor.is_alive()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stopping:
                    conn.close()
                    return
                self.accepted += 1
                thread = threading.Thread(
                    target=self._serve, args=(conn,), name="tls-conn", daemon=True
                )
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT)
        sock: socket.socket = conn
        try:
            if self.ctx is not None:
                try:
                    sock = self.ctx.wrap_socket(conn, server_side=True)
                except (OSError, ValueError) as exc:
                    self.record_handshake_error(exc)
                    return
            self.handler(sock, self)
        except (OSError, ValueError) as exc:
            with self._lock:
                self.handler_errors.append(exc)
        finally:
            sock.close()
            conn.close()


def http_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def read_request(sock: socket.socket) -> bytes:
    """Read one HTTP request (head and Content-Length body); return what arrived, even partial."""
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
            data += chunk
    return data


def http_handler(body: bytes = GENUINE_BODY) -> Handler:
    """A genuine HTTP server: reads the request, records it, answers ``body``."""

    def handle(sock: socket.socket, server: Server) -> None:
        request = read_request(sock)
        server.record(request)
        if request:
            sock.sendall(http_response(body))

    return handle


def eager_handler(body: bytes = ROGUE_BODY) -> Handler:
    """An attacker: answers ``body`` right after the handshake, then records what arrives."""

    def handle(sock: socket.socket, server: Server) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(http_response(body))
        server.record(read_request(sock))

    return handle


def greeting_handler(greeting: bytes = b"hello") -> Handler:
    """Sends ``greeting`` at once, then records whatever arrives until the client closes."""

    def handle(sock: socket.socket, server: Server) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(greeting)
        data = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                data += chunk
        server.record(data)

    return handle


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)  # One byte at a time: never read past the head.
        if not chunk:
            break
        data += chunk
    return data


def _connect_target(head: bytes) -> int | None:
    """Return the port of a ``CONNECT host:port`` request, or None for anything else."""
    if not head.startswith(b"CONNECT "):
        return None
    target = head.split(b" ", 2)[1]
    return int(target.rpartition(b":")[2])


def mitm_proxy_handler(identity: Identity | None = None, body: bytes = ROGUE_BODY) -> Handler:
    """An intercepting HTTP proxy: accepts CONNECT, then answers the TLS itself with a certificate
    from a CA the client trusts, and records the decrypted request (which must never arrive)."""
    ctx = server_context(identity or pki().rogue)

    def handle(sock: socket.socket, server: Server) -> None:
        head = _read_head(sock)
        if _connect_target(head) is None:
            server.record(head)  # A plain-text request through the proxy: the secret leaked.
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except (OSError, ValueError) as exc:
            server.record_handshake_error(exc)
            return
        with tls:
            eager_handler(body)(tls, server)

    return handle


def tunnel_proxy_handler(sock: socket.socket, server: Server) -> None:
    """An honest HTTP proxy: CONNECT to the port asked for on 127.0.0.1, then relay bytes."""
    head = _read_head(sock)
    port = _connect_target(head)
    if port is None:
        server.record(head)
        return
    with socket.create_connection((LOOPBACK, port), timeout=TIMEOUT) as upstream:
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, sock)
            while True:
                events = selector.select(TIMEOUT)
                if not events:
                    return
                for key, _ in events:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    chunk = source.recv(65536)
                    if not chunk:
                        return
                    key.data.sendall(chunk)


@contextlib.contextmanager
def serving(
    identity: Identity, handler: Handler | None = None, **options: object
) -> Iterator[Server]:
    """Run a TLS server presenting ``identity`` (genuine HTTP by default) for a ``with`` block."""
    ctx = server_context(identity, **options)  # type: ignore[arg-type]
    with Server(handler or http_handler(), ctx) as server:
        yield server


# --- Clients and errors --------------------------------------------------------------------------


def connect(
    ctx: ssl.SSLContext,
    server: Server,
    server_hostname: str | None = HOST,
    **options: object,
) -> ssl.SSLSocket:
    """Open a TLS connection to ``server`` with ``ctx`` (the handshake runs in wrap_socket)."""
    raw = socket.create_connection(server.address, timeout=TIMEOUT)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_hostname, **options)  # type: ignore[arg-type]
    except BaseException:
        raw.close()
        raise


def exchange(ctx: ssl.SSLContext, server: Server, **options: object) -> bytes:
    """Connect, read the greeting of a :func:`greeting_handler` server, send ``ping``, close."""
    with connect(ctx, server, **options) as tls:
        greeting = tls.recv(100)
        tls.sendall(b"ping")
        return greeting


def record_io(ctx: ssl.SSLContext) -> list[str]:
    """Make ``ctx`` record every application read or write its connections attempt.

    The recording classes sit in front of the pinned ones, so an attempt is recorded even when the
    pinned class then refuses it: a refusal "before the first write" leaves the list empty.
    """
    attempts: list[str] = []

    class RecordingSocket(ctx.sslsocket_class):  # type: ignore[name-defined,misc]
        def send(self, data: bytes, flags: int = 0) -> int:
            attempts.append("send")
            return super().send(data, flags)  # type: ignore[no-any-return]

        def sendall(self, data: bytes, flags: int = 0) -> None:
            attempts.append("sendall")
            super().sendall(data, flags)

        def write(self, data: bytes) -> int:
            attempts.append("write")
            return super().write(data)  # type: ignore[no-any-return]

        def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
            attempts.append("recv")
            return super().recv(buflen, flags)  # type: ignore[no-any-return]

        def recv_into(self, buffer: bytearray, nbytes: int | None = None, flags: int = 0) -> int:
            attempts.append("recv_into")
            return super().recv_into(buffer, nbytes, flags)  # type: ignore[no-any-return]

        def read(self, len: int = 1024, buffer: bytearray | None = None) -> bytes:
            attempts.append("read")
            return super().read(len, buffer)  # type: ignore[no-any-return]

    class RecordingObject(ctx.sslobject_class):  # type: ignore[name-defined,misc]
        def write(self, data: bytes) -> int:
            attempts.append("write")
            return super().write(data)  # type: ignore[no-any-return]

        def read(self, len: int = 1024, buffer: bytearray | None = None) -> bytes:
            attempts.append("read")
            return super().read(len, buffer)  # type: ignore[no-any-return]

    ctx.sslsocket_class = RecordingSocket
    ctx.sslobject_class = RecordingObject
    return attempts


# --- Stacks: every attacker meets the pins, ALPN, HTTPS proxies, servers on an event loop --------

# The three attackers of the stacks' tests (tests/tls/test_stacks_*.py), as PKI attributes.
ATTACKER_IDENTITIES = {
    "rogue CA": "rogue",
    "chain stuffing": "stuffed",
    "rogue self-signed": "self_signed",
}


def trusting_client_context(pinned: PinPolicy) -> ssl.SSLContext:
    """A client context trusting the genuine CA, the rogue CA *and* the rogue's self-signed
    certificate, pinned with ``pinned``: every attacker passes CA verification, so only the pins
    stop it, and each refusal is a PinMismatch."""
    from pinning.tls.context import pin_context

    cadata = pki().client_cadata + pki().self_signed.chain_pems[0].decode()
    return pin_context(ssl.create_default_context(cadata=cadata), pinned)


def alpn_server_context(identity: Identity, protocols: list[str]) -> ssl.SSLContext:
    """A server context presenting ``identity`` that offers ``protocols`` in ALPN."""
    ctx = server_context(identity)
    ctx.set_alpn_protocols(protocols)
    return ctx


H2_PREFACE = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # An empty SETTINGS frame: a server's preface.


def eager_h2_handler(sock: socket.socket, server: Server) -> None:
    """An HTTP/2 attacker: sends its connection preface right after the handshake, then records
    whatever arrives until the client closes."""
    with contextlib.suppress(OSError):
        sock.sendall(H2_PREFACE)
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    server.record(data)


def h2_handler(body: bytes = GENUINE_BODY) -> Handler:
    """A genuine HTTP/2 server (the ``h2`` library): answers each request with ``body`` and
    records each request's headers and body."""

    def handle(sock: socket.socket, server: Server) -> None:
        import h2.config
        import h2.connection
        import h2.events

        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        requests: dict[int, bytes] = {}
        while data := sock.recv(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    requests[event.stream_id] = b"".join(
                        bytes(name) + b": " + bytes(value) + b"\r\n"
                        for name, value in event.headers
                    )
                elif isinstance(event, h2.events.DataReceived):
                    requests[event.stream_id] = requests.get(event.stream_id, b"") + event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    server.record(requests.pop(event.stream_id, b""))
                    conn.send_headers(
                        event.stream_id,
                        [(":status", "200"), ("content-length", str(len(body)))],
                    )
                    conn.send_data(event.stream_id, body, end_stream=True)
            sock.sendall(conn.data_to_send())

    return handle


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Relay bytes both ways until either side closes or nothing moves for TIMEOUT. TLS-aware:
    bytes OpenSSL already decrypted (``pending()``) are relayed without waiting for the socket."""
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        while True:
            events = selector.select(TIMEOUT)
            if not events:
                return
            for key, _ in events:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                chunk = source.recv(65536)
                if not chunk:
                    return
                while isinstance(source, ssl.SSLSocket) and source.pending():
                    chunk += source.recv(source.pending())
                key.data.sendall(chunk)


def https_tunnel_proxy_handler(sock: socket.socket, server: Server) -> None:
    """An honest HTTPS proxy (run it in a TLS :class:`Server`): CONNECT to the port asked for on
    127.0.0.1, then relay bytes (the client's TLS to the origin, inside the proxy's TLS)."""
    head = _read_head(sock)
    port = _connect_target(head)
    if port is None:
        server.record(head)
        return
    with socket.create_connection((LOOPBACK, port), timeout=TIMEOUT) as upstream:
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _relay(sock, upstream)


class LoopThread:
    """An asyncio event loop in a thread, for the genuine servers of asyncio libraries (websockets,
    grpclib) while the client runs on another loop (uvloop, trio) or none.

    Use it as a context manager; :meth:`run` runs a coroutine on the loop and returns its result.
    Leaving it cancels what is left on the loop, then joins the thread.
    """

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="loop", daemon=True)

    def run(self, coroutine: object) -> object:
        import asyncio

        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(TIMEOUT)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import asyncio

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
