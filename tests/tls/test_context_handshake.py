"""pin_context on real loopback TLS: where the check runs, what it checks, and what it refuses."""

from __future__ import annotations

import _ssl
import asyncio
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tlsutil import (
    BACKUP_PIN,
    HOST,
    LOOPBACK,
    TIMEOUT,
    Identity,
    Server,
    connect,
    exchange,
    genuine_policy,
    greeting_handler,
    pin_only_context,
    pki,
    policy,
    server_context,
    serving,
)
from tlsutil import client_context as make_client

from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.policy.policy import PinFailure, PinPolicy


def refuse(ctx: ssl.SSLContext, server: Server, **options: object) -> PinMismatch:
    """Connect and expect wrap_socket itself (the handshake) to raise PinMismatch."""
    with pytest.raises(PinMismatch) as info:
        exchange(ctx, server, **options)
    return info.value


# --- The check runs inside the handshake -----------------------------------------------------


def test_genuine_server_is_accepted(genuine: Server) -> None:
    assert exchange(make_client(genuine_policy()), genuine) == b"hello"
    genuine.close()
    assert genuine.received == [b"ping"]


def test_rogue_server_is_refused_by_wrap_socket_with_openssl_style_error(rogue: Server) -> None:
    ctx = make_client(genuine_policy())
    raw = socket.create_connection(rogue.address, timeout=TIMEOUT)
    with pytest.raises(PinMismatch) as info:
        ctx.wrap_socket(raw, server_hostname=HOST)
    raw.close()
    error = info.value
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert error.verify_code == 50  # X509_V_ERR_APPLICATION_VERIFICATION
    assert error.verify_message == f"certificate pinning failure for {HOST}"
    assert error.hostname == HOST
    assert error.expected == frozenset({pki().genuine_ca_pin, BACKUP_PIN})
    assert error.chain_pins == (pki().rogue.pin, pki().rogue_ca_pin)
    rogue.close()
    assert rogue.all_received == b""  # Not one application byte.


def test_do_handshake_on_connect_false_then_explicit_handshake(
    genuine: Server, rogue: Server
) -> None:
    ctx = make_client(genuine_policy())
    with connect(ctx, genuine, do_handshake_on_connect=False) as tls:
        tls.do_handshake()
        assert tls.recv(5) == b"hello"
    tls = connect(ctx, rogue, do_handshake_on_connect=False)
    with pytest.raises(PinMismatch):
        tls.do_handshake()
    assert tls.fileno() == -1  # Closed by the refusal.
    with pytest.raises(OSError):
        tls.sendall(b"secret")
    rogue.close()
    assert rogue.all_received == b""  # Not one application byte.


def _write_through_file(tls: ssl.SSLSocket) -> None:
    with tls.makefile("wb") as file:
        file.write(b"secret")
        file.flush()


IO_CALLS: dict[str, Callable[[ssl.SSLSocket], object]] = {
    "sendall": lambda tls: tls.sendall(b"secret"),
    "send": lambda tls: tls.send(b"secret"),
    "write": lambda tls: tls.write(b"secret"),
    "recv": lambda tls: tls.recv(10),
    "recv_into": lambda tls: tls.recv_into(bytearray(10)),
    "read": lambda tls: tls.read(10),
    "makefile": lambda tls: _write_through_file(tls),
}


@pytest.mark.parametrize("call", IO_CALLS.values(), ids=IO_CALLS.keys())
def test_io_without_do_handshake_runs_the_check_first(
    rogue: Server, call: Callable[[ssl.SSLSocket], object]
) -> None:
    # OpenSSL would complete the handshake implicitly inside the first read or write.
    tls = connect(make_client(genuine_policy()), rogue, do_handshake_on_connect=False)
    with pytest.raises(PinMismatch):
        call(tls)
    tls.close()
    rogue.close()
    assert rogue.all_received == b""  # Not one application byte.


def test_io_without_do_handshake_works_when_pins_match(genuine: Server) -> None:
    with connect(make_client(genuine_policy()), genuine, do_handshake_on_connect=False) as tls:
        tls.sendall(b"ping")
        assert tls.recv(5) == b"hello"
    genuine.close()
    assert genuine.received == [b"ping"]


