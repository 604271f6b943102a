"""trio, anyio on the trio backend, and httpx on trio, as rows of the conformance matrix.

trio's ``SSLStream`` drives an ``ssl.SSLObject`` from the context's ``wrap_bio``, as asyncio does,
so the pinned class checks the pins when the handshake completes, inside ``do_handshake``. Each
stack meets the genuine server and three attackers (a rogue CA the client trusts, the rogue chain
stuffed with the genuine CA's certificate, a rogue self-signed certificate the client trusts), which
answer eagerly right after the handshake and record every byte they receive.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import trio
from tlsutil import (
    ATTACKER_IDENTITIES,
    GENUINE_BODY,
    HOST,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    Identity,
    Server,
    alpn_server_context,
    eager_h2_handler,
    eager_handler,
    genuine_policy,
    h2_handler,
    http_handler,
    pki,
    policy,
    record_io,
    server_context,
    trusting_client_context,
)

from pinning import find_pin_mismatch

REQUEST = (
    f"POST / HTTP/1.1\r\nHost: {HOST}\r\nX-Secret: {SECRET}\r\nContent-Length: {len(SECRET)}\r\n"
    f"Connection: close\r\n\r\n{SECRET}"
).encode()


_ENDED = (anyio.EndOfStream, trio.BrokenResourceError, anyio.BrokenResourceError)


async def _exchange(stream: Any) -> bytes:
    """Send REQUEST on ``stream`` (trio's or anyio's), read the answer until the end, close."""
    trio_api = hasattr(stream, "send_all")
    answer = b""
    try:
        with trio.fail_after(TIMEOUT):
            await (stream.send_all(REQUEST) if trio_api else stream.send(REQUEST))
            while True:
                try:
                    chunk = await (
                        stream.receive_some(65536) if trio_api else stream.receive(65536)
                    )
                except _ENDED:  # The server closes without close_notify.
                    break
                if not chunk:
                    break
                answer += chunk
    finally:
        with contextlib.suppress(*_ENDED, ssl.SSLError, OSError):
            await stream.aclose()
    return answer.partition(b"\r\n\r\n")[2]


async def ssl_stream(port: int, ctx: ssl.SSLContext, hostname: str | None = HOST) -> bytes:
    tcp = await trio.open_tcp_stream(LOOPBACK, port)
    stream = trio.SSLStream(tcp, ctx, server_hostname=hostname, https_compatible=True)
    try:
        with trio.fail_after(TIMEOUT):
            await stream.do_handshake()
    except BaseException:
        await tcp.aclose()
        raise
    return await _exchange(stream)


async def ssl_stream_implicit(port: int, ctx: ssl.SSLContext) -> bytes:
    """No explicit do_handshake(): trio runs it on the first send."""
    tcp = await trio.open_tcp_stream(LOOPBACK, port)
    stream = trio.SSLStream(tcp, ctx, server_hostname=HOST, https_compatible=True)
    try:
        return await _exchange(stream)
    finally:
        await tcp.aclose()


async def open_ssl_over_tcp_stream(port: int, ctx: ssl.SSLContext) -> bytes:
    stream = await trio.open_ssl_over_tcp_stream(HOST, port, ssl_context=ctx, https_compatible=True)
    return await _exchange(stream)


async def anyio_connect_tcp(port: int, ctx: ssl.SSLContext) -> bytes:
    with anyio.fail_after(TIMEOUT):
        stream = await anyio.connect_tcp(HOST, port, tls=True, ssl_context=ctx)
    return await _exchange(stream)


async def httpx_trio(port: int, ctx: ssl.SSLContext) -> bytes:
    async with httpx.AsyncClient(verify=ctx, trust_env=False, timeout=TIMEOUT) as client:
        response = await client.post(
            f"https://{HOST}:{port}/", content=SECRET, headers={"X-Secret": SECRET}
        )
        return response.content


async def httpx_h2_trio(port: int, ctx: ssl.SSLContext) -> bytes:
    async with httpx.AsyncClient(
        verify=ctx, http2=True, trust_env=False, timeout=TIMEOUT
    ) as client:
        response = await client.post(
            f"https://{HOST}:{port}/", content=SECRET, headers={"X-Secret": SECRET}
        )
        assert response.http_version == "HTTP/2", response.http_version
        return response.content


def _trio(fetch: Callable[[int, ssl.SSLContext], Awaitable[bytes]]) -> Any:
    return lambda port, ctx: trio.run(fetch, port, ctx)


def _anyio_on_trio(fetch: Callable[[int, ssl.SSLContext], Awaitable[bytes]]) -> Any:
    return lambda port, ctx: anyio.run(fetch, port, ctx, backend="trio")


@contextlib.contextmanager
def _threaded(handler: Any, ctx: ssl.SSLContext) -> Iterator[Server]:
    with Server(handler, ctx) as server:
        yield server


Kind = tuple[Callable[[], Any], Callable[[str], Any]]
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

STACKS: dict[str, tuple[Callable[[int, ssl.SSLContext], bytes], Kind]] = {
    "trio-SSLStream": (_trio(ssl_stream), HTTP1),
    "trio-SSLStream-implicit-handshake": (_trio(ssl_stream_implicit), HTTP1),
    "trio-open_ssl_over_tcp_stream": (_trio(open_ssl_over_tcp_stream), HTTP1),
    "anyio-trio-connect_tcp": (_anyio_on_trio(anyio_connect_tcp), HTTP1),
    "httpx-trio": (_trio(httpx_trio), HTTP1),
    "httpx-http2-trio": (_trio(httpx_h2_trio), HTTP2),
}


@pytest.mark.parametrize("stack", STACKS)
def test_genuine_server_is_accepted(stack: str, active_backend: str) -> None:
    fetch, (genuine, _) = STACKS[stack]
    ctx = trusting_client_context(genuine_policy())
    attempts = record_io(ctx)
    with genuine() as server:
        assert fetch(server.port, ctx) == GENUINE_BODY
    assert SECRET.encode() in server.all_received
    assert attempts


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
    assert attempts == []
    assert server.accepted >= 1
    assert server.all_received == b""


# --- Attempts to get a byte through --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def rogue_other_name() -> Identity:
    """A certificate for other.example from the rogue CA (which the client trusts)."""
    leaf = pki().rogue_ca.issue_cert("other.example")
    return Identity(
        leaf.private_key_pem.bytes(), tuple(blob.bytes() for blob in leaf.cert_chain_pems)
    )


def test_another_server_hostname_is_refused_for_its_own_name(active_backend: str) -> None:
    """SSLStream with a server_hostname other than the host connected to: OpenSSL verifies the
    certificate against that name, and the pins of that name apply; the rogue's localhost
    certificate is refused for other.example (a name error), and a rogue with an other.example
    certificate from a trusted CA is refused by the pins of a policy that pins other.example."""
    ctx = trusting_client_context(genuine_policy())
    with HTTP1[1]("rogue") as server, pytest.raises(trio.BrokenResourceError) as info:
        trio.run(ssl_stream, server.port, ctx, "other.example")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert find_pin_mismatch(info.value) is None  # OpenSSL's name check refused it first.
    assert server.all_received == b""
    other = trusting_client_context(policy({"other.example": [pki().genuine_ca_pin]}))
    with (
        _threaded(http_handler(), server_context(pki().genuine_other_name)) as genuine,
        _threaded(eager_handler(), server_context(rogue_other_name())) as server,
        pytest.raises(trio.BrokenResourceError) as info,
    ):
        assert trio.run(ssl_stream, genuine.port, other, "other.example") == GENUINE_BODY
        trio.run(ssl_stream, server.port, other, "other.example")
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert server.all_received == b""


def test_one_context_shared_by_concurrent_streams(active_backend: str) -> None:
    ctx = trusting_client_context(genuine_policy())
    results: list[Any] = []

    async def both(genuine: int, rogue: int) -> None:
        async def one(port: int) -> None:
            try:
                results.append(await ssl_stream(port, ctx))
            except Exception as exc:
                results.append(exc)

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one, genuine)
                nursery.start_soon(one, rogue)

    with HTTP1[0]() as genuine, HTTP1[1]("rogue") as rogue:
        trio.run(both, genuine.port, rogue.port)
    assert results.count(GENUINE_BODY) == 4, results
    assert sum(find_pin_mismatch(result) is not None for result in results) == 4, results
    assert rogue.all_received == b""


def test_ssl_stream_without_a_name_is_refused(active_backend: str) -> None:
    """As for start_tls: no name under check_hostname is refused whatever the policy."""
    ctx = trusting_client_context(genuine_policy())
    with HTTP1[1]("rogue") as server, pytest.raises(Exception) as info:
        trio.run(ssl_stream, server.port, ctx, None)
    mismatch = find_pin_mismatch(info.value)
    assert mismatch is not None and "without server_hostname" in str(mismatch), repr(info.value)
    assert server.all_received == b""


def test_ssl_stream_without_a_name_under_a_strict_policy_is_refused(active_backend: str) -> None:
    ctx = trusting_client_context(genuine_policy(strict=True))
    attempts = record_io(ctx)
    with HTTP1[1]("rogue") as server, pytest.raises(Exception) as info:
        trio.run(ssl_stream, server.port, ctx, None)
    assert find_pin_mismatch(info.value) is not None, repr(info.value)
    assert attempts == []
    assert server.all_received == b""
