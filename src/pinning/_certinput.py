"""What a certificate argument must be, checked the same way by both backends."""

from __future__ import annotations

__all__ = ["ONLY_BYTES", "as_certificate_bytes"]

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
