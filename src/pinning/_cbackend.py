"""The C core through cffi: a thin layer that checks types, passes bytes straight to C, allocates
the outputs and turns a status into :class:`CertificateError`.

Each thread gets its own ``pinning_hasher`` (a reused SHA-256 context), since cffi releases the GIL
around every call and a hasher must not be shared by two threads at once.

This layer is on the hot path of every pinned handshake, so it is written for speed and measured
(``benchmarks/RESULTS.md``): the lengths of a chain go to C as a plain Python list (cffi turns it
into a temporary ``size_t`` array for the call, cheaper than ``ffi.new``), those of a large batch
as an :class:`array.array` seen through ``ffi.from_buffer``; digests come back through
:class:`struct.Struct` unpacks instead of a slice per certificate; the C functions are bound to
module globals. Output buffers are allocated per call, never shared: a signal handler or trace
function that runs between the C call and the read of its output must not be able to change it.
"""

from __future__ import annotations

import array
import struct
import threading
from collections.abc import Sequence
from typing import Any

from ._certinput import as_certificate_bytes as _as_bytes
from ._errors import CertificateError
from ._native import ffi, lib  # type: ignore[import-not-found, unused-ignore]
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
_new = ffi.new
_buffer = ffi.buffer
_c_spki = lib.pinning_spki
_c_spki_sha256 = lib.pinning_spki_sha256
_c_spki_sha256_many = lib.pinning_spki_sha256_many
_c_chain_match = lib.pinning_chain_match
_OK: int = lib.PINNING_OK
_ONLY_BYTES = frozenset((bytes,))
# Lengths go to C as a plain list (cffi converts it for the call) for a few certificates, and as an
# array.array of size_t seen through ffi.from_buffer for many: its fixed cost is higher, its cost
# per certificate about half (measured: 51 against 85 ns per certificate for 1,000).
_LENGTHS_ARRAY_FROM = 16
_SIZE_T_CODE = next(
    code for code in ("I", "L", "Q") if array.array(code).itemsize == ffi.sizeof("size_t")
)
_from_buffer = ffi.from_buffer
# Digests are unpacked 64 at a time with one Struct; the remainder with one Struct per size.
_CHUNK = 64
_UNPACK_CHUNK = struct.Struct("32s" * _CHUNK).unpack_from
_unpackers: dict[int, Any] = {}


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


def _unpack(digests: Any, count: int) -> list[bytes]:
    """Split ``count`` digests back to back in the cffi array ``digests`` into a list of bytes."""
    buffer = _buffer(digests)
    full = count - count % _CHUNK
    out: list[bytes] = []
    for offset in range(0, full * 32, _CHUNK * 32):
        out += _UNPACK_CHUNK(buffer, offset)
    rest = count - full
    if rest:
        unpack = _unpackers.get(rest)
        if unpack is None:
            unpack = _unpackers[rest] = struct.Struct("32s" * rest).unpack_from
        out += unpack(buffer, full * 32)
    return out


def spki(cert: bytes) -> bytes:
    """Return the DER SubjectPublicKeyInfo of ``cert``, header included, as in the certificate.

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    if type(cert) is not bytes:
        cert = _as_bytes(cert)
    bounds = _new("size_t[2]")
    status = _c_spki(bounds, bounds + 1, cert, len(cert))
    if status != _OK:
        raise CertificateError(Status(status))
    return cert[bounds[0] : bounds[0] + bounds[1]]


def spki_sha256(cert: bytes) -> bytes:
    """Return the SHA-256 of the SubjectPublicKeyInfo of ``cert`` (32 bytes).

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    if type(cert) is not bytes:
        cert = _as_bytes(cert)
    try:
        hasher = _local.hasher
    except AttributeError:
        hasher = _hasher()
    digest = _new("uint8_t[32]")
    status = _c_spki_sha256(digest, hasher, cert, len(cert))
    if status != _OK:
        raise CertificateError(Status(status))
    out: bytes = _buffer(digest)[:]
    return out


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of each certificate, in order, in one C call.

    Raises:
        CertificateError: a certificate is malformed; ``index`` says which.
        TypeError: ``certs`` holds something other than bytes.
    """
    if type(certs) is not list and type(certs) is not tuple:
        certs = list(certs)
    if not _ONLY_BYTES.issuperset(map(type, certs)):
        certs = [_as_bytes(cert) for cert in certs]
    count = len(certs)
    if not count:
        return []
    blob = b"".join(certs)
    try:
        hasher = _local.hasher
    except AttributeError:
        hasher = _hasher()
    digests = _new("uint8_t[]", count * 32)
    failed = _new("size_t *")
    if count < _LENGTHS_ARRAY_FROM:
        lengths: Any = list(map(len, certs))
    else:
        lengths = _from_buffer("size_t[]", array.array(_SIZE_T_CODE, map(len, certs)))
    status = _c_spki_sha256_many(digests, failed, hasher, blob, len(blob), lengths, count)
    if status != _OK:
        raise CertificateError(Status(status), failed[0])
    return _unpack(digests, count)


def chain_match(chain: Sequence[bytes], pins: bytes) -> int:
    """Return the index of the first certificate whose SPKI SHA-256 is in ``pins`` (32-byte digests
    back to back), or -1, in one C call.

    Raises:
        CertificateError: a certificate before the first match is malformed.
        ValueError: ``pins`` is not a whole number of 32-byte digests.
    """
    if len(pins) % 32:
        raise ValueError("pins must be 32-byte SHA-256 digests back to back")
    if type(chain) is not list and type(chain) is not tuple:
        chain = list(chain)
    if not _ONLY_BYTES.issuperset(map(type, chain)):
        chain = [_as_bytes(cert) for cert in chain]
    blob = b"".join(chain)
    try:
        hasher = _local.hasher
    except AttributeError:
        hasher = _hasher()
    index = _new("size_t *")
    count = len(chain)
    status = _c_chain_match(
        index, hasher, blob, len(blob), list(map(len, chain)), count, pins, len(pins) >> 5
    )
    if status != _OK:
        raise CertificateError(Status(status), index[0])
    found: int = index[0]
    return -1 if found == count else found
