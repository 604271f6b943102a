"""Pinning a context: :func:`pin_context`, :func:`pinned_policy`, :func:`create_default_context`.

:func:`pin_context` sets ``sslsocket_class`` and ``sslobject_class`` on the caller's own context to
subclasses of the pinned connection classes (``tls.connection``), then proves that the context's
``wrap_socket`` and ``wrap_bio`` really build them before it says the context is pinned.
"""

from __future__ import annotations

import _ssl
import os
import ssl
import sys
import threading
import warnings
from typing import TypeVar, cast

from ..core.errors import NotPinnableError, PinningWarning
from ..policy.policy import PinPolicy
from . import green as _green
from .chain import require_verified_chain
from .connection import Holder, PinnedSSLObject, PinnedSSLSocket, State
from .sessions import SessionMemory
from .wiring import connections_context, prove, type_name

__all__ = ["create_default_context", "pin_context", "pinned_policy"]

_HOLDER_ATTRIBUTE = "_pinning_holder"
# Where truststore turns OpenSSL's verification off and asks the operating system instead.
_OS_VERIFIED = frozenset({"darwin", "win32"})
_INSTALL_LOCK = threading.Lock()
_T = TypeVar("_T")


def _derive(mixin: type[_T], base: type, holder: Holder) -> type[_T]:
    """Return a subclass of ``mixin`` and ``base`` (the context's current class) for ``holder``."""
    stdlib = mixin.__bases__[-1]  # ssl.SSLSocket or ssl.SSLObject, after PinnedConnection
    if not (isinstance(base, type) and issubclass(base, stdlib)):
        green = _green.derive(mixin, base, holder) if isinstance(base, type) else None
        if green is None:
            raise NotPinnableError(
                f"the context's class {base!r} is not a subclass of {stdlib.__name__}, and "
                "pinning has no adapter for it"
            )
        return cast("type[_T]", green)
    if issubclass(base, mixin):  # Pinned for another context: start again from what it wrapped.
        base = getattr(base, "_pinning_base", stdlib)
    bases = (mixin,) if base is stdlib else (mixin, base)
    namespace = {
        "_pinning": holder,
        "_pinning_base": base,
        "__module__": mixin.__module__,
        "__qualname__": mixin.__qualname__,
        "__doc__": mixin.__doc__,
    }
    return cast("type[_T]", type(mixin.__name__, bases, namespace))


def _holder_of(ctx: ssl.SSLContext) -> Holder | None:
    """Return the holder of a context whose wiring was proved and is still in place, or None."""
    holder = getattr(ctx, _HOLDER_ATTRIBUTE, None)
    if not isinstance(holder, Holder):
        return None
    maker = connections_context(ctx)
    if getattr(maker.sslsocket_class, "_pinning", None) is not holder:
        return None
    if getattr(maker.sslobject_class, "_pinning", None) is not holder:
        return None
    return holder


