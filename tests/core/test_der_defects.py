"""The DER defect table: one case per defect, the exact status on both backends.

Every defective input is the small certificate of ``_certs_core.small_certificate()`` with one
defect edited in (``_der``), outer lengths fixed up, so that the defect is the only one. The walk
(csrc/cert.c, src/pinning/_pure.py) reports the first field that fails; each case names it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from _certs_core import BACKENDS, backend_or_skip, load_reference, reference_spki, small_certificate
from _der import (
    BIT_STRING,
    INTEGER,
    ISSUER_UID,
    NULL,
    OCTET_STRING,
    OID,
    SEQUENCE,
    SET,
    SUBJECT_UID,
    Cert,
    bit_string,
    children,
    contents,
    explicit,
    indefinite,
    integer,
    length_octets,
    long_form,
    name_of_length,
    reheader,
    seq,
    spki_bounds,
    tlv,
)
from cryptography import x509

from pinning.core.backend import Backend
from pinning.core.errors import CertificateError
from pinning.core.status import Status, field_of

S = Status
BASE = Cert.parse(small_certificate())
GOOD = BASE.encode()
SPKI_ALGORITHM, SPKI_KEY = children(BASE.spki)
VERSION_INTEGER = contents(BASE.version)
SIGNATURE_OID = children(BASE.signature)[0]
SPKI_OID = children(SPKI_ALGORITHM)[0]
NOT_BEFORE, NOT_AFTER = children(BASE.validity)
EXTENSIONS_SEQUENCE = contents(BASE.tail)
(EXTENSION,) = children(EXTENSIONS_SEQUENCE)
EXTENSION_OID, EXTENSION_CRITICAL, EXTENSION_VALUE = children(EXTENSION)
SIGNATURE_BITS = contents(BASE.signature_value)[1:]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return backend_or_skip(request.param)


def cert(**fields: bytes) -> bytes:
    """The base certificate with the named fields replaced (outer lengths recomputed)."""
    return BASE.replace(**fields).encode()


def tbs_of(*fields: bytes) -> bytes:
    """The base certificate whose tbsCertificate holds exactly ``fields``."""
    return BASE.encode(tbs=seq(*fields))


TBS_ORDER = ("version", "serial", "signature", "issuer", "validity", "subject", "spki", "tail")


def tbs_through(last: str, *more: bytes) -> bytes:
    """The base certificate whose tbsCertificate ends after the field ``last``, then ``more``."""
    names = TBS_ORDER[: TBS_ORDER.index(last) + 1]
    return tbs_of(*(getattr(BASE, field) for field in names), *more)


def certificate_of(*elements: bytes) -> bytes:
    """A Certificate SEQUENCE holding exactly ``elements``."""
    return seq(*elements)


# The elements the walk reads, and how to replace each one in the base certificate.
EDIT: dict[str, Callable[[Callable[[bytes], bytes]], bytes]] = {
    "Certificate": lambda f: f(GOOD),
    "tbsCertificate": lambda f: BASE.encode(tbs=f(BASE.tbs())),
    "version": lambda f: cert(version=f(BASE.version)),
    "version.INTEGER": lambda f: cert(version=explicit(0, f(VERSION_INTEGER))),
    "serialNumber": lambda f: cert(serial=f(BASE.serial)),
    "signature": lambda f: cert(signature=f(BASE.signature)),
    "signature.algorithm": lambda f: cert(signature=seq(f(SIGNATURE_OID))),
    "issuer": lambda f: cert(issuer=f(BASE.issuer)),
    "validity": lambda f: cert(validity=f(BASE.validity)),
    "validity.notBefore": lambda f: cert(validity=seq(f(NOT_BEFORE), NOT_AFTER)),
    "validity.notAfter": lambda f: cert(validity=seq(NOT_BEFORE, f(NOT_AFTER))),
    "subject": lambda f: cert(subject=f(BASE.subject)),
    "subjectPublicKeyInfo": lambda f: cert(spki=f(BASE.spki)),
    "spki.algorithm": lambda f: cert(spki=seq(f(SPKI_ALGORITHM), SPKI_KEY)),
    "spki.algorithm.algorithm": lambda f: cert(spki=seq(seq(f(SPKI_OID)), SPKI_KEY)),
    "spki.subjectPublicKey": lambda f: cert(spki=seq(SPKI_ALGORITHM, f(SPKI_KEY))),
    "extensions": lambda f: cert(tail=f(BASE.tail)),
    "extensions.SEQUENCE": lambda f: cert(tail=explicit(3, f(EXTENSIONS_SEQUENCE))),
    "extensions.Extension": lambda f: cert(tail=explicit(3, seq(f(EXTENSION)))),
    "extension.extnID": lambda f: cert(
        tail=explicit(3, seq(seq(f(EXTENSION_OID), EXTENSION_CRITICAL, EXTENSION_VALUE)))
    ),
    "extension.critical": lambda f: cert(
        tail=explicit(3, seq(seq(EXTENSION_OID, f(EXTENSION_CRITICAL), EXTENSION_VALUE)))
    ),
    "extension.extnValue": lambda f: cert(
        tail=explicit(3, seq(seq(EXTENSION_OID, EXTENSION_CRITICAL, f(EXTENSION_VALUE))))
    ),
    "signatureAlgorithm": lambda f: BASE.replace(
        signature_algorithm=f(BASE.signature_algorithm)
    ).encode(),
    "signatureAlgorithm.algorithm": lambda f: BASE.replace(
        signature_algorithm=seq(f(SIGNATURE_OID))
    ).encode(),
    "signatureValue": lambda f: BASE.replace(signature_value=f(BASE.signature_value)).encode(),
}

# The status that names each element the walk reads when it is malformed.
FIELD_STATUS = {
    "Certificate": S.ERR_CERTIFICATE,
    "tbsCertificate": S.ERR_TBS_CERTIFICATE,
    "version": S.ERR_VERSION,
    "version.INTEGER": S.ERR_VERSION,
    "serialNumber": S.ERR_SERIAL_NUMBER,
    "signature": S.ERR_SIGNATURE,
    "issuer": S.ERR_ISSUER,
    "validity": S.ERR_VALIDITY,
    "subject": S.ERR_SUBJECT,
    "subjectPublicKeyInfo": S.ERR_SUBJECT_PUBLIC_KEY_INFO,
    "spki.algorithm": S.ERR_SUBJECT_PUBLIC_KEY_INFO,
    "spki.subjectPublicKey": S.ERR_SUBJECT_PUBLIC_KEY_INFO,
    "extensions": S.ERR_EXTENSIONS,
    "extensions.SEQUENCE": S.ERR_EXTENSIONS,
    "signatureAlgorithm": S.ERR_SIGNATURE_ALGORITHM,
    "signatureValue": S.ERR_SIGNATURE_VALUE,
}

# Elements inside fields whose contents the walk does not read (docs/checks.md): a header defect
# there leaves the certificate accepted, with the same SPKI on both backends.
NOT_READ = (
    "signature.algorithm",
    "validity.notBefore",
    "validity.notAfter",
    "spki.algorithm.algorithm",
    "extensions.Extension",
    "extension.extnID",
    "extension.critical",
    "extension.extnValue",
    "signatureAlgorithm.algorithm",
)


def non_minimal(element: bytes) -> bytes:
    """The element with one length octet too many: 0x81 xx under 128, or a leading zero octet."""
    return long_form(element, len(length_octets(len(contents(element)))))


# Header defects, each applied to every element of the walk. A version whose identifier is not
# [0] is read as an absent (v1) version, so the walk then fails at serialNumber instead.
HEADER_DEFECTS: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    # X.690 8.1.3.6, 10.1: the indefinite length form 0x80 (BER only)
    "indefinite-length": (indefinite, False),
    # X.690 10.1: one length octet more than needed (0x81 under 128, or a leading 0x00)
    "non-minimal-length": (non_minimal, False),
    # X.690 8.1.3.5: five length octets (0x85), more than the walk allows
    "five-length-octets": (lambda e: long_form(e, 5), False),
    # X.690 8.1.5, X.680 8.6: universal tag 0 (end-of-contents), primitive
    "tag-0x00": (lambda e: reheader(e, tag=0x00), True),
    # X.690 8.1.5: universal tag 0, constructed
    "tag-0x20": (lambda e: reheader(e, tag=0x20), True),
    # X.690 8.1.2.4: high-tag-number form, universal primitive (0x1f 0x21: tag 33)
    "high-tag-0x1f": (lambda e: reheader(e, tag=b"\x1f\x21"), True),
    # X.690 8.1.2.4: high-tag-number form, context-specific constructed (0xbf 0x21: [33])
    "high-tag-0xbf": (lambda e: reheader(e, tag=b"\xbf\x21"), True),
}


def header_defect_cases() -> list[object]:
    cases = []
    for defect, (change, retags) in HEADER_DEFECTS.items():
        for field, status in FIELD_STATUS.items():
            if retags and field == "version":
                status = S.ERR_SERIAL_NUMBER
            cases.append(pytest.param(EDIT[field](change), status, id=f"{defect}@{field}"))
    return cases


def header_defects_not_read() -> list[object]:
    return [
        pytest.param(EDIT[field](change), id=f"{defect}@{field}")
        for defect, (change, _) in HEADER_DEFECTS.items()
        for field in NOT_READ
    ]


def extension(*fields: bytes) -> bytes:
    """The base certificate whose one Extension holds exactly ``fields``."""
    return cert(tail=explicit(3, seq(seq(*fields))))


def key_bits(contents_octets: bytes) -> bytes:
    """The base certificate whose subjectPublicKey BIT STRING has these contents octets."""
    return cert(spki=seq(SPKI_ALGORITHM, tlv(BIT_STRING, contents_octets)))


def signature_bits(contents_octets: bytes) -> bytes:
    """The base certificate whose signatureValue BIT STRING has these contents octets."""
    return BASE.replace(signature_value=tlv(BIT_STRING, contents_octets)).encode()


UNIQUE_ID = tlv(ISSUER_UID, b"\x00\xaa")
V1 = BASE.replace(version=b"")
V2 = BASE.replace(version=explicit(0, integer(1)))

# Rules beyond framing (DER, X.690, and RFC 5280 4.1), each broken alone: the input, the status,
# and whether ``cryptography`` refuses it too (True), or accepts it (False: the two RFC 5280 rules
# it does not enforce, a v1 certificate with a tail and an empty Extensions SEQUENCE).
STRICTER = [
    # --- version (X.690 11.5: a DEFAULT value is never encoded; v1 is the DEFAULT) ---
    # [0] holding INTEGER 0: v1 written out
    pytest.param(
        cert(version=explicit(0, integer(0)), tail=b""),
        S.ERR_VERSION,
        True,
        id="version-0-explicit",
    ),
    # --- serialNumber (X.690 8.3.2: the fewest octets) ---
    # 00 01: a leading zero octet before a byte under 0x80
    pytest.param(
        cert(serial=tlv(INTEGER, b"\x00\x01")), S.ERR_SERIAL_NUMBER, True, id="serial-leading-00"
    ),
    # 00 00: a leading zero octet before a zero
    pytest.param(
        cert(serial=tlv(INTEGER, b"\x00\x00")), S.ERR_SERIAL_NUMBER, True, id="serial-00-00"
    ),
    # ff 80: a leading 0xff octet before a byte of 0x80 and up
    pytest.param(
        cert(serial=tlv(INTEGER, b"\xff\x80")), S.ERR_SERIAL_NUMBER, True, id="serial-leading-ff"
    ),
    # thirty 0xff octets: the INTEGER -1, on thirty octets
    pytest.param(
        cert(serial=tlv(INTEGER, b"\xff" * 30)), S.ERR_SERIAL_NUMBER, True, id="serial-ff-30-bytes"
    ),
    # no contents octets at all (X.690 8.3.1)
    pytest.param(cert(serial=tlv(INTEGER, b"")), S.ERR_SERIAL_NUMBER, True, id="serial-no-octets"),
    # --- AlgorithmIdentifier: a SEQUENCE, not empty (its contents are not read) ---
    # an empty signature SEQUENCE
    pytest.param(cert(signature=seq()), S.ERR_SIGNATURE, True, id="signature-empty"),
    # an empty SPKI AlgorithmIdentifier
    pytest.param(
        cert(spki=seq(seq(), SPKI_KEY)),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        True,
        id="spki-algorithm-empty",
    ),
    # an empty signatureAlgorithm
    pytest.param(
        BASE.replace(signature_algorithm=seq()).encode(),
        S.ERR_SIGNATURE_ALGORITHM,
        True,
        id="signatureAlgorithm-empty",
    ),
    # --- subjectPublicKey and signatureValue BIT STRINGs (X.690 8.6.2, 11.2.1) ---
    # signatureValue with 8 unused bits
    pytest.param(
        signature_bits(b"\x08" + SIGNATURE_BITS),
        S.ERR_SIGNATURE_VALUE,
        True,
        id="signatureValue-unused-bits-8",
    ),
    # signatureValue with 0xff unused bits
    pytest.param(
        signature_bits(b"\xff" + SIGNATURE_BITS),
        S.ERR_SIGNATURE_VALUE,
        True,
        id="signatureValue-unused-bits-255",
    ),
    # signatureValue whose one unused bit is set
    pytest.param(
        signature_bits(b"\x01" + SIGNATURE_BITS[:-1] + b"\x01"),
        S.ERR_SIGNATURE_VALUE,
        True,
        id="signatureValue-nonzero-padding",
    ),
    # signatureValue with unused bits and no octet to hold them
    pytest.param(
        signature_bits(b"\x03"),
        S.ERR_SIGNATURE_VALUE,
        True,
        id="signatureValue-unused-bits-without-data",
    ),
    # signatureValue with no contents at all, not even the unused-bits octet
    pytest.param(signature_bits(b""), S.ERR_SIGNATURE_VALUE, True, id="signatureValue-empty"),
    # subjectPublicKey with 8 unused bits
    pytest.param(
        key_bits(b"\x08" + contents(SPKI_KEY)[1:]),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        True,
        id="spki-key-unused-bits-8-ed25519",
    ),
    # subjectPublicKey whose last unused bit is set
    pytest.param(
        key_bits(b"\x01" + contents(SPKI_KEY)[1:-1] + b"\x01"),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        True,
        id="spki-key-nonzero-padding-ed25519",
    ),
    # --- unique identifiers: BIT STRINGs, v2 or v3 only (RFC 5280 4.1.2.8) ---
    # issuerUniqueID with 8 unused bits
    pytest.param(
        cert(tail=tlv(ISSUER_UID, b"\x08\x00")),
        S.ERR_EXTENSIONS,
        True,
        id="issuerUniqueID-unused-bits-8",
    ),
    # subjectUniqueID whose unused bits are set
    pytest.param(
        cert(tail=tlv(SUBJECT_UID, b"\x04\xaf")),
        S.ERR_EXTENSIONS,
        True,
        id="subjectUniqueID-nonzero-padding",
    ),
    # issuerUniqueID with no contents
    pytest.param(
        cert(tail=tlv(ISSUER_UID, b"")), S.ERR_EXTENSIONS, True, id="issuerUniqueID-empty"
    ),
    # v1 (no [0]) with an issuerUniqueID
    pytest.param(
        V1.replace(tail=UNIQUE_ID).encode(), S.ERR_EXTENSIONS, False, id="v1-issuerUniqueID"
    ),
    # v1 with a subjectUniqueID
    pytest.param(
        V1.replace(tail=tlv(SUBJECT_UID, b"\x00\xbb")).encode(),
        S.ERR_EXTENSIONS,
        False,
        id="v1-subjectUniqueID",
    ),
    # --- extensions: [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension, v3 only (4.1.2.9); the
    # Extensions themselves are not read ---
    # v1 (no [0]) with extensions
    pytest.param(V1.encode(), S.ERR_EXTENSIONS, False, id="v1-extensions"),
    # v2 with extensions (cryptography refuses every v2 certificate)
    pytest.param(V2.encode(), S.ERR_EXTENSIONS, True, id="v2-extensions"),
    # an empty [3]
    pytest.param(cert(tail=explicit(3, b"")), S.ERR_EXTENSIONS, True, id="extensions-empty-[3]"),
    # [3] holding an empty SEQUENCE (SIZE (1..MAX))
    pytest.param(
        cert(tail=explicit(3, seq())), S.ERR_EXTENSIONS, False, id="extensions-empty-SEQUENCE"
    ),
    # [3] holding a SET of Extensions
    pytest.param(
        cert(tail=explicit(3, tlv(SET, EXTENSION))), S.ERR_EXTENSIONS, True, id="extensions-SET"
    ),
    # [3] holding the Extensions and a NULL after them
    pytest.param(
        cert(tail=explicit(3, EXTENSIONS_SEQUENCE + tlv(NULL, b""))),
        S.ERR_EXTENSIONS,
        True,
        id="extensions-trailing-NULL",
    ),
    # [3] holding the Extensions twice
    pytest.param(
        cert(tail=explicit(3, EXTENSIONS_SEQUENCE * 2)),
        S.ERR_EXTENSIONS,
        True,
        id="extensions-two-SEQUENCEs",
    ),
]

# Rules the walk leaves unchecked, because their checks cost measurable time on real certificates
# and the pin does not depend on them (docs/checks.md): the contents of the signature and
# signatureAlgorithm AlgorithmIdentifiers and of the SPKI's (past being non-empty), of validity,
# and of each Extension. Each input breaks one such rule alone: both backends accept it and find
# the same SPKI; ``cryptography``, which reads these fields, refuses every one.
NOT_CHECKED = [
    # signature starting with a NULL instead of the OID
    pytest.param(cert(signature=seq(tlv(NULL, b""))), id="signature-no-oid"),
    # signature with the OID and two more elements
    pytest.param(
        cert(signature=seq(SIGNATURE_OID, tlv(NULL, b""), tlv(NULL, b""))),
        id="signature-three-elements",
    ),
    # an empty OID (X.690 8.19.2)
    pytest.param(cert(signature=seq(tlv(OID, b""))), id="signature-oid-empty"),
    # an OID subidentifier padded with a leading 0x80 (X.690 8.19.2)
    pytest.param(
        cert(signature=seq(tlv(OID, b"\x2b\x80\x65\x70"))),
        id="signature-oid-padded",
    ),
    # the SPKI algorithm as a bare NULL inside the SEQUENCE
    pytest.param(
        cert(spki=seq(seq(tlv(NULL, b"")), SPKI_KEY)),
        id="spki-algorithm-no-oid",
    ),
    # an SPKI algorithm OID cut inside a subidentifier (last octet with bit 8 set)
    pytest.param(
        cert(spki=seq(seq(tlv(OID, b"\x2b\x86")), SPKI_KEY)),
        id="spki-algorithm-oid-truncated",
    ),
    # an SPKI algorithm OID starting with 0x80
    pytest.param(
        cert(spki=seq(seq(tlv(OID, b"\x80\x01")), SPKI_KEY)),
        id="spki-algorithm-oid-leading-80",
    ),
    # signatureAlgorithm holding an INTEGER where the OID goes
    pytest.param(
        BASE.replace(signature_algorithm=seq(integer(1))).encode(),
        id="signatureAlgorithm-no-oid",
    ),
    # an empty validity
    pytest.param(cert(validity=seq()), id="validity-empty"),
    # notBefore only
    pytest.param(cert(validity=seq(NOT_BEFORE)), id="validity-one-time"),
    # a third Time
    pytest.param(
        cert(validity=seq(NOT_BEFORE, NOT_AFTER, NOT_AFTER)),
        id="validity-three-times",
    ),
    # the times as OCTET STRINGs
    pytest.param(
        cert(validity=seq(reheader(NOT_BEFORE, tag=OCTET_STRING), NOT_AFTER)),
        id="validity-octet-string",
    ),
    # an Extension as a SET
    pytest.param(
        cert(tail=explicit(3, seq(reheader(EXTENSION, tag=SET)))),
        id="extension-SET",
    ),
    # an Extension without extnID
    pytest.param(
        extension(EXTENSION_CRITICAL, EXTENSION_VALUE),
        id="extension-no-extnID",
    ),
    # an Extension whose extnID is an empty OID
    pytest.param(
        extension(tlv(OID, b""), EXTENSION_VALUE),
        id="extension-empty-extnID",
    ),
    # critical FALSE written out (DEFAULT FALSE: X.690 11.5)
    pytest.param(
        extension(EXTENSION_OID, tlv(0x01, b"\x00"), EXTENSION_VALUE),
        id="extension-critical-false",
    ),
    # critical as 0x01, not the DER TRUE 0xff (X.690 11.1)
    pytest.param(
        extension(EXTENSION_OID, tlv(0x01, b"\x01"), EXTENSION_VALUE),
        id="extension-critical-0x01",
    ),
    # critical on two octets
    pytest.param(
        extension(EXTENSION_OID, tlv(0x01, b"\xff\xff"), EXTENSION_VALUE),
        id="extension-critical-two-octets",
    ),
    # an Extension without extnValue
    pytest.param(
        extension(EXTENSION_OID, EXTENSION_CRITICAL),
        id="extension-no-extnValue",
    ),
    # extnValue as a BIT STRING
    pytest.param(
        extension(EXTENSION_OID, bit_string(b"\x00")),
        id="extension-extnValue-BIT-STRING",
    ),
    # an Extension with a NULL after extnValue
    pytest.param(
        extension(EXTENSION_OID, EXTENSION_VALUE, tlv(NULL, b"")),
        id="extension-trailing-NULL",
    ),
    # critical after extnValue
    pytest.param(
        extension(EXTENSION_OID, EXTENSION_VALUE, EXTENSION_CRITICAL),
        id="extension-critical-last",
    ),
]


DEFECTS = [
    # --- empty and truncated input ---
    # empty input
    pytest.param(b"", S.ERR_EMPTY, id="empty"),
    # truncated to the identifier octet
    pytest.param(GOOD[:1], S.ERR_CERTIFICATE, id="truncated-at-1"),
    # truncated inside the long-form length octets (0x30 0x81 | 0xf0)
    pytest.param(GOOD[:2], S.ERR_CERTIFICATE, id="truncated-in-length"),
    # truncated right after the Certificate header
    pytest.param(GOOD[:3], S.ERR_CERTIFICATE, id="truncated-after-header"),
    # truncated in the middle
    pytest.param(GOOD[: len(GOOD) // 2], S.ERR_CERTIFICATE, id="truncated-at-half"),
    # truncated by its last byte
    pytest.param(GOOD[:-1], S.ERR_CERTIFICATE, id="truncated-last-byte"),
    # a Certificate holding only a truncated tbsCertificate
    pytest.param(certificate_of(BASE.tbs()[:-1]), S.ERR_TBS_CERTIFICATE, id="truncated-tbs"),
    # tbsCertificate ending inside the SPKI
    pytest.param(
        tbs_through("subject", BASE.spki[:-1]), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="truncated-spki"
    ),
    # tbsCertificate ending inside the extensions
    pytest.param(cert(tail=BASE.tail[:-1]), S.ERR_EXTENSIONS, id="truncated-extensions"),
    # Certificate ending inside signatureAlgorithm
    pytest.param(
        certificate_of(BASE.tbs(), BASE.signature_algorithm[:-1]),
        S.ERR_SIGNATURE_ALGORITHM,
        id="truncated-signatureAlgorithm",
    ),
    # Certificate ending inside signatureValue
    pytest.param(
        certificate_of(BASE.tbs(), BASE.signature_algorithm, BASE.signature_value[:-1]),
        S.ERR_SIGNATURE_VALUE,
        id="truncated-signatureValue",
    ),
    # --- missing fields ---
    # an empty Certificate SEQUENCE
    pytest.param(seq(), S.ERR_TBS_CERTIFICATE, id="missing-tbsCertificate"),
    # an empty tbsCertificate
    pytest.param(tbs_of(), S.ERR_SERIAL_NUMBER, id="missing-everything-in-tbs"),
    # tbsCertificate with a version only
    pytest.param(tbs_of(BASE.version), S.ERR_SERIAL_NUMBER, id="missing-serialNumber"),
    # tbsCertificate ending after serialNumber
    pytest.param(tbs_through("serial"), S.ERR_SIGNATURE, id="missing-signature"),
    # tbsCertificate ending after signature
    pytest.param(tbs_through("signature"), S.ERR_ISSUER, id="missing-issuer"),
    # tbsCertificate ending after issuer
    pytest.param(tbs_through("issuer"), S.ERR_VALIDITY, id="missing-validity"),
    # tbsCertificate ending after validity
    pytest.param(tbs_through("validity"), S.ERR_SUBJECT, id="missing-subject"),
    # tbsCertificate ending after subject
    pytest.param(
        tbs_through("subject"), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="missing-subjectPublicKeyInfo"
    ),
    # a Certificate holding only tbsCertificate
    pytest.param(
        certificate_of(BASE.tbs()), S.ERR_SIGNATURE_ALGORITHM, id="missing-signatureAlgorithm"
    ),
    # a Certificate without signatureValue
    pytest.param(
        certificate_of(BASE.tbs(), BASE.signature_algorithm),
        S.ERR_SIGNATURE_VALUE,
        id="missing-signatureValue",
    ),
    # --- length encodings (X.690 8.1.3, 10.1) ---
    # 0x81 0x05: long form for a length under 128 (serialNumber of 5 bytes)
    pytest.param(
        cert(serial=reheader(integer(0x0102030405), length=b"\x81\x05")),
        S.ERR_SERIAL_NUMBER,
        id="length-0x81-0x05",
    ),
    # 0x81 0x00: long form for length 0 (an empty signature SEQUENCE)
    pytest.param(
        cert(signature=tlv(SEQUENCE, b"")[:1] + b"\x81\x00"), S.ERR_SIGNATURE, id="length-0x81-0x00"
    ),
    # 0x82 0x00 0x90: a leading zero length octet (issuer of 0x90 bytes)
    pytest.param(
        cert(issuer=reheader(name_of_length(0x90), length=b"\x82\x00\x90")),
        S.ERR_ISSUER,
        id="length-0x82-0x00-0x90",
    ),
    # 0x82 0x00 0xf0: a leading zero length octet on the Certificate itself
    pytest.param(long_form(GOOD, 2), S.ERR_CERTIFICATE, id="length-0x82-leading-zero"),
    # 0x85: five length octets, even with a value that would fit
    pytest.param(long_form(GOOD, 5), S.ERR_CERTIFICATE, id="length-0x85"),
    # 0x88: eight length octets
    pytest.param(long_form(GOOD, 8), S.ERR_CERTIFICATE, id="length-0x88"),
    # 0xff: the reserved length octet (X.690 8.1.3.5 c)
    pytest.param(reheader(GOOD, length=b"\xff"), S.ERR_CERTIFICATE, id="length-0xff"),
    # 0x80 with end-of-contents inside tbsCertificate's last field (extensions)
    pytest.param(cert(tail=indefinite(BASE.tail)), S.ERR_EXTENSIONS, id="length-0x80-extensions"),
    # --- lengths larger than the input ---
    # the Certificate claims one byte more than there is
    pytest.param(
        reheader(GOOD, length=length_octets(len(contents(GOOD)) + 1)),
        S.ERR_CERTIFICATE,
        id="length-beyond-input-by-1",
    ),
    # the Certificate claims 0xffffffff bytes (the largest 4-octet length)
    pytest.param(
        reheader(GOOD, length=b"\x84\xff\xff\xff\xff"), S.ERR_CERTIFICATE, id="length-0xffffffff"
    ),
    # the Certificate claims 0x7fffffff bytes
    pytest.param(
        reheader(GOOD, length=b"\x84\x7f\xff\xff\xff"), S.ERR_CERTIFICATE, id="length-0x7fffffff"
    ),
    # tbsCertificate claims more than the Certificate holds
    pytest.param(
        certificate_of(reheader(BASE.tbs(), length=b"\x84\x01\x00\x00\x00")),
        S.ERR_TBS_CERTIFICATE,
        id="tbs-length-beyond-certificate",
    ),
    # signatureValue claims one byte more than the Certificate holds
    pytest.param(
        certificate_of(
            BASE.tbs(),
            BASE.signature_algorithm,
            reheader(
                BASE.signature_value, length=length_octets(len(contents(BASE.signature_value)) + 1)
            ),
        ),
        S.ERR_SIGNATURE_VALUE,
        id="signatureValue-length-beyond-certificate",
    ),
    # the SPKI's key claims one byte more than the SPKI holds
    pytest.param(
        cert(
            spki=seq(
                SPKI_ALGORITHM,
                reheader(SPKI_KEY, length=length_octets(len(contents(SPKI_KEY)) + 1)),
            )
        ),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-key-length-beyond-spki",
    ),
    # --- tag 0 in odd places ---
    # the input is one end-of-contents marker
    pytest.param(b"\x00\x00", S.ERR_CERTIFICATE, id="end-of-contents-only"),
    # an end-of-contents marker as the first element of tbsCertificate
    pytest.param(
        tbs_of(b"\x00\x00", BASE.serial), S.ERR_SERIAL_NUMBER, id="end-of-contents-in-tbs"
    ),
    # --- wrong tags at each field of the walk ---
    # Certificate as a SET
    pytest.param(reheader(GOOD, tag=SET), S.ERR_CERTIFICATE, id="wrong-tag-Certificate-SET"),
    # Certificate as [0] constructed
    pytest.param(reheader(GOOD, tag=0xA0), S.ERR_CERTIFICATE, id="wrong-tag-Certificate-[0]"),
    # tbsCertificate as a SET
    pytest.param(
        EDIT["tbsCertificate"](lambda e: reheader(e, tag=SET)),
        S.ERR_TBS_CERTIFICATE,
        id="wrong-tag-tbsCertificate-SET",
    ),
    # tbsCertificate as an OCTET STRING
    pytest.param(
        EDIT["tbsCertificate"](lambda e: reheader(e, tag=OCTET_STRING)),
        S.ERR_TBS_CERTIFICATE,
        id="wrong-tag-tbsCertificate-OCTET-STRING",
    ),
    # version content: an OCTET STRING inside [0]
    pytest.param(
        cert(version=explicit(0, tlv(OCTET_STRING, b"\x02"))),
        S.ERR_VERSION,
        id="wrong-tag-version-content",
    ),
    # version as [1]: read as an absent version, so serialNumber meets [1]
    pytest.param(
        cert(version=reheader(BASE.version, tag=0xA1)),
        S.ERR_SERIAL_NUMBER,
        id="wrong-tag-version-[1]",
    ),
    # version as primitive [0] (0x80): absent version, so serialNumber meets it
    pytest.param(
        cert(version=reheader(BASE.version, tag=0x80)),
        S.ERR_SERIAL_NUMBER,
        id="wrong-tag-version-primitive-[0]",
    ),
    # serialNumber as a BIT STRING
    pytest.param(
        cert(serial=reheader(BASE.serial, tag=BIT_STRING)),
        S.ERR_SERIAL_NUMBER,
        id="wrong-tag-serialNumber",
    ),
    # serialNumber as a constructed INTEGER (0x22)
    pytest.param(
        cert(serial=reheader(BASE.serial, tag=0x22)),
        S.ERR_SERIAL_NUMBER,
        id="wrong-tag-serialNumber-constructed",
    ),
    # signature as a SET
    pytest.param(
        cert(signature=reheader(BASE.signature, tag=SET)), S.ERR_SIGNATURE, id="wrong-tag-signature"
    ),
    # issuer as a SET
    pytest.param(cert(issuer=reheader(BASE.issuer, tag=SET)), S.ERR_ISSUER, id="wrong-tag-issuer"),
    # validity as a SET
    pytest.param(
        cert(validity=reheader(BASE.validity, tag=SET)), S.ERR_VALIDITY, id="wrong-tag-validity"
    ),
    # subject as a SET
    pytest.param(
        cert(subject=reheader(BASE.subject, tag=SET)), S.ERR_SUBJECT, id="wrong-tag-subject"
    ),
    # subjectPublicKeyInfo as a SET
    pytest.param(
        cert(spki=reheader(BASE.spki, tag=SET)),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="wrong-tag-subjectPublicKeyInfo",
    ),
    # SPKI algorithm as a SET
    pytest.param(
        cert(spki=seq(reheader(SPKI_ALGORITHM, tag=SET), SPKI_KEY)),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="wrong-tag-spki-algorithm",
    ),
    # SPKI subjectPublicKey as an OCTET STRING
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, reheader(SPKI_KEY, tag=OCTET_STRING))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="wrong-tag-spki-subjectPublicKey",
    ),
    # SPKI with the key before the algorithm
    pytest.param(
        cert(spki=seq(SPKI_KEY, SPKI_ALGORITHM)), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="spki-swapped"
    ),
    # SPKI without its key
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM)), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="spki-missing-key"
    ),
    # SPKI without its algorithm
    pytest.param(
        cert(spki=seq(SPKI_KEY)), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="spki-missing-algorithm"
    ),
    # an empty SPKI SEQUENCE
    pytest.param(cert(spki=seq()), S.ERR_SUBJECT_PUBLIC_KEY_INFO, id="spki-empty"),
    # SPKI with a third element after the key
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, SPKI_KEY, tlv(NULL, b""))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-extra-element",
    ),
    # subjectPublicKey BIT STRING with no contents at all, not even the unused-bits octet (8.6.2.2)
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, tlv(BIT_STRING, b""))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-key-bit-string-empty",
    ),
    # subjectPublicKey BIT STRING claiming 8 unused bits (8.6.2.2 allows 0..7)
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, bit_string(b"\x04\x00", unused_bits=8))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-key-unused-bits-8",
    ),
    # subjectPublicKey BIT STRING with unused bits but no octet to hold them (8.6.2.3)
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, bit_string(b"", unused_bits=3))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-key-unused-bits-without-data",
    ),
    # subjectPublicKey BIT STRING whose 4 unused bits are not zero (DER, 11.2.1)
    pytest.param(
        cert(spki=seq(SPKI_ALGORITHM, bit_string(b"\x04\x01", unused_bits=4))),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-key-nonzero-padding",
    ),
    # SPKI with a stray byte after the key
    pytest.param(
        cert(spki=tlv(SEQUENCE, SPKI_ALGORITHM + SPKI_KEY + b"\x00")),
        S.ERR_SUBJECT_PUBLIC_KEY_INFO,
        id="spki-stray-byte",
    ),
    # extensions as primitive [3] (0x83)
    pytest.param(
        cert(tail=reheader(BASE.tail, tag=0x83)),
        S.ERR_EXTENSIONS,
        id="wrong-tag-extensions-primitive",
    ),
    # extensions as [4]
    pytest.param(
        cert(tail=reheader(BASE.tail, tag=0xA4)), S.ERR_EXTENSIONS, id="wrong-tag-extensions-[4]"
    ),
    # extensions as a bare SEQUENCE (no [3] wrapper)
    pytest.param(
        cert(tail=contents(BASE.tail)), S.ERR_EXTENSIONS, id="wrong-tag-extensions-bare-SEQUENCE"
    ),
    # issuerUniqueID as constructed [1] (0xa1)
    pytest.param(
        cert(tail=explicit(1, bit_string(b"\xaa")) + BASE.tail),
        S.ERR_EXTENSIONS,
        id="wrong-tag-issuerUniqueID-constructed",
    ),
    # signatureAlgorithm as a SET
    pytest.param(
        EDIT["signatureAlgorithm"](lambda e: reheader(e, tag=SET)),
        S.ERR_SIGNATURE_ALGORITHM,
        id="wrong-tag-signatureAlgorithm",
    ),
    # signatureValue as an OCTET STRING
    pytest.param(
        EDIT["signatureValue"](lambda e: reheader(e, tag=OCTET_STRING)),
        S.ERR_SIGNATURE_VALUE,
        id="wrong-tag-signatureValue",
    ),
    # signatureValue before signatureAlgorithm
    pytest.param(
        certificate_of(BASE.tbs(), BASE.signature_value, BASE.signature_algorithm),
        S.ERR_SIGNATURE_ALGORITHM,
        id="signature-fields-swapped",
    ),
    # --- the tail of tbsCertificate: order, repeats and trailing data ---
    # extensions twice
    pytest.param(cert(tail=BASE.tail + BASE.tail), S.ERR_EXTENSIONS, id="extensions-twice"),
    # subjectUniqueID after extensions
    pytest.param(
        cert(tail=BASE.tail + tlv(SUBJECT_UID, b"\x00\xbb")),
        S.ERR_EXTENSIONS,
        id="subjectUniqueID-after-extensions",
    ),
    # issuerUniqueID after subjectUniqueID
    pytest.param(
        cert(tail=tlv(SUBJECT_UID, b"\x00\xbb") + tlv(0x81, b"\x00\xaa")),
        S.ERR_EXTENSIONS,
        id="issuerUniqueID-after-subjectUniqueID",
    ),
    # a malformed issuerUniqueID (0x81 0x80)
    pytest.param(
        cert(tail=b"\x81\x80\x00\xaa\x00\x00" + BASE.tail),
        S.ERR_EXTENSIONS,
        id="issuerUniqueID-indefinite",
    ),
    # data after extensions in tbsCertificate: one zero byte
    pytest.param(cert(tail=BASE.tail + b"\x00"), S.ERR_EXTENSIONS, id="tbs-trailing-byte"),
    # data after extensions in tbsCertificate: a NULL element
    pytest.param(cert(tail=BASE.tail + tlv(NULL, b"")), S.ERR_EXTENSIONS, id="tbs-trailing-NULL"),
    # data after the SPKI in a v1-style tbsCertificate without extensions
    pytest.param(cert(tail=seq()), S.ERR_EXTENSIONS, id="tbs-trailing-SEQUENCE"),
    # --- version out of range (RFC 5280: v1(0), v2(1), v3(2)) ---
    # version 3
    pytest.param(cert(version=explicit(0, integer(3))), S.ERR_VERSION, id="version-3"),
    # version 0xff (the one-byte INTEGER -1)
    pytest.param(
        cert(version=explicit(0, tlv(INTEGER, b"\xff"))), S.ERR_VERSION, id="version-0xff"
    ),
    # version as a two-byte INTEGER (00 02)
    pytest.param(
        cert(version=explicit(0, tlv(INTEGER, b"\x00\x02"))), S.ERR_VERSION, id="version-two-bytes"
    ),
    # version 256 (01 00)
    pytest.param(cert(version=explicit(0, integer(256))), S.ERR_VERSION, id="version-256"),
    # [0] holding two INTEGERs
    pytest.param(
        cert(version=explicit(0, integer(2) + integer(2))), S.ERR_VERSION, id="version-two-elements"
    ),
    # [0] holding an INTEGER and a stray byte
    pytest.param(
        cert(version=explicit(0, integer(2) + b"\x00")), S.ERR_VERSION, id="version-stray-byte"
    ),
    # an empty [0]
    pytest.param(cert(version=explicit(0, b"")), S.ERR_VERSION, id="version-empty-[0]"),
    # [0] holding an empty INTEGER
    pytest.param(
        cert(version=explicit(0, tlv(INTEGER, b""))), S.ERR_VERSION, id="version-empty-INTEGER"
    ),
    # [0] holding a SEQUENCE that holds the INTEGER
    pytest.param(cert(version=explicit(0, seq(integer(2)))), S.ERR_VERSION, id="version-nested"),
    # --- serialNumber ---
    # an empty serialNumber INTEGER
    pytest.param(cert(serial=tlv(INTEGER, b"")), S.ERR_SERIAL_NUMBER, id="serial-empty"),
    # --- data after the end ---
    # a zero byte after the Certificate
    pytest.param(GOOD + b"\x00", S.ERR_TRAILING_DATA, id="trailing-byte"),
    # a second Certificate after the first
    pytest.param(GOOD + GOOD, S.ERR_TRAILING_DATA, id="trailing-certificate"),
    # an end-of-contents marker after the Certificate
    pytest.param(GOOD + b"\x00\x00", S.ERR_TRAILING_DATA, id="trailing-end-of-contents"),
    # a byte that is not DER at all after the Certificate
    pytest.param(GOOD + b"\xff", S.ERR_TRAILING_DATA, id="trailing-garbage"),
    # a zero byte after signatureValue, inside the Certificate
    pytest.param(
        BASE.encode(after_signature=b"\x00"), S.ERR_SIGNATURE_VALUE, id="after-signatureValue-byte"
    ),
    # a second signatureValue inside the Certificate
    pytest.param(
        BASE.encode(after_signature=BASE.signature_value),
        S.ERR_SIGNATURE_VALUE,
        id="after-signatureValue-second-signature",
    ),
    # a NULL element after signatureValue, inside the Certificate
    pytest.param(
        BASE.encode(after_signature=tlv(NULL, b"")),
        S.ERR_SIGNATURE_VALUE,
        id="after-signatureValue-NULL",
    ),
    *header_defect_cases(),
    *(pytest.param(*case.values[:2], id=case.id) for case in STRICTER),
]


def expect_error(call: Callable[[], object], status: Status, index: int | None) -> None:
    with pytest.raises(CertificateError) as info:
        call()
    assert info.value.status is status
    assert info.value.field == field_of(status)
    assert info.value.index == index


@pytest.mark.parametrize(("der", "status"), DEFECTS)
def test_defect(backend: Backend, der: bytes, status: Status) -> None:
    expect_error(lambda: backend.spki(der), status, None)
    expect_error(lambda: backend.spki_sha256(der), status, None)
    expect_error(lambda: backend.spki_sha256_many([GOOD, der, GOOD]), status, 1)
    expect_error(lambda: backend.chain_match([GOOD, der], b""), status, 1)
    expect_error(lambda: backend.chain_match([der, GOOD], backend.spki_sha256(GOOD)), status, 0)
    # The walk stops at the first pinned certificate and never reads the defective one.
    assert backend.chain_match([GOOD, der], backend.spki_sha256(GOOD)) == 0


@pytest.mark.parametrize("field", EDIT)
def test_editor_changes_nothing_by_itself(field: str) -> None:
    """Each defect above is the only one: editing a field with no change gives the base back."""
    assert EDIT[field](lambda element: element) == GOOD


def big_extension(size: int) -> bytes:
    """An unknown, non-critical extension whose OCTET STRING holds ``size`` bytes."""
    extension = seq(tlv(0x06, b"\x2b\x06\x01\x04\x01\x82\x37\x63"), tlv(OCTET_STRING, b"x" * size))
    return explicit(3, seq(extension))


ACCEPTED = [
    # the base certificate, v3 with one extension
    pytest.param(BASE, id="base"),
    # v1: no [0] version and no extensions
    pytest.param(V1.replace(tail=b""), id="v1-implicit"),
    # v3 without extensions
    pytest.param(BASE.replace(tail=b""), id="v3-no-extensions"),
    # v2 ([0] holding 1) without a tail, and with both unique identifiers
    pytest.param(V2.replace(tail=b""), id="v2"),
    pytest.param(
        V2.replace(tail=UNIQUE_ID + tlv(SUBJECT_UID, b"\x00\xbb")), id="v2-unique-identifiers"
    ),
    # v3 with both unique identifiers, then extensions
    pytest.param(
        BASE.replace(tail=UNIQUE_ID + tlv(SUBJECT_UID, b"\x00\xbb") + BASE.tail),
        id="unique-identifiers",
    ),
    # subjectUniqueID only, holding no bits
    pytest.param(BASE.replace(tail=tlv(SUBJECT_UID, b"\x00")), id="subjectUniqueID-only"),
    # an issuer of 0x90 bytes with the minimal 0x81 0x90 header (the counterpart of 0x82 0x00 0x90)
    pytest.param(BASE.replace(issuer=name_of_length(0x90)), id="length-0x81-0x90"),
    # lengths on three octets (an extension of 70000 bytes)
    pytest.param(BASE.replace(tail=big_extension(70_000)), id="length-three-octets"),
    # lengths on four octets (an extension of 16 MiB)
    pytest.param(BASE.replace(tail=big_extension(1 << 24)), id="length-four-octets"),
    # a 20-byte serialNumber
    pytest.param(BASE.replace(serial=integer((1 << 159) - 1)), id="serial-20-bytes"),
    # DER minimality only: a negative (RFC 5280 forbids it; cryptography warns), minimal
    # serialNumber of 30 octets, and the minimal 00 80, ff 7f and 00
    pytest.param(BASE.replace(serial=tlv(INTEGER, b"\x80" + b"\xff" * 29)), id="serial-negative"),
    pytest.param(BASE.replace(serial=tlv(INTEGER, b"\x00\x80")), id="serial-00-80"),
    pytest.param(BASE.replace(serial=tlv(INTEGER, b"\xff\x7f")), id="serial-ff-7f"),
    pytest.param(BASE.replace(serial=integer(0)), id="serial-0"),
    # a subjectPublicKey with 4 unused bits, all zero (X.690 11.2.1)
    pytest.param(
        BASE.replace(spki=seq(SPKI_ALGORITHM, bit_string(b"\x04\xf0", unused_bits=4))),
        id="spki-key-unused-bits-zero",
    ),
    # a subjectPublicKey holding no bits at all: just the initial octet 0 (X.690 8.6.2.3)
    pytest.param(BASE.replace(spki=seq(SPKI_ALGORITHM, bit_string(b""))), id="spki-key-no-bits"),
    # a signatureValue holding no bits at all
    pytest.param(BASE.replace(signature_value=bit_string(b"")), id="signatureValue-no-bits"),
    # AlgorithmIdentifiers with parameters (a NULL; their contents are not read), and with a
    # multi-octet subidentifier holding a 0x80 octet (1.3.6.1.4.1.16384)
    pytest.param(
        BASE.replace(
            signature=seq(SIGNATURE_OID, tlv(NULL, b"")),
            spki=seq(seq(tlv(OID, b"\x2b\x06\x01\x04\x01\x81\x80\x00")), SPKI_KEY),
            signature_algorithm=seq(SIGNATURE_OID, tlv(NULL, b"")),
        ),
        id="algorithm-parameters",
    ),
    # GeneralizedTime for both times (the characters of a Time are not read)
    pytest.param(
        BASE.replace(validity=seq(tlv(0x18, b"20240101000000Z"), tlv(0x18, b"20540101000000Z"))),
        id="validity-generalized-time",
    ),
    # two extensions, one without critical (the DEFAULT FALSE left out)
    pytest.param(
        BASE.replace(
            tail=explicit(3, seq(EXTENSION, seq(tlv(OID, b"\x55\x1d\x0e"), tlv(OCTET_STRING, b""))))
        ),
        id="two-extensions",
    ),
    # framing only for Names: empty issuer and subject SEQUENCEs
    pytest.param(BASE.replace(issuer=seq(), subject=seq()), id="empty-names"),
]

# What cryptography raises when it refuses a certificate.
REFUSAL = (ValueError, x509.InvalidVersion)

# Accepted rows that cryptography refuses, and why: these are no DER or RFC 5280 rule.
REFERENCE_REFUSES = {
    "v2": "cryptography reads v1 and v3 certificates only",
    "v2-unique-identifiers": "cryptography reads v1 and v3 certificates only",
    "algorithm-parameters": "cryptography knows Ed25519 takes no parameters",
}


@pytest.mark.parametrize("parts", ACCEPTED)
def test_accepted_spki_is_a_view_of_the_certificate(backend: Backend, parts: Cert) -> None:
    der = parts.encode()
    offset = parts.spki_offset()
    spki = backend.spki(der)
    assert spki == parts.spki
    assert spki in der
    assert der[offset : offset + len(spki)] == spki
    assert backend.spki_sha256(der) == hashlib.sha256(spki).digest()
    assert backend.spki_sha256_many([der, GOOD]) == [
        hashlib.sha256(spki).digest(),
        hashlib.sha256(BASE.spki).digest(),
    ]


@pytest.mark.parametrize("parts", ACCEPTED)
def test_accepted_agrees_with_cryptography(request: pytest.FixtureRequest, parts: Cert) -> None:
    """``cryptography`` accepts the accepted rows too (but those of :data:`REFERENCE_REFUSES`), and
    its re-encoding of the key, where it reads the key, is the walk's SPKI, byte for byte."""
    der = parts.encode()
    row = request.node.callspec.id
    if row in REFERENCE_REFUSES:
        with pytest.raises(REFUSAL):
            load_reference(der)
        return
    assert parts.spki in load_reference(der).tbs_certificate_bytes
    if row not in ("spki-key-unused-bits-zero", "spki-key-no-bits"):  # not an Ed25519 key
        assert reference_spki(der) == parts.spki


