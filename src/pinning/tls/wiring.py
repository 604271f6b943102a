"""Proving that a context's connections are pinned, and finding the context that makes them.

``pin_context`` installs pinned classes as the context's ``sslsocket_class`` and
``sslobject_class``; that pins nothing if the context's ``wrap_socket`` or ``wrap_bio`` builds its
connections some other way (a context class that delegates to an inner context, a green stack that
ignores the attribute). So before a context is called pinned, :func:`prove` makes one connection of
each kind through the context's own methods, without a handshake, and checks that each is an
instance of the classes installed for it, with the verify mode and host name check recorded when
its ``_ssl`` object was made. What it cannot prove is refused with :class:`NotPinnableError`.

:func:`connections_context` knows the one delegating context class that is common enough to be
supported: ``truststore.SSLContext`` makes its connections with an inner ``ssl.SSLContext`` (and
verifies with the operating system afterwards where that is not OpenSSL), so the classes go there.
"""

from __future__ import annotations

import _ssl
import socket
import ssl
import sys
from typing import Any, cast

from ..core.errors import NotPinnableError
from .connection import Holder, PinnedConnection

__all__ = ["connections_context", "prove", "type_name"]

# The name the proof's connections are made for; .invalid is reserved (RFC 6761) and the proof
# never reaches a handshake.
_PROOF_NAME = "pinning-proof.invalid"


def type_name(ctx: object) -> str:
    """The qualified name of ``ctx``'s real type (truststore's context masks ``__class__``)."""
    kind = type(ctx)
    return f"{kind.__module__}.{kind.__qualname__}"


def connections_context(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """Return the context whose classes make ``ctx``'s connections: ``ctx`` itself, or the inner
    context of a ``truststore.SSLContext``."""
    truststore = sys.modules.get("truststore")
    if truststore is not None and issubclass(type(ctx), truststore.SSLContext):
        inner = getattr(ctx, "_ctx", None)
        # Not isinstance(inner, ssl.SSLContext): truststore.inject_into_ssl() makes ssl.SSLContext
        # truststore's class, and the inner context is the original one.
        if isinstance(inner, _ssl._SSLContext) and hasattr(inner, "sslsocket_class"):
            return cast("ssl.SSLContext", inner)
    return ctx


def _require(conn: Any, holder: Holder, method: str, ctx: ssl.SSLContext) -> None:
    made = type(conn)
    if (
        isinstance(conn, PinnedConnection)
        and getattr(made, "_pinning", None) is holder
        and getattr(conn, "_pinning_recorded", False)
    ):
        return
    raise NotPinnableError(
        f"cannot pin a {type_name(ctx)}: its {method}() builds {made.__module__}."
        f"{made.__qualname__} connections instead of the pinned classes installed on it, so no "
        "pin would be checked. Use an ssl.SSLContext (pinning.create_default_context), or a "
        "stack pinning has an adapter for (docs/clients.md)."
    )


def prove(ctx: ssl.SSLContext, holder: Holder) -> None:
    """Make one connection with ``ctx.wrap_socket`` and one with ``ctx.wrap_bio`` (no handshake)
    and check that both are pinned with ``holder``.

    Raises:
        NotPinnableError: Either is not, or the context cannot make them; the message names the
            context's type.
    """
    server_side = ctx.protocol == ssl.PROTOCOL_TLS_SERVER
    name = None if server_side else _PROOF_NAME
    ends = socket.socketpair()
    try:
        try:
            conn = ctx.wrap_socket(
                ends[0],
                server_side=server_side,
                server_hostname=name,
                do_handshake_on_connect=False,
            )
        except Exception as exc:
            raise NotPinnableError(
                f"cannot pin a {type_name(ctx)}: pinning could not prove its wrap_socket() builds "
                f"pinned connections ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            _require(conn, holder, "wrap_socket", ctx)
        finally:
            conn.close()
        try:
            obj = ctx.wrap_bio(
                ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=server_side, server_hostname=name
            )
        except Exception as exc:
            raise NotPinnableError(
                f"cannot pin a {type_name(ctx)}: pinning could not prove its wrap_bio() builds "
                f"pinned connections ({type(exc).__name__}: {exc})"
            ) from exc
        _require(obj, holder, "wrap_bio", ctx)
    finally:
        for end in ends:
            end.close()
