"""A context that says it is pinned must pin: the wiring is proved, and nothing changed on the way
(an attribute, a flag another client turned off, the side a context is used on) lets a rogue
server through unpinned."""

from __future__ import annotations

import http.client
import socket
import ssl
import sys
import threading
import warnings
from typing import Any

import pytest
import urllib3
from tlsutil import (
    HOST,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    Server,
    eager_handler,
    genuine_policy,
    greeting_handler,
    http_handler,
    pki,
    policy,
    serving,
)
from tlsutil import client_context as make_client

import pinning
from pinning import NotPinnableError, PinMismatch


class DelegatingContext(ssl.SSLContext):
    """A context class that makes its connections with another context (as truststore does)."""

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:
        self.inner = ssl.SSLContext(protocol)

    def wrap_socket(self, sock: socket.socket, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        return self.inner.wrap_socket(sock, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # type: ignore[override]
        return self.inner.wrap_bio(*args, **kwargs)


class BioOnlyBypass(ssl.SSLContext):
    """Builds sockets through its classes, but BIO objects with the standard class."""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # type: ignore[override]
        saved = self.sslobject_class
        self.sslobject_class = ssl.SSLObject
        try:
            return super().wrap_bio(*args, **kwargs)
        finally:
            self.sslobject_class = saved


@pytest.mark.parametrize("kind", [DelegatingContext, BioOnlyBypass])
def test_a_context_that_bypasses_the_classes_is_refused_and_left_as_it_was(kind: type) -> None:
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    before = (ctx.sslsocket_class, ctx.sslobject_class)
    with pytest.raises(NotPinnableError, match=kind.__qualname__):
        pinning.pin_context(ctx, genuine_policy())
    assert isinstance(NotPinnableError("x"), TypeError)
    assert (ctx.sslsocket_class, ctx.sslobject_class) == before
    assert pinning.pinned_policy(ctx) is None


def test_a_context_whose_classes_were_replaced_afterwards_is_no_longer_called_pinned() -> None:
    ctx = make_client(genuine_policy())
    assert pinning.pinned_policy(ctx) is not None
    ctx.sslsocket_class = ssl.SSLSocket
    assert pinning.pinned_policy(ctx) is None


def test_a_failed_proof_on_a_pinned_context_keeps_its_policy() -> None:
    first = genuine_policy()
    ctx = BioOnlyBypass(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=pki().client_cadata)
    # Pinned first while the bypass is off, then the bypass makes a second pinning fail.
    ctx.wrap_bio = ssl.SSLContext.wrap_bio.__get__(ctx)  # type: ignore[method-assign]
    pinning.pin_context(ctx, first)
    del ctx.wrap_bio
    with pytest.raises(NotPinnableError):
        pinning.pin_context(ctx, policy({HOST: [pki().rogue_ca_pin]}))
    assert pinning.pinned_policy(ctx) is first


# --- The name and the side OpenSSL holds, not the socket's writable attributes --------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("server_hostname", "unpinned.example"), ("server_hostname", ""), ("server_side", True)],
)
def test_changing_the_sockets_attributes_before_the_handshake_changes_nothing(
    attribute: str, value: object
) -> None:
    ctx = make_client(genuine_policy())
    with serving(pki().rogue, eager_handler()) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        tls = ctx.wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
        setattr(tls, attribute, value)
        with pytest.raises(PinMismatch, match=HOST), tls:
            tls.do_handshake()
    assert server.all_received == b""


# --- Host name verification is never silently lost -----------------------------------------------


def _ca_pinned_context() -> ssl.SSLContext:
    # A CA pin: the genuine CA's certificate for any name carries the pin.
    return make_client(policy({HOST: [pki().genuine_ca_pin], "**.example": [pki().genuine_ca_pin]}))


def test_check_hostname_turned_off_still_refuses_a_certificate_for_another_name() -> None:
    ctx = _ca_pinned_context()
    ctx.check_hostname = False  # as urllib3 does on a context it is given
    with serving(pki().genuine_other_name, eager_handler()) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        with pytest.raises(PinMismatch, match="check_hostname"):
            ctx.wrap_socket(raw, server_hostname=HOST)
        raw.close()
    assert server.all_received == b""


def test_check_hostname_turned_off_still_accepts_the_right_name() -> None:
    ctx = _ca_pinned_context()
    ctx.check_hostname = False
    with serving(pki().genuine, greeting_handler()) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname=HOST) as tls:
            assert tls.recv(5) == b"hello"
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname=LOOPBACK) as tls:  # an IP address entry
            assert tls.recv(5) == b"hello"


