"""Sharing one pinned context between clients, and making one per client from one policy.

Pinning itself is safe to share: the policy is immutable and each connection is checked on its own.
What is not safe is a client that changes the context it is given: httpx with ``http2=True`` sets
its ALPN protocols, so every other client of that context then offers HTTP/2 too.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest
from tlsutil import (
    HOST,
    TIMEOUT,
    Server,
    eager_handler,
    genuine_policy,
    http_handler,
    pki,
    server_context,
)
from tlsutil import policy as policy_of

import pinning
from pinning import find_pin_mismatch, pinned_policy

pytestmark = pytest.mark.usefixtures("active_backend")


@pytest.fixture
def h2_offering_server() -> Iterator[Server]:
    """A genuine server whose ALPN prefers h2, as most HTTPS servers do."""
    ctx = server_context(pki().genuine)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with Server(http_handler(), ctx) as server:
        yield server


def _negotiated(ctx: ssl.SSLContext, server: Server) -> str | None:
    raw = socket.create_connection(server.address, timeout=TIMEOUT)
    with ctx.wrap_socket(raw, server_hostname=HOST) as tls:
        return tls.selected_alpn_protocol()


def _use_with_httpx_http2(ctx: ssl.SSLContext, server: Server) -> None:
    # This server speaks HTTP/1.1 only: the point is what httpx did to ctx.
    with (
        httpx.Client(verify=ctx, http2=True, timeout=TIMEOUT) as client,
        contextlib.suppress(httpx.HTTPError),
    ):
        client.get(server.url)


def test_httpx_http2_changes_the_context_it_is_given(h2_offering_server: Server) -> None:
    ctx = pinning.create_default_context(genuine_policy(), cadata=pki().client_cadata)
    assert _negotiated(ctx, h2_offering_server) is None
    _use_with_httpx_http2(ctx, h2_offering_server)
    # Every later connection of this context, whatever client makes it, now offers h2.
    assert _negotiated(ctx, h2_offering_server) == "h2"
    assert pinned_policy(ctx) is not None  # still pinned: only the protocol offer changed


def test_one_context_per_client_from_one_policy(h2_offering_server: Server) -> None:
    policy = genuine_policy()
    for_httpx = pinning.create_default_context(policy, cadata=pki().client_cadata)
    for_websockets = pinning.create_default_context(policy, cadata=pki().client_cadata)
    _use_with_httpx_http2(for_httpx, h2_offering_server)
    assert _negotiated(for_websockets, h2_offering_server) is None
    assert pinned_policy(for_httpx) is policy and pinned_policy(for_websockets) is policy
    with Server(eager_handler(), server_context(pki().rogue)) as rogue:
        for ctx in (for_httpx, for_websockets):
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                _negotiated(ctx, rogue)
            assert find_pin_mismatch(info.value) is not None
        assert rogue.all_received == b""


def test_a_swap_reaches_only_the_context_it_is_made_on() -> None:
    policy = genuine_policy()
    first = pinning.create_default_context(policy, cadata=pki().client_cadata)
    second = pinning.create_default_context(policy, cadata=pki().client_cadata)
    other = policy_of({"example.test": [pki().genuine_ca_pin]})
    pinning.pin_context(first, other)
    assert pinned_policy(first) is other and pinned_policy(second) is policy
