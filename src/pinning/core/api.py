"""The certificate functions of the public API, delegating to the chosen backend."""

from __future__ import annotations

from collections.abc import Sequence

from . import backend as _backend

__all__ = ["spki", "spki_sha256", "spki_sha256_many"]


def spki(cert_der: bytes) -> bytes:
    """Return the DER SubjectPublicKeyInfo of a certificate, exactly as the certificate holds it.

    Args:
        cert_der: One DER-encoded X.509 certificate, nothing before or after it.

    Returns:
        The SubjectPublicKeyInfo element, header included (never a re-encoding).

    Raises:
        CertificateError: The certificate is not strict DER X.509; ``field`` names where it failed.
        TypeError: ``cert_der`` is not bytes-like.
    """
    return _backend.backend.spki(cert_der)


def spki_sha256(cert_der: bytes) -> bytes:
    """Return the SHA-256 of a certificate's SubjectPublicKeyInfo: the 32 bytes a pin holds.

    Raises:
        CertificateError: The certificate is not strict DER X.509.
        DigestError: OpenSSL refuses SHA-256 under its configuration (FIPS mode without a FIPS
            provider): the message carries OpenSSL's reason.
        TypeError: ``cert_der`` is not bytes-like.
    """
    return _backend.backend.spki_sha256(cert_der)


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of many certificates, in order, in one call to the backend.

    Raises:
        CertificateError: A certificate is malformed; its ``index`` says which.
        DigestError: OpenSSL refuses SHA-256 under its configuration.
        TypeError: An item is not bytes-like.
    """
    return _backend.backend.spki_sha256_many(certs)