def test_urllib3_turning_the_flag_off_on_a_shared_context_loses_no_check() -> None:
    ctx = _ca_pinned_context()
    with serving(pki().genuine, http_handler()) as genuine:
        # urllib3 turns check_hostname off, for good, on the context it was given.
        manager = urllib3.PoolManager(ssl_context=ctx, assert_hostname=HOST, retries=False)
        assert manager.request("GET", genuine.url, timeout=TIMEOUT).status == 200
        manager.clear()
    assert ctx.check_hostname is False
    # Another client sharing the context, reaching a server whose certificate (from the pinned
    # CA) names another host: refused, and the server never sees the request.
    with serving(pki().genuine_other_name, eager_handler()) as other:
        conn = http.client.HTTPSConnection(HOST, other.port, context=ctx, timeout=TIMEOUT)
        with pytest.raises(PinMismatch, match="check_hostname"):
            conn.request("GET", "/", headers={"X-Secret": SECRET})
        conn.close()
    assert other.all_received == b""


# --- Servers: every context used server-side is checked against the '*' rule ---------------------


def _tls_server_context(pinned: pinning.PinPolicy) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PROTOCOL_TLS is deprecated
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS)
    pki().genuine.load_into(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    pki().client_ca.configure_trust(ctx)
    return pinning.pin_context(ctx, pinned)


def test_a_protocol_tls_context_used_by_a_server_without_a_star_rule_refuses_clients() -> None:
    ctx = _tls_server_context(policy({HOST: [pki().client_a.pin]}))
    client = make_client()
    pki().client_a.load_into(client)
    with Server(greeting_handler(), ctx) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        with (
            client.wrap_socket(raw, server_hostname=HOST) as tls,
            pytest.raises((ssl.SSLError, OSError)),
        ):
            tls.sendall(b"ping")
            if not tls.recv(5):
                raise ConnectionResetError("closed by the server")
    assert any("'*' rule" in str(error) for error in server.handshake_errors)
    assert server.all_received == b""


def test_a_protocol_tls_context_used_by_a_server_with_a_star_rule_checks_it() -> None:
    ctx = _tls_server_context(policy({"*": [pki().client_a.pin]}))
    client = make_client()
    pki().client_a.load_into(client)
    with Server(greeting_handler(), ctx) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        with client.wrap_socket(raw, server_hostname=HOST) as tls:
            assert tls.recv(5) == b"hello"


# --- A refused socket is shut down, even while a file object of makefile() holds it -------------


def test_a_refused_socket_with_a_file_object_is_shut_down_at_once() -> None:
    ended = threading.Event()

    def until_eof(sock: socket.socket, server: Server) -> None:
        data = sock.recv(100)  # b"" (or an SSL error) once the client shuts the connection down
        server.record(data)
        ended.set()

    ctx = make_client(genuine_policy())
    with serving(pki().rogue, until_eof) as server:
        raw = socket.create_connection(server.address, timeout=TIMEOUT)
        tls = ctx.wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
        reader = tls.makefile("rb")  # keeps the socket open past close()
        with pytest.raises(PinMismatch):
            tls.do_handshake()
        assert ended.wait(TIMEOUT / 2), "the rogue server still has an open connection"
        reader.close()
    assert server.all_received == b""


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_truststore_where_the_os_verifies_warns_that_only_the_leaf_counts(
    monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    import truststore

    monkeypatch.setattr(sys, "platform", platform)
    with pytest.warns(pinning.PinningWarning, match=f"truststore on {platform}.*leaf"):
        pinning.pin_context(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), genuine_policy())
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pinning.pin_context(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), genuine_policy())
