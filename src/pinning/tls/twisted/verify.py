"""The check a pinned Twisted connection runs inside the TLS handshake: a pyOpenSSL verify callback.

OpenSSL calls a connection's verify callback once per certificate of the chain it has built from
the trust store, root first and leaf (depth 0) last, each time with its own verdict
(``preverify_ok``); a callback that returns false stops the handshake there, before the client's
Finished message, so before any application byte can be sent. :class:`PinVerifier` is such a
callback, installed on each connection with ``Connection.set_verify`` (one per connection, never
on a shared ``SSL.Context``): it keeps OpenSSL's verdict (a chain OpenSSL refused stays refused),
collects the verified chain by depth and, at depth 0, verifies the server's name (with
``service_identity``, as Twisted does) and checks the chain against the policy
(:meth:`~pinning.PinPolicy.check`: most specific rule, report-only, expiry, strict and pin-only
are the policy's). Every handshake of the connection is checked so: a TLS 1.2 renegotiation
that presents another chain is checked (and refused) as the first handshake's was. A refusal
hands the error to Twisted's ``TLSMemoryBIOProtocol.failVerification``, Twisted's own way of
failing a handshake on a certificate, so that the application's ``connectionLost`` (and Agent's
and treq's errback) gets the :class:`~pinning.PinMismatch` itself.

Twisted puts its name check in the connection's verify callback too (26.4 and later) or in the
context's info callback (earlier): a connection has one verify callback, and installing this one
replaces Twisted's, which is why this one verifies the name as well.
"""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)
from twisted.python.failure import Failure

from ...policy.failure import PinMismatch
from ...policy.policy import PinPolicy
from ..chain import ServedChain

__all__ = ["VERIFY_MODE", "PinVerifier", "host_text"]

VERIFY_MODE = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
"""The verify mode of every pinned connection: verify the server's chain (a client always gets a
certificate from a server, except with anonymous suites, which this mode refuses)."""


def host_text(hostname: bytes | str) -> str:
    """Return the host name Twisted gives (``bytes`` from Agent, ``str`` elsewhere) as text,
    without the brackets of an IPv6 address.

    Raises:
        UnicodeDecodeError: ``hostname`` is bytes that are not ASCII (Agent gives the IDNA form).
    """
    text = hostname.decode("ascii") if isinstance(hostname, bytes) else hostname
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _served_der(conn: SSL.Connection) -> list[bytes]:
    """The certificates the peer sent, as DER, leaf first (for reports)."""
    certs = conn.get_peer_cert_chain(as_cryptography=True) or []
    return [cert.public_bytes(Encoding.DER) for cert in certs]


class PinVerifier:
    """The verify callback of one pinned connection (``Connection.set_verify(VERIFY_MODE, it)``).

    Args:
        policy: The pins to enforce.
        hostname: The host connected to, as text (an IDNA A-label name or an IP address).
        port: The port, for reports.
        protocol: Twisted's ``TLSMemoryBIOProtocol`` of the connection; a refusal calls its
            ``failVerification`` with the error. Without one, the handshake still fails, with
            OpenSSL's generic error.
        pin_only: Nothing but the pins vouches for the server: OpenSSL's verdict on the chain and
            the server's name are ignored, only the leaf counts, and the policy refuses what it
            refuses on pin-only connections (:meth:`~pinning.PinPolicy.check`).
    """

    __slots__ = (
        "_chain",
        "_decided",
        "_hostname",
        "_passed",
        "_pin_only",
        "_policy",
        "_port",
        "_protocol",
    )

    def __init__(
        self,
        policy: PinPolicy,
        hostname: str,
        *,
        port: int | None = None,
        protocol: Any = None,
        pin_only: bool = False,
    ) -> None:
        self._policy = policy
        self._hostname = hostname
        self._port = port
        self._protocol = _hold(protocol)
        self._pin_only = pin_only
        self._chain: dict[int, bytes] = {}
        # None until the leaf was checked; then whether the connection may go on.
        self._decided: bool | None = None
        # The last chain that passed (the leaf alone, pin-only).
        self._passed: list[bytes] | None = None

    def __call__(
        self, conn: SSL.Connection, cert: crypto.X509, error: int, depth: int, ok: int
    ) -> bool:
        """OpenSSL's verify callback: return whether the handshake may go on."""
        if self._decided is False:
            return False  # A refusal is final: no later call undoes it.
        if not ok and not self._pin_only:
            return False  # OpenSSL refused the chain: a pin never overrides that.
        try:
            leaf = cert.to_cryptography()
            if self._pin_only:
                if depth != 0:
                    return True  # Only the leaf counts: depth 0 comes, whatever else fails.
                chain = [leaf.public_bytes(Encoding.DER)]
            else:
                self._chain[depth] = leaf.public_bytes(Encoding.DER)
                if depth != 0:
                    return True
                chain = self._verified_chain()
                self._chain = {}
            if chain == self._passed:
                # The chain that passed, seen again: OpenSSL's second call at the leaf, or a
                # renegotiation that presents the same chain; checked and reported once.
                return True
            if not self._pin_only:
                self._verify_name(leaf)
            self._policy.check(
                self._hostname,
                chain,
                port=self._port,
                pin_only=self._pin_only,
                served_chain=ServedChain(load=partial(_served_der, conn)),
            )
        except Exception as exc:  # PinMismatch, a wrong name, or anything unforeseen: refuse.
            self._refuse(exc)
            return False
        # Every handshake of the connection (a TLS 1.2 renegotiation too) comes back here with
        # its own chain: a new chain is checked as the first one was.
        self._decided = True
        self._passed = chain
        return True

    def _verified_chain(self) -> list[bytes]:
        """The chain OpenSSL verified, leaf first, from the certificates seen at each depth."""
        depths = sorted(self._chain)
        if depths != list(range(len(depths))):
            raise PinMismatch(
                f"Certificate pinning failure for {self._hostname}! OpenSSL did not show every "
                "certificate of the verified chain to the verify callback, so the chain cannot "
                "be checked.",
                hostname=self._hostname,
            )
        return [self._chain[depth] for depth in depths]

    def _verify_name(self, leaf: x509.Certificate) -> None:
        """Raise service_identity's ``VerificationError`` unless ``leaf`` is valid for the host
        (its ``CertificateError`` when the leaf has no subjectAltName)."""
        if _is_ip_address(self._hostname):
            verify_certificate_ip_address(leaf, self._hostname)
        else:
            verify_certificate_hostname(leaf, self._hostname)

    def _refuse(self, exc: Exception) -> None:
        """Refuse the connection: hand ``exc`` to Twisted as the reason the connection is lost."""
        self._decided = False
        self._chain = {}
        self._passed = None
        holder, self._protocol = self._protocol, None
        protocol = holder() if holder is not None else None
        fail = getattr(protocol, "failVerification", None)
        if fail is not None:
            fail(Failure(exc))  # type: ignore[no-untyped-call]


def _hold(protocol: Any) -> Callable[[], Any] | None:
    """A weak reference to ``protocol`` (which holds the connection, which holds the callback),
    or a strong one to an object that cannot be weakly referenced."""
    if protocol is None:
        return None
    try:
        return weakref.ref(protocol)
    except TypeError:
        return lambda: protocol
