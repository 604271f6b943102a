"""What a certificate argument must be, checked the same way by both backends."""

from __future__ import annotations

import _ssl
from typing import Any

__all__ = ["ONLY_BYTES", "ONLY_CERTIFICATES", "as_certificate_bytes", "der"]

# ``ONLY_BYTES.issuperset(map(type, items))``: every item is exactly ``bytes``, the one type the
# fast paths take as it is (a subclass may override comparison, hashing or the buffer).
ONLY_BYTES = frozenset((bytes,))


def as_certificate_bytes(cert: object) -> bytes:
    """Return ``cert`` as ``bytes`` (bytes-like objects are copied).

    Raises:
        TypeError: ``cert`` is not bytes-like (a ``str`` of PEM text, for example).
    """
    if type(cert) is bytes:
        return cert
    if isinstance(cert, (bytes, bytearray, memoryview)):
        return bytes(cert)
    raise TypeError(f"a certificate must be DER bytes, not {type(cert).__name__}")


_DER: int = getattr(_ssl, "ENCODING_DER")  # noqa: B009 (not in typeshed)


# ``ONLY_CERTIFICATES.issuperset(map(type, items))``: every item is an ``_ssl.Certificate``, a type
# that Python code can neither instantiate nor subclass (empty where ``_ssl`` has no such type).
_CERTIFICATE: type | None = getattr(_ssl, "Certificate", None)
ONLY_CERTIFICATES: frozenset[type] = frozenset(() if _CERTIFICATE is None else (_CERTIFICATE,))


def der(cert: Any) -> bytes:
    """Return ``cert``, DER bytes or an ``_ssl.Certificate``, as DER bytes."""
    if type(cert) is bytes:
        return cert
    encoded: bytes = cert.public_bytes(_DER)
    return encoded
