"""The C core through cffi: a thin layer that checks types, passes bytes straight to C,
allocates the outputs and turns a status into :class:`CertificateError`.

Each thread gets its own ``pinning_hasher`` (a reused SHA-256 context), since cffi releases the GIL
around every call and a hasher must not be shared by two threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ._errors import CertificateError
from ._native import ffi, lib  # type: ignore[import-not-found,unused-ignore]
from ._status import Status

__all__ = ["NAME", "chain_match", "spki", "spki_sha256", "spki_sha256_many"]

NAME = "c"
DIGEST_LEN: int = lib.PINNING_SHA256_LEN


def _check_header_agrees() -> None:
    """Fail the import if ``csrc/pinning.h`` and :class:`Status` disagree."""
    for status in Status:
        value = getattr(lib, f"PINNING_{status.name}", None)
        if value != status.value:
            raise ImportError(
                f"pinning._native and pinning._status disagree on PINNING_{status.name}: "
                "rebuild pinning from one source tree"
            )
    if DIGEST_LEN != 32:
        raise ImportError("pinning._native was built with an unexpected digest length")


_check_header_agrees()
_local = threading.local()


def _hasher() -> Any:
    try:
        return _local.hasher
    except AttributeError:
        hasher = lib.pinning_hasher_new()
        if hasher == ffi.NULL:
            raise MemoryError("OpenSSL could not provide a SHA-256 context") from None
        hasher = ffi.gc(hasher, lib.pinning_hasher_free)
        _local.hasher = hasher
        return hasher


def _as_bytes(cert: object) -> bytes:
    if type(cert) is bytes:
        return cert
    if isinstance(cert, (bytes, bytearray, memoryview)):
        return bytes(cert)
    raise TypeError(f"a certificate must be DER bytes, not {type(cert).__name__}")


def _joined(certs: Sequence[bytes]) -> tuple[bytes, Any, int]:
    certs = [_as_bytes(cert) for cert in certs]
    lens = ffi.new("size_t[]", [len(cert) for cert in certs])
    return b"".join(certs), lens, len(certs)


def spki(cert: bytes) -> bytes:
    """Return the DER SubjectPublicKeyInfo of ``cert``, header included, as in the certificate.

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    cert = _as_bytes(cert)
    bounds = ffi.new("size_t[2]")
    status = lib.pinning_spki(bounds, bounds + 1, cert, len(cert))
    if status != lib.PINNING_OK:
        raise CertificateError(Status(status))
    return cert[bounds[0] : bounds[0] + bounds[1]]


def spki_sha256(cert: bytes) -> bytes:
    """Return the SHA-256 of the SubjectPublicKeyInfo of ``cert`` (32 bytes).

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    cert = _as_bytes(cert)
    digest = ffi.new("uint8_t[32]")
    status = lib.pinning_spki_sha256(digest, _hasher(), cert, len(cert))
    if status != lib.PINNING_OK:
        raise CertificateError(Status(status))
    return bytes(ffi.buffer(digest))


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of each certificate, in order, in one C call.

    Raises:
        CertificateError: a certificate is malformed; ``index`` says which.
        TypeError: ``certs`` holds something other than bytes.
    """
    blob, lens, count = _joined(certs)
    digests = ffi.new("uint8_t[]", max(count, 1) * DIGEST_LEN)
    failed = ffi.new("size_t *")
    status = lib.pinning_spki_sha256_many(digests, failed, _hasher(), blob, len(blob), lens, count)
    if status != lib.PINNING_OK:
        raise CertificateError(Status(status), failed[0])
    out = ffi.buffer(digests)[:]
    return [out[i : i + DIGEST_LEN] for i in range(0, count * DIGEST_LEN, DIGEST_LEN)]


def chain_match(chain: Sequence[bytes], pins: bytes) -> int:
    """Return the index of the first certificate whose SPKI SHA-256 is in ``pins`` (32-byte digests
    back to back), or -1, in one C call.

    Raises:
        CertificateError: a certificate before the first match is malformed.
        ValueError: ``pins`` is not a whole number of 32-byte digests.
    """
    if len(pins) % DIGEST_LEN:
        raise ValueError("pins must be 32-byte SHA-256 digests back to back")
    blob, lens, count = _joined(chain)
    index = ffi.new("size_t *")
    status = lib.pinning_chain_match(
        index, _hasher(), blob, len(blob), lens, count, pins, len(pins) // DIGEST_LEN
    )
    if status != lib.PINNING_OK:
        raise CertificateError(Status(status), index[0])
    return -1 if index[0] == count else int(index[0])
