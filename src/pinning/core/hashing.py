"""SHA-256 that OpenSSL refuses: :class:`DigestError`, raised the same way by both backends.

OpenSSL 3 applies its configuration to every digest fetched through its providers: with
``default_properties = fips=yes`` and no FIPS provider loaded it offers no SHA-256 at all, and
:mod:`hashlib` refuses. The C core then refuses too (a hasher created in FIPS mode hashes through
EVP, ``csrc/pinning.c``), and so does the pure backend, which hashes with :mod:`hashlib`. Neither
refusal is a :class:`~pinning.core.errors.CertificateError`: nothing is wrong with the certificate,
and a pin that cannot be computed must never read as one that did not match.
"""

from __future__ import annotations

__all__ = ["DigestError", "hashlib_refused"]


class DigestError(RuntimeError):
    """OpenSSL refused or failed to compute SHA-256, typically under its configuration (FIPS mode,
    ``default_properties = fips=yes``, with no FIPS provider loaded). The message carries
    OpenSSL's own error text. Pinned handshakes fail closed on it."""


def hashlib_refused(exc: ValueError) -> DigestError:
    """Return the :class:`DigestError` for :mod:`hashlib`'s refusal ``exc`` of SHA-256."""
    error = DigestError(f"OpenSSL refused SHA-256 under its configuration (hashlib: {exc})")
    error.__cause__ = exc
    return error
