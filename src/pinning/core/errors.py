"""The exceptions and warnings of pinning."""

from __future__ import annotations

from .status import Status, field_of

__all__ = [
    "CertificateError",
    "NotPinnableError",
    "PinningWarning",
    "PolicyError",
]

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