@pytest.mark.parametrize(("der", "status", "reference_refuses"), STRICTER)
def test_stricter_rules_against_cryptography(
    der: bytes, status: Status, reference_refuses: bool
) -> None:
    """Each rule beyond framing: ``cryptography`` refuses the input too, but for the two RFC 5280
    rules it does not enforce (it accepts those; the walk refuses them on purpose)."""
    if reference_refuses:
        with pytest.raises(REFUSAL):
            load_reference(der)
    else:
        assert Cert.parse(der).spki in load_reference(der).tbs_certificate_bytes


def expect_accepted(backend: Backend, der: bytes) -> None:
    """Every entry point accepts ``der`` and finds the SPKI where the test helpers find it."""
    start, end = spki_bounds(der)
    spki = der[start:end]
    assert backend.spki(der) == spki
    digest = hashlib.sha256(spki).digest()
    assert backend.spki_sha256(der) == digest
    assert backend.spki_sha256_many([GOOD, der]) == [hashlib.sha256(BASE.spki).digest(), digest]
    assert backend.chain_match([der], digest) == 0


@pytest.mark.parametrize("der", NOT_CHECKED)
def test_rules_not_checked_are_accepted(backend: Backend, der: bytes) -> None:
    expect_accepted(backend, der)


@pytest.mark.parametrize("der", NOT_CHECKED)
def test_rules_not_checked_are_refused_by_cryptography(der: bytes) -> None:
    """What docs/checks.md says of these rows: ``cryptography`` refuses each of them."""
    with pytest.raises(REFUSAL):
        load_reference(der)


