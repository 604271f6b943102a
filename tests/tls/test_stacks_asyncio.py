"""The asyncio stacks of a Python gateway, as rows of the conformance matrix: uvloop, websockets,
httpx over HTTP/2, and grpclib.

Each stack (a client on an event loop) meets a genuine server of its own protocol (HTTP/1.1,
HTTP/2 with ALPN ``h2``, WebSocket, gRPC) and three attackers: a certificate from a rogue CA the
client trusts, the same rogue chain stuffed with the genuine CA's certificate, and a rogue
self-signed certificate the client also trusts (so that only the pins stop each of them). The
attackers answer eagerly, right after the handshake (an HTTP answer, or the HTTP/2 preface), and
record every byte they receive: a refused client must have written none, nor even tried to read
(``record_io``), and ``find_pin_mismatch`` must find the PinMismatch in what the client raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import ssl
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpclib.client
import grpclib.const
import grpclib.server
import httpx
import pytest
import uvloop
import websockets.asyncio.client
import websockets.asyncio.server
import websockets.sync.client
from grpclib.encoding.base import CodecBase
from tlsutil import (
    ATTACKER_IDENTITIES,
    GENUINE_BODY,
    HOST,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    LoopThread,
    Server,
    alpn_server_context,
    eager_h2_handler,
    eager_handler,
    genuine_policy,
    h2_handler,
    http_handler,
    pki,
    record_io,
    server_context,
    trusting_client_context,
)

from pinning import find_pin_mismatch

SyncFetch = Callable[[int, ssl.SSLContext], bytes]

REQUEST = (
    f"POST / HTTP/1.1\r\nHost: {HOST}\r\nX-Secret: {SECRET}\r\nContent-Length: {len(SECRET)}\r\n"
    f"Connection: close\r\n\r\n{SECRET}"
).encode()

LOOPS: dict[str, Callable[[Awaitable[Any]], Any]] = {
    "asyncio": asyncio.run,  # type: ignore[dict-item]
    "uvloop": uvloop.run,  # type: ignore[dict-item]
}


# --- The clients: each fetches from the server on ``port`` with ``ctx`` and returns the answer ----


async def _http_over(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    try:
        writer.write(REQUEST)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return answer.partition(b"\r\n\r\n")[2]


async def open_connection(port: int, ctx: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port, ssl=ctx)
    return await _http_over(reader, writer)


class _Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def create_connection(port: int, ctx: ssl.SSLContext) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(_Collect, HOST, port, ssl=ctx)
    try:
        transport.write(REQUEST)
        await asyncio.wait_for(protocol.done, TIMEOUT)
    finally:
        transport.close()
    return protocol.data.partition(b"\r\n\r\n")[2]


async def start_tls(port: int, ctx: ssl.SSLContext, server_hostname: str | None = HOST) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(_Collect, LOOPBACK, port)
    try:
        tls = await loop.start_tls(transport, protocol, ctx, server_hostname=server_hostname)
    except BaseException:
        transport.close()
        raise
    assert tls is not None
    try:
        tls.write(REQUEST)
        await asyncio.wait_for(protocol.done, TIMEOUT)
    finally:
        tls.close()
    return protocol.data.partition(b"\r\n\r\n")[2]


async def stream_start_tls(port: int, ctx: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        await writer.start_tls(ctx, server_hostname=HOST)
    except BaseException:
        writer.close()
        raise
    return await _http_over(reader, writer)


async def aiohttp_get(port: int, ctx: ssl.SSLContext) -> bytes:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with (
        aiohttp.ClientSession(connector=connector, trust_env=False, timeout=timeout) as session,
        session.post(
            f"https://{HOST}:{port}/", data=SECRET, headers={"X-Secret": SECRET}
        ) as response,
    ):
        return await response.read()


async def websockets_asyncio(port: int, ctx: ssl.SSLContext) -> bytes:
    async with websockets.asyncio.client.connect(
        f"wss://{HOST}:{port}/", ssl=ctx, open_timeout=3 * TIMEOUT, proxy=None
    ) as ws:
        await ws.send(SECRET)
        answer = await asyncio.wait_for(ws.recv(), TIMEOUT)
    return answer if isinstance(answer, bytes) else answer.encode()


def websockets_sync(port: int, ctx: ssl.SSLContext) -> bytes:
    with websockets.sync.client.connect(
        f"wss://{HOST}:{port}/", ssl=ctx, open_timeout=3 * TIMEOUT, proxy=None
    ) as ws:
        ws.send(SECRET)
        answer = ws.recv(TIMEOUT)
    return answer if isinstance(answer, bytes) else answer.encode()


def _check_h2(response: httpx.Response) -> bytes:
    assert response.http_version == "HTTP/2", response.http_version
    return response.content


def httpx_h2(port: int, ctx: ssl.SSLContext) -> bytes:
    with httpx.Client(verify=ctx, http2=True, trust_env=False, timeout=TIMEOUT) as client:
        return _check_h2(
            client.post(f"https://{HOST}:{port}/", content=SECRET, headers={"X-Secret": SECRET})
        )


async def httpx_h2_async(port: int, ctx: ssl.SSLContext) -> bytes:
    async with httpx.AsyncClient(
        verify=ctx, http2=True, trust_env=False, timeout=TIMEOUT
    ) as client:
        return _check_h2(
            await client.post(
                f"https://{HOST}:{port}/", content=SECRET, headers={"X-Secret": SECRET}
            )
        )


class RawCodec(CodecBase):
    """gRPC messages as raw bytes: no protobuf needed."""

    __content_subtype__ = "proto"

    def encode(self, message: Any, message_type: Any) -> bytes:
        return bytes(message)

    def decode(self, data: bytes, message_type: Any) -> Any:
        return data


ECHO = "/pinning.test.Echo/Call"


async def grpclib_call(port: int, ctx: ssl.SSLContext) -> bytes:
    ctx.set_alpn_protocols(["h2"])
    channel = grpclib.client.Channel(HOST, port, ssl=ctx, codec=RawCodec())
    try:
        method: Any = grpclib.client.UnaryUnaryMethod(channel, ECHO, bytes, bytes)
        return bytes(await method(SECRET.encode(), timeout=TIMEOUT))
    finally:
        await _close(channel)


async def _close(channel: grpclib.client.Channel) -> None:
    """Close ``channel`` and wait until its connection is lost: grpclib's close() does not, and
    uvloop refuses to close a loop with an SSL transport still shutting down."""
    protocol: Any = channel._protocol
    if protocol is None:
        channel.close()
        return
    lost = asyncio.Event()
    connection_lost = protocol.connection_lost

    def on_lost(exc: BaseException | None) -> None:
        connection_lost(exc)
        lost.set()

    protocol.connection_lost = on_lost
    channel.close()
    await asyncio.wait_for(lost.wait(), TIMEOUT)


# --- The servers ---------------------------------------------------------------------------------


@dataclass
class LoopServer:
    """A genuine server running on a :class:`LoopThread`: its port and what it received."""

    port: int = 0
    received: list[bytes] = field(default_factory=list)

    @property
    def all_received(self) -> bytes:
        return b"".join(self.received)


async def _stop(server: Any) -> None:
    """Close a server on its own loop and wait for it."""
    server.close()
    await server.wait_closed()


@contextlib.contextmanager
def websockets_server() -> Iterator[LoopServer]:
    """A real websockets server: answers each message with GENUINE_BODY."""
    found = LoopServer()
    ctx = server_context(pki().genuine)

    async def echo(ws: Any) -> None:
        async for message in ws:
            found.received.append(message if isinstance(message, bytes) else message.encode())
            await ws.send(GENUINE_BODY)

    async def start() -> Any:
        return await websockets.asyncio.server.serve(echo, LOOPBACK, 0, ssl=ctx)

    with LoopThread() as loop:
        server: Any = loop.run(start())
        found.port = server.sockets[0].getsockname()[1]
        try:
            yield found
        finally:
            loop.run(_stop(server))


class Echo:
    """A gRPC service defined by hand (``__mapping__``): records the request, answers
    GENUINE_BODY."""

    def __init__(self, found: LoopServer) -> None:
        self.found = found

    async def call(self, stream: Any) -> None:
        self.found.received.append(await stream.recv_message())
        await stream.send_message(GENUINE_BODY)

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        return {
            ECHO: grpclib.const.Handler(
                self.call, grpclib.const.Cardinality.UNARY_UNARY, bytes, bytes
            )
        }


@contextlib.contextmanager
def grpclib_server() -> Iterator[LoopServer]:
    """A real grpclib server with the Echo service, over TLS with ALPN h2."""
    found = LoopServer()
    ctx = alpn_server_context(pki().genuine, ["h2"])
    listener = socket.create_server((LOOPBACK, 0))
    found.port = listener.getsockname()[1]
    with LoopThread() as loop:

        async def start() -> grpclib.server.Server:
            server = grpclib.server.Server([Echo(found)], codec=RawCodec())
            await server.start(sock=listener, ssl=ctx)
            return server

        server: Any = loop.run(start())
        try:
            yield found
        finally:
            loop.run(_stop(server))


@contextlib.contextmanager
def _threaded(handler: Any, ctx: ssl.SSLContext) -> Iterator[Server]:
    with Server(handler, ctx) as server:
        yield server


Kind = tuple[
    Callable[[], contextlib.AbstractContextManager[Any]],  # the genuine server
    Callable[[str], contextlib.AbstractContextManager[Server]],  # an attacker, by identity
]

HTTP1: Kind = (
    lambda: _threaded(http_handler(), server_context(pki().genuine)),
    lambda name: _threaded(eager_handler(), server_context(getattr(pki(), name))),
)
HTTP2: Kind = (
    lambda: _threaded(h2_handler(), alpn_server_context(pki().genuine, ["h2"])),
    lambda name: _threaded(
        eager_h2_handler, alpn_server_context(getattr(pki(), name), ["h2", "http/1.1"])
    ),
)
WEBSOCKET: Kind = (
    websockets_server,
    lambda name: _threaded(eager_handler(), server_context(getattr(pki(), name))),
)
GRPC: Kind = (
    grpclib_server,
    lambda name: _threaded(eager_h2_handler, alpn_server_context(getattr(pki(), name), ["h2"])),
)


def _on(loop: str, fetch: Callable[[int, ssl.SSLContext], Awaitable[bytes]]) -> Any:
    return lambda port, ctx: LOOPS[loop](fetch(port, ctx))


def _collecting(run: SyncFetch) -> SyncFetch:
    """On 3.10, websockets' asyncio client leaves asyncio's old SSL transport unclosed (an unpinned
    context too): collect it right after the row, not in whichever later test (or at the very end
    of the session) the garbage collector gets to it. 3.11 rewrote the transport."""
    if sys.version_info >= (3, 11):
        return run

    def collected(port: int, ctx: ssl.SSLContext) -> bytes:
        try:
            return run(port, ctx)
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    return collected


# name: (how to fetch, the kind of server)
STACKS: dict[str, tuple[Callable[[int, ssl.SSLContext], bytes], Kind]] = {
    "uvloop-open_connection": (_on("uvloop", open_connection), HTTP1),
    "uvloop-create_connection": (_on("uvloop", create_connection), HTTP1),
    "uvloop-start_tls": (_on("uvloop", start_tls), HTTP1),
    "uvloop-aiohttp": (_on("uvloop", aiohttp_get), HTTP1),
    "websockets-asyncio": (_collecting(_on("asyncio", websockets_asyncio)), WEBSOCKET),
    "websockets-asyncio-uvloop": (_on("uvloop", websockets_asyncio), WEBSOCKET),
    "websockets-sync": (websockets_sync, WEBSOCKET),
    "httpx-http2": (httpx_h2, HTTP2),
    "httpx-http2-async": (_on("asyncio", httpx_h2_async), HTTP2),
    "grpclib": (_on("asyncio", grpclib_call), GRPC),
    "grpclib-uvloop": (_on("uvloop", grpclib_call), GRPC),
}
if sys.version_info >= (3, 11):  # StreamWriter.start_tls is new in 3.11
    STACKS["uvloop-StreamWriter.start_tls"] = (_on("uvloop", stream_start_tls), HTTP1)


@pytest.mark.parametrize("stack", STACKS)
def test_genuine_server_is_accepted(stack: str, active_backend: str) -> None:
    fetch, (genuine, _) = STACKS[stack]
    ctx = trusting_client_context(genuine_policy())
    attempts = record_io(ctx)
    with genuine() as server:
        assert fetch(server.port, ctx) == GENUINE_BODY
    assert SECRET.encode() in server.all_received  # The request did go through,
    assert attempts  # through the pinned classes.


@pytest.mark.parametrize("attacker", ATTACKER_IDENTITIES)
@pytest.mark.parametrize("stack", STACKS)
def test_attacker_is_refused_in_the_handshake_before_any_write(
    stack: str, attacker: str, active_backend: str
) -> None:
    fetch, (_, attacking) = STACKS[stack]
    ctx = trusting_client_context(genuine_policy())
    attempts = record_io(ctx)
    with attacking(ATTACKER_IDENTITIES[attacker]) as server, pytest.raises(Exception) as info:
        fetch(server.port, ctx)
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert attempts == []  # The client never even tried to write (or read) application data.
    assert server.accepted >= 1
    assert server.all_received == b""  # Not one byte of the request.


# --- Attempts to get a byte through --------------------------------------------------------------


async def _start_tls_unnamed(port: int, ctx: ssl.SSLContext) -> bytes:
    """loop.start_tls without a name (StreamWriter.start_tls, from 3.11, makes the same call)."""
    return await start_tls(port, ctx, server_hostname=None)


@pytest.mark.parametrize("loop", LOOPS)
def test_start_tls_without_a_name_under_a_strict_policy_is_refused(
    loop: str, active_backend: str
) -> None:
    ctx = trusting_client_context(genuine_policy(strict=True))
    attempts = record_io(ctx)
    with (
        _threaded(eager_handler(), server_context(pki().rogue)) as server,
        pytest.raises(Exception) as info,
    ):
        LOOPS[loop](_start_tls_unnamed(server.port, ctx))
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert attempts == []
    assert server.all_received == b""


@pytest.mark.parametrize("loop", LOOPS)
def test_start_tls_without_a_name_is_refused(loop: str, active_backend: str) -> None:
    """With check_hostname on and no server_hostname, wrap_bio makes a connection whose name
    nobody checks: pinning refuses it whatever the policy (no strict, no '*' rule here)."""
    ctx = trusting_client_context(genuine_policy())
    with (
        _threaded(eager_handler(), server_context(pki().rogue)) as server,
        pytest.raises(Exception) as info,
    ):
        LOOPS[loop](_start_tls_unnamed(server.port, ctx))
    mismatch = find_pin_mismatch(info.value)
    assert mismatch is not None and "without server_hostname" in str(mismatch), repr(info.value)
    assert server.all_received == b""


@pytest.mark.parametrize("loop", LOOPS)
def test_a_context_shared_by_concurrent_connections_refuses_each_attacker(
    loop: str, active_backend: str
) -> None:
    """One pinned context, genuine and rogue connections at once on one loop: each rogue one is
    refused, each genuine one passes."""
    ctx = trusting_client_context(genuine_policy())

    async def both(genuine: int, rogue: int) -> list[Any]:
        calls = [open_connection(genuine, ctx), open_connection(rogue, ctx)] * 4
        return await asyncio.gather(*calls, return_exceptions=True)

    with HTTP1[0]() as genuine, HTTP1[1]("rogue") as rogue:
        results = LOOPS[loop](both(genuine.port, rogue.port))
    assert results[0::2] == [GENUINE_BODY] * 4
    assert all(find_pin_mismatch(result) is not None for result in results[1::2]), results
    assert rogue.all_received == b""
