"""The pinned connection classes: the check that runs inside the TLS handshake.

:func:`pinning.pin_context` derives, per context, subclasses of :class:`PinnedSSLSocket` and
:class:`PinnedSSLObject` (and of the context's own classes) whose ``do_handshake()`` checks the
policy as soon as the handshake has finished. ``wrap_socket`` (with or without
``do_handshake_on_connect``), ``wrap_bio``, asyncio's SSL transport and every HTTP client built on
them go through those methods, so a refused peer never receives an application byte. The read and
write methods run the handshake and the check first if the caller skipped ``do_handshake()``
(OpenSSL would otherwise complete the handshake implicitly, unchecked), and keep refusing after a
failure.

Each context holds one state (policy, the memory of passed sessions) behind a single reference
(:class:`Holder`); a handshake reads it once, so replacing it with another policy is atomic: a
handshake uses the old policy or the new one, never a mix.

Decisions cited by number are those of ARCHITECTURE.md.
"""

from __future__ import annotations

import _ssl
import contextlib
import datetime as dt
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..core.errors import NotPinnableError
from ..policy.failure import PinMismatch
from ..policy.hosts import canonical_host
from ..policy.metrics import PASSED, REFUSED, RESUMED
from ..policy.pins import quote
from ..policy.policy import UNNAMED_PEER, PinPolicy
from .chain import CERTIFICATE_OBJECTS as _OBJECTS
from .chain import (
    ServedChain,
    der,
    peer_leaf,
    verified_chain,
)
from .hostname import leaf_matches_name
from .sessions import SessionMemory

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = [
    "Holder",
    "PinnedConnection",
    "PinnedSSLObject",
    "PinnedSSLSocket",
    "State",
    "close_refused",
]

# The session-memory key of every peer checked against the "*" rule alone.
_ANY_HOST = "*"
# The context's verify mode as the int OpenSSL holds (SSLContext.verify_mode, the property, makes
# an enum of it on every read, which costs more than the rest of a passing check's Python).
_verify_mode: Callable[[ssl.SSLContext], int] = _ssl._SSLContext.__dict__["verify_mode"].__get__
# Whether OpenSSL will verify the host name of connections made now (the C attribute, as above).
_check_hostname: Callable[[ssl.SSLContext], bool] = _ssl._SSLContext.__dict__[
    "check_hostname"
].__get__
_CERT_NONE = int(ssl.CERT_NONE)
_UTC = dt.timezone.utc
_now = dt.datetime.now


def _original_class(attribute: str) -> type:
    """Return the standard library's own ``ssl.SSLSocket`` or ``ssl.SSLObject`` (``attribute``:
    ``sslsocket_class`` or ``sslobject_class``), even when a green stack has replaced the ``ssl``
    module's names (gevent's and eventlet's monkey-patching do, before or after this import).

    Both keep the standard library's ``SSLContext`` as a base of theirs, and that class holds its
    own two classes (as ``truststore.inject_into_ssl()`` keeps it too); nothing is imported.
    """
    for kind in ssl.SSLContext.__mro__:
        if kind.__module__ == "ssl" and kind.__qualname__ == "SSLContext":
            found = kind.__dict__.get(attribute)
            if isinstance(found, type) and found.__module__ == "ssl":
                return found
    raise ImportError(f"pinning cannot find the standard library's ssl.SSLContext.{attribute}")


if TYPE_CHECKING:
    _SSLSocket = ssl.SSLSocket
    _SSLObject = ssl.SSLObject
else:
    _SSLSocket = _original_class("sslsocket_class")
    _SSLObject = _original_class("sslobject_class")

Connection = ssl.SSLSocket | ssl.SSLObject
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class State:
    """What one handshake reads, once: never a mix of two policies."""

    policy: PinPolicy
    sessions: SessionMemory


class Holder:
    """The one mutable reference a pinned context's classes share; swapped whole."""

    __slots__ = ("state",)

    def __init__(self, state: State) -> None:
        self.state = state


