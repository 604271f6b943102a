"""Green TLS stacks (gevent, eventlet): pinned connection classes for their own socket classes.

Neither package is imported here: their classes are recognised when a context already uses them.
"""

from __future__ import annotations

import ssl

from ._connection import Holder

__all__ = ["adapt", "derive"]


def derive(mixin: type, base: type, holder: Holder) -> type | None:
    """Return a pinned subclass of ``base``, a green stack's own connection class, for ``holder``.

    Args:
        mixin: ``PinnedSSLSocket`` or ``PinnedSSLObject``: which of the context's classes.
        base: The context's current class, which is not a subclass of the standard library's.
        holder: The pinned context's state.

    Returns:
        The class to install, or None when ``base`` belongs to no stack known here.
    """
    return None


def adapt(ctx: ssl.SSLContext, holder: Holder) -> None:
    """Make a green stack's context whose ``wrap_socket`` ignores ``sslsocket_class`` use it.

    Called by ``pin_context`` once the classes are installed and before it proves the wiring;
    does nothing for a context of no stack known here.
    """
