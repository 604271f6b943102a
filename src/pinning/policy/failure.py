"""What a policy reports: :class:`PinFailure`, and :class:`LoggingReporter`, the default reporter.

A reporter is any callable taking one ``PinFailure``. A policy isolates it: whatever it raises is
logged, never passed on to the connection. It is called on the connection's own thread, inside
the handshake, so it must not block.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .pins import Pin

__all__ = [
    "MISMATCH",
    "LoggingReporter",
    "PinFailure",
    "PinMismatch",
    "Reporter",
    "find_pin_mismatch",
    "log_fields",
]

_UTC = dt.timezone.utc

# OpenSSL's X509_V_ERR_APPLICATION_VERIFICATION: "application verification failure".
X509_V_ERR_APPLICATION_VERIFICATION = 50
_LOGGER = logging.getLogger("pinning")

# The PinFailure.reason of a verified chain that holds none of its rule's pins (its default).
MISMATCH = "The chain holds none of the rule's pins."

Reporter = Callable[["PinFailure"], object]
"""A reporter: any callable taking one :class:`PinFailure`; what it returns is ignored."""


@dataclass(frozen=True, slots=True)
class PinFailure:
    """What a reporter receives for each connection the policy refuses, or would refuse if it
    were enforced (report-only): exactly one per such connection.

    Most are chains that hold none of the host's pins. The others are refused before any pin is
    compared, and have no rule (``pattern`` None, ``expected`` empty): a host no rule covers
    under ``strict`` or on a pin-only connection, a peer without a host name that only a ``*``
    rule could cover, a name that is not a valid host name. A pin-only connection under an
    expired policy or rule is refused too; its failure names the rule that covered the host, if
    any. ``reason`` says which.

    Attributes:
        hostname: The canonical host name. For a peer without one: its IP address, or
            ``unnamed-peer.invalid`` when that is not known. For a name that is not a valid host
            name: its ``repr``, cut to 80 characters.
        port: The port, when the caller gave it.
        chain: The DER certificates checked, leaf first (only the leaf for a pin-only connection).
        chain_pins: The pins of the certificates of ``chain`` that could be read, in order.
        expected: The pins of the rule; empty when there is no rule.
        pattern: The rule's host pattern; None when no rule covers the host.
        enforced: Whether the connection is refused (False: report-only, the connection goes on).
        time: When the check failed (aware, UTC).
        expires: When the rule expires (its own expiry, else the policy's), if it does; with no
            rule, when the policy does.
        include_subdomains: Whether the pattern starts with ``*`` (False when there is no rule).
        served_chain: The DER certificates the peer sent, leaf first, when the caller gave
            them; None otherwise. Reports only: pins are never checked on them.
        reason: Why the connection fails, in one or two sentences, as in the
            :class:`~pinning.PinMismatch` message: ``"The chain holds none of the rule's
            pins."`` (the default) for a verified chain without them, else another text (an empty
            or unreadable chain, a pin-only leaf, no rule, an invalid name, an expiry). Not part
            of :meth:`to_report`, whose fields are the RFC's.
    """

    hostname: str
    port: int | None
    chain: tuple[bytes, ...]
    chain_pins: tuple[Pin, ...]
    expected: frozenset[Pin]
    pattern: str | None
    enforced: bool
    time: dt.datetime
    expires: dt.datetime | None
    include_subdomains: bool
    served_chain: tuple[bytes, ...] | None = None
    reason: str = MISMATCH

    def to_report(self) -> dict[str, Any]:
        """Return the failure as an RFC 7469 section 3 report, ready for :func:`json.dumps`.

        The fields are those of the RFC: ``date-time`` and ``effective-expiration-date`` in
        RFC 3339 UTC (``effective-expiration-date`` is null when the rule never expires),
        ``hostname``, ``port`` (null when unknown), ``include-subdomains``, ``noted-hostname``
        (the host the rule's pattern is anchored on; ``"*"`` for the rule covering any host;
        null when no rule covers the host), ``served-certificate-chain`` (the chain the peer
        sent when known, else the one checked) and ``validated-certificate-chain`` as PEM
        certificates, leaf first, and ``known-pins`` as ``pin-sha256="<base64>"`` directives,
        sorted (empty when no rule covers the host).

        Returns:
            A dict of JSON-ready values (str, int, bool, None and lists of str).
        """
        served = self.chain if self.served_chain is None else self.served_chain
        return {
            "date-time": _rfc3339(self.time),
            "hostname": self.hostname,
            "port": self.port,
            "effective-expiration-date": None if self.expires is None else _rfc3339(self.expires),
            "include-subdomains": self.include_subdomains,
            "noted-hostname": None if self.pattern is None else self.pattern.lstrip("*.") or "*",
            "served-certificate-chain": [ssl.DER_cert_to_PEM_cert(cert) for cert in served],
            "validated-certificate-chain": [ssl.DER_cert_to_PEM_cert(cert) for cert in self.chain],
            "known-pins": sorted(pin.hpkp() for pin in self.expected),
        }


def _rfc3339(moment: dt.datetime) -> str:
    """Return ``moment`` as RFC 3339 UTC with whole seconds: ``2027-06-30T00:00:00Z``."""
    return moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")



def log_fields(failure: PinFailure) -> dict[str, Any]:
    """Return the facts of ``failure`` as the ``extra`` fields of a log record, so that a JSON
    log handler needs no parsing of the text: ``pinning_host``, ``pinning_port``,
    ``pinning_rule`` (the pattern, or None), ``pinning_pins`` (the rule's pins, sorted),
    ``pinning_chain_pins`` (the chain's, leaf first, at most ten), ``pinning_outcome``
    (``"refused"`` or ``"report_only"``), ``pinning_reason`` (one line) and
    ``pinning_expires`` (RFC 3339, or None). Every name starts with ``pinning_``, so none
    collides with an attribute of :class:`logging.LogRecord`."""
    return {
        "pinning_host": failure.hostname,
        "pinning_port": failure.port,
        "pinning_rule": failure.pattern,
        "pinning_pins": sorted(str(pin) for pin in failure.expected),
        "pinning_chain_pins": [str(pin) for pin in failure.chain_pins[:_LISTED]],
        "pinning_outcome": "refused" if failure.enforced else "report_only",
        "pinning_reason": " ".join(failure.reason.split()),
        "pinning_expires": None if failure.expires is None else _rfc3339(failure.expires),
    }


class LoggingReporter:
    """Log one warning per pin failure on the ``"pinning"`` logger. The default reporter.

    The record carries the failure's facts as ``extra`` fields (:func:`log_fields`), and
    ``pinning_event`` ``"pin_failure"``.

    Args:
        logger: The logger to use instead of ``logging.getLogger("pinning")``.
    """

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else _LOGGER

    def __call__(self, failure: PinFailure) -> None:
        """Log ``failure`` as one warning: the host and port, what happened to the connection
        (``enforced: connection refused`` or ``report-only: connection allowed``), why, then the
        rule and the pins."""
        outcome = (
            "enforced: connection refused"
            if failure.enforced
            else "report-only: connection allowed"
        )
        pins = f"chain pins [{_listed(str(pin) for pin in failure.chain_pins)}]"
        if failure.pattern is None:
            where = f"no rule; {pins}"
        else:
            expected = _listed(sorted(str(pin) for pin in failure.expected))
            where = f"rule {failure.pattern!r}; {pins}; expected one of [{expected}]"
        self.logger.warning(
            "certificate pinning failure for %s%s (%s): %s %s",
            failure.hostname,
            "" if failure.port is None else f":{failure.port}",
            outcome,
            " ".join(failure.reason.split()),  # One line, always.
            where,
            extra={"pinning_event": "pin_failure", **log_fields(failure)},
        )

    def __repr__(self) -> str:
        return f"LoggingReporter(logger={self.logger.name!r})"


_LISTED = 10  # Pins a log line shows at most; a 10,000-certificate chain stays one short line.


def _listed(pins: Iterable[str]) -> str:
    """Join at most ``_LISTED`` pins, then say how many more there are."""
    items = list(pins)
    shown = ", ".join(items[:_LISTED])
    return shown if len(items) <= _LISTED else f"{shown}, ... and {len(items) - _LISTED} more"


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


# Where clients keep the exception they wrap, besides __cause__, __context__ and args: ssl and
# urllib's ``reason``, aiohttp's ``certificate_error`` and ``os_error``, exception groups' (and
# anyio's) ``exceptions``, Twisted's ``Failure.value`` and the ``reasons`` list of its
# ResponseFailed and ResponseNeverReceived.
_WRAPPED = ("reason", "certificate_error", "os_error", "exceptions", "value", "reasons")
_LOOKED_AT = 10_000  # Objects examined at most: a cyclic or huge wrapper cannot stall the caller.


def find_pin_mismatch(error: object) -> PinMismatch | None:
    """Return the :class:`PinMismatch` inside an exception a client raised, or None.

    Every client wraps the handshake's error its own way: requests and urllib3 in their
    ``SSLError`` and ``MaxRetryError``, httpx in ``ConnectError``, aiohttp in
    ``ClientConnectorCertificateError``, trio in ``BrokenResourceError``, Twisted in a
    ``Failure`` inside ``ResponseNeverReceived``. This looks through all of them: the exception
    itself, its ``__cause__`` and ``__context__``, its ``args``, exception groups, and the
    attributes those clients keep it in, breadth first.

    Args:
        error: What the client raised or handed to a callback: an exception, or a Twisted
            ``Failure``.

    Returns:
        The first ``PinMismatch`` found, or None when the failure was not a pin failure (an
        untrusted chain, a wrong host name, a refused connection...).
    """
    seen: set[int] = set()
    queue: list[object] = [error]
    for item in queue:
        if len(seen) >= _LOOKED_AT:
            break
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, PinMismatch):
            return item
        if isinstance(item, (list, tuple)):
            queue.extend(item)
            continue
        if isinstance(item, BaseException):
            queue.extend((item.__cause__, item.__context__, *item.args))
        elif not hasattr(item, "value"):  # Only exceptions and Twisted's Failure are opened.
            continue
        for attribute in _WRAPPED:
            try:
                value = getattr(item, attribute, None)
            except Exception:  # A property that raises holds nothing to find.
                continue
            if isinstance(value, (BaseException, list, tuple)) or hasattr(value, "value"):
                queue.append(value)
    return None
