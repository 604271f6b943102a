"""Green TLS stacks (gevent, eventlet): pinned connection classes for their own socket classes.

Neither package is imported here: their classes are recognised when a context already uses them.

- gevent: its ``SSLContext.wrap_socket`` builds ``ctx.sslsocket_class``, which is gevent's own
  ``SSLSocket``, no subclass of the standard library's. :func:`derive` makes a subclass of that
  class and :class:`_GeventSocket`, which records the verify mode and host name check around the
  making of the ``_ssl`` object (in ``__init__`` and ``_real_connect``) and checks the pins in
  ``do_handshake()``, as ``PinnedSSLSocket`` does for the standard library's class.
- eventlet: its ``GreenSSLContext.wrap_socket`` builds ``GreenSSLSocket`` whatever
  ``sslsocket_class`` says. :func:`adapt` installs, on that one context (an instance attribute),
  a ``wrap_socket`` that builds the context's ``sslsocket_class`` when it is a pinned subclass of
  ``GreenSSLSocket`` (:class:`_EventletSocket`), and eventlet's own class otherwise.

``wrap_bio`` is the standard library's in both stacks: ``PinnedSSLObject`` serves it unchanged.
"""

from __future__ import annotations

import contextlib
import inspect
import ssl
import sys
from types import MethodType
from typing import TYPE_CHECKING, Any, ClassVar

