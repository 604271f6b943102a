"""The conformance matrix: every integration path, against genuine servers and attackers.

A path is an HTTP client (or asyncio's streams) and a kind of pinned context: an ``ssl`` context,
a ``truststore.SSLContext``, and the context ``pinning.create_default_context`` makes after
``truststore.inject_into_ssl()``. On every path: the genuine server is accepted; a server with a
certificate from a rogue CA the client trusts, the same rogue chain stuffed with the genuine CA's
certificate, and a rogue self-signed server are refused, without the attacker receiving one byte;
pin-only and report-only behave as documented. gevent and eventlet (which patch the process) have
their rows in test_green, the requests adapter's guards in test_clients_requests, and the server
side in test_context_server.

The attackers answer eagerly, right after the handshake: a client whose pins were checked on its
first write or first read (or one that swallows an error raised while writing, as httpx does)
would read their forged answer as a success. So each refusal must come from the handshake, and
the attacker must never receive a byte of the request: the secret header and body.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http.client
import ssl
import urllib.request
import warnings
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest
import requests
import truststore
import urllib3
from tlsutil import (
    GENUINE_BODY,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    Server,
    eager_handler,
    genuine_policy,
    http_handler,
    mitm_proxy_handler,
    pin_only_context,
    pki,
    policy,
    record_io,
    serving,
    tunnel_proxy_handler,
)
from tlsutil import client_context as make_client

import pinning
from pinning import PinFailure, PinPolicy, find_pin_mismatch
from pinning.requests import PinningAdapter
from pinning.tls.wiring import connections_context

HEADERS = {"X-Secret": SECRET, "Content-Type": "text/plain"}
BODY = f"password={SECRET}".encode()

Fetch = Callable[[str, ssl.SSLContext, "str | None"], bytes]


def via_http_client(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    target = urlsplit(url)
    if proxy is None:
        conn = http.client.HTTPSConnection(
            target.hostname, target.port, context=ctx, timeout=TIMEOUT
        )
    else:
        via = urlsplit(proxy)
        conn = http.client.HTTPSConnection(via.hostname, via.port, context=ctx, timeout=TIMEOUT)
        conn.set_tunnel(target.hostname or "", target.port)
    try:
        conn.request("POST", "/", body=BODY, headers=HEADERS)
        return conn.getresponse().read()
    finally:
        conn.close()


def via_urllib_request(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ctx),
        urllib.request.ProxyHandler({"https": proxy} if proxy else {}),
    )
    request = urllib.request.Request(url, data=BODY, headers=HEADERS)
    with opener.open(request, timeout=TIMEOUT) as response:
        return response.read()  # type: ignore[no-any-return]


def via_urllib3(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    manager = (
        urllib3.PoolManager(ssl_context=ctx, retries=False)
        if proxy is None
        else urllib3.ProxyManager(proxy, ssl_context=ctx, retries=False)
    )
    try:
        return manager.request("POST", url, body=BODY, headers=HEADERS, timeout=TIMEOUT).data
    finally:
        manager.clear()


def via_requests(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    with requests.Session() as session:
        session.trust_env = False
        session.mount("https://", PinningAdapter(ssl_context=ctx))
        proxies = {"https": proxy} if proxy else None
        response = session.post(url, data=BODY, headers=HEADERS, proxies=proxies, timeout=TIMEOUT)
        return response.content


def via_httpx(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    with httpx.Client(verify=ctx, proxy=proxy, trust_env=False, timeout=TIMEOUT) as client:
        return client.post(url, content=BODY, headers=HEADERS).content


async def _httpx_async(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    async with httpx.AsyncClient(verify=ctx, proxy=proxy, trust_env=False, timeout=TIMEOUT) as c:
        return (await c.post(url, content=BODY, headers=HEADERS)).content


async def _aiohttp(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False, timeout=timeout) as session,
        session.post(url, data=BODY, headers=HEADERS, proxy=proxy) as response,
    ):
        return await response.read()


async def _asyncio_streams(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
    assert proxy is None, "asyncio streams have no proxy support"
    target = urlsplit(url)
    reader, writer = await asyncio.open_connection(
        LOOPBACK, target.port, ssl=ctx, server_hostname=target.hostname
    )
    try:
        head = (
            f"POST / HTTP/1.1\r\nHost: {target.netloc}\r\nX-Secret: {SECRET}\r\n"
            f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + BODY)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return answer.partition(b"\r\n\r\n")[2]


def _sync(coroutine: Callable[..., Coroutine[Any, Any, bytes]]) -> Fetch:
    def fetch(url: str, ctx: ssl.SSLContext, proxy: str | None) -> bytes:
        try:
            return asyncio.run(coroutine(url, ctx, proxy))
        finally:
            if proxy is not None:
                # aiohttp sometimes leaves the plain transport to the proxy unclosed after
                # start_tls (about one run in four); collect it here rather than let its
                # ResourceWarning fail whichever later test the garbage collector runs in.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    gc.collect()

    return fetch


CLIENTS: dict[str, Fetch] = {
    "http.client": via_http_client,
    "urllib.request": via_urllib_request,
    "urllib3": via_urllib3,
    "requests": via_requests,
    "httpx": via_httpx,
    "httpx-async": _sync(_httpx_async),
    "aiohttp": _sync(_aiohttp),
    "asyncio-streams": _sync(_asyncio_streams),
}
PROXY_CLIENTS = [name for name in CLIENTS if name != "asyncio-streams"]
PIN_ONLY_CLIENTS = [name for name in CLIENTS if name not in ("urllib3", "requests")]


def proxy_url(proxy: Server) -> str:
    return f"http://{LOOPBACK}:{proxy.port}"


# --- The kinds of pinned context -----------------------------------------------------------------


def _truststore_context(pinned: PinPolicy) -> ssl.SSLContext:
    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=pki().client_cadata)
    return pinning.pin_context(ctx, pinned)


@contextlib.contextmanager
def _injected() -> Any:
    truststore.inject_into_ssl()
    try:
        yield
    finally:
        truststore.extract_from_ssl()


def _injected_context(pinned: PinPolicy) -> ssl.SSLContext:
    with _injected():
        ctx = pinning.create_default_context(pinned, cadata=pki().client_cadata)
    assert type(ctx) is truststore.SSLContext
    return ctx


CONTEXTS: dict[str, Callable[[PinPolicy], ssl.SSLContext]] = {
    "ssl": make_client,
    "truststore": _truststore_context,
    "truststore-injected": _injected_context,
}


def _fetch(kind: str, client: str, url: str, ctx: ssl.SSLContext) -> bytes:
    if kind != "truststore-injected":
        return CLIENTS[client](url, ctx, None)
    with _injected():  # The clients' own contexts come from truststore too while it is injected.
        return CLIENTS[client](url, ctx, None)


def find_verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error (PinMismatch or OpenSSL's) a client's error carries."""
    stack: list[object] = [exc]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return item
        stack.extend((item.__cause__, item.__context__, *item.args))
        for attribute in ("reason", "certificate_error", "os_error", "exceptions"):
            value = getattr(item, attribute, None)
            stack.extend(value if isinstance(value, (list, tuple)) else [value])
    return None