@pytest.mark.parametrize("der", header_defects_not_read())
def test_header_defects_in_elements_not_read_are_accepted(backend: Backend, der: bytes) -> None:
    expect_accepted(backend, der)


def test_spki_is_found_at_its_offset_when_its_bytes_also_appear_earlier(backend: Backend) -> None:
    """A copy of the SPKI inside the subject Name: the answer is the SPKI field itself."""
    parts = BASE.replace(subject=seq(tlv(SET, BASE.spki)))
    der = parts.encode()
    assert der.index(BASE.spki) < parts.spki_offset()
    assert backend.spki(der) == BASE.spki
    assert backend.spki_sha256(der) == hashlib.sha256(BASE.spki).digest()


def test_bytes_like_inputs(backend: Backend) -> None:
    inside = memoryview(b"\xff" * 7 + GOOD + b"\xff" * 5)[7:-5]
    for der in (GOOD, bytearray(GOOD), memoryview(GOOD), inside):
        assert backend.spki(der) == BASE.spki
        assert backend.spki_sha256(der) == hashlib.sha256(BASE.spki).digest()
    assert (
        backend.spki_sha256_many([bytearray(GOOD), inside])
        == [hashlib.sha256(BASE.spki).digest()] * 2
    )


# --- The batch and chain entry points: the failing index, and no argument error from Python. ---