def pin_context(ctx: ssl.SSLContext, policy: PinPolicy) -> ssl.SSLContext:
    """Make ``ctx`` check ``policy`` inside every TLS handshake, and return it.

    Sets ``ctx.sslsocket_class`` and ``ctx.sslobject_class`` to subclasses (of the classes the
    context had) whose ``do_handshake()`` checks the verified chain as soon as the handshake
    completes, so ``wrap_socket``, ``wrap_bio``, asyncio and every client built on them are
    pinned, and a refused peer never receives an application byte. The context's own
    verification still applies: a matching pin never excuses an untrusted chain or a wrong host
    name. Calling it again on the same context replaces the policy atomically.

    Client contexts check the chain against the rule of ``server_hostname`` (an IP address text
    is looked up as such). Without ``server_hostname``, a connection is refused when the policy
    is strict or the context pin-only, and checked against the ``*`` rule otherwise. Under
    ``CERT_NONE`` (pin-only trust) only the leaf counts, and hosts without pins are refused.

    Server contexts (mTLS) must request client certificates: the client's verified chain is
    checked against the policy's ``*`` rule. Under ``CERT_OPTIONAL`` a client that sends no
    certificate is not refused; accepting it is the application's decision.

    Args:
        ctx: The context to pin, client or server; changed in place.
        policy: The pins to enforce.

    Returns:
        ``ctx`` itself.

    Before it returns, it proves that the context's ``wrap_socket`` and ``wrap_bio`` build the
    pinned classes (one connection of each, without a handshake); a context that builds its
    connections some other way is refused, never trusted. ``truststore.SSLContext`` is pinned
    through the inner context that makes its connections, and gevent's context through its own
    socket class.

    Raises:
        TypeError: ``ctx`` is not an :class:`ssl.SSLContext` or ``policy`` not a ``PinPolicy``.
        NotPinnableError: ``ctx``'s ``wrap_socket`` or ``wrap_bio`` does not build the pinned
            classes (a :class:`TypeError`); ``ctx`` is left as it was.
        ValueError: ``ctx`` is a ``PROTOCOL_TLS_SERVER`` context that does not request client
            certificates or asks for them after the handshake (``post_handshake_auth``), or
            ``policy`` has no ``*`` rule to check them against.
        RuntimeError: This Python's :mod:`ssl` cannot give the verified chain.
    """
    # _ssl._SSLContext, not ssl.SSLContext: truststore.inject_into_ssl() and green stacks replace
    # ssl.SSLContext, and a context made before that is still one. The proof below decides.
    if not isinstance(ctx, _ssl._SSLContext):
        raise TypeError(f"ctx must be an ssl.SSLContext, not {type_name(ctx)}")
    if not isinstance(policy, PinPolicy):
        raise TypeError(f"policy must be a PinPolicy, not {type(policy).__name__}")
    require_verified_chain()
    state = State(policy, SessionMemory())
    if ctx.protocol == ssl.PROTOCOL_TLS_SERVER:
        if ctx.verify_mode == ssl.CERT_NONE:
            raise ValueError(
                "a pinned server context checks client certificates, and this one requests none: "
                "set verify_mode to CERT_REQUIRED (or CERT_OPTIONAL) and load the client CAs first"
            )
        if getattr(ctx, "post_handshake_auth", False):
            raise ValueError(
                "a pinned server context checks client certificates in the handshake, and this "
                "one has post_handshake_auth enabled (TLS 1.3 would ask for them afterwards, "
                "unpinned): disable post_handshake_auth"
            )
        if policy.rule_for(None) is None:
            raise ValueError(
                "a pinned server context checks client certificates against the policy's '*' "
                "rule, and this policy has none"
            )
    maker = connections_context(ctx)
    with _INSTALL_LOCK:
        found = getattr(ctx, _HOLDER_ATTRIBUTE, None)
        holder = found if isinstance(found, Holder) else Holder(state)
        classes = (maker.sslsocket_class, maker.sslobject_class)
        try:
            if getattr(maker.sslsocket_class, "_pinning", None) is not holder:
                maker.sslsocket_class = _derive(PinnedSSLSocket, maker.sslsocket_class, holder)
            if getattr(maker.sslobject_class, "_pinning", None) is not holder:
                maker.sslobject_class = _derive(PinnedSSLObject, maker.sslobject_class, holder)
            _green.adapt(maker, holder)
            prove(ctx, holder)  # Decision 9: pinned only once the wiring is proved.
        except BaseException:
            if holder is not found:  # Leave a context that cannot be pinned as it was.
                maker.sslsocket_class, maker.sslobject_class = classes
            raise
        holder.state = state  # A context pinned before swaps its policy atomically.
        setattr(ctx, _HOLDER_ATTRIBUTE, holder)
    if maker is not ctx and sys.platform in _OS_VERIFIED:
        warnings.warn(
            f"truststore on {sys.platform} verifies certificates through the operating system "
            "after the handshake, with OpenSSL's verification off: pinning can check only the "
            "leaf's key (as pin-only), so pins of CA or intermediate keys never match and hosts "
            "without pins are refused; pin the leaf keys, or use an ssl.SSLContext",
            PinningWarning,
            stacklevel=2,
        )
    return ctx


def pinned_policy(ctx: ssl.SSLContext) -> PinPolicy | None:
    """Return the policy :func:`pin_context` installed on ``ctx``, or None if it is not pinned."""
    holder = _holder_of(ctx)
    return None if holder is None else holder.state.policy


def create_default_context(
    policy: PinPolicy,
    *,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
) -> ssl.SSLContext:
    """Return a pinned client context, as :func:`ssl.create_default_context` would make it.

    Certificates and host names are verified (``CERT_REQUIRED``, ``check_hostname``) against the
    CAs given, or the system's when none is, and the chain must then hold one of the host's pins.

    Args:
        policy: The pins to enforce.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.

    Raises:
        ValueError: ``cafile``, ``capath`` or ``cadata`` is empty (``ssl`` would take that for
            "not given" and trust the system's CAs).

    Returns:
        A new ``ssl.SSLContext`` for ``Purpose.SERVER_AUTH``, pinned with ``policy``.
    """
    for name, value in (("cafile", cafile), ("capath", capath), ("cadata", cadata)):
        # ssl takes an empty value for "not given" and would silently trust the system's CAs.
        if value is not None and not (
            value if isinstance(value, (str, bytes)) else os.fspath(value)
        ):
            raise ValueError(f"{name} is empty: give CA certificates, or leave {name} out")
    ctx = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=cafile, capath=capath, cadata=cadata
    )
    return pin_context(ctx, policy)