from .connection import (
    Holder,
    PinnedConnection,
    PinnedSSLSocket,
    _check_hostname,
    _verify_mode,
    close_refused,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = ["adapt", "derive"]

_FLAG = "do_handshake_on_connect"


def _settings(context: Any) -> tuple[int, bool] | None:
    """The context's verify mode and host name check, read just before an ``_ssl`` object is made
    (None when there is no context: recorded as unknown, so pin-only, failing closed)."""
    if not isinstance(context, ssl.SSLContext):
        return None
    return (_verify_mode(context), _check_hostname(context))


class _GreenSocket(PinnedConnection):
    """What the pinned socket classes of both green stacks share (a mixin before their class).

    The green classes' ``do_handshake()`` takes no ``block`` argument, and their I/O methods do
    not all go through ``read()`` and ``write()``: each is checked here.
    """

    _sslobj: Any
    do_handshake_on_connect: bool

    def do_handshake(self) -> None:
        """Perform the TLS handshake, then check the pins (once) before any application data."""
        super().do_handshake()  # type: ignore[misc]
        if not self._pinning_passed:
            self._pinning_check()

    def _pinning_refused(self) -> None:
        close_refused(self)

    def _pinning_handshake_now(self) -> None:
        """Run the handshake that ``do_handshake_on_connect`` asked for, once the verify mode is
        recorded; close the socket if it fails (as CPython 3.13 does)."""
        try:
            if self.gettimeout() == 0.0:  # type: ignore[attr-defined]
                raise ValueError(
                    "do_handshake_on_connect should not be specified for non-blocking sockets"
                )
            self.do_handshake()
        except BaseException:
            with contextlib.suppress(OSError):
                self.close()  # type: ignore[attr-defined]
            raise

    def _real_connect(self, *args: Any, **kwargs: Any) -> Any:
        # A socket wrapped before it was connected makes its _ssl object here (gevent's connect
        # and connect_ex, eventlet's connect_ex): record around it, then run the handshake on
        # connect, as PinnedSSLSocket._real_connect does.
        before = _settings(getattr(self, "context", None))
        return self._pinning_connect(before, super()._real_connect, *args, **kwargs)  # type: ignore[misc]

    def send(self, data: ReadableBuffer, *args: Any, **kwargs: Any) -> int:
        """Send data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        sent: int = super().send(data, *args, **kwargs)  # type: ignore[misc]
        return sent

    def sendall(self, data: ReadableBuffer, *args: Any, **kwargs: Any) -> Any:
        """Send all of ``data``; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        return super().sendall(data, *args, **kwargs)  # type: ignore[misc]

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        """Receive data; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        data: bytes = super().recv(*args, **kwargs)  # type: ignore[misc]
        return data

    def recv_into(self, buffer: WriteableBuffer, *args: Any, **kwargs: Any) -> int:
        """Receive into ``buffer``; the pins are checked first if they were not yet."""
        if not self._pinning_passed:
            self._pinning_before_io()
        count: int = super().recv_into(buffer, *args, **kwargs)  # type: ignore[misc]
        return count


def _take_flag(
    index: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, tuple[Any, ...]]:
    """Return ``do_handshake_on_connect`` as the caller gave it (``index``: its position among the
    positional arguments after ``self``), and the arguments with it set to False in ``kwargs``."""
    if len(args) > index:
        on_connect = bool(args[index])
        return on_connect, (*args[:index], False, *args[index + 1 :])
    on_connect = bool(kwargs.get(_FLAG, True))
    kwargs[_FLAG] = False
    return on_connect, args


class _GeventSocket(_GreenSocket):
    """The mixin of a pinned gevent ``SSLSocket``: gevent makes the ``_ssl`` object of a connected
    socket in ``__init__`` (never in ``_create``), and of an unconnected one in ``_real_connect``.
    """

    # The positions of do_handshake_on_connect and _context among __init__'s positional
    # arguments after self, read from gevent's signature by derive().
    _pinning_flag_index: ClassVar[int]
    _pinning_context_index: ClassVar[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        index = self._pinning_context_index
        before = _settings(args[index] if len(args) > index else kwargs.get("_context"))
        on_connect, args = _take_flag(self._pinning_flag_index, args, kwargs)
        super().__init__(*args, **kwargs)
        self.do_handshake_on_connect = on_connect
        self._pinning_record(before)  # (no _ssl object before connect(): _real_connect records)
        if on_connect and self._sslobj is not None:
            self._pinning_handshake_now()


class _EventletSocket(_GreenSocket):
    """The mixin of a pinned eventlet ``GreenSSLSocket``: eventlet makes the ``_ssl`` object of a
    connected socket in ``__new__`` (the standard library's ``_create``, then a change of class),
    and of an unconnected one in ``connect`` (``connect_ex``: ``_real_connect``)."""

    # The position of do_handshake_on_connect among the positional arguments after sock.
    _pinning_flag_index: ClassVar[int]
    # The context's settings read in __new__, before eventlet makes the _ssl object; recorded
    # (and removed) in __init__.
    _pinning_before: tuple[int, bool] | None

    def __new__(cls, sock: Any = None, *args: Any, **kwargs: Any) -> Any:
        before = _settings(kwargs.get("_context"))
        self = super().__new__(cls, sock, *args, **kwargs)  # type: ignore[call-arg]
        self.__class__ = cls  # eventlet makes it its own GreenSSLSocket, whatever cls is
        self._pinning_before = before
        return self

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        on_connect, args = _take_flag(self._pinning_flag_index, args, kwargs)
        super().__init__(sock, *args, **kwargs)  # type: ignore[call-arg]
        self.do_handshake_on_connect = on_connect
        self._pinning_record(self.__dict__.pop("_pinning_before", None))
        if on_connect and getattr(self, "_connected", False) and self._sslobj is not None:
            self._pinning_handshake_now()

    def connect(self, addr: Any) -> None:
        """Connect to ``addr``, make the TLS connection, and run the handshake if asked to."""
        before = _settings(getattr(self, "context", None))
        self._pinning_connect(before, super().connect, addr)  # type: ignore[misc]


def _positions(base: type, names: tuple[str, ...], skip: int) -> tuple[int, ...] | None:
    """The positions of ``names`` among ``base.__init__``'s positional parameters, after the first
    ``skip``; None when one is missing (a version of the stack this module does not know)."""
    try:
        init: Any = base.__init__  # type: ignore[misc]
        parameters = list(inspect.signature(init).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [
        p.name for p in parameters[skip:] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not all(name in positional for name in names):
        return None
    return tuple(positional.index(name) for name in names)


def _make(mixin: type, base: type, holder: Holder, extra: dict[str, Any]) -> type:
    namespace = {
        "_pinning": holder,
        "_pinning_base": base,
        "__module__": PinnedSSLSocket.__module__,
        "__qualname__": PinnedSSLSocket.__qualname__,
        "__doc__": PinnedSSLSocket.__doc__,
        **extra,
    }
    return type(PinnedSSLSocket.__name__, (mixin, base), namespace)


def _gevent_class(base: type) -> type | None:
    """Return gevent's own SSLSocket class if ``base`` is it or a subclass, else None."""
    module = sys.modules.get("gevent.ssl")
    gevent_socket = getattr(module, "SSLSocket", None)
    if isinstance(gevent_socket, type) and issubclass(base, gevent_socket):
        return base
    return None


def derive(mixin: type, base: type, holder: Holder) -> type | None:
    """Return a pinned subclass of ``base``, a green stack's own connection class, for ``holder``.

    Args:
        mixin: ``PinnedSSLSocket`` or ``PinnedSSLObject``: which of the context's classes.
        base: The context's current class, which is not a subclass of the standard library's.
        holder: The pinned context's state.

    Returns:
        The class to install, or None when ``base`` belongs to no stack known here.
    """
    if mixin is not PinnedSSLSocket:
        return None  # Both stacks keep the standard library's SSLObject.
    if issubclass(base, _GeventSocket):  # Pinned for another context: start from what it wrapped.
        base = base._pinning_base
    if _gevent_class(base) is None:
        return None
    positions = _positions(base, (_FLAG, "_context"), 1)
    if positions is None:
        return None
    return _make(
        _GeventSocket,
        base,
        holder,
        {"_pinning_flag_index": positions[0], "_pinning_context_index": positions[1]},
    )


def _eventlet_wrap_socket(
    self: ssl.SSLContext,
    sock: Any,
    server_side: bool = False,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    server_hostname: str | None = None,
    session: ssl.SSLSession | None = None,
) -> Any:
    # The wrap_socket adapt() installs on a GreenSSLContext: the standard library's signature, and
    # the context's sslsocket_class when it is a pinned GreenSSLSocket (or a subclass of one).
    made = self.sslsocket_class
    if isinstance(made, type) and issubclass(made, _EventletSocket):
        return made(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
            _context=self,
        )
    # Not pinned (pin_context failed, or the class was replaced since): eventlet's own.
    return type(self).wrap_socket(
        self,
        sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
        server_hostname=server_hostname,
        session=session,
    )


def adapt(ctx: ssl.SSLContext, holder: Holder) -> None:
    """Make a green stack's context whose ``wrap_socket`` ignores ``sslsocket_class`` use it.

    Called by ``pin_context`` once the classes are installed and before it proves the wiring;
    does nothing for a context of no stack known here. For eventlet's ``GreenSSLContext`` (whose
    ``wrap_socket`` is eventlet's own), installs a pinned subclass of ``GreenSSLSocket`` as
    ``sslsocket_class`` and, on ``ctx`` alone, a ``wrap_socket`` that builds it.

    Args:
        ctx: The context whose classes make the connections (changed in place).
        holder: The pinned context's state.
    """
    module = sys.modules.get("eventlet.green.ssl")
    if module is None:
        return
    green_context = getattr(module, "GreenSSLContext", None)
    green_socket = getattr(module, "GreenSSLSocket", None)
    if not (
        isinstance(green_context, type)
        and isinstance(green_socket, type)
        and isinstance(ctx, green_context)
        and getattr(type(ctx), "wrap_socket", None) is green_context.__dict__.get("wrap_socket")
    ):
        return  # Not eventlet's, or a subclass with a wrap_socket of its own: the proof decides.
    current = ctx.sslsocket_class
    made_here = current.__bases__ == (_EventletSocket, green_socket)
    if not (made_here and getattr(current, "_pinning", None) is holder):
        positions = _positions(green_socket, (_FLAG,), 2)  # after self and sock
        if positions is None:
            return
        ctx.sslsocket_class = _make(
            _EventletSocket, green_socket, holder, {"_pinning_flag_index": positions[0]}
        )
    setattr(ctx, "wrap_socket", MethodType(_eventlet_wrap_socket, ctx))  # noqa: B010
