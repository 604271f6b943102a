"""The pure-Python mirror of the C core: the same strict DER walk, the same statuses.

It follows ``csrc/der.c`` and ``csrc/cert.c`` step by step (read them side by side) over integer
offsets into the caller's buffer, and hashes the SPKI with :mod:`hashlib`. It serves where the C core
cannot be built, and as the second opinion in the differential tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ._errors import CertificateError
from ._status import Status

__all__ = ["NAME", "chain_match", "spki", "spki_sha256", "spki_sha256_many"]

NAME = "pure"

_TAG_INTEGER = 0x02
_TAG_BIT_STRING = 0x03
_TAG_SEQUENCE = 0x30
_TAG_VERSION = 0xA0
_TAG_ISSUER_UID = 0x81
_TAG_SUBJECT_UID = 0x82
_TAG_EXTENSIONS = 0xA3

_sha256 = hashlib.sha256


def _element(buf: bytes, pos: int, end: int) -> tuple[int, int, int] | None:
    """Read one strict-DER element at ``pos`` (before ``end``).

    Returns ``(tag, contents_start, element_end)``, or None when it is not strict DER (the same
    rules, in the same order, as ``PIN_cursor_get_any_element`` in ``csrc/der.c``).
    """
    if end - pos < 2:
        return None
    tag = buf[pos]
    # X.690 8.1.2.4: no high-tag-number form; 8.1.5: no universal tag 0.
    if tag & 0x1F == 0x1F or tag & 0xDF == 0:
        return None
    first = buf[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first  # 8.1.3.4: short form
    else:
        num_octets = first & 0x7F
        # 8.1.3.6 and 10.1: no indefinite form; 8.1.3.5: at most 4 length octets.
        if num_octets == 0 or num_octets > 4 or end - start < num_octets:
            return None
        # 10.1: minimal length octets: no leading zero octet, no long form under 128.
        if buf[start] == 0:
            return None
        length = int.from_bytes(buf[start : start + num_octets], "big")
        if length < 128:
            return None
        start += num_octets
    if length > end - start:
        return None
    return tag, start, start + length


def _expect(buf: bytes, pos: int, end: int, tag: int) -> tuple[int, int] | None:
    """Read an element tagged ``tag``; return ``(contents_start, element_end)`` or None."""
    element = _element(buf, pos, end)
    if element is None or element[0] != tag:
        return None
    return element[1], element[2]


def _optional(buf: bytes, pos: int, end: int, tag: int) -> int | None:
    """Skip an optional element tagged ``tag``; return the position after it, or None if malformed."""
    if pos < end and buf[pos] == tag:
        element = _element(buf, pos, end)
        return None if element is None else element[2]
    return pos


def _version_ok(buf: bytes, start: int, end: int) -> bool:
    """``[0]`` holds exactly one INTEGER of one byte, 0..2 (``PIN_read_version``)."""
    integer = _expect(buf, start, end, _TAG_INTEGER)
    return (
        integer is not None
        and integer[1] == end
        and integer[1] - integer[0] == 1
        and buf[integer[0]] <= 2
    )


def _spki_ok(buf: bytes, start: int, end: int) -> bool:
    """The SPKI holds one AlgorithmIdentifier and one BIT STRING, nothing else."""
    algorithm = _expect(buf, start, end, _TAG_SEQUENCE)
    if algorithm is None:
        return False
    key = _expect(buf, algorithm[1], end, _TAG_BIT_STRING)
    return key is not None and key[1] == end


def _walk(buf: bytes) -> tuple[Status, int, int]:
    """Walk ``buf`` as in ``PIN_certificate_spki``: return the status and the SPKI's bounds."""
    size = len(buf)
    if size == 0:
        return Status.ERR_EMPTY, 0, 0
    certificate = _expect(buf, 0, size, _TAG_SEQUENCE)
    if certificate is None:
        return Status.ERR_CERTIFICATE, 0, 0
    cert_pos, cert_end = certificate
    if cert_end != size:
        return Status.ERR_TRAILING_DATA, 0, 0
    tbs = _expect(buf, cert_pos, cert_end, _TAG_SEQUENCE)
    if tbs is None:
        return Status.ERR_TBS_CERTIFICATE, 0, 0
    pos, tbs_end = tbs
    cert_pos = tbs_end
    if pos < tbs_end and buf[pos] == _TAG_VERSION:
        version = _expect(buf, pos, tbs_end, _TAG_VERSION)
        if version is None or not _version_ok(buf, version[0], version[1]):
            return Status.ERR_VERSION, 0, 0
        pos = version[1]
    serial = _expect(buf, pos, tbs_end, _TAG_INTEGER)
    if serial is None or serial[0] == serial[1]:
        return Status.ERR_SERIAL_NUMBER, 0, 0
    pos = serial[1]
    for status in (Status.ERR_SIGNATURE, Status.ERR_ISSUER, Status.ERR_VALIDITY, Status.ERR_SUBJECT):
        field = _expect(buf, pos, tbs_end, _TAG_SEQUENCE)
        if field is None:
            return status, 0, 0
        pos = field[1]
    spki_start = pos
    spki = _expect(buf, pos, tbs_end, _TAG_SEQUENCE)
    if spki is None or not _spki_ok(buf, spki[0], spki[1]):
        return Status.ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0
    spki_end = pos = spki[1]
    for tag in (_TAG_ISSUER_UID, _TAG_SUBJECT_UID, _TAG_EXTENSIONS):
        after = _optional(buf, pos, tbs_end, tag)
        if after is None:
            return Status.ERR_EXTENSIONS, 0, 0
        pos = after
    if pos != tbs_end:
        return Status.ERR_EXTENSIONS, 0, 0
    algorithm = _expect(buf, cert_pos, cert_end, _TAG_SEQUENCE)
    if algorithm is None:
        return Status.ERR_SIGNATURE_ALGORITHM, 0, 0
    value = _expect(buf, algorithm[1], cert_end, _TAG_BIT_STRING)
    if value is None or value[1] != cert_end:
        return Status.ERR_SIGNATURE_VALUE, 0, 0
    return Status.OK, spki_start, spki_end


