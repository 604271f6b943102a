"""The C core through cffi: a thin layer that checks types, passes bytes straight to C and turns a
status into :class:`CertificateError`.

This layer is on the hot path of every pinned handshake, so it is written for speed and measured
(``benchmarks/RESULTS.md``): each call takes a scratch (a reused SHA-256 context and output cells)
from a pool instead of allocating its outputs; the lengths of a chain go to C as a plain Python
list (cffi turns it into a temporary ``size_t`` array for the call), those of a large batch as an
:class:`array.array` seen through ``ffi.from_buffer``; digests come back through
:class:`struct.Struct` unpacks instead of a slice per certificate; the C functions are bound to
module globals. A scratch is never used by two calls at once (see ``_pool``): cffi releases the
GIL around every C call, and a signal handler or trace function may run, and pin, between a C
call and the read of its output.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable, Sequence
from typing import Any

from ._native import ffi, lib  # type: ignore[import-not-found, unused-ignore]
from .certinput import ONLY_BYTES as _ONLY_BYTES
from .certinput import as_certificate_bytes as _as_bytes
from .errors import CertificateError
from .hashing import DigestError
from .status import Status, field_of

__all__ = ["NAME", "chain_match", "spki", "spki_sha256", "spki_sha256_many"]

NAME = "c"
DIGEST_LEN: int = lib.PINNING_SHA256_LEN


def _check_header_agrees() -> None:
    """Fail the import if ``csrc/pinning.h`` and :class:`Status` disagree: on a value, or on the
    name or the field of a value."""
    for status in Status:
        value = getattr(lib, f"PINNING_{status.name}", None)
        c_name = ffi.string(lib.pinning_status_name(status.value)).decode("ascii")
        c_field = ffi.string(lib.pinning_status_field(status.value)).decode("ascii")
        if value != status.value or c_name != f"PINNING_{status.name}":
            raise ImportError(
                f"pinning.core._native and pinning.core.status disagree on PINNING_{status.name} "
                f"(C: {value}, named {c_name}): rebuild pinning from one source tree"
            )
        if c_field != field_of(status):
            raise ImportError(
                f"pinning.core._native and pinning.core.status disagree on the field of "
                f"PINNING_{status.name} (C: {c_field!r}, Python: {field_of(status)!r}): rebuild "
                "pinning from one source tree"
            )
    if DIGEST_LEN != 32:
        raise ImportError("pinning.core._native was built with an unexpected digest length")


_check_header_agrees()
_new = ffi.new
_buffer = ffi.buffer
_c_spki = lib.pinning_spki
_c_spki_sha256 = lib.pinning_spki_sha256
_c_spki_sha256_many = lib.pinning_spki_sha256_many
_c_chain_match = lib.pinning_chain_match
_OK: int = lib.PINNING_OK
_ERR_DIGEST: int = lib.PINNING_ERR_DIGEST
_ERROR_LEN: int = lib.PINNING_ERROR_LEN
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

# A scratch is what one call needs besides its input: a hasher (a reused SHA-256 context), a
# 32-byte digest with a bound method that copies it out as bytes, and two size_t cells (the SPKI's
# offset and length, or the failed or matching index). Calls take one from the pool and give it
# back when they have read their outputs, so a scratch is only ever used by one call at a time:
# not by two threads (cffi releases the GIL during the C call), and not by a signal handler or
# trace function that runs between a C call and the read of its output and pins too (it finds
# the pool without that scratch and takes or makes another). list.pop and list.append are atomic,
# so the pool needs no lock; it holds at most as many scratches as calls ever ran at once.
_Scratch = tuple[Any, Any, Callable[[], bytes], Any, Any]
_pool: list[_Scratch] = []
_take = _pool.pop
_give = _pool.append
# spki() hashes nothing, so it takes its two cells from a pool of its own: it needs no hasher, and
# works where OpenSSL refuses SHA-256.
_spki_pool: list[tuple[Any, Any]] = []
_take_cells = _spki_pool.pop
_give_cells = _spki_pool.append


def _new_scratch() -> _Scratch:
    cell = _new("pinning_hasher **")
    error = _new("char[]", _ERROR_LEN)
    status = lib.pinning_hasher_create(cell, error, _ERROR_LEN)
    if status != _OK:
        raise DigestError(ffi.string(error).decode("utf-8", "replace"))
    hasher = ffi.gc(cell[0], lib.pinning_hasher_free)
    digest = _new("uint8_t[32]")
    cells = _new("size_t[2]")
    return (hasher, digest, memoryview(_buffer(digest)).tobytes, cells, cells + 1)


def _hasher() -> Any:
    """A hasher of this module's own, for callers that drive the C functions directly.

    Raises:
        DigestError: OpenSSL refuses SHA-256 (FIPS mode with no FIPS provider, say).
    """
    return _new_scratch()[0]


def _failure(status: int, scratch: _Scratch, index: int | None = None) -> Exception:
    """Give ``scratch`` back and return the exception for the failed ``status``: a
    :class:`DigestError` with OpenSSL's reason for ``ERR_DIGEST``, else a
    :class:`CertificateError`."""
    if status == _ERR_DIGEST:
        error = _new("char[]", _ERROR_LEN)
        lib.pinning_hasher_error(scratch[0], error, _ERROR_LEN)
        _give(scratch)
        where = "certificate" if index is None else f"certificate {index}"
        reason = ffi.string(error).decode("utf-8", "replace") or "OpenSSL's SHA-256 failed"
        return DigestError(f"{where}: {reason}")
    _give(scratch)
    return CertificateError(Status(status), index)


def _spki_cells() -> tuple[Any, Any]:
    cells = _new("size_t[2]")
    return (cells, cells + 1)


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
    try:
        cells = _take_cells()
    except IndexError:
        cells = _spki_cells()
    offset_cell, length_cell = cells
    status = _c_spki(offset_cell, length_cell, cert, len(cert))
    offset = offset_cell[0]
    length = length_cell[0]
    _give_cells(cells)
    if status != _OK:
        raise CertificateError(Status(status))
    return cert[offset : offset + length]


def spki_sha256(cert: bytes) -> bytes:
    """Return the SHA-256 of the SubjectPublicKeyInfo of ``cert`` (32 bytes).

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
        TypeError: ``cert`` is not bytes-like.
    """
    if type(cert) is not bytes:
        cert = _as_bytes(cert)
    try:
        scratch = _take()
    except IndexError:
        scratch = _new_scratch()
    status = _c_spki_sha256(scratch[1], scratch[0], cert, len(cert))
    if status != _OK:
        raise _failure(status, scratch)
    digest = scratch[2]()
    _give(scratch)
    return digest


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of each certificate, in order, in one C call.

    Raises:
        CertificateError: a certificate is malformed; ``index`` says which.
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
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
    if count < _LENGTHS_ARRAY_FROM:
        lengths: Any = list(map(len, certs))
    else:
        lengths = _from_buffer("size_t[]", array.array(_SIZE_T_CODE, map(len, certs)))
    digests = _new("uint8_t[]", count * 32)
    try:
        scratch = _take()
    except IndexError:
        scratch = _new_scratch()
    failed_cell = scratch[3]
    status = _c_spki_sha256_many(digests, failed_cell, scratch[0], blob, len(blob), lengths, count)
    if status != _OK:
        raise _failure(status, scratch, failed_cell[0])
    _give(scratch)
    return _unpack(digests, count)


def chain_match(chain: Sequence[bytes], pins: bytes) -> int:
    """Return the index of the first certificate whose SPKI SHA-256 is in ``pins`` (32-byte digests
    back to back), or -1, in one C call.

    Raises:
        CertificateError: a certificate before the first match is malformed.
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
        ValueError: ``pins`` is not a whole number of 32-byte digests.
    """
    if len(pins) % 32:
        raise ValueError("pins must be 32-byte SHA-256 digests back to back")
    if type(chain) is not list and type(chain) is not tuple:
        chain = list(chain)
    if not _ONLY_BYTES.issuperset(map(type, chain)):
        chain = [_as_bytes(cert) for cert in chain]
    blob = b"".join(chain)
    count = len(chain)
    try:
        scratch = _take()
    except IndexError:
        scratch = _new_scratch()
    index_cell = scratch[3]
    status = _c_chain_match(
        index_cell, scratch[0], blob, len(blob), list(map(len, chain)), count, pins, len(pins) >> 5
    )
    found: int = index_cell[0]
    if status != _OK:
        raise _failure(status, scratch, found)
    _give(scratch)
    return -1 if found == count else found
