"""Pinned TLS for Twisted's clients: an ``IPolicyForHTTPS`` for ``Agent`` and treq, and the
connection creator behind it, for endpoints (``wrapClientTLS``, ``SSL4ClientEndpoint``,
``startTLS``).

The creator wraps the one :func:`twisted.internet.ssl.optionsForClientTLS` returns (its trust
roots, SNI, TLS versions and ALPN are Twisted's) and gives each connection it makes a
:class:`~pinning.tls.twisted.verify.PinVerifier` as its verify callback.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography import x509
from OpenSSL import SSL, crypto
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.ssl import Certificate, optionsForClientTLS, trustRootFromCertificates
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer  # type: ignore[import-untyped]

from ...policy.policy import PinPolicy
from .verify import VERIFY_MODE, PinVerifier, host_text

__all__ = [
    "PinnedClientCreator",
    "PinnedPolicyForHTTPS",
    "pinned_client_tls",
    "trust_root_from_pem",
]

# A Twisted trust root: a Certificate, or what platformTrust() and trustRootFromCertificates()
# return (IOpenSSLTrustRoot, which Twisted keeps in a private module).
TrustRoot = Any


def _require_policy(policy: object) -> PinPolicy:
    if not isinstance(policy, PinPolicy):
        raise TypeError(f"policy must be a pinning.PinPolicy, not {type(policy).__name__}")
    return policy


def _require_pin_only(pin_only: object) -> bool:
    if not isinstance(pin_only, bool):
        raise TypeError(f"pin_only must be True or False, not {type(pin_only).__name__}")
    return pin_only


def trust_root_from_pem(path: str | os.PathLike[str]) -> TrustRoot:
    """Return a Twisted trust root holding the CA certificates of a PEM file.

    Args:
        path: A file of one or more PEM certificates.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike`` (an int would be opened as a
            file descriptor).
        ValueError: ``path`` is empty, or the file holds no PEM certificate, or one that cannot
            be read.
        OSError: The file cannot be read.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a CA file is a path (str or os.PathLike), not {type(path).__name__}")
    if not os.fspath(path):
        raise ValueError("the CA file's path is empty")
    with open(path, "rb") as file:
        data = file.read()
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)!r} holds no readable PEM certificate: {exc}") from exc
    roots = [Certificate(crypto.X509.from_cryptography(cert)) for cert in certs]  # type: ignore[no-untyped-call]
    return trustRootFromCertificates(roots)  # type: ignore[no-untyped-call]


@implementer(IOpenSSLClientConnectionCreator)
class PinnedClientCreator:
    """A client connection creator whose connections are pinned inside the handshake.

    Prefer :func:`pinned_client_tls`, which builds the creator to wrap.

    Args:
        inner: The creator whose connections to pin (its ``clientConnectionForTLS`` makes
            them; an ``IOpenSSLClientConnectionCreator``); its verify callback, if any, is
            replaced.
        policy: The pins to enforce.
        hostname: The host connected to (an IDNA A-label name or an IP address).
        port: The port, for reports.
        pin_only: Nothing but the pins vouches for the server (see :func:`pinned_client_tls`).
    """

    def __init__(
        self,
        inner: Any,
        policy: PinPolicy,
        hostname: str,
        *,
        port: int | None = None,
        pin_only: bool = False,
    ) -> None:
        self._inner = inner
        self._policy = _require_policy(policy)
        self._hostname = host_text(hostname)
        self._port = port
        self._pin_only = _require_pin_only(pin_only)

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        """Make the connection with the inner creator, then give it the pinning verify callback
        (``IOpenSSLClientConnectionCreator``)."""
        connection: SSL.Connection = self._inner.clientConnectionForTLS(tlsProtocol)
        connection.set_verify(
            VERIFY_MODE,
            PinVerifier(
                self._policy,
                self._hostname,
                port=self._port,
                protocol=tlsProtocol,
                pin_only=self._pin_only,
            ),
        )
        return connection

    def __repr__(self) -> str:
        return f"<PinnedClientCreator for {self._hostname!r} of {self._policy!r}>"


def pinned_client_tls(
    policy: PinPolicy,
    hostname: str | bytes,
    *,
    port: int | None = None,
    trustRoot: TrustRoot | None = None,
    pin_only: bool = False,
) -> PinnedClientCreator:
    """Return a pinned client connection creator, as Twisted's ``optionsForClientTLS`` returns an
    unpinned one.

    The chain is verified against ``trustRoot`` by OpenSSL, the server's name by
    ``service_identity``, and the verified chain against ``policy``, all inside the handshake:
    a refused server never receives an application byte.

    Args:
        policy: The pins to enforce.
        hostname: The host to connect to: a name (IDNA is encoded as Twisted does) or an IP
            address.
        port: The port, for reports.
        trustRoot: The CAs to trust, as for ``optionsForClientTLS`` (a ``Certificate``, or
            :func:`trust_root_from_pem`); default: the platform's.
        pin_only: Trust nothing but the pins: no CA verification, no name verification, only
            the leaf's key counts, and the policy refuses hosts without a rule and mismatches
            even when it is report-only (as a ``CERT_NONE`` context does in the ``ssl`` path).

    Raises:
        TypeError: ``policy`` is not a :class:`~pinning.PinPolicy`, or ``pin_only`` is not a
            bool.
    """
    _require_policy(policy)
    _require_pin_only(pin_only)
    text = host_text(hostname)
    inner = optionsForClientTLS(text, trustRoot=trustRoot)
    return PinnedClientCreator(inner, policy, text, port=port, pin_only=pin_only)


@implementer(IPolicyForHTTPS)
class PinnedPolicyForHTTPS:
    """Twisted's ``BrowserLikePolicyForHTTPS``, pinned: give it to ``Agent`` (or treq's
    ``HTTPClient``) as its ``contextFactory``.

    Args:
        policy: The pins to enforce.
        trustRoot: The CAs to trust (a ``twisted.internet.ssl.Certificate``, or any
            ``IOpenSSLTrustRoot``); default: the platform's, as Twisted's.
        cafile: A file of PEM CA certificates to trust instead (not with ``trustRoot``).
        pin_only: Trust nothing but the pins (see :func:`pinned_client_tls`).

    Raises:
        TypeError: ``policy`` is not a :class:`~pinning.PinPolicy`, ``pin_only`` is not a bool,
            ``cafile`` is not a path, or both ``trustRoot`` and ``cafile`` are given.
        ValueError: ``cafile`` is empty or holds no readable PEM certificate.
    """

    def __init__(
        self,
        policy: PinPolicy,
        trustRoot: TrustRoot | None = None,
        *,
        cafile: str | os.PathLike[str] | None = None,
        pin_only: bool = False,
    ) -> None:
        _require_pin_only(pin_only)
        self.policy = _require_policy(policy)
        if cafile is not None:
            if trustRoot is not None:
                raise TypeError("give trustRoot or cafile, not both")
            trustRoot = trust_root_from_pem(cafile)
        self.trust_root = trustRoot
        self.pin_only = pin_only

    def creatorForNetloc(self, hostname: bytes, port: int) -> PinnedClientCreator:
        """Return the pinned connection creator for ``hostname`` (``IPolicyForHTTPS``)."""
        return pinned_client_tls(
            self.policy, hostname, port=port, trustRoot=self.trust_root, pin_only=self.pin_only
        )

    def __repr__(self) -> str:
        return f"PinnedPolicyForHTTPS({self.policy!r}, pin_only={self.pin_only})"