# --- wrap_bio (MemoryBIO) and asyncio ---------------------------------------------------------


class BioClient:
    """An SSLObject driven by hand over a socket, as asyncio and anyio drive theirs."""

    def __init__(self, ctx: ssl.SSLContext, server: Server, hostname: str | None = HOST) -> None:
        self.sock = socket.create_connection(server.address, timeout=TIMEOUT)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)
        self.handshake_calls = 0

    def flush(self) -> None:
        if self.outgoing.pending:
            self.sock.sendall(self.outgoing.read())

    def pump(self) -> None:
        self.flush()
        data = self.sock.recv(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def handshake(self) -> None:
        while True:
            self.handshake_calls += 1
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.pump()
        self.flush()

    def close(self) -> None:
        self.sock.close()


def test_wrap_bio_genuine(genuine: Server) -> None:
    client = BioClient(make_client(genuine_policy()), genuine)
    try:
        client.handshake()
        assert isinstance(client.obj, ssl.SSLObject)
        while True:
            try:
                assert client.obj.read(5) == b"hello"
                break
            except ssl.SSLWantReadError:
                client.pump()
        client.obj.write(b"ping")
        client.flush()
    finally:
        client.close()
    genuine.close()
    assert genuine.received == [b"ping"]


def test_wrap_bio_rogue_is_refused_when_the_handshake_completes(rogue: Server) -> None:
    client = BioClient(make_client(genuine_policy()), rogue)
    try:
        with pytest.raises(PinMismatch):
            client.handshake()
        assert client.handshake_calls > 1  # SSLWantReadError first, the check only at the end.
        # The refusal sticks: nothing can be written or read afterwards.
        with pytest.raises(PinMismatch):
            client.obj.write(b"secret")
        with pytest.raises(PinMismatch):
            client.obj.read(10)
        with pytest.raises(PinMismatch):
            client.obj.do_handshake()
        assert b"secret" not in client.outgoing.read()
    finally:
        client.close()
    rogue.close()
    assert rogue.all_received == b""  # Not one application byte.


def test_wrap_bio_checks_exactly_once(rogue: Server) -> None:
    reports: list[PinFailure] = []
    client = BioClient(make_client(genuine_policy(enforce=False, reporter=reports.append)), rogue)
    try:
        client.handshake()
        client.obj.do_handshake()  # Again, once complete: no second check.
        client.obj.write(b"ping")
        client.flush()
    finally:
        client.close()
    assert client.handshake_calls > 1
    assert len(reports) == 1


def test_wrap_bio_write_before_handshake_runs_the_check(rogue: Server) -> None:
    client = BioClient(make_client(genuine_policy()), rogue)
    try:
        with pytest.raises(ssl.SSLWantReadError):
            client.obj.write(b"secret")  # Starts the handshake, as SSL_write would.
        with pytest.raises(PinMismatch):
            while True:
                try:
                    client.obj.write(b"secret")
                    break
                except ssl.SSLWantReadError:
                    client.pump()
    finally:
        client.close()
    rogue.close()
    assert rogue.all_received == b""  # Not one application byte.


class Collector(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.made = False
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made = True

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def _asyncio_create_connection(ctx: ssl.SSLContext, server: Server) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        Collector, LOOPBACK, server.port, ssl=ctx, server_hostname=HOST
    )
    try:
        while not protocol.data:
            await asyncio.sleep(0.005)
        transport.write(b"ping")
        return protocol.data
    finally:
        transport.close()
        await asyncio.wait_for(protocol.lost, TIMEOUT)


def test_asyncio_create_connection(genuine: Server, rogue: Server) -> None:
    ctx = make_client(genuine_policy())
    assert asyncio.run(_asyncio_create_connection(ctx, genuine)) == b"hello"
    with pytest.raises(PinMismatch):
        asyncio.run(_asyncio_create_connection(ctx, rogue))
    genuine.close()
    rogue.close()
    assert genuine.received == [b"ping"]
    assert rogue.all_received == b""  # Not one application byte.


async def _asyncio_start_tls(ctx: ssl.SSLContext, server: Server) -> tuple[bytes, bool]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(Collector, LOOPBACK, server.port)
    try:
        tls = await loop.start_tls(transport, protocol, ctx, server_hostname=HOST)
    except BaseException:
        transport.close()
        if transport.get_protocol() is protocol:  # (3.10 leaves its SSL protocol in place)
            await asyncio.wait_for(protocol.lost, TIMEOUT)
        raise
    assert tls is not None
    try:
        while not protocol.data:
            await asyncio.sleep(0.005)
        tls.write(b"ping")
        return protocol.data, protocol.made
    finally:
        tls.close()
        await asyncio.wait_for(protocol.lost, TIMEOUT)


def test_asyncio_start_tls(genuine: Server, rogue: Server) -> None:
    ctx = make_client(genuine_policy())
    assert asyncio.run(_asyncio_start_tls(ctx, genuine))[0] == b"hello"
    with pytest.raises(PinMismatch):
        asyncio.run(_asyncio_start_tls(ctx, rogue))
    genuine.close()
    rogue.close()
    assert genuine.received == [b"ping"]
    assert rogue.all_received == b""  # Not one application byte.


# --- Report-only, expiry, strict, host names --------------------------------------------------


def test_report_only_proceeds_and_reports_once_with_host_and_port(rogue: Server) -> None:
    reports: list[PinFailure] = []
    ctx = make_client(genuine_policy(enforce=False, reporter=reports.append))
    assert exchange(ctx, rogue) == b"hello"
    rogue.close()
    assert rogue.received == [b"ping"]
    assert len(reports) == 1
    assert (reports[0].hostname, reports[0].port) == (HOST, rogue.port)
    assert reports[0].enforced is False
    assert reports[0].chain_pins == (pki().rogue.pin, pki().rogue_ca_pin)


def test_expired_policy_refuses_nothing(rogue: Server) -> None:
    ctx = make_client(genuine_policy(expires=dt.date(2000, 1, 1)))
    assert exchange(ctx, rogue) == b"hello"


def test_strict_policy_refuses_an_unpinned_host(genuine: Server) -> None:
    rules = {"other.example": [pki().genuine_ca_pin]}
    assert exchange(make_client(policy(rules)), genuine) == b"hello"
    error = refuse(make_client(policy(rules, strict=True)), genuine)
    assert "strict" in str(error)


def test_ip_address_hostname_is_looked_up_as_such(genuine: Server, rogue: Server) -> None:
    ctx = make_client(policy({LOOPBACK: [pki().genuine_ca_pin]}))
    assert exchange(ctx, genuine, server_hostname=LOOPBACK) == b"hello"
    assert refuse(ctx, rogue, server_hostname=LOOPBACK).hostname == LOOPBACK


def _no_hostname_context(pinned: object) -> ssl.SSLContext:
    ctx = make_client(pinned)  # type: ignore[arg-type]
    ctx.check_hostname = False
    return ctx


def test_no_server_hostname(genuine: Server, rogue: Server) -> None:
    # No rule can cover a server without a name, except "*".
    ctx = _no_hostname_context(genuine_policy())
    assert exchange(ctx, rogue, server_hostname=None) == b"hello"
    star = _no_hostname_context(policy({"*": [pki().genuine_ca_pin]}))
    assert exchange(star, genuine, server_hostname=None) == b"hello"
    assert refuse(star, rogue, server_hostname=None).hostname == LOOPBACK
    # Refused outright under strict and pin-only.
    strict = _no_hostname_context(genuine_policy(strict=True))
    assert "strict" in str(refuse(strict, genuine, server_hostname=None))
    pin_only = pin_only_context(policy({"*": [pki().genuine.pin]}))
    assert "pin-only" in str(refuse(pin_only, genuine, server_hostname=None))


# --- Pins never replace CA or host name verification -------------------------------------------


def test_matching_pin_does_not_excuse_a_wrong_hostname() -> None:
    ctx = make_client(policy({"*": [pki().genuine_ca_pin, pki().genuine_other_name.pin]}))
    with (
        serving(pki().genuine_other_name, greeting_handler()) as server,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        exchange(ctx, server)
    assert not isinstance(info.value, PinMismatch)
    assert "Hostname mismatch" in str(info.value)


def test_matching_pin_does_not_excuse_an_untrusted_chain() -> None:
    ctx = make_client(policy({HOST: [pki().untrusted.pin]}))
    with (
        serving(pki().untrusted, greeting_handler()) as server,
        pytest.raises(ssl.SSLCertVerificationError) as info,
    ):
        exchange(ctx, server)
    assert not isinstance(info.value, PinMismatch)
    assert "unable to get local issuer certificate" in str(info.value)


# --- Chain stuffing (CVE-2016-2402) -----------------------------------------------------------


def _unverified_chain(tls: ssl.SSLSocket) -> list[bytes]:
    public = getattr(tls, "get_unverified_chain", None)  # 3.13+
    if public is not None:
        return list(public())
    return [c.public_bytes(_ssl.ENCODING_DER) for c in tls._sslobj.get_unverified_chain()]  # type: ignore[attr-defined]


def test_chain_stuffing_is_refused() -> None:
    genuine_ca_der = ssl.PEM_cert_to_DER_cert(pki().genuine_ca.cert_pem.bytes().decode())
    with serving(pki().stuffed, greeting_handler()) as server:
        # The attack is real: the server does send the genuine, pinned CA certificate.
        with connect(make_client(), server) as tls:
            assert genuine_ca_der in _unverified_chain(tls)
        error = refuse(make_client(genuine_policy()), server)
    assert pki().genuine_ca_pin not in error.chain_pins
    assert server.all_received == b""


def test_reports_carry_the_served_chain_but_only_the_verified_one_is_checked() -> None:
    genuine_ca_der = ssl.PEM_cert_to_DER_cert(pki().genuine_ca.cert_pem.bytes().decode())
    reports: list[PinFailure] = []
    ctx = make_client(genuine_policy(enforce=False, reporter=reports.append))
    with serving(pki().stuffed, greeting_handler()) as server:
        assert exchange(ctx, server) == b"hello"
    [report] = reports
    assert report.served_chain is not None
    assert genuine_ca_der in report.served_chain
    assert genuine_ca_der not in report.chain
    assert pki().genuine_ca_pin not in report.chain_pins


# --- Pin-only (CERT_NONE) -----------------------------------------------------------------------


def test_pin_only_accepts_the_pinned_self_signed_key() -> None:
    ctx = pin_only_context(policy({HOST: [pki().self_signed.pin]}))
    with serving(pki().self_signed, greeting_handler()) as server:
        assert exchange(ctx, server) == b"hello"


def test_pin_only_refuses_the_same_host_with_another_key() -> None:
    ctx = pin_only_context(policy({HOST: [pki().self_signed.pin]}))
    with serving(pki().self_signed_other_key, greeting_handler()) as server:
        refuse(ctx, server)
    assert server.all_received == b""


@pytest.mark.parametrize(
    "options",
    [{}, {"enforce": False}, {"expires": dt.date(2000, 1, 1)}],
    ids=["enforced", "report-only", "expired"],
)
def test_pin_only_refuses_a_host_without_pins(options: dict[str, object]) -> None:
    ctx = pin_only_context(policy({"other.example": [pki().self_signed.pin]}, **options))
    with serving(pki().self_signed, greeting_handler()) as server:
        refuse(ctx, server)


def test_pin_only_counts_the_leaf_only() -> None:
    # The genuine server sends its CA certificate too, but unverified: only the leaf counts.
    ctx = pin_only_context(genuine_policy())
    with serving(pki().genuine, greeting_handler()) as server:
        error = refuse(ctx, server)
    assert error.chain_pins == (pki().genuine.pin,)


def _forged_above_the_pinned_certificate() -> Identity:
    """An attacker's leaf (its own key) that names the genuine self-signed certificate as its
    issuer, served with that public certificate: under CERT_NONE OpenSSL builds the chain
    [forged leaf, genuine certificate] and verifies nothing, so the genuine key is in it."""
    genuine_pem = pki().self_signed.chain_pems[0]
    genuine = x509.load_pem_x509_certificate(genuine_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")]))
        .issuer_name(genuine.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Identity(key_pem, (forged.public_bytes(serialization.Encoding.PEM), genuine_pem))


@pytest.mark.parametrize(
    "change",
    [
        "context.verify_mode",
        "socket.context",
        "context.verify_mode, socket connected after wrap",
        "context.verify_mode, wrap_bio",
    ],
)
def test_pin_only_stays_pin_only_when_the_context_changes_before_the_handshake(
    change: str,
) -> None:
    # OpenSSL verifies with the mode the context had when the connection was made: a context
    # switched to CERT_REQUIRED afterwards must not make the unverified chain count.
    forged = _forged_above_the_pinned_certificate()
    ctx = pin_only_context(policy({HOST: [pki().self_signed.pin]}))
    with serving(forged, greeting_handler()) as server:
        if change.endswith("wrap_bio"):
            client = BioClient(ctx, server)
            ctx.verify_mode = ssl.CERT_REQUIRED
            try:
                with pytest.raises(PinMismatch) as info:
                    client.handshake()
            finally:
                client.close()
        else:
            if change.endswith("connected after wrap"):
                tls = ctx.wrap_socket(
                    socket.socket(), server_hostname=HOST, do_handshake_on_connect=False
                )
                tls.settimeout(TIMEOUT)
                tls.connect(server.address)
            else:
                raw = socket.create_connection(server.address, timeout=TIMEOUT)
                tls = ctx.wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
            with tls:
                if change == "socket.context":
                    tls.context = ssl.create_default_context()
                else:
                    ctx.verify_mode = ssl.CERT_REQUIRED
                with pytest.raises(PinMismatch) as info:
                    tls.do_handshake()
    # Checked as pin-only: the forged leaf alone, not the genuine certificate above it.
    assert info.value.chain_pins == (forged.pin,)
    assert server.all_received == b""


@pytest.mark.parametrize("connect_first", [True, False], ids=["wrap connected", "connect()"])
def test_pin_only_stays_pin_only_when_another_thread_changes_the_context_mid_handshake(
    connect_first: bool,
) -> None:
    # The default path: the handshake runs inside wrap_socket (or connect()). Another thread
    # switches the shared context to CERT_REQUIRED after the connection was made (its
    # ClientHello is out) and before the attacker answers: still checked as pin-only.
    forged = _forged_above_the_pinned_certificate()
    ctx = pin_only_context(policy({HOST: [pki().self_signed.pin]}))
    hello_out, switched = threading.Event(), threading.Event()

    def stalling_attacker(sock: socket.socket, server: Server) -> None:
        sock.recv(1, socket.MSG_PEEK)  # the client's ClientHello: its _ssl object exists
        hello_out.set()
        assert switched.wait(TIMEOUT)
        with server_context(forged).wrap_socket(sock, server_side=True) as tls:
            tls.sendall(b"forged hello")
            server.record(tls.recv(100))

    def switch() -> None:
        assert hello_out.wait(TIMEOUT)
        ctx.verify_mode = ssl.CERT_REQUIRED
        switched.set()

    switcher = threading.Thread(target=switch)
    switcher.start()
    with Server(stalling_attacker) as server:
        with pytest.raises(PinMismatch) as info:
            if connect_first:
                exchange(ctx, server)
            else:
                with ctx.wrap_socket(socket.socket(), server_hostname=HOST) as tls:
                    tls.settimeout(TIMEOUT)
                    tls.connect(server.address)
                    tls.sendall(b"secret")
        switcher.join()
    assert ctx.verify_mode == ssl.CERT_REQUIRED  # the switch happened before the check
    assert info.value.chain_pins == (forged.pin,)  # the forged leaf alone, as pin-only
    assert b"secret" not in server.all_received


# --- Installation --------------------------------------------------------------------------------


def test_pin_context_again_swaps_the_policy_and_keeps_the_classes(
    genuine: Server, rogue: Server
) -> None:
    from pinning.tls.context import pin_context, pinned_policy

    first = genuine_policy()
    ctx = make_client(first)
    classes = (ctx.sslsocket_class, ctx.sslobject_class)
    assert exchange(ctx, genuine) == b"hello"
    second = policy({HOST: [pki().rogue_ca_pin]})
    assert pin_context(ctx, second) is ctx
    assert (ctx.sslsocket_class, ctx.sslobject_class) == classes
    assert pinned_policy(ctx) is second
    refuse(ctx, genuine)
    assert exchange(ctx, rogue) == b"hello"


def test_pin_context_keeps_a_custom_socket_class(genuine: Server, rogue: Server) -> None:
    from pinning.tls.context import pin_context

    class Custom(ssl.SSLSocket):
        marker = True

    ctx = make_client()
    ctx.sslsocket_class = Custom
    pin_context(ctx, genuine_policy())
    with connect(ctx, genuine) as tls:
        assert isinstance(tls, Custom)
    refuse(ctx, rogue)


def test_classes_copied_from_another_pinned_context_use_their_own_policy(rogue: Server) -> None:
    from pinning.tls.context import pin_context

    accepting = make_client(policy({HOST: [pki().rogue_ca_pin]}))
    ctx = make_client()
    ctx.sslsocket_class = accepting.sslsocket_class
    ctx.sslobject_class = accepting.sslobject_class
    pin_context(ctx, genuine_policy())
    refuse(ctx, rogue)
    assert exchange(accepting, rogue) == b"hello"


def test_pinned_policy_of_an_unpinned_context_is_none() -> None:
    from pinning.tls.context import pinned_policy

    assert pinned_policy(ssl.create_default_context()) is None


def test_create_default_context() -> None:
    from pinning.tls.context import create_default_context, pinned_policy

    pinned = genuine_policy()
    ctx = create_default_context(pinned, cadata=pki().client_cadata)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert pinned_policy(ctx) is pinned
    with serving(pki().genuine, greeting_handler()) as server:
        assert exchange(ctx, server) == b"hello"
    with serving(pki().rogue, greeting_handler()) as server:
        refuse(ctx, server)


def test_pin_context_argument_types() -> None:
    from pinning.tls.context import pin_context

    with pytest.raises(TypeError):
        pin_context(object(), genuine_policy())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pin_context(ssl.create_default_context(), {HOST: [pki().genuine_ca_pin]})  # type: ignore[arg-type]


def test_pin_context_refuses_without_the_verified_chain_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pinning.tls import chain as _chain
    from pinning.tls.context import pin_context

    monkeypatch.setattr(_chain, "_chain_of", None)
    ctx = ssl.create_default_context()
    with pytest.raises(RuntimeError, match="verified certificate chain"):
        pin_context(ctx, genuine_policy())
    assert ctx.sslsocket_class is ssl.SSLSocket


@pytest.mark.parametrize("where", ["fast path", "whole check"])
def test_an_error_inside_the_check_refuses_the_connection(
    genuine: Server, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from pinning.tls import connection as _connection

    def broken(*args: object) -> list[bytes]:
        raise RuntimeError("boom")

    if where == "fast path":
        monkeypatch.setattr(PinPolicy, "_passes", broken)
    else:
        monkeypatch.setattr(PinPolicy, "_passes", lambda *args: False)
        monkeypatch.setattr(_connection, "verified_chain", broken)
    error = refuse(make_client(genuine_policy()), genuine)
    assert isinstance(error.__cause__, RuntimeError)
    assert "boom" in str(error)


def test_pins_of_the_test_pki_are_what_they_seem() -> None:
    assert pki().genuine_ca_pin != pki().rogue_ca_pin
    assert pki().self_signed.pin != pki().self_signed_other_key.pin
    assert isinstance(BACKUP_PIN, Pin)
