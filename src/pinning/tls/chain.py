"""Reading the peer's certificates once a handshake has finished.

The verified chain (ARCHITECTURE.md, decision 1) is the one OpenSSL built from the trust store,
never the list the peer sent. Python 3.13 and later give it as the public ``get_verified_chain()``
(DER bytes); every CPython since 3.10 has it on the private ``_ssl._SSLSocket`` behind ``_sslobj``,
as ``_ssl.Certificate`` objects, which the handshake's fast path reads as they are
(:data:`CERTIFICATE_OBJECTS`) and everything else as DER. Under ``CERT_NONE`` OpenSSL verified
nothing, so only the leaf (``getpeercert(binary_form=True)``) may be used (decision 2).
"""

from __future__ import annotations

import _ssl
import ssl
from collections.abc import Callable, Sequence
from typing import Any, overload

from ..core.certinput import _CERTIFICATE, _DER, ONLY_CERTIFICATES, der

__all__ = [
    "CERTIFICATE_OBJECTS",
    "HAS_VERIFIED_CHAIN",
    "ONLY_CERTIFICATES",
    "ServedChain",
    "der",
    "peer_leaf",
    "require_verified_chain",
    "verified_chain",
]

Connection = ssl.SSLSocket | ssl.SSLObject


def _public_chain(conn: Connection) -> list[bytes]:
    # Python 3.13+: the public method, DER bytes ([] when OpenSSL has no chain).
    return list(getattr(conn, "get_verified_chain")())  # noqa: B009 (absent before 3.13)


def _certificate_objects(conn: Connection) -> list[Any]:
    # _ssl._SSLSocket.get_verified_chain() (3.10+; behind the public method from 3.13) gives
    # _ssl.Certificate objects, or None when OpenSSL has no verified chain (a resumed session, or
    # no certificate at all).
    certs: list[Any] | None = getattr(conn, "_sslobj").get_verified_chain()  # noqa: B009
    return [] if certs is None else certs


def _private_chain(conn: Connection) -> list[bytes]:
    # Python 3.10-3.12: the private method only.
    return [cert.public_bytes(_DER) for cert in _certificate_objects(conn)]


def _served(conn: Connection) -> list[bytes]:
    public = getattr(conn, "get_unverified_chain", None)  # Python 3.13+
    if public is not None:
        return list(public())
    certs: list[Any] | None = getattr(conn, "_sslobj").get_unverified_chain()  # noqa: B009
    if certs is None:
        return []
    return [cert.public_bytes(_DER) for cert in certs]


def _choose() -> Callable[[Connection], list[bytes]] | None:
    if hasattr(ssl.SSLObject, "get_verified_chain"):
        return _public_chain
    if hasattr(getattr(_ssl, "_SSLSocket", None), "get_verified_chain"):
        return _private_chain
    return None


_chain_of = _choose()
CERTIFICATE_OBJECTS: bool = _CERTIFICATE is not None and hasattr(
    getattr(_ssl, "_SSLSocket", None), "get_verified_chain"
)
"""Whether ``conn._sslobj.get_verified_chain()`` gives the verified chain, leaf first, as the
``_ssl.Certificate`` objects OpenSSL holds (CPython 3.10 and later; None when OpenSSL has no
chain). That is the cheapest form of the chain: encoding the certificates as DER
(``public_bytes``) is most of what reading it costs in a handshake (``benchmarks/RESULTS.md``).
Two such objects compare equal through OpenSSL's ``X509_cmp`` (1.1.1 and 3.x): the SHA-1
fingerprints of the whole certificates (where OpenSSL could compute them) and, for certificates
that were parsed from DER and never modified (every certificate ``ssl`` can hold: the peer's and
the trust store's), the very tbsCertificate bytes, which hold the SubjectPublicKeyInfo. Only the
handshake's fast path (``PinPolicy._passes``) takes this form; :func:`der` turns an item into
DER."""

HAS_VERIFIED_CHAIN: bool = _chain_of is not None
"""Whether this Python's :mod:`ssl` can give the verified chain (CPython 3.10 and later)."""


def require_verified_chain() -> None:
    """Raise unless this Python can give the verified chain.

    Raises:
        RuntimeError: Neither ``get_verified_chain()`` (3.13+) nor the private
            ``_ssl._SSLSocket.get_verified_chain()`` (3.10-3.12) exists, so pins could only be
            checked on the list the peer sent, which an attacker controls.
    """
    if _chain_of is None:
        raise RuntimeError(
            "pinning needs the verified certificate chain, and this Python's ssl module does "
            "not give it (CPython 3.10 or later does): refusing to pin on the chain the peer sent"
        )


def verified_chain(conn: Connection) -> list[bytes]:
    """Return the chain OpenSSL verified for ``conn``'s peer, DER, leaf first.

    Args:
        conn: An SSL socket or object whose handshake has finished.

    Returns:
        The verified chain; empty when OpenSSL has none (a resumed session carries no chain).

    Raises:
        RuntimeError: This Python cannot give the verified chain.
    """
    if _chain_of is None:
        require_verified_chain()
    assert _chain_of is not None
    return _chain_of(conn)


def peer_leaf(conn: Connection) -> bytes | None:
    """Return the peer's own certificate as DER, or None when it sent none.

    Under ``CERT_NONE`` this certificate is unverified; in a resumed session it is the one of the
    full handshake that created the session.
    """
    return conn.getpeercert(binary_form=True)


class ServedChain(Sequence[bytes]):
    """The certificates the peer sent (DER, leaf first), for reports only, never for checks.

    Read on first use, so that a handshake that passes never pays for it; empty when they cannot
    be read (this Python cannot give them, or the TLS library does not hold them yet).

    Args:
        conn: The ``ssl`` connection whose peer sent them; or None with ``load``.
        load: Reads them instead (another TLS library's connection, such as pyOpenSSL's).
    """

    __slots__ = ("_certs", "_conn", "_loader")

    def __init__(
        self, conn: Connection | None = None, load: Callable[[], list[bytes]] | None = None
    ) -> None:
        if conn is None and load is None:
            raise TypeError("ServedChain needs a connection or a loader")
        self._conn = conn  # Nothing is made per handshake but this object: the check's hot path.
        self._loader = load
        self._certs: list[bytes] | None = None

    def _load(self) -> list[bytes]:
        if self._certs is None:
            try:
                if self._loader is not None:
                    self._certs = list(self._loader())
                else:
                    self._certs = [] if self._conn is None else _served(self._conn)
            except Exception:  # For a report only: never let it break anything.
                self._certs = []
        return self._certs

    def __len__(self) -> int:
        return len(self._load())

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        return self._load()[index]
