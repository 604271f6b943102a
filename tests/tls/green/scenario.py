"""One green-stack scenario, run in a fresh process (monkey-patching is process-global).

Usage: ``python scenario.py STACK ORDER CONFIG``, where STACK is ``gevent`` or ``eventlet``, ORDER
is ``pinning-first`` (``import pinning``, then patch), ``patch-first`` (patch, then import) or
``pinned-before`` (a context pinned before patching, used after), and CONFIG is a JSON file the
test wrote: the CA certificates to trust, the genuine CA certificate to pin and, per client, the
ports of the servers it must try. The servers run in the test's own (unpatched) process, which sees
every byte they receive. The results go to stdout as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def patch(stack: str) -> None:
    if stack == "gevent":
        import gevent.monkey

        gevent.monkey.patch_all()
    else:
        import eventlet

        eventlet.monkey_patch()


STACK, ORDER, CONFIG = sys.argv[1], sys.argv[2], json.loads(Path(sys.argv[3]).read_text())
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for tlsutil

if ORDER == "patch-first":
    patch(STACK)

import http.client  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402

import requests  # noqa: E402
from tlsutil import (  # noqa: E402
    HOST,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    policy,
)

import pinning  # noqa: E402
import pinning.requests  # noqa: E402
from pinning import find_pin_mismatch  # noqa: E402
from pinning.policy.pins import Pin  # noqa: E402
from pinning.tls.connection import PinnedConnection, PinnedSSLObject, PinnedSSLSocket  # noqa: E402

CADATA: str = CONFIG["cadata"]
POLICY = policy({HOST: [Pin.from_certificate(CONFIG["genuine_ca_pem"].encode())]})
BODY = f"password={SECRET}".encode()
HEADERS = {"X-Secret": SECRET, "Content-Type": "text/plain"}
REQUEST = (
    f"POST / HTTP/1.1\r\nHost: {HOST}\r\nX-Secret: {SECRET}\r\n"
    f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
).encode() + BODY

PINNED_BEFORE: ssl.SSLContext | None = None
if ORDER == "pinned-before":
    PINNED_BEFORE = pinning.create_default_context(POLICY, cadata=CADATA)
    patch(STACK)
elif ORDER == "pinning-first":
    patch(STACK)


def qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def default_context() -> ssl.SSLContext:
    if PINNED_BEFORE is not None:
        return PINNED_BEFORE
    return pinning.create_default_context(POLICY, cadata=CADATA)


def read_answer(tls: Any) -> bytes:
    """Read one HTTP answer (Content-Length body) and return its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


def exchange(tls: Any) -> bytes:
    with tls:
        tls.sendall(REQUEST)
        return read_answer(tls)


def connected(port: int) -> socket.socket:
    return socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)


def via_wrap_socket(port: int) -> bytes:
    raw = connected(port)
    try:
        tls = default_context().wrap_socket(raw, server_hostname=HOST)
    except BaseException:
        raw.close()
        raise
    return exchange(tls)


def via_deferred_handshake(port: int) -> bytes:
    # do_handshake_on_connect=False and straight to sendall(): the handshake runs implicitly, and
    # the pins must be checked before the request is written.
    raw = connected(port)
    tls = default_context().wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
    return exchange(tls)


def via_explicit_handshake(port: int) -> bytes:
    raw = connected(port)
    tls = default_context().wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
    try:
        tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return exchange(tls)


def via_connect(port: int) -> bytes:
    # Wrapped before it is connected: the _ssl object is made in connect().
    tls = default_context().wrap_socket(socket.socket(), server_hostname=HOST)
    tls.settimeout(TIMEOUT)
    try:
        tls.connect((LOOPBACK, port))
    except BaseException:
        tls.close()
        raise
    return exchange(tls)


def via_pin_context(port: int) -> bytes:
    # pin_context on the stack's own SSLContext (ssl.SSLContext is that class once patched).
    if PINNED_BEFORE is not None:
        ctx = PINNED_BEFORE
    else:
        made = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        made.load_verify_locations(cadata=CADATA)
        ctx = pinning.pin_context(made, POLICY)
    raw = connected(port)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=HOST)
    except BaseException:
        raw.close()
        raise
    return exchange(tls)


def via_http_client(port: int) -> bytes:
    conn = http.client.HTTPSConnection(HOST, port, context=default_context(), timeout=TIMEOUT)
    try:
        conn.request("POST", "/", body=BODY, headers=HEADERS)
        return conn.getresponse().read()
    finally:
        conn.close()