@pytest.mark.parametrize("kind", CONTEXTS)
@pytest.mark.parametrize("client", CLIENTS)
def test_genuine_server_is_accepted(client: str, kind: str) -> None:
    ctx = CONTEXTS[kind](genuine_policy())
    assert pinning.pinned_policy(ctx) is not None
    attempts = record_io(connections_context(ctx))
    with serving(pki().genuine, http_handler()) as server:
        assert _fetch(kind, client, server.url, ctx) == GENUINE_BODY
    assert SECRET.encode() in server.all_received  # The request did go through,
    assert attempts  # through the pinned classes.


ATTACKERS = {"rogue CA": "rogue", "chain stuffing": "stuffed"}


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("kind", CONTEXTS)
@pytest.mark.parametrize("client", CLIENTS)
def test_attacker_is_refused_in_the_handshake_before_any_write(
    client: str, kind: str, attacker: str
) -> None:
    ctx = CONTEXTS[kind](genuine_policy())
    attempts = record_io(connections_context(ctx))
    identity = getattr(pki(), ATTACKERS[attacker])
    with serving(identity, eager_handler()) as server, pytest.raises(Exception) as info:
        _fetch(kind, client, server.url, ctx)
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert attempts == []  # The client never even tried to write (or read) application data.
    assert server.accepted >= 1
    assert server.all_received == b""  # Not one byte of the request, not even its first line.


