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
from .hashing import hashlib_refused as _refused
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

_sha256 = hashlib.sha256
# Status.OK, read once: an enum member lookup costs as much as a check of the walk.
_OK = Status.OK


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


def _bit_string_ok(buf: bytes, start: int, end: int) -> bool:
    """DER BIT STRING contents (``PIN_bit_string_ok``): 0..7 unused bits (X.690 8.6.2.2), none
    when empty (8.6.2.3: with no octet after it, the initial octet is its own last octet, so any
    unused bit in it is set), and the unused bits zero (11.2.1)."""
    return start < end and buf[start] < 8 and not buf[end - 1] & ((1 << buf[start]) - 1)


def _tail_ok(buf: bytes, pos: int, end: int, version: int) -> bool:
    """What follows the SPKI, when anything does (``PIN_read_tbs_tail``): issuerUniqueID and
    subjectUniqueID (BIT STRINGs, v2 or v3), then extensions (v3): [3] holding exactly one
    SEQUENCE of one or more Extensions (whose contents are not read), then nothing."""
    if version == 0:
        return False
    for tag in (_TAG_ISSUER_UID, _TAG_SUBJECT_UID):
        if pos < end and buf[pos] == tag:
            unique_id_end = _skip(buf, pos, end, tag)
            if unique_id_end < 0 or not _bit_string_ok(buf, _contents(buf, pos), unique_id_end):
                return False
            pos = unique_id_end
    if pos == end:
        return True
    if version != 2 or _skip(buf, pos, end, _TAG_EXTENSIONS) != end:
        return False
    extensions = _contents(buf, pos)
    return _skip(buf, extensions, end, _TAG_SEQUENCE) == end and buf[extensions + 1] != 0


def _walk(buf: bytes) -> tuple[Status, int, int]:
    """Walk ``buf`` as ``PIN_certificate_spki`` does: the status and the SPKI's bounds.

    The checks on contents (version, serialNumber, empty AlgorithmIdentifiers) are written out
    here rather than called: the walk runs once per certificate, and a Python call would cost more
    than the check."""
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
        # PIN_read_version: [0] holding one INTEGER of one octet (so 5 octets in all), 1 or 2.
        # v1 is the DEFAULT, which DER never writes (X.690 11.5).
        version_end = _skip(buf, pos, tbs_end, _TAG_VERSION)
        if version_end - pos != 5 or buf[pos + 2] != _TAG_INTEGER or buf[pos + 3] != 1:
            return Status.ERR_VERSION, 0, 0
        version = buf[pos + 4]
        if version != 1 and version != 2:
            return Status.ERR_VERSION, 0, 0
        pos = version_end
    serial_end = _skip(buf, pos, tbs_end, _TAG_INTEGER)
    if serial_end < 0:
        return Status.ERR_SERIAL_NUMBER, 0, 0
    # PIN_integer_ok: at least one octet (X.690 8.3.1), and not 00 or ff followed by an octet
    # whose bit 8 repeats it (8.3.2: the first nine bits not all equal).
    serial = _contents(buf, pos)
    if serial_end - serial < 2:
        if serial_end == serial:
            return Status.ERR_SERIAL_NUMBER, 0, 0
    elif (buf[serial] + 1) & 0xFE == 0 and (buf[serial] ^ buf[serial + 1]) & 0x80 == 0:
        return Status.ERR_SERIAL_NUMBER, 0, 0
    # signature: a non-empty AlgorithmIdentifier SEQUENCE (PIN_read_algorithm; its contents are
    # not read). Here and below, a SEQUENCE that _skip accepts is empty exactly when its length
    # octet is 0, as a long form under 128 is refused.
    pos = _skip(buf, serial_end, tbs_end, _TAG_SEQUENCE)
    if pos < 0 or buf[serial_end + 1] == 0:
        return Status.ERR_SIGNATURE, 0, 0
    pos = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if pos < 0:
        return Status.ERR_ISSUER, 0, 0
    pos = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if pos < 0:
        return Status.ERR_VALIDITY, 0, 0
    spki_start = _skip(buf, pos, tbs_end, _TAG_SEQUENCE)
    if spki_start < 0:
        return Status.ERR_SUBJECT, 0, 0
    # PIN_read_spki: a non-empty AlgorithmIdentifier SEQUENCE and one BIT STRING, nothing else.
    spki_end = _skip(buf, spki_start, tbs_end, _TAG_SEQUENCE)
    if spki_end < 0:
        return Status.ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0
    algorithm = _contents(buf, spki_start)
    key = _skip(buf, algorithm, spki_end, _TAG_SEQUENCE)
    if (
        key < 0
        or buf[algorithm + 1] == 0
        or _skip(buf, key, spki_end, _TAG_BIT_STRING) != spki_end
        or not _bit_string_ok(buf, _contents(buf, key), spki_end)
    ):
        return Status.ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0
    if spki_end != tbs_end and not _tail_ok(buf, spki_end, tbs_end, version):
        return Status.ERR_EXTENSIONS, 0, 0
    pos = _skip(buf, tbs_end, cert_end, _TAG_SEQUENCE)
    if pos < 0 or buf[tbs_end + 1] == 0:
        return Status.ERR_SIGNATURE_ALGORITHM, 0, 0
    if _skip(buf, pos, cert_end, _TAG_BIT_STRING) != cert_end or not _bit_string_ok(
        buf, _contents(buf, pos), cert_end
    ):
        return Status.ERR_SIGNATURE_VALUE, 0, 0
    return _OK, spki_start, spki_end