def _as_bytes(cert: object) -> bytes:
    if type(cert) is bytes:
        return cert
    if isinstance(cert, (bytes, bytearray, memoryview)):
        return bytes(cert)
    raise TypeError(f"a certificate must be DER bytes, not {type(cert).__name__}")


def _spki_bounds(cert: bytes, index: int | None = None) -> tuple[int, int]:
    status, start, end = _walk(cert)
    if status is not Status.OK:
        raise CertificateError(status, index)
    return start, end


def spki(cert: bytes) -> bytes:
    """Return the DER SubjectPublicKeyInfo of ``cert``, header included, as in the certificate.

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    cert = _as_bytes(cert)
    start, end = _spki_bounds(cert)
    return cert[start:end]


def spki_sha256(cert: bytes) -> bytes:
    """Return the SHA-256 of the SubjectPublicKeyInfo of ``cert`` (32 bytes).

    Raises:
        CertificateError: ``cert`` is not a strict DER certificate.
        TypeError: ``cert`` is not bytes-like.
    """
    cert = _as_bytes(cert)
    start, end = _spki_bounds(cert)
    return _sha256(memoryview(cert)[start:end]).digest()


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of each certificate, in order.

    Raises:
        CertificateError: a certificate is malformed; ``index`` says which.
        TypeError: ``certs`` holds something other than bytes.
    """
    digests = []
    for index, cert in enumerate(certs):
        cert = _as_bytes(cert)
        start, end = _spki_bounds(cert, index)
        digests.append(_sha256(memoryview(cert)[start:end]).digest())
    return digests


def chain_match(chain: Sequence[bytes], pins: bytes) -> int:
    """Return the index of the first certificate whose SPKI SHA-256 is in ``pins`` (32-byte digests
    back to back), or -1.

    Raises:
        CertificateError: a certificate before the first match is malformed.
        ValueError: ``pins`` is not a whole number of 32-byte digests.
    """
    if len(pins) % 32:
        raise ValueError("pins must be 32-byte SHA-256 digests back to back")
    pin_set = {bytes(pins[i : i + 32]) for i in range(0, len(pins), 32)}
    for index, cert in enumerate(chain):
        cert = _as_bytes(cert)
        start, end = _spki_bounds(cert, index)
        if _sha256(memoryview(cert)[start:end]).digest() in pin_set:
            return index
    return -1