@pytest.mark.parametrize("kind", CONTEXTS)
@pytest.mark.parametrize("client", CLIENTS)
def test_rogue_self_signed_server_is_refused_before_any_write(client: str, kind: str) -> None:
    ctx = CONTEXTS[kind](genuine_policy())
    attempts = record_io(connections_context(ctx))
    with serving(pki().self_signed, eager_handler()) as server, pytest.raises(Exception) as info:
        _fetch(kind, client, server.url, ctx)
    assert find_verification_error(info.value) is not None, repr(info.value)
    assert attempts == []
    assert server.all_received == b""


@pytest.mark.parametrize("kind", CONTEXTS)
@pytest.mark.parametrize("client", CLIENTS)
def test_report_only_reports_the_attacker_once_and_lets_it_through(client: str, kind: str) -> None:
    seen: list[PinFailure] = []
    ctx = CONTEXTS[kind](genuine_policy(enforce=False, reporter=seen.append))
    with serving(pki().rogue, http_handler()) as server:
        assert _fetch(kind, client, server.url, ctx) == GENUINE_BODY  # what the server answers
    assert len(seen) == 1, seen
    assert seen[0].hostname == "localhost" and not seen[0].enforced
    assert SECRET.encode() in server.all_received


@pytest.mark.parametrize("client", PROXY_CLIENTS)
def test_mitm_proxy_with_a_trusted_ca_never_receives_the_request(client: str) -> None:
    with (
        serving(pki().genuine, http_handler()) as origin,
        Server(mitm_proxy_handler()) as proxy,
        pytest.raises(Exception) as info,
    ):
        CLIENTS[client](origin.url, make_client(genuine_policy()), proxy_url(proxy))
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert proxy.accepted >= 1
    assert SECRET.encode() not in proxy.all_received
    assert proxy.all_received == b""
    assert origin.accepted == 0


@pytest.mark.parametrize("client", PROXY_CLIENTS)
def test_honest_proxy_to_the_genuine_server_is_accepted(client: str) -> None:
    with (
        serving(pki().genuine, http_handler()) as origin,
        Server(tunnel_proxy_handler) as proxy,
    ):
        fetched = CLIENTS[client](origin.url, make_client(genuine_policy()), proxy_url(proxy))
    assert fetched == GENUINE_BODY
    assert SECRET.encode() in origin.all_received


def _truststore_pin_only(pinned: PinPolicy) -> ssl.SSLContext:
    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return pinning.pin_context(ctx, pinned)


PIN_ONLY_CONTEXTS: dict[str, Callable[[PinPolicy], ssl.SSLContext]] = {
    "ssl": pin_only_context,
    "truststore": _truststore_pin_only,
}


@pytest.mark.parametrize("kind", PIN_ONLY_CONTEXTS)
@pytest.mark.parametrize("client", PIN_ONLY_CLIENTS)
def test_pin_only_through_the_client(client: str, kind: str) -> None:
    pinned = PIN_ONLY_CONTEXTS[kind](policy({"localhost": [pki().self_signed.pin]}))
    with serving(pki().self_signed, http_handler()) as server:
        assert CLIENTS[client](server.url, pinned, None) == GENUINE_BODY
    with (
        serving(pki().self_signed_other_key, eager_handler()) as server,
        pytest.raises(Exception) as info,
    ):
        CLIENTS[client](server.url, pinned, None)
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert server.all_received == b""