OTHER = BASE.replace(spki=seq(SPKI_ALGORITHM, bit_string(bytes(range(32))))).encode()
BAD = GOOD[:-1]


def test_many_reports_the_first_failing_index(backend: Backend) -> None:
    expect_error(lambda: backend.spki_sha256_many([GOOD, OTHER, BAD, b""]), S.ERR_CERTIFICATE, 2)
    expect_error(lambda: backend.spki_sha256_many([GOOD, b"", BAD]), S.ERR_EMPTY, 1)
    expect_error(
        lambda: backend.spki_sha256_many([GOOD] * 99 + [GOOD + b"\x00"]), S.ERR_TRAILING_DATA, 99
    )


def test_chain_match_reports_the_failing_index(backend: Backend) -> None:
    pin_good = backend.spki_sha256(GOOD)
    pin_other = backend.spki_sha256(OTHER)
    assert backend.chain_match([OTHER, GOOD, BAD], pin_good) == 1
    assert backend.chain_match([OTHER, GOOD, BAD], pin_other + pin_good) == 0
    assert backend.chain_match([OTHER, GOOD], b"\x00" * 32) == -1
    expect_error(lambda: backend.chain_match([OTHER, BAD, GOOD], pin_good), S.ERR_CERTIFICATE, 1)
    expect_error(
        lambda: backend.chain_match([OTHER, GOOD, BAD], b"\x00" * 64), S.ERR_CERTIFICATE, 2
    )