def via_pinned_session(port: int) -> bytes:
    if PINNED_BEFORE is not None:
        session = requests.Session()
        session.mount("https://", pinning.requests.PinningAdapter(ssl_context=PINNED_BEFORE))
    else:
        session = pinning.requests.pinned_session(POLICY, cadata=CADATA)
    with session:
        session.trust_env = False
        url = f"https://{HOST}:{port}/"
        return session.post(url, data=BODY, headers=HEADERS, timeout=TIMEOUT).content


def via_pinning_adapter(port: int) -> bytes:
    if PINNED_BEFORE is not None:
        ctx = PINNED_BEFORE
    else:
        ctx = pinning.pin_context(ssl.create_default_context(cadata=CADATA), POLICY)
    with requests.Session() as session:
        session.trust_env = False
        session.mount("https://", pinning.requests.PinningAdapter(ssl_context=ctx))
        url = f"https://{HOST}:{port}/"
        return session.post(url, data=BODY, headers=HEADERS, timeout=TIMEOUT).content


CLIENTS = {
    "wrap_socket": via_wrap_socket,
    "deferred-handshake": via_deferred_handshake,
    "explicit-handshake": via_explicit_handshake,
    "connect": via_connect,
    "pin_context": via_pin_context,
    "http.client": via_http_client,
    "requests-pinned_session": via_pinned_session,
    "requests-PinningAdapter": via_pinning_adapter,
}


def chain(exc: BaseException) -> list[str]:
    seen: list[str] = []
    item: BaseException | None = exc
    while item is not None and len(seen) < 20:
        seen.append(qualified(type(item)))
        item = item.__cause__ or item.__context__
    return seen


def attempt(client: str, port: int) -> dict[str, Any]:
    try:
        body = CLIENTS[client](port)
    except Exception as exc:
        return {
            "body": None,
            "error": qualified(type(exc)),
            "message": str(exc)[:500],
            "chain": chain(exc),
            "pin_mismatch": find_pin_mismatch(exc) is not None,
        }
    return {"body": body.decode("latin-1"), "error": None}


def facts() -> dict[str, Any]:
    """What the process looks like: which classes pinning derived from, what a context builds."""
    found: dict[str, Any] = {
        "backend": pinning.BACKEND,
        "ssl.SSLSocket": qualified(ssl.SSLSocket),
        "PinnedSSLSocket base": qualified(PinnedSSLSocket.__bases__[-1]),
        "PinnedSSLObject base": qualified(PinnedSSLObject.__bases__[-1]),
    }
    try:
        ctx = default_context()
        found["context"] = qualified(type(ctx))
        found["sslsocket_class mro"] = [qualified(kind) for kind in ctx.sslsocket_class.__mro__]
        found["pinned"] = pinning.pinned_policy(ctx) is POLICY
        ends = socket.socketpair()
        try:
            made = ctx.wrap_socket(ends[0], server_hostname=HOST, do_handshake_on_connect=False)
            found["wrap_socket recorded"] = isinstance(made, PinnedConnection) and bool(
                made._pinning_recorded
            )
            made.close()
        finally:
            for end in ends:
                end.close()
        found["wrap_bio pinned"] = isinstance(
            ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=HOST), PinnedSSLObject
        )
    except Exception as exc:
        found["context error"] = f"{qualified(type(exc))}: {exc}"[:500]
    found["custom"] = custom_context_is_refused()
    return found


def custom_context_is_refused() -> str:
    """A subclass of the stack's context whose own wrap_socket ignores sslsocket_class: pin_context
    must refuse it, naming its type, and leave it as it was."""
    base: Any = ssl.SSLContext
    if qualified(base) == "ssl.SSLContext":
        return "not patched"

    class IgnoresClass(base):  # type: ignore[misc,valid-type]
        def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
            kind = qualified(type(self).__mro__[1])
            if kind.startswith("gevent"):
                import gevent.ssl

                return gevent.ssl.SSLSocket(sock=sock, _context=self, **kwargs)
            from eventlet.green.ssl import GreenSSLSocket

            return GreenSSLSocket(sock, *args, _context=self, **kwargs)

    ctx = IgnoresClass(ssl.PROTOCOL_TLS_CLIENT)
    before = ctx.sslsocket_class
    try:
        pinning.pin_context(ctx, POLICY)
    except pinning.NotPinnableError as exc:
        if "IgnoresClass" not in str(exc) or ctx.sslsocket_class is not before:
            return f"refused badly: {exc}"
        return "refused"
    except Exception as exc:
        return f"{qualified(type(exc))}: {exc}"
    return "pinned"


def main() -> None:
    results: dict[str, Any] = {"facts": facts(), "attempts": {}}
    for client, ports in CONFIG["servers"].items():
        results["attempts"][client] = {kind: attempt(client, port) for kind, port in ports.items()}
    sys.stdout.write(json.dumps(results) + "\n")
    sys.stdout.flush()


main()
