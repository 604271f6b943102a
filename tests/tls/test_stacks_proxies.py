"""HTTPS proxies (TLS to the proxy, then the origin's TLS inside it), as rows of the conformance
matrix: urllib3 2's ``ProxyManager``, httpx (sync, asyncio and trio) and aiohttp (asyncio and
uvloop).

The pins are for the origin: behind an honest HTTPS proxy, the genuine origin is accepted, and a
rogue origin (rogue CA, chain stuffing, rogue self-signed, each trusted by the client) is refused
inside the inner handshake, before one byte of the request reaches it. The proxy itself presents a
certificate from the rogue CA (a corporate proxy the client trusts) for ``localhost``: a client
that checked the proxy with the origin's pinned context would refuse it, which shows which
context each client uses for which handshake:

- urllib3: the origin's handshake uses ``ssl_context``, the proxy's ``proxy_ssl_context``;
- httpx: the origin's uses ``verify=``, the proxy's ``httpx.Proxy(url, ssl_context=...)``;
- aiohttp: both use the request's (or the connector's) ``ssl``: the policy applies to the proxy's
  name too, so its proxy is reached here by IP address, which the test policy has no rule for.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import trio
import urllib3
import uvloop
from tlsutil import (
    ATTACKER_IDENTITIES,
    GENUINE_BODY,
    HOST,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    Server,
    client_context,
    eager_handler,
    genuine_policy,
    http_handler,
    https_tunnel_proxy_handler,
    pki,
    record_io,
    server_context,
    trusting_client_context,
)

from pinning import find_pin_mismatch

HEADERS = {"X-Secret": SECRET}
# Fetch: (origin URL, the pinned context, the proxy's URL, the context for the proxy's TLS).
Fetch = Callable[[str, ssl.SSLContext, str, ssl.SSLContext], bytes]


def via_urllib3(url: str, ctx: ssl.SSLContext, proxy: str, proxy_ctx: ssl.SSLContext) -> bytes:
    manager = urllib3.ProxyManager(
        proxy, ssl_context=ctx, proxy_ssl_context=proxy_ctx, retries=False
    )
    try:
        return manager.request("POST", url, body=SECRET, headers=HEADERS, timeout=TIMEOUT).data
    finally:
        manager.clear()


def via_httpx(url: str, ctx: ssl.SSLContext, proxy: str, proxy_ctx: ssl.SSLContext) -> bytes:
    via = httpx.Proxy(proxy, ssl_context=proxy_ctx)
    with httpx.Client(verify=ctx, proxy=via, trust_env=False, timeout=TIMEOUT) as client:
        return client.post(url, content=SECRET, headers=HEADERS).content


async def _httpx_async(
    url: str, ctx: ssl.SSLContext, proxy: str, proxy_ctx: ssl.SSLContext
) -> bytes:
    via = httpx.Proxy(proxy, ssl_context=proxy_ctx)
    async with httpx.AsyncClient(verify=ctx, proxy=via, trust_env=False, timeout=TIMEOUT) as c:
        return (await c.post(url, content=SECRET, headers=HEADERS)).content


async def _aiohttp(url: str, ctx: ssl.SSLContext, proxy: str, proxy_ctx: ssl.SSLContext) -> bytes:
    # aiohttp has no context of its own for the proxy: its TLS uses ``ssl`` too.
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False, timeout=timeout) as session,
        session.post(url, data=SECRET, headers=HEADERS, proxy=proxy) as response,
    ):
        return await response.read()


def _run(runner: Callable[..., Any], coroutine: Callable[..., Any]) -> Fetch:
    def fetch(url: str, ctx: ssl.SSLContext, proxy: str, proxy_ctx: ssl.SSLContext) -> bytes:
        try:
            if runner is trio.run:
                return trio.run(coroutine, url, ctx, proxy, proxy_ctx)  # type: ignore[no-any-return]
            return runner(coroutine(url, ctx, proxy, proxy_ctx))  # type: ignore[no-any-return]
        finally:
            if coroutine is _aiohttp:
                # aiohttp may leave the transport to the proxy unclosed after start_tls, as in
                # the conformance matrix: collect it here, not in whichever later test.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    gc.collect()

    return fetch


_TLS_IN_TLS = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="asyncio has TLS in TLS (start_tls on TLS) from 3.11"
)

CLIENTS: dict[str, Fetch] = {
    "urllib3": via_urllib3,
    "httpx": via_httpx,
    "httpx-async": _run(asyncio.run, _httpx_async),
    "httpx-trio": _run(trio.run, _httpx_async),
    "aiohttp": _run(asyncio.run, _aiohttp),
    "aiohttp-uvloop": _run(uvloop.run, _aiohttp),
}
# aiohttp checks the proxy with the origin's context and policy (which pins localhost), so it
# reaches the proxy by IP address; the others check it with the proxy's own (unpinned) context.
SAME_CONTEXT_FOR_THE_PROXY = {"aiohttp", "aiohttp-uvloop"}
# aiohttp's TLS in TLS is asyncio's start_tls on a TLS transport.
# httpcore's synchronous TLS in TLS (its own SSLObject stream) fails on 3.10 with the genuine
# origin too: "[SSL: UNEXPECTED_MESSAGE] unexpected message". Nothing is let through; it does
# not connect.
PARAMS = [
    pytest.param(
        name,
        marks=[_TLS_IN_TLS] if name in SAME_CONTEXT_FOR_THE_PROXY else [],
    )
    for name in CLIENTS
]


@contextlib.contextmanager
def https_proxy() -> Iterator[Server]:
    """An honest HTTPS proxy with a certificate from the rogue (corporate) CA."""
    with Server(https_tunnel_proxy_handler, server_context(pki().rogue)) as proxy:
        yield proxy


def proxy_url(client: str, proxy: Server) -> str:
    host = LOOPBACK if client in SAME_CONTEXT_FOR_THE_PROXY else HOST
    return f"https://{host}:{proxy.port}"


@pytest.mark.parametrize("client", PARAMS)
def test_genuine_origin_behind_an_https_proxy_is_accepted(client: str, active_backend: str) -> None:
    ctx = trusting_client_context(genuine_policy())
    attempts = record_io(ctx)
    with (
        Server(http_handler(), server_context(pki().genuine)) as origin,
        https_proxy() as proxy,
    ):
        body = CLIENTS[client](origin.url, ctx, proxy_url(client, proxy), client_context())
    assert body == GENUINE_BODY
    assert SECRET.encode() in origin.all_received
    assert proxy.all_received == b""  # It saw only CONNECT, and then the inner TLS.
    assert attempts


@pytest.mark.parametrize("attacker", ATTACKER_IDENTITIES)
@pytest.mark.parametrize("client", PARAMS)
def test_rogue_origin_behind_an_honest_https_proxy_is_refused(
    client: str, attacker: str, active_backend: str
) -> None:
    ctx = trusting_client_context(genuine_policy())
    identity = getattr(pki(), ATTACKER_IDENTITIES[attacker])
    with (
        Server(eager_handler(), server_context(identity)) as origin,
        https_proxy() as proxy,
        pytest.raises(Exception) as info,
    ):
        CLIENTS[client](origin.url, ctx, proxy_url(client, proxy), client_context())
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert proxy.accepted >= 1 and origin.accepted >= 1  # Through the tunnel to the attacker,
    assert origin.all_received == b""  # which received not one byte of the request.
    assert proxy.all_received == b""


@pytest.mark.parametrize("client", PARAMS)
def test_the_proxy_is_checked_by_the_context_documented(client: str, active_backend: str) -> None:
    """Pin the context each client uses for the proxy's TLS (the proxy's own context, or the
    request's for aiohttp) to the genuine CA for localhost: the rogue-CA proxy at localhost is
    then refused before it receives a byte (not even CONNECT)."""
    pinned = trusting_client_context(genuine_policy())
    with (
        Server(http_handler(), server_context(pki().genuine)) as origin,
        https_proxy() as proxy,
        pytest.raises(Exception) as info,
    ):
        CLIENTS[client](origin.url, pinned, f"https://{HOST}:{proxy.port}", pinned)
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert proxy.accepted >= 1
    assert proxy.all_received == b""
    assert origin.accepted == 0
