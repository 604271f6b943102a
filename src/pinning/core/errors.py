"""The exceptions and warnings of pinning."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .status import Status, field_of

if TYPE_CHECKING:
    from ..policy.pins import Pin

__all__ = [
    "CertificateError",
    "NotPinnableError",
    "PinMismatch",
    "PinningWarning",
    "PolicyError",
]

# OpenSSL's X509_V_ERR_APPLICATION_VERIFICATION: "application verification failure".
X509_V_ERR_APPLICATION_VERIFICATION = 50


class CertificateError(ValueError):
    """A certificate is not strict DER X.509, or its SubjectPublicKeyInfo cannot be reached.

    Attributes:
        status: The :class:`~pinning.core.status.Status` of the walk.
        field: The RFC 5280 field that failed (``"issuer"``, ``"subjectPublicKeyInfo"``...).
        index: The position of the certificate in the list given, or ``None`` for a single one.
    """

    def __init__(self, status: Status, index: int | None = None) -> None:
        self.status = Status(status)
        self.field = field_of(self.status)
        self.index = index
        where = "certificate" if index is None else f"certificate {index}"
        if self.status is Status.ERR_EMPTY:
            message = f"{where} is empty"
        elif self.status is Status.ERR_TRAILING_DATA:
            message = f"{where} has data after the end of its DER Certificate"
        elif self.status is Status.ERR_DIGEST:
            message = f"{where}: OpenSSL could not compute SHA-256"
        elif self.status is Status.ERR_ARGUMENT:
            message = f"{where}: invalid arguments to the certificate walk"
        else:
            message = f"{where} is not valid DER X.509: malformed or unexpected {self.field}"
        super().__init__(message)


class PolicyError(ValueError):
    """A pin, host pattern or policy is malformed; the message names the bad value."""


class NotPinnableError(TypeError):
    """A context whose connections pinning cannot check, refused by :func:`pinning.pin_context`.

    Raised when the context's ``wrap_socket`` or ``wrap_bio`` does not build the pinned connection
    classes that were installed on it (a context class that delegates to another context, or a
    green stack that ignores ``sslsocket_class``) and no adapter of this library makes it do so.
    The message names the context's type. A :class:`TypeError`: the context is of a kind that
    cannot be pinned.
    """


class PinningWarning(UserWarning):
    """A policy is valid but risky, for example a rule without a backup pin."""


class PinMismatch(ssl.SSLCertVerificationError):
    """The verified chain of a pinned host holds none of the host's pins.

    A subclass of :class:`ssl.SSLCertVerificationError`, so every HTTP client's existing
    certificate error handling applies.

    Attributes:
        hostname: The host that was checked.
        chain_pins: The pins of the chain, leaf first.
        expected: The pins configured for the host.
        verify_code: ``X509_V_ERR_APPLICATION_VERIFICATION`` (50), as OpenSSL reports it.
        verify_message: A one-line reason, as in OpenSSL's verification errors.
    """

    def __init__(
        self,
        message: str,
        *,
        hostname: str,
        chain_pins: Sequence[Pin] = (),
        expected: frozenset[Pin] = frozenset(),
    ) -> None:
        super().__init__(message)
        self.hostname = hostname
        self.chain_pins = tuple(chain_pins)
        self.expected = expected
        self.verify_code = X509_V_ERR_APPLICATION_VERIFICATION
        self.verify_message = f"certificate pinning failure for {hostname}"
        self.reason = "CERTIFICATE_PINNING_FAILURE"

    def __str__(self) -> str:
        return str(self.args[0])
