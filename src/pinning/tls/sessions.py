"""The bounded memory, per pinned context, of the sessions that passed a host's pins.

A resumed TLS session carries no chain (ARCHITECTURE.md, decision 7): OpenSSL skips verification and
``get_verified_chain()`` is empty. What it does carry is the peer certificate of the full handshake
that created it, since that certificate is stored in the session itself, on the client side and in
the server's tickets alike, and a peer can only resume a session whose secret it knows. So a
session is recognised by its host and the SHA-256 of that certificate: when a full handshake passes
the policy for a host, the pair is remembered, and a resumed session with the same pair comes from
such a handshake (or from another one with the very same certificate, which would pass too).

Session IDs cannot be the key: under TLS 1.3 the client learns its session's ID only from the
tickets that arrive after the handshake, and the server gives each resumption a new one.

The memory belongs to one policy: installing another policy on the context starts a new, empty
one, so a session that passed the old policy is checked again under the new one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

__all__ = ["DEFAULT_MAX_ENTRIES", "SessionMemory"]

DEFAULT_MAX_ENTRIES = 2048
"""Entries kept per context: a key is ~100 bytes, so about 200 KiB at most."""


class SessionMemory:
    """The (host, peer certificate) pairs whose full handshake passed, least recently used first.

    Thread-safe; bounded: past ``max_entries`` the least recently used pair is forgotten, and a
    session resumed from it is checked on its leaf key like any session this context never saw.

    Args:
        max_entries: How many pairs to keep (at least 1).
    """

    __slots__ = ("_entries", "_lock", "_max")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(host: str, leaf: bytes) -> tuple[str, bytes]:
        return (host.lower(), hashlib.sha256(leaf).digest())

    def remember(self, host: str, leaf: bytes) -> None:
        """Record that a full handshake with peer certificate ``leaf`` (DER) passed for ``host``."""
        key = self._key(host, leaf)
        with self._lock:
            entries = self._entries
            if key in entries:
                entries.move_to_end(key)
                return
            entries[key] = None
            if len(entries) > self._max:
                entries.popitem(last=False)

    def passed(self, host: str, leaf: bytes) -> bool:
        """Return whether a full handshake with ``leaf`` as peer certificate passed for ``host``."""
        key = self._key(host, leaf)
        with self._lock:
            if key not in self._entries:
                return False
            self._entries.move_to_end(key)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