def _peer_address(conn: Connection) -> tuple[str | None, int | None]:
    """Return the peer's IP text and port; (None, None) for an SSL object or a non-IP socket."""
    # Not isinstance(conn, ssl.SSLSocket): a green stack's socket class may be no subclass of it.
    getpeername = getattr(conn, "getpeername", None)  # SSLObject has none
    if getpeername is None:
        return None, None
    try:
        address = getpeername()
    except OSError:
        return None, None
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None, None


# What the session memory should hold once a session is taken: (memory, host key, peer
# certificate as DER bytes, or as the _ssl.Certificate the fast path read, encoded when stored).
_Entry = tuple[SessionMemory, str, Any]


def _verify(conn: Connection, state: State) -> _Entry | None:
    """Check ``conn``'s finished handshake against ``state``; raise PinMismatch to refuse it.

    Returns:
        What the session memory should hold if this connection's session is to be resumed:
        (memory, host key, peer certificate), or None when nothing is to be remembered.
    """
    policy = state.policy
    # Decision 2: branch on the verify mode, never on whether a chain happens to be empty; on
    # the mode the connection was made with too (see PinnedConnection._pinning_mode).
    pin_only = (
        _verify_mode(conn.context) == _CERT_NONE
        or getattr(conn, "_pinning_mode", _CERT_NONE) == _CERT_NONE
    )
    address, port = _peer_address(conn)
    # The side and the name OpenSSL used, from the _ssl object: the Python socket's attributes of
    # the same names are plain, writable ones (decision 10).
    sslobj: Any = getattr(conn, "_sslobj")  # noqa: B009 (private, not in typeshed)
    if sslobj.server_side:
        if pin_only:
            raise _refusal(
                policy,
                None,
                "Certificate pinning failure: this pinned server context does not request "
                "client certificates (verify_mode is CERT_NONE), so there is nothing to check; "
                "set verify_mode to CERT_REQUIRED.",
                address or UNNAMED_PEER,
            )
        if peer_leaf(conn) is None:
            if getattr(conn.context, "post_handshake_auth", False):
                # TLS 1.3 then asks for the client's certificate only after the handshake,
                # with verify_client_post_handshake(), where no pin would ever check it.
                raise _refusal(
                    policy,
                    None,
                    "Certificate pinning failure: this pinned server context has "
                    "post_handshake_auth enabled, so the client's certificate would arrive "
                    "after the handshake, unpinned; disable post_handshake_auth.",
                    address or UNNAMED_PEER,
                )
            # Otherwise only possible under CERT_OPTIONAL: a client without a certificate is
            # the application's decision, as it is without pinning (counted as not pinned).
            policy._count(None, PASSED)
            return None
        if policy.rule_for(None) is None:
            # A context made for either side (PROTOCOL_TLS) and used by a server: pin_context
            # could not know, so the handshake refuses what nothing would check.
            raise _refusal(
                policy,
                None,
                "Certificate pinning failure: this pinned context is used by a server, which "
                "checks client certificates against the policy's '*' rule, and this policy has "
                "none; add a '*' rule, or do not pin this server context.",
                address or UNNAMED_PEER,
            )
        hostname = None  # A TLS client has no name: the policy's "*" rule covers it.
    else:
        # An IP address given as server_hostname is looked up as such; no name at all is
        # covered by the "*" rule only, and refused by strict policies and pin-only contexts.
        hostname = sslobj.server_hostname or None
        if hostname is None and getattr(conn, "_pinning_named", False):
            # ssl's wrap_socket refuses a client without a name under check_hostname; wrap_bio
            # (asyncio's start_tls, trio's SSLStream) does not, and OpenSSL then checks no name.
            # The application asked for the name to be verified: refuse rather than check a
            # chain nobody tied to a host (the "*" rule, or nothing, would decide it).
            raise _refusal(
                policy,
                None,
                "Certificate pinning failure: this client connection was made without "
                "server_hostname while the context's check_hostname is on, so neither OpenSSL "
                "nor pinning knows which host the server must be or which pins apply. Pass "
                "server_hostname (asyncio's start_tls and trio's SSLStream take it).",
                address or UNNAMED_PEER,
            )
    key = hostname or _ANY_HOST
    check = partial(policy.check, hostname, port=port, peer=address, pin_only=pin_only)

    served = ServedChain(conn)  # Read only if a failure is reported.
    named = hostname is None or pin_only or getattr(conn, "_pinning_named", False)
    if conn.session_reused:
        # Decision 7: a resumed session carries no chain, only the peer certificate of the full
        # handshake that created it.
        leaf = peer_leaf(conn)
        if not named:
            _verify_name(policy, hostname, leaf)
        if leaf is not None and not pin_only and state.sessions.passed(key, leaf):
            policy._count(policy.rule_for(hostname), RESUMED)
            return None
        check([] if leaf is None else [leaf], served_chain=served)
        return None
    if pin_only:
        leaf = peer_leaf(conn)
        check([] if leaf is None else [leaf], served_chain=served)
        return None  # Pin-only sessions are checked on their leaf again: nothing to remember.
    chain = verified_chain(conn)
    if not named:
        _verify_name(policy, hostname, chain[0] if chain else None)
    check(chain, served_chain=served)
    if chain and policy.enforce:
        return (state.sessions, key, chain[0])
    return None


