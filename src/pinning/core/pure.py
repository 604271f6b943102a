"""The pure-Python mirror of the C core: the same strict DER walk, the same statuses.

It follows ``csrc/der.c`` and ``csrc/cert.c`` step by step (read them side by side) over
integer offsets into the caller's buffer, and hashes the SPKI with :mod:`hashlib`. It serves where
the C core cannot be built, and as the second opinion in the differential tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .certinput import as_certificate_bytes as _as_bytes
from .errors import CertificateError
from .status import Status

__all__ = ["NAME", "chain_match", "spki", "spki_sha256", "spki_sha256_many"]

NAME = "pure"

_TAG_INTEGER = 0x02
_TAG_BIT_STRING = 0x03
_TAG_SEQUENCE = 0x30
_TAG_VERSION = 0xA0
_TAG_ISSUER_UID = 0x81
_TAG_SUBJECT_UID = 0x82
_TAG_EXTENSIONS = 0xA3
_TAG_BOOLEAN = 0x01
_TAG_OCTET_STRING = 0x04
_TAG_OID = 0x06
_TAG_UTC_TIME = 0x17
_TAG_GENERALIZED_TIME = 0x18

_sha256 = hashlib.sha256


def _long_form_end(buf: bytes, pos: int, end: int) -> int:
    """Return the end of the long-form element at ``pos``, or -1 if it is not strict DER."""
    num_octets = buf[pos + 1] & 0x7F
    start = pos + 2
    # X.690 8.1.3.6 and 10.1: no indefinite form (0x80); 8.1.3.5: at most 4 length octets.
    if num_octets == 0 or num_octets > 4 or end - start < num_octets:
        return -1
    # 10.1: minimal length octets: no leading zero octet, and no long form under 128. One and two
    # length octets (nearly every certificate field) are read without int.from_bytes.
    first = buf[start]
    if first == 0:
        return -1
    if num_octets == 1:
        length = first
        start += 1
    elif num_octets == 2:
        length = first << 8 | buf[start + 1]
        start += 2
    else:
        start += num_octets
        length = int.from_bytes(buf[start - num_octets : start], "big")
    if length < 128 or length > end - start:
        return -1
    return start + length


def _skip(buf: bytes, pos: int, end: int, tag: int) -> int:
    """Return the end of the strict-DER element tagged ``tag`` at ``pos``, or -1.

    ``PIN_cursor_get_element`` in ``csrc/der.c``. Every ``tag`` the walk asks for is a valid
    low-tag-number identifier other than 0, so a match also passes the X.690 8.1.2.4 and 8.1.5
    checks on the identifier octet.
    """
    if end - pos < 2 or buf[pos] != tag:
        return -1
    length = buf[pos + 1]
    if length < 0x80:  # 8.1.3.4: short form
        pos += 2 + length
        return pos if pos <= end else -1
    return _long_form_end(buf, pos, end)


def _contents(buf: bytes, pos: int) -> int:
    """Return where the contents of the (already checked) element at ``pos`` start."""
    length = buf[pos + 1]
    return pos + 2 if length < 0x80 else pos + 2 + (length & 0x7F)


def _any_end(buf: bytes, pos: int, end: int) -> int:
    """Return the end of the strict-DER element at ``pos`` whatever its tag, or -1
    (``PIN_cursor_get_any_element``): the identifier checks of X.690 8.1.2.4 and 8.1.5 first."""
    if pos >= end:
        return -1
    tag = buf[pos]
    if tag & 0x1F == 0x1F or tag & 0xDF == 0:
        return -1
    return _skip(buf, pos, end, tag)


def _version(buf: bytes, pos: int, end: int) -> int:
    """The version that ``[0]`` at ``pos`` holds: one INTEGER of one byte, 1 (v2) or 2 (v3), or -1
    (``PIN_read_version``; v1 is the DEFAULT, never written in DER)."""
    start = _contents(buf, pos)
    integer_end = _skip(buf, start, end, _TAG_INTEGER)
    if integer_end != end or integer_end - start != 3:
        return -1
    value = buf[start + 2]
    return value if 1 <= value <= 2 else -1


def _integer_ok(buf: bytes, start: int, end: int) -> bool:
    """DER INTEGER contents (``PIN_integer_ok``): at least one octet (X.690 8.3.1), and the first
    nine bits neither all zero nor all one (8.3.2)."""
    if start == end:
        return False
    if end - start == 1:
        return True
    first = buf[start]
    second = buf[start + 1] & 0x80
    return not (first == 0 and not second) and not (first == 0xFF and second)


def _oid_ok(buf: bytes, start: int, end: int) -> bool:
    """OBJECT IDENTIFIER contents (``PIN_oid_ok``, X.690 8.19.2): at least one octet, no
    subidentifier starting with 0x80, the last octet ending one."""
    if start == end or buf[end - 1] & 0x80:
        return False
    if buf[start] == 0x80:
        return False
    # 0x80 elsewhere is a padding octet only when the octet before it ends a subidentifier.
    pos = buf.find(b"\x80", start + 1, end)
    while pos >= 0:
        if not buf[pos - 1] & 0x80:
            return False
        pos = buf.find(b"\x80", pos + 1, end)
    return True


def _algorithm_end(buf: bytes, pos: int, end: int) -> int:
    """The end of the AlgorithmIdentifier at ``pos``, or -1 (``PIN_read_algorithm``): a SEQUENCE
    of an OBJECT IDENTIFIER and at most one more element."""
    algorithm_end = _skip(buf, pos, end, _TAG_SEQUENCE)
    if algorithm_end < 0:
        return -1
    oid = _contents(buf, pos)
    oid_end = _skip(buf, oid, algorithm_end, _TAG_OID)
    if oid_end < 0 or not _oid_ok(buf, _contents(buf, oid), oid_end):
        return -1
    if oid_end != algorithm_end and _any_end(buf, oid_end, algorithm_end) != algorithm_end:
        return -1
    return algorithm_end


def _validity_ok(buf: bytes, pos: int, end: int) -> bool:
    """The Validity SEQUENCE at ``pos`` (ending at ``end``) holds two Times, UTCTime or
    GeneralizedTime, and nothing else (``PIN_read_validity``)."""
    pos = _contents(buf, pos)
    for _ in range(2):
        if pos >= end or buf[pos] not in (_TAG_UTC_TIME, _TAG_GENERALIZED_TIME):
            return False
        pos = _skip(buf, pos, end, buf[pos])
        if pos < 0:
            return False
    return pos == end


def _bit_string_ok(buf: bytes, start: int, end: int) -> bool:
    """DER BIT STRING contents (``PIN_bit_string_ok``): 0..7 unused bits (X.690 8.6.2.2), none
    when empty (8.6.2.3), and the unused bits zero (11.2.1)."""
    if start == end:
        return False
    unused_bits = buf[start]
    if unused_bits > 7:
        return False
    if end - start == 1:
        return unused_bits == 0
    return buf[end - 1] & ((1 << unused_bits) - 1) == 0


def _bit_string_end(buf: bytes, pos: int, end: int, tag: int) -> int:
    """The end of the element tagged ``tag`` at ``pos`` holding a DER BIT STRING, or -1."""
    element_end = _skip(buf, pos, end, tag)
    if element_end < 0 or not _bit_string_ok(buf, _contents(buf, pos), element_end):
        return -1
    return element_end


def _spki_ok(buf: bytes, pos: int, end: int) -> bool:
    """The SPKI at ``pos`` holds one AlgorithmIdentifier and one well-formed BIT STRING only."""
    algorithm_end = _algorithm_end(buf, _contents(buf, pos), end)
    return algorithm_end >= 0 and _bit_string_end(buf, algorithm_end, end, _TAG_BIT_STRING) == end


def _extension_end(buf: bytes, pos: int, end: int) -> int:
    """The end of the Extension at ``pos``, or -1 (``PIN_read_extension``): a SEQUENCE of an
    OBJECT IDENTIFIER, a BOOLEAN only when TRUE (DEFAULT FALSE), an OCTET STRING, nothing else."""
    extension_end = _skip(buf, pos, end, _TAG_SEQUENCE)
    if extension_end < 0:
        return -1
    oid = _contents(buf, pos)
    pos = _skip(buf, oid, extension_end, _TAG_OID)
    if pos < 0 or not _oid_ok(buf, _contents(buf, oid), pos):
        return -1
    if pos < extension_end and buf[pos] == _TAG_BOOLEAN:
        critical_end = _skip(buf, pos, extension_end, _TAG_BOOLEAN)
        if critical_end - pos != 3 or buf[pos + 2] != 0xFF:
            return -1
        pos = critical_end
    if _skip(buf, pos, extension_end, _TAG_OCTET_STRING) != extension_end:
        return -1
    return extension_end


def _tail_ok(buf: bytes, pos: int, end: int, version: int) -> bool:
    """What follows the SPKI (``PIN_read_tbs_tail``): issuerUniqueID and subjectUniqueID (BIT
    STRINGs, v2 or v3), then extensions (v3): [3] holding one SEQUENCE of one or more Extensions."""
    if pos == end:
        return True
    if version == 0:
        return False
    for tag in (_TAG_ISSUER_UID, _TAG_SUBJECT_UID):
        if pos < end and buf[pos] == tag:
            pos = _bit_string_end(buf, pos, end, tag)
            if pos < 0:
                return False
    if pos < end and buf[pos] == _TAG_EXTENSIONS:
        explicit_end = _skip(buf, pos, end, _TAG_EXTENSIONS)
        if explicit_end < 0 or version != 2:
            return False
        extensions = _contents(buf, pos)
        if _skip(buf, extensions, explicit_end, _TAG_SEQUENCE) != explicit_end:
            return False
        pos = _contents(buf, extensions)
        if pos == explicit_end:
            return False
        while pos < explicit_end:
            pos = _extension_end(buf, pos, explicit_end)
            if pos < 0:
                return False
    return pos == end


def _walk(buf: bytes) -> tuple[Status, int, int]:
    """Walk ``buf`` as ``PIN_certificate_spki`` does: the status and the SPKI's bounds."""
    size = len(buf)
    if size == 0:
        return Status.ERR_EMPTY, 0, 0
    cert_end = _skip(buf, 0, size, _TAG_SEQUENCE)
    if cert_end < 0:
        return Status.ERR_CERTIFICATE, 0, 0
    if cert_end != size:
        return Status.ERR_TRAILING_DATA, 0, 0
    tbs = _contents(buf, 0)
    tbs_end = _skip(buf, tbs, cert_end, _TAG_SEQUENCE)
    if tbs_end < 0:
        return Status.ERR_TBS_CERTIFICATE, 0, 0
    pos = _contents(buf, tbs)
    version = 0
    if pos < tbs_end and buf[pos] == _TAG_VERSION:
        version_end = _skip(buf, pos, tbs_end, _TAG_VERSION)
        if version_end < 0:
            return Status.ERR_VERSION, 0, 0
        version = _version(buf, pos, version_end)
        if version < 0:
            return Status.ERR_VERSION, 0, 0
        pos = version_end
    serial_end = _skip(buf, pos, tbs_end, _TAG_INTEGER)
    if serial_end < 0 or not _integer_ok(buf, _contents(buf, pos), serial_end):
        return Status.ERR_SERIAL_NUMBER, 0, 0
    pos = _algorithm_end(buf, serial_end, tbs_end)
    if pos < 0:
        return Status.ERR_SIGNATURE, 0, 0
    pos = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if pos < 0:
        return Status.ERR_ISSUER, 0, 0
    validity = pos
    pos = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if pos < 0 or not _validity_ok(buf, validity, pos):
        return Status.ERR_VALIDITY, 0, 0
    pos = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if pos < 0:
        return Status.ERR_SUBJECT, 0, 0
    spki_start = pos
    spki_end = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if spki_end < 0 or not _spki_ok(buf, pos, spki_end):
        return Status.ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0
    if not _tail_ok(buf, spki_end, tbs_end, version):
        return Status.ERR_EXTENSIONS, 0, 0
    pos = _algorithm_end(buf, tbs_end, cert_end)
    if pos < 0:
        return Status.ERR_SIGNATURE_ALGORITHM, 0, 0
    if _bit_string_end(buf, pos, cert_end, _TAG_BIT_STRING) != cert_end:
        return Status.ERR_SIGNATURE_VALUE, 0, 0
    return Status.OK, spki_start, spki_end


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
    # Check every item's type first, as the C backend does before its one call.
    certs = [_as_bytes(cert) for cert in certs]
    digests = []
    for index, cert in enumerate(certs):
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
    # Check every item's type first, as the C backend does before its one call.
    chain = [_as_bytes(cert) for cert in chain]
    for index, cert in enumerate(chain):
        start, end = _spki_bounds(cert, index)
        if _sha256(memoryview(cert)[start:end]).digest() in pin_set:
            return index
    return -1
