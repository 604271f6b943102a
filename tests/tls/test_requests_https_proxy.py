"""requests through an HTTPS proxy whose certificate comes from a private CA (TLS in TLS).

The proxy's own TLS connection is verified with ``proxy_ssl_context`` (urllib3's default, the
system's CAs, otherwise); the origin's connection inside the tunnel stays pinned, with the
PinMismatch in the exception's cause chain as on the direct path.
"""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Iterator

import pytest
import requests
import trustme
from tlsutil import (
    GENUINE_BODY,
    LOOPBACK,
    TIMEOUT,
    Identity,
    Server,
    eager_handler,
    genuine_policy,
    http_handler,
    pki,
    server_context,
    serving,
    tunnel_proxy_handler,
)

from pinning import find_pin_mismatch
from pinning.requests import PinningAdapter, pin_session, pinned_session

pytestmark = pytest.mark.usefixtures("active_backend")


@functools.lru_cache(maxsize=1)
def _proxy_pki() -> tuple[trustme.CA, Identity]:
    """A private CA that only the proxy's context trusts, and the proxy's identity from it."""
    ca = trustme.CA(organization_name="Private Proxy Root")
    leaf = ca.issue_cert("localhost", LOOPBACK)
    identity = Identity(
        leaf.private_key_pem.bytes(), tuple(blob.bytes() for blob in leaf.cert_chain_pems)
    )
    return ca, identity


def _proxy_context() -> ssl.SSLContext:
    return ssl.create_default_context(cadata=_proxy_pki()[0].cert_pem.bytes().decode())


def _counted_tunnel(sock: socket.socket, server: Server) -> None:
    server.record(b"tunnel;")  # The proxy saw this connection; what it relays stays unread.
    tunnel_proxy_handler(sock, server)


@pytest.fixture
def https_proxy() -> Iterator[Server]:
    """An honest HTTPS proxy (CONNECT, then relay), certified by the private CA."""
    with Server(_counted_tunnel, server_context(_proxy_pki()[1])) as proxy:
        yield proxy


def _proxies(proxy: Server) -> dict[str, str]:
    return {"https": f"https://localhost:{proxy.port}"}


def test_the_genuine_origin_is_reached_through_the_private_ca_proxy(https_proxy: Server) -> None:
    with (
        pinned_session(
            genuine_policy(), cadata=pki().client_cadata, proxy_ssl_context=_proxy_context()
        ) as session,
        serving(pki().genuine, http_handler()) as origin,
    ):
        response = session.get(origin.url, proxies=_proxies(https_proxy), timeout=TIMEOUT)
        assert response.content == GENUINE_BODY
        assert https_proxy.all_received.startswith(b"tunnel;")  # through the proxy


@pytest.mark.parametrize("identity", ["rogue", "stuffed", "self_signed"])
def test_a_rogue_origin_behind_the_proxy_is_refused_with_zero_bytes(
    https_proxy: Server, identity: str
) -> None:
    with (
        pinned_session(
            genuine_policy(), cadata=pki().client_cadata, proxy_ssl_context=_proxy_context()
        ) as session,
        serving(getattr(pki(), identity), eager_handler()) as origin,
        pytest.raises(requests.exceptions.SSLError) as info,
    ):
        session.get(origin.url, proxies=_proxies(https_proxy), timeout=TIMEOUT)
    if identity == "rogue" or identity == "stuffed":  # trusted CA, wrong pins
        assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert origin.all_received == b""


def test_without_a_proxy_context_the_private_proxy_is_not_trusted(https_proxy: Server) -> None:
    with (
        pinned_session(genuine_policy(), cadata=pki().client_cadata) as session,
        serving(pki().genuine, http_handler()) as origin,
        pytest.raises(requests.exceptions.ProxyError) as info,
    ):
        session.get(origin.url, proxies=_proxies(https_proxy), timeout=TIMEOUT)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert find_pin_mismatch(info.value) is None
    assert origin.all_received == b""


def test_pin_session_and_the_adapter_take_it_too(https_proxy: Server) -> None:
    with requests.Session() as session, serving(pki().genuine, http_handler()) as origin:
        pin_session(
            session,
            genuine_policy(),
            cadata=pki().client_cadata,
            proxy_ssl_context=_proxy_context(),
        )
        response = session.get(origin.url, proxies=_proxies(https_proxy), timeout=TIMEOUT)
        assert response.content == GENUINE_BODY
        adapter = session.get_adapter(origin.url)
        assert isinstance(adapter, PinningAdapter)
        manager = adapter.proxy_manager_for(f"https://localhost:{https_proxy.port}")
        assert manager.proxy_ssl_context is adapter.proxy_ssl_context


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"verify_mode": ssl.CERT_NONE}, "CERT_REQUIRED"),
        ({"verify_mode": ssl.CERT_OPTIONAL}, "CERT_REQUIRED"),
        ({"check_hostname": False}, "check_hostname"),
    ],
)
def test_a_proxy_context_that_does_not_verify_is_refused(
    change: dict[str, object], error: str
) -> None:
    ctx = _proxy_context()
    if "verify_mode" in change:
        ctx.check_hostname = False
    for name, value in change.items():
        setattr(ctx, name, value)
    with pytest.raises(ValueError, match=error):
        PinningAdapter(genuine_policy(), cadata=pki().client_cadata, proxy_ssl_context=ctx)
    with pytest.raises(ValueError, match=error):
        pinned_session(genuine_policy(), cadata=pki().client_cadata, proxy_ssl_context=ctx)


def test_a_proxy_context_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match=r"proxy_ssl_context must be an ssl\.SSLContext"):
        PinningAdapter(genuine_policy(), proxy_ssl_context="/etc/proxy-ca.pem")  # type: ignore[arg-type]