def _refusal(policy: PinPolicy, hostname: str | None, message: str, name: str) -> PinMismatch:
    """Count a refusal decided here rather than by the policy's check (in the row of the rule
    covering ``hostname``; None: the ``*`` rule's) and return the PinMismatch to raise."""
    policy._count(policy.rule_for(hostname), REFUSED)
    return PinMismatch(message, hostname=name)


def _verify_name(policy: PinPolicy, hostname: str | None, leaf: bytes | None) -> None:
    """Verify the host name that OpenSSL did not (decision 11); raise PinMismatch if the leaf is
    not valid for it."""
    # A name without a canonical form is refused by the policy anyway; refuse it here first.
    known = hostname is not None and canonical_host(hostname) is not None
    if known and leaf is not None and leaf_matches_name(leaf, hostname or ""):
        return
    raise _refusal(
        policy,
        hostname,
        f"Certificate pinning failure for {quote(hostname or '')}! The context's host name check "
        "(check_hostname) was off when this connection was made, so OpenSSL did not verify the "
        "server's name, and its certificate is not valid for that name. A pinned connection "
        "verifies the name itself rather than lose the check (urllib3 turns check_hostname off "
        "on the context it is given when assert_hostname or assert_fingerprint is set: give "
        "such a client a pinned context of its own).",
        hostname or "",
    )


def _run_check(conn: Connection, state: State) -> _Entry | None:
    """The whole check (the fast path in ``PinnedConnection._pinning_check`` aside).

    A server remembers its passed sessions at once (it resumes them on its own); a client only
    when the application takes the session to resume it (the ``session`` property).
    """
    entry = _verify(conn, state)
    if entry is not None and getattr(conn, "_sslobj").server_side:  # noqa: B009 (decision 10)
        entry[0].remember(entry[1], der(entry[2]))
        return None
    return entry


def _remember(entry: _Entry | None, session: ssl.SSLSession | None) -> None:
    if entry is not None and session is not None:
        entry[0].remember(entry[1], der(entry[2]))


def _set_session(conn: Connection, mixin: type, session: ssl.SSLSession | None) -> None:
    """Set ``session`` through the property of the class after ``mixin`` in ``conn``'s MRO."""
    prop = getattr(super(mixin, type(conn)), "session")  # noqa: B009
    prop.__set__(conn, session)


def _count_failure(policy: PinPolicy, hostname: str | None) -> None:
    """Count a check that failed unexpectedly as refused, in the row of the rule covering
    ``hostname`` (the unpinned one if even that lookup fails)."""
    try:
        rule = policy.rule_for(hostname)
    except Exception:
        rule = None
    policy._count(rule, REFUSED)


