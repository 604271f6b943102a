"""What a certificate argument must be, checked the same way by both backends."""

from __future__ import annotations

__all__ = ["as_certificate_bytes"]


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
