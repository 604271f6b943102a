"""Status codes of the certificate walk, shared by the C core and the pure mirror.

The values are those of ``pinning_status`` in ``csrc/pinning.h``; the C binding checks at import
that the header still agrees, so the header stays the one source of truth.
"""

from __future__ import annotations

import enum

__all__ = ["Status", "field_of"]


class Status(enum.IntEnum):
    """Result of walking a certificate: ``OK`` or the first field that failed."""

    OK = 0
    ERR_EMPTY = 1
    ERR_CERTIFICATE = 2
    ERR_TRAILING_DATA = 3
    ERR_TBS_CERTIFICATE = 4
    ERR_VERSION = 5
    ERR_SERIAL_NUMBER = 6
    ERR_SIGNATURE = 7
    ERR_ISSUER = 8
    ERR_VALIDITY = 9
    ERR_SUBJECT = 10
    ERR_SUBJECT_PUBLIC_KEY_INFO = 11
    ERR_EXTENSIONS = 12
    ERR_SIGNATURE_ALGORITHM = 13
    ERR_SIGNATURE_VALUE = 14
    ERR_DIGEST = 15
    ERR_ARGUMENT = 16


_FIELDS = {
    Status.OK: "",
    Status.ERR_EMPTY: "certificate (empty input)",
    Status.ERR_CERTIFICATE: "Certificate",
    Status.ERR_TRAILING_DATA: "data after the Certificate",
    Status.ERR_TBS_CERTIFICATE: "tbsCertificate",
    Status.ERR_VERSION: "version",
    Status.ERR_SERIAL_NUMBER: "serialNumber",
    Status.ERR_SIGNATURE: "signature",
    Status.ERR_ISSUER: "issuer",
    Status.ERR_VALIDITY: "validity",
    Status.ERR_SUBJECT: "subject",
    Status.ERR_SUBJECT_PUBLIC_KEY_INFO: "subjectPublicKeyInfo",
    Status.ERR_EXTENSIONS: "extensions",
    Status.ERR_SIGNATURE_ALGORITHM: "signatureAlgorithm",
    Status.ERR_SIGNATURE_VALUE: "signatureValue",
    Status.ERR_DIGEST: "SHA-256 digest",
    Status.ERR_ARGUMENT: "arguments",
}


def field_of(status: Status) -> str:
    """Return the certificate field that ``status`` names, as RFC 5280 spells it."""
    return _FIELDS[status]