class PinnedConnection:
    """What the pinned socket and object classes share: the check, run once, and its memory.

    A mixin: it comes before ``ssl.SSLSocket`` or ``ssl.SSLObject`` in the method resolution
    order, so ``super()`` here reaches the context's own class.
    """

    _pinning: ClassVar[Holder]
    _pinning_base: ClassVar[type]
    _pinning_passed: bool = False
    _pinning_error: PinMismatch | None = None
    _pinning_entry: _Entry | None = None
    _sslobj: Any  # the _ssl._SSLSocket of SSLSocket and SSLObject alike
    # The verify mode OpenSSL copied into this connection when its _ssl object was made
    # (SSL_new, inside context._wrap_socket or _wrap_bio), as far as Python can see it: CERT_NONE
    # if the context said so just before or just after. OpenSSL verifies with that mode whatever
    # the context says later, so a connection is pin-only when this or the context's mode at
    # the check is CERT_NONE: a shared context switched to CERT_REQUIRED (by another thread, or
    # by urllib3, which sets it on every connection) or a socket given another context between
    # the making and the end of the handshake must not make an unverified chain count. Not
    # recorded (a base class that makes the _ssl object elsewhere): pin-only, fail closed. What
    # two reads cannot see: another thread setting CERT_NONE for the very moment of SSL_new and
    # CERT_REQUIRED again before the read after it (CPython releases the GIL there); only
    # OpenSSL's per-connection mode would tell, and CPython does not expose it (README: do not
    # change a pinned context's verify mode while connections are being made).
    _pinning_mode: int = _CERT_NONE

    # Whether OpenSSL verifies this connection's host name: CPython hands the name to OpenSSL's
    # verification when the _ssl object is made, if the context's check_hostname is on then (read
    # just before and just after, as the verify mode). When it is not, the check verifies the name
    # itself (tls.hostname) or refuses: a pinned connection never silently loses it.
    _pinning_named: bool = False
    # Set once the two above were recorded; pin_context proves that wrap_socket records them.
    _pinning_recorded: bool = False

    def _pinning_record(self, before: tuple[int, bool] | None) -> None:
        """Record the verify mode and host name check the _ssl object was made with
        (``before``: the context's, read just before it was made; None when unknown)."""
        sslobj = self._sslobj
        if sslobj is not None:
            context = sslobj.context
            after = _verify_mode(context)
            named = _check_hostname(context)
            if before is None:
                self._pinning_mode = _CERT_NONE
                self._pinning_named = False
            else:
                self._pinning_mode = _CERT_NONE if before[0] == _CERT_NONE else after
                self._pinning_named = named and before[1]
            self._pinning_recorded = True

    def _pinning_connect(
        self,
        before: tuple[int, bool] | None,
        connect: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Connect a socket wrapped before it was connected: ``connect`` (the base class's
        ``_real_connect``) makes its _ssl object, with the handshake on connect held back; record
        the settings it was made with (``before``: read just before), then run that handshake
        (CPython forgets the _ssl object when it fails). For socket classes only."""
        sock: Any = self
        on_connect: bool = sock.do_handshake_on_connect
        sock.do_handshake_on_connect = False
        try:
            result = connect(*args, **kwargs)
        finally:
            sock.do_handshake_on_connect = on_connect
        self._pinning_record(before)
        if on_connect and not result and self._sslobj is not None:
            try:
                sock.do_handshake()
            except (OSError, ValueError):
                self._sslobj = None
                raise
        return result

    def _pinning_refused(self) -> None:
        """Called once the check has refused the peer, before PinMismatch is raised."""

    def _pinning_check(self) -> None:
        """Check the pins once the handshake has finished; refuse on failure (raise, after
        ``_pinning_refused``, which closes a socket).

        Any failure, expected or not, refuses the connection as a PinMismatch (decision 6).
        """
        if self._pinning_error is not None:
            raise self._pinning_error
        state = self._pinning.state  # Read once: this handshake uses this policy only.
        # The mixin is only ever a base of an SSLSocket or SSLObject class.
        conn: Connection = self  # type: ignore[assignment]
        try:
            # The fast path of a client's full, verified handshake that passes. Nothing else is
            # read (not the peer's address, nor the chain it sent), and it is written inline,
            # reading the _ssl object's own fields rather than the properties around them: each
            # Python call here is paid with a cold cache right after the handshake, and together
            # they cost about 1% of a loopback handshake (benchmarks/RESULTS.md). Anything else,
            # a failure included, goes the whole way in _run_check, which decides again from the
            # start and words the refusal.
            sslobj = self._sslobj
            if not sslobj.server_side and not sslobj.session_reused:
                hostname = sslobj.server_hostname
                if (
                    hostname
                    and _verify_mode(sslobj.context) != _CERT_NONE  # decision 2
                    and self._pinning_mode != _CERT_NONE
                    and self._pinning_named
                ):
                    certs = sslobj.get_verified_chain() if _OBJECTS else verified_chain(conn)
                    policy = state.policy
                    # A leaf that passed by its own key (a leaf pin) opens every chain OpenSSL
                    # verifies with it, so that chain holds a pin: compare the leaf alone.
                    leaves = policy._leaves.get(hostname)
                    if leaves is not None and certs:
                        leaf = certs[0]
                        for known, until, hits in leaves:
                            if type(leaf) is type(known) and known == leaf:
                                if until is None or _now(_UTC) < until:
                                    next(hits)
                                    if policy._enforce:
                                        self._pinning_entry = (state.sessions, hostname, leaf)
                                    self._pinning_passed = True
                                    return
                                break
                    if policy._passes(hostname, certs):
                        if policy._enforce:  # not the property: no call
                            self._pinning_entry = (state.sessions, hostname, certs[0])
                        self._pinning_passed = True
                        return
            self._pinning_entry = _run_check(conn, state)
        except PinMismatch as exc:
            error = exc
        except Exception as exc:  # Fail closed (decision 6), as an error every client handles.
            name = getattr(self._sslobj, "server_hostname", None) or None
            error = PinMismatch(
                f"Certificate pinning failure: the pins could not be checked: {exc}",
                hostname=name or "",
            )
            error.__cause__ = exc
            _count_failure(state.policy, name)
        else:
            self._pinning_passed = True
            return
        self._pinning_error = error
        self._pinning_refused()
        raise error

    def _pinning_before_io(self) -> None:
        # The handshake was not run through do_handshake() (do_handshake_on_connect=False and
        # the caller went straight to I/O): run it, and the check, before OpenSSL does it
        # implicitly. Unconnected, closed or unwrapped sockets are left to the base class.
        if self._pinning_error is not None:
            raise self._pinning_error
        if getattr(self, "_sslobj", None) is not None:
            cast("Connection", self).do_handshake()

    @property
    def session(self) -> ssl.SSLSession | None:
        """The TLS session, to resume; taking it from a connection that passed remembers that."""
        session: ssl.SSLSession | None = super().session  # type: ignore[misc]
        _remember(self._pinning_entry, session)
        return session

    @session.setter
    def session(self, session: ssl.SSLSession | None) -> None:
        _set_session(cast("Connection", self), PinnedConnection, session)

    def read(self, len: int = 1024, buffer: WriteableBuffer | None = None) -> bytes:
        """Read decrypted data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        data: bytes = super().read(len, buffer)  # type: ignore[misc]
        return data

    def write(self, data: ReadableBuffer) -> int:
        """Write data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        written: int = super().write(data)  # type: ignore[misc]
        return written


def close_refused(sock: Any) -> None:
    """Close a refused socket, shutting the connection down first: ``close()`` alone waits for
    every file object of ``makefile()`` to be closed too, and the peer would wait with it."""
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _replaced_by_green_stack(exc: TypeError) -> None:
    """Raise NotPinnableError if ``exc`` comes from a green stack's monkey-patching, which replaces
    ``ssl.SSLSocket``: the standard library's ``_create`` names that class in its ``super()`` call,
    so a context made before the patching can make no connection afterwards, pinned or not."""
    replaced = ssl.SSLSocket
    if replaced is not _SSLSocket and str(exc).startswith("super("):
        raise NotPinnableError(
            "this pinned context was made before ssl.SSLSocket was replaced by "
            f"{replaced.__module__}.{replaced.__qualname__} (monkey-patching), and the standard "
            "library cannot make its connections any more; make and pin contexts after patching "
            "(pinning.create_default_context then builds that stack's own)"
        ) from exc


class PinnedSSLSocket(PinnedConnection, _SSLSocket):
    """The ``sslsocket_class`` of a pinned context: checks the pins when the handshake completes.

    :func:`pin_context` derives one subclass per context; it is not meant to be used directly.
    On a refusal the socket is closed and :class:`~pinning.PinMismatch` raised. The handshake
    that ``do_handshake_on_connect`` asks for runs in this class's ``_create`` and
    ``_real_connect``, after the base class's: a context's own ``sslsocket_class`` that
    overrides those sees ``do_handshake_on_connect=False`` and no handshake yet.
    """

    def do_handshake(self, block: bool = False) -> None:
        """Perform the TLS handshake, then check the pins (once) before any application data."""
        super().do_handshake(block)
        if not self._pinning_passed:
            self._pinning_check()

    @classmethod
    def _create(cls, *args: Any, **kwargs: Any) -> Any:
        # wrap_socket makes the _ssl object of a connected socket here. The handshake that
        # do_handshake_on_connect asks for runs here too, after the verify mode is recorded, not
        # inside the base class before it (as CPython does it: refused on a non-blocking socket,
        # the socket closed on failure).
        context = kwargs.get("context")
        before = None if context is None else (_verify_mode(context), _check_hostname(context))
        on_connect = kwargs.get("do_handshake_on_connect", True)
        kwargs["do_handshake_on_connect"] = False
        try:
            self = super()._create(*args, **kwargs)  # type: ignore[misc]
        except TypeError as exc:
            _replaced_by_green_stack(exc)
            raise
        self.do_handshake_on_connect = on_connect
        self._pinning_record(before)  # (no _ssl object before connect(): _real_connect records)
        if on_connect and self._sslobj is not None:
            try:
                if self.gettimeout() == 0.0:
                    raise ValueError(
                        "do_handshake_on_connect should not be specified for non-blocking sockets"
                    )
                self.do_handshake()
            except BaseException:  # as CPython 3.13 does (3.10-3.12: OSError and ValueError)
                with contextlib.suppress(OSError):
                    self.close()
                raise
        return self

    def _real_connect(self, *args: Any, **kwargs: Any) -> Any:
        # A socket wrapped before it was connected makes its _ssl object here; the handshake on
        # connect runs after the record, as in _create (CPython forgets the _ssl object when
        # it fails).
        before = (_verify_mode(self.context), _check_hostname(self.context))
        return self._pinning_connect(before, super()._real_connect, *args, **kwargs)  # type: ignore[misc]

    def _pinning_refused(self) -> None:
        close_refused(self)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        """Send data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        return super().send(data, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        """Send all of ``data``; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        super().sendall(data, flags)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Receive data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        return super().recv(buflen, flags)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        """Receive into ``buffer``; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        return super().recv_into(buffer, nbytes, flags)


class PinnedSSLObject(PinnedConnection, _SSLObject):
    """The ``sslobject_class`` of a pinned context (``wrap_bio``, asyncio, anyio).

    ``do_handshake()`` raises :class:`ssl.SSLWantReadError` until the handshake completes; the
    pins are checked once, on the call that completes it, and a refusal raises
    :class:`~pinning.PinMismatch` from that call, before any application data. Reads and writes
    keep raising it afterwards.
    """

    def do_handshake(self) -> None:
        """Advance the TLS handshake; when it completes, check the pins (once)."""
        super().do_handshake()
        if not self._pinning_passed:
            self._pinning_check()

    @classmethod
    def _create(cls, *args: Any, **kwargs: Any) -> Any:
        # wrap_bio (asyncio, anyio) makes the _ssl object here; the handshake comes later.
        context = kwargs.get("context")
        before = None if context is None else (_verify_mode(context), _check_hostname(context))
        self = super()._create(*args, **kwargs)  # type: ignore[misc]
        self._pinning_record(before)
        return self