def _spki_bounds(cert: bytes, index: int | None = None) -> tuple[int, int]:
    status, start, end = _walk(cert)
    if status is not _OK:
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
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
        TypeError: ``cert`` is not bytes-like.
    """
    cert = _as_bytes(cert)
    start, end = _spki_bounds(cert)
    try:
        return _sha256(memoryview(cert)[start:end]).digest()
    except ValueError as exc:  # hashlib refuses SHA-256 under OpenSSL's configuration
        raise _refused(exc) from exc


def spki_sha256_many(certs: Sequence[bytes]) -> list[bytes]:
    """Return the SPKI SHA-256 of each certificate, in order.

    Raises:
        CertificateError: a certificate is malformed; ``index`` says which.
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
        TypeError: ``certs`` holds something other than bytes.
    """
    # Check every item's type first, as the C backend does before its one call.
    certs = [_as_bytes(cert) for cert in certs]
    digests = []
    for index, cert in enumerate(certs):
        start, end = _spki_bounds(cert, index)
        try:
            digests.append(_sha256(memoryview(cert)[start:end]).digest())
        except ValueError as exc:  # hashlib refuses SHA-256 under OpenSSL's configuration
            raise _refused(exc) from exc
    return digests


def chain_match(chain: Sequence[bytes], pins: bytes) -> int:
    """Return the index of the first certificate whose SPKI SHA-256 is in ``pins`` (32-byte digests
    back to back), or -1.

    Raises:
        CertificateError: a certificate before the first match is malformed.
        DigestError: OpenSSL refuses SHA-256 (see :mod:`pinning.core.hashing`).
        ValueError: ``pins`` is not a whole number of 32-byte digests.
    """
    if len(pins) % 32:
        raise ValueError("pins must be 32-byte SHA-256 digests back to back")
    pin_set = {bytes(pins[i : i + 32]) for i in range(0, len(pins), 32)}
    # Check every item's type first, as the C backend does before its one call.
    chain = [_as_bytes(cert) for cert in chain]
    for index, cert in enumerate(chain):
        start, end = _spki_bounds(cert, index)
        try:
            digest = _sha256(memoryview(cert)[start:end]).digest()
        except ValueError as exc:  # hashlib refuses SHA-256 under OpenSSL's configuration
            raise _refused(exc) from exc
        if digest in pin_set:
            return index
    return -1
