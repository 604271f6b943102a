"""The text of a pinning failure: what the chain held, and what the rule expected."""

from __future__ import annotations

import heapq

from cryptography import x509

from ..core import backend as _backend
from ..core.errors import CertificateError
from .pins import Pin
from .rule import PinRule

__all__ = ["failure_message", "readable_pins"]


def readable_pins(certs: tuple[bytes, ...]) -> list[Pin | None]:
    """Return the pin of each certificate, or None for one that cannot be read."""
    backend = _backend.backend
    try:
        return [Pin(digest) for digest in backend.spki_sha256_many(certs)]
    except CertificateError:
        pass
    pins: list[Pin | None] = []
    for cert in certs:
        try:
            pins.append(Pin(backend.spki_sha256(cert)))
        except CertificateError:
            pins.append(None)
    return pins


def _subject(cert: bytes) -> str:
    try:
        return x509.load_der_x509_certificate(cert).subject.rfc4514_string()
    except Exception:
        return "<unparseable certificate>"


_LISTED = 10
"""The certificates, and the pins, that a failure message lists at most; the rest are counted
(``PinMismatch.chain_pins`` and ``expected`` keep them all)."""


def failure_message(
    host: str,
    certs: tuple[bytes, ...],
    pins: list[Pin | None],
    rule: PinRule,
    error: CertificateError | None,
    pin_only: bool,
) -> str:
    """Write the failure as OkHttp does: the chain's pins and subjects, then the expected pins."""
    lines = [f"Certificate pinning failure for {host}!"]
    if not certs:
        lines.append("  Peer certificate chain: (empty: no certificate to check)")
    else:
        lines.append("  Peer certificate chain:")
        for cert, pin in zip(certs[:_LISTED], pins[:_LISTED], strict=True):
            shown = "<unreadable key>" if pin is None else str(pin)
            lines.append(f"    {shown}: {_subject(cert)}")
        if len(certs) > _LISTED:
            lines.append(f"    ... and {len(certs) - _LISTED} more certificates")
    if error is not None:
        lines.append(f"  The chain cannot be read: {error}")
    if pin_only:
        lines.append("  (pin-only connection: only the leaf certificate's key counts)")
    lines.append(f'  Pinned certificates for {host} (rule "{rule.pattern}"):')
    lines.extend(f"    {pin}" for pin in heapq.nsmallest(_LISTED, rule.pins, key=str))
    if len(rule.pins) > _LISTED:
        lines.append(f"    ... and {len(rule.pins) - _LISTED} more pins")
    return "\n".join(lines)
