"""Server side (mTLS gateways): a pinned server context checks the client's verified chain."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator

import pytest
from tlsutil import (
    HOST,
    LOOPBACK,
    TIMEOUT,
    Identity,
    Server,
    connect,
    greeting_handler,
    pki,
    policy,
    server_context,
)
from tlsutil import client_context as make_client

from pinning.policy.failure import PinMismatch
from pinning.policy.policy import PinFailure
from pinning.tls.context import pin_context


def client_with(identity: Identity | None) -> ssl.SSLContext:
    ctx = make_client()
    if identity is not None:
        identity.load_into(ctx)
    return ctx


@contextlib.contextmanager
def mtls_server(mode: ssl.VerifyMode = ssl.CERT_REQUIRED, **options: object) -> Iterator[Server]:
    ctx = server_context(pki().genuine, client_certs=mode)
    pin_context(ctx, policy({"*": [pki().client_a.pin]}, **options))  # type: ignore[arg-type]
    with Server(greeting_handler(), ctx) as server:
        yield server


def talk(ctx: ssl.SSLContext, server: Server) -> bytes:
    """Connect, send a request, and return what the server answered (b"" if it hung up)."""
    try:
        with connect(ctx, server) as tls:
            tls.sendall(b"secret request")
            return tls.recv(5)
    except OSError:
        return b""  # TLS 1.3: the client's handshake ends before the server checks its certificate.


def test_the_pinned_client_key_is_accepted() -> None:
    with mtls_server() as server:
        assert talk(client_with(pki().client_a), server) == b"hello"
    assert server.received == [b"secret request"]
    assert server.handshake_errors == []


def test_another_key_from_a_trusted_client_ca_is_refused() -> None:
    with mtls_server() as server:
        assert talk(client_with(pki().client_b), server) == b""
    assert server.all_received == b""  # The server application never saw the request.
    assert len(server.handshake_errors) == 1
    error = server.handshake_errors[0]
    assert isinstance(error, PinMismatch)
    assert error.hostname == LOOPBACK  # A client has no name: it is named by its address.
    assert error.expected == frozenset(policy({"*": [pki().client_a.pin]}).pins_for("x") or ())


def test_report_only_server_reports_the_client_address() -> None:
    reports: list[PinFailure] = []
    with mtls_server(enforce=False, reporter=reports.append) as server:
        assert talk(client_with(pki().client_b), server) == b"hello"
    assert len(reports) == 1
    assert reports[0].hostname == LOOPBACK
    assert reports[0].pattern == "*"
    assert isinstance(reports[0].port, int)


def test_cert_optional_without_a_client_certificate_is_the_applications_decision() -> None:
    with mtls_server(ssl.CERT_OPTIONAL) as server:
        assert talk(client_with(None), server) == b"hello"
        assert talk(client_with(pki().client_a), server) == b"hello"
        assert talk(client_with(pki().client_b), server) == b""
    assert sorted(server.received) == [b"secret request", b"secret request"]
    assert [type(e) for e in server.handshake_errors] == [PinMismatch]


def test_resumed_client_sessions_pass_when_their_certificate_did() -> None:
    client = client_with(pki().client_a)
    with mtls_server() as server:
        with connect(client, server) as tls:
            assert tls.recv(5) == b"hello"
            session = tls.session
        with connect(client, server, session=session) as tls:
            assert tls.session_reused
            assert tls.recv(5) == b"hello"
    assert server.handshake_errors == []


def test_pin_context_refuses_a_server_context_that_asks_no_client_certificate() -> None:
    ctx = server_context(pki().genuine)
    with pytest.raises(ValueError, match="CERT_REQUIRED"):
        pin_context(ctx, policy({"*": [pki().client_a.pin]}))


def test_pin_context_refuses_a_server_context_with_post_handshake_auth() -> None:
    ctx = server_context(pki().genuine, client_certs=ssl.CERT_REQUIRED)
    ctx.post_handshake_auth = True
    with pytest.raises(ValueError, match="post_handshake_auth"):
        pin_context(ctx, policy({"*": [pki().client_a.pin]}))


def test_post_handshake_auth_enabled_after_pinning_is_refused_in_the_handshake() -> None:
    # TLS 1.3 with post-handshake auth asks for no client certificate in the handshake: the
    # client's certificate would arrive afterwards, where no pin checks it.
    for mode in (ssl.CERT_REQUIRED, ssl.CERT_OPTIONAL):
        ctx = server_context(pki().genuine, client_certs=mode)
        pin_context(ctx, policy({"*": [pki().client_a.pin]}))
        ctx.post_handshake_auth = True
        client = client_with(pki().client_b)  # a trusted client CA, a key that is not pinned
        client.post_handshake_auth = True
        with Server(greeting_handler(), ctx) as server:
            assert talk(client, server) == b""
        assert server.all_received == b""
        assert [type(error) for error in server.handshake_errors] == [PinMismatch]
        assert "post_handshake_auth" in str(server.handshake_errors[0])


def test_pin_context_refuses_a_server_policy_without_a_star_rule() -> None:
    ctx = server_context(pki().genuine, client_certs=ssl.CERT_REQUIRED)
    with pytest.raises(ValueError, match="'\\*' rule"):
        pin_context(ctx, policy({HOST: [pki().client_a.pin]}))


def test_a_server_context_switched_to_cert_none_later_refuses() -> None:
    ctx = server_context(pki().genuine, client_certs=ssl.CERT_REQUIRED)
    pin_context(ctx, policy({"*": [pki().client_a.pin]}))
    ctx.verify_mode = ssl.CERT_NONE
    with Server(greeting_handler(), ctx) as server:
        assert talk(client_with(pki().client_a), server) == b""
    assert [type(e) for e in server.handshake_errors] == [PinMismatch]


async def _asyncio_server(identity: Identity) -> tuple[bytes, list[PinFailure]]:
    reports: list[PinFailure] = []
    ctx = server_context(pki().genuine, client_certs=ssl.CERT_REQUIRED)
    pin_context(ctx, policy({"*": [pki().client_a.pin]}, reporter=reports.append))
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.write(b"hello")
        writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    answer = b""
    try:
        reader, writer = await asyncio.open_connection(
            LOOPBACK, port, ssl=client_with(identity), server_hostname=HOST
        )
        writer.write(b"secret request")
        with contextlib.suppress(OSError):
            answer = await asyncio.wait_for(reader.read(100), TIMEOUT)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    return answer + b"|" + b"".join(received), reports


def test_asyncio_server_side() -> None:
    assert asyncio.run(_asyncio_server(pki().client_a)) == (b"hello|secret request", [])
    answer, reports = asyncio.run(_asyncio_server(pki().client_b))
    assert answer == b"|"  # Nothing answered, nothing received.
    # An SSL object does not know the peer's address: the report names the client by convention.
    assert [(r.hostname, r.port, r.enforced) for r in reports] == [
        ("unnamed-peer.invalid", None, True)
    ]