def test_argument_error_is_unreachable_with_valid_types(backend: Backend) -> None:
    pin = backend.spki_sha256(GOOD)
    assert backend.spki_sha256_many([]) == []
    assert backend.spki_sha256_many(()) == []
    assert backend.chain_match([], b"") == -1
    assert backend.chain_match([], pin) == -1
    assert backend.chain_match([GOOD], b"") == -1
    assert backend.chain_match((OTHER, GOOD), pin * 1000) == 1
    assert backend.spki_sha256_many([GOOD] * 1000) == [pin] * 1000
    for empty in (b"", bytearray(), memoryview(b"")):
        expect_error(lambda empty=empty: backend.spki(empty), S.ERR_EMPTY, None)
        expect_error(lambda empty=empty: backend.spki_sha256(empty), S.ERR_EMPTY, None)
        expect_error(lambda empty=empty: backend.spki_sha256_many([empty]), S.ERR_EMPTY, 0)
        expect_error(lambda empty=empty: backend.chain_match([empty], pin), S.ERR_EMPTY, 0)
    # Every prefix of a certificate, alone and in a chain: a walk status, never ERR_ARGUMENT.
    for end in range(len(GOOD)):
        prefix = GOOD[:end]
        for call in (
            lambda prefix=prefix: backend.spki(prefix),
            lambda prefix=prefix: backend.spki_sha256_many([GOOD, prefix]),
            lambda prefix=prefix: backend.chain_match([prefix, GOOD], b""),
        ):
            with pytest.raises(CertificateError) as info:
                call()
            assert info.value.status not in (S.ERR_ARGUMENT, S.ERR_DIGEST)


@pytest.mark.parametrize("pins", [b"\x00", b"\x00" * 31, b"\x00" * 33, b"\x00" * 65])
def test_pins_must_be_whole_digests(backend: Backend, pins: bytes) -> None:
    with pytest.raises(ValueError, match="32-byte") as info:
        backend.chain_match([GOOD], pins)
    assert not isinstance(info.value, CertificateError)


@pytest.mark.parametrize("bad", [None, 42, "text", [GOOD]])
def test_non_bytes_certificates_are_type_errors(backend: Backend, bad: object) -> None:
    with pytest.raises(TypeError):
        backend.spki(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backend.spki_sha256(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backend.spki_sha256_many([GOOD, bad])  # type: ignore[list-item]
    # Every item's type is checked before any certificate is walked, on both backends: a
    # malformed certificate before it, or a match before it, does not hide the TypeError.
    with pytest.raises(TypeError):
        backend.spki_sha256_many([b"", bad])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        backend.chain_match([GOOD, bad], backend.spki_sha256(GOOD))  # type: ignore[list-item]
    with pytest.raises(TypeError):
        backend.chain_match([BAD, bad], b"")  # type: ignore[list-item]
