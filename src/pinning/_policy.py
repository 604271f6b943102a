"""Pin policies: which pins each host requires, and the check run on a verified chain."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from . import _backend
from ._errors import CertificateError, PinMismatch, PinningWarning, PolicyError
from ._hosts import HostIndex, HostPattern, canonical_host
from ._pins import Pin, quote
from ._report import LoggingReporter

__all__ = ["PinFailure", "PinPolicy", "PinRule", "Reporter"]

logger = logging.getLogger("pinning")

Reporter = Callable[["PinFailure"], object]
"""A reporter: any callable taking one :class:`PinFailure`; what it returns is ignored."""

PinsLike = Iterable[Pin | str]
PatternsLike = str | Iterable[str]
RulesLike = (
    Mapping[str, PinsLike]
    | Mapping[tuple[str, ...], PinsLike]
    | Mapping[str | tuple[str, ...], PinsLike]
    | Iterable[tuple[PatternsLike, PinsLike]]
)

_UTC = dt.timezone.utc


@dataclass(frozen=True, slots=True)
class PinRule:
    """One host pattern and the pins it requires.

    Attributes:
        pattern: The canonical host pattern (``"*.example.com"``).
        pins: The pins; a chain passes when one of its keys has one of them.
        pins_blob: The digests of ``pins`` back to back, as ``backend.chain_match`` takes them.
    """

    pattern: str
    pins: frozenset[Pin]
    pins_blob: bytes = field(repr=False, compare=False)

    @property
    def include_subdomains(self) -> bool:
        """Whether the pattern covers other hosts than one (it starts with ``*``)."""
        return self.pattern.startswith("*")


@dataclass(frozen=True, slots=True)
class PinFailure:
    """What a reporter receives when a chain does not satisfy a host's pins.

    Attributes:
        hostname: The canonical host name.
        port: The port, when the caller gave it.
        chain: The DER certificates checked, leaf first (only the leaf for a pin-only connection).
        chain_pins: The pins of the certificates of ``chain`` that could be read, in order.
        expected: The pins of the rule.
        pattern: The rule's host pattern.
        enforced: Whether the connection is refused (False: report-only).
        time: When the check failed (aware, UTC).
        expires: When the policy expires, if it does.
        include_subdomains: Whether the pattern starts with ``*``.
    """

    hostname: str
    port: int | None
    chain: tuple[bytes, ...]
    chain_pins: tuple[Pin, ...]
    expected: frozenset[Pin]
    pattern: str
    enforced: bool
    time: dt.datetime
    expires: dt.datetime | None
    include_subdomains: bool


class PinPolicy:
    """Host patterns and the pins each requires. Everything is validated here: fail closed.

    Args:
        rules: ``{pattern or tuple of patterns: pins}``, or an iterable of ``(patterns, pins)``
            pairs. Patterns are those of :class:`~pinning._hosts.HostPattern`; pins are
            :class:`~pinning.Pin` objects or pin strings. When several patterns match a host, the
            most specific one wins (exact, then ``*.``, then ``**.`` by longest suffix, then ``*``);
            OkHttp instead requires any pin of any matching pattern.
        expires: A :class:`datetime.date` (the policy expires at 00:00 UTC that day) or an aware
            :class:`datetime.datetime`. From then on pins are no longer enforced.
        enforce: False makes the policy report-only: failures are reported, never refused.
        reporter: Called with a :class:`PinFailure` on each failure; its exceptions are logged.
            Defaults to a :class:`~pinning._report.LoggingReporter`.
        strict: Refuse hosts that no rule covers.

    Raises:
        PolicyError: A malformed pattern or pin, an empty pin list, a pattern in two rules, no rule
            at all, or a naive ``expires``; the message names the value.

    Warns:
        PinningWarning: An enforced rule has fewer than two pins (no backup pin).
    """

    __slots__ = (
        "_enforce",
        "_expired_logged",
        "_expires",
        "_index",
        "_lock",
        "_reporter",
        "_rules",
        "_strict",
    )

    def __init__(
        self,
        rules: RulesLike,
        *,
        expires: dt.date | dt.datetime | None = None,
        enforce: bool = True,
        reporter: Reporter | None = None,
        strict: bool = False,
    ) -> None:
        for name, flag in (("enforce", enforce), ("strict", strict)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, not {flag!r}")
        if reporter is not None and not callable(reporter):
            raise TypeError(f"reporter must be callable, not {type(reporter).__name__}")
        self._enforce = enforce
        self._strict = strict
        self._expires = _expiry(expires)
        self._reporter: Reporter = LoggingReporter() if reporter is None else reporter
        self._index: HostIndex[PinRule] = HostIndex()
        self._lock = threading.Lock()
        self._expired_logged = False
        built = []
        for patterns, pins in _rule_items(rules):
            pin_set = _pin_set(patterns, pins)
            blob = b"".join(sorted(pin.digest for pin in pin_set))
            for text in _pattern_texts(patterns):
                pattern = HostPattern.parse(text)
                if pattern in self._index:
                    raise PolicyError(f"host pattern {quote(text)} appears in more than one rule")
                rule = PinRule(pattern.text, pin_set, blob)
                self._index.add(pattern, rule)
                built.append(rule)
                if enforce and len(pin_set) < 2:
                    warnings.warn(
                        f"pinning rule {pattern.text!r} has a single pin and no backup pin: "
                        "losing that key locks clients out",
                        PinningWarning,
                        stacklevel=2,
                    )
        if not built:
            raise PolicyError("a pinning policy needs at least one rule")
        self._rules = tuple(built)

    @property
    def rules(self) -> tuple[PinRule, ...]:
        """The rules, one per pattern, in the order given."""
        return self._rules

    @property
    def enforce(self) -> bool:
        """False for a report-only policy."""
        return self._enforce

    @property
    def strict(self) -> bool:
        """Whether hosts that no rule covers are refused."""
        return self._strict

    @property
    def expires(self) -> dt.datetime | None:
        """When the policy stops applying (aware, UTC), or None."""
        return self._expires

    @property
    def reporter(self) -> Reporter:
        """The callable that receives each :class:`PinFailure`."""
        return self._reporter

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Return whether the policy has expired at ``now`` (an aware datetime; default: now)."""
        if self._expires is None:
            return False
        if now is None:
            now = dt.datetime.now(_UTC)
        elif now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        return now >= self._expires

    def rule_for(self, hostname: str) -> PinRule | None:
        """Return the most specific rule covering ``hostname``, or None."""
        host = canonical_host(hostname) if isinstance(hostname, str) else None
        found = None if host is None else self._index.lookup(host)
        return None if found is None else found[1]

    def pins_for(self, hostname: str) -> frozenset[Pin] | None:
        """Return the pins of the most specific rule covering ``hostname``, or None."""
        rule = self.rule_for(hostname)
        return None if rule is None else rule.pins

    def check(
        self,
        hostname: str,
        chain: Sequence[bytes],
        *,
        port: int | None = None,
        pin_only: bool = False,
    ) -> None:
        """Check a verified chain (DER certificates, leaf first) against ``hostname``'s pins.

        Args:
            hostname: The host connected to.
            chain: The verified chain, as DER bytes, leaf first.
            port: The port, for reports.
            pin_only: Nothing but the pins vouches for the server (``CERT_NONE``): only the leaf
                counts, and a host without a rule, an expired policy or a mismatch is refused
                even when the policy is report-only.

        Raises:
            PinMismatch: The chain holds none of the host's pins (when enforced), it cannot be
                read, the host name is not valid, or no rule covers it under ``strict`` or
                ``pin_only``.
        """
        if self._expires is not None and self.expired():
            self._log_expired()
            if pin_only:
                raise PinMismatch(
                    f"Certificate pinning failure for {hostname}! The pinning policy expired at "
                    f"{self._expires.isoformat()}, and nothing else vouches for a connection "
                    "without certificate verification (pin-only).",
                    hostname=str(hostname),
                )
            return
        host = canonical_host(hostname) if isinstance(hostname, str) else None
        if host is None:
            self._refuse(
                f"Certificate pinning failure for {quote(hostname)}! Not a valid host name, so "
                "its pins cannot be looked up.",
                str(hostname),
                pin_only,
            )
            return
        found = self._index.lookup(host)
        if found is None:
            if pin_only:
                self._refuse(
                    f"Certificate pinning failure for {host}! No pinning rule covers the host, "
                    "and a connection without certificate verification (pin-only) needs one.",
                    host,
                    pin_only,
                )
            elif self._strict:
                self._refuse(
                    f"Certificate pinning failure for {host}! No pinning rule covers the host "
                    "(strict policy).",
                    host,
                    pin_only,
                )
            return
        rule = found[1]
        if pin_only:
            chain = chain[:1]
        error = None
        if len(chain):
            try:
                if _backend.backend.chain_match(chain, rule.pins_blob) >= 0:
                    return
            except CertificateError as exc:
                error = exc
        self._fail(host, port, chain, rule, error, pin_only)

    def _refuse(self, message: str, hostname: str, pin_only: bool) -> None:
        """Raise PinMismatch, or only log ``message`` for a report-only policy."""
        if pin_only or self._enforce:
            raise PinMismatch(message, hostname=hostname)
        logger.warning("report-only pinning policy: %s", message)

    def _fail(
        self,
        host: str,
        port: int | None,
        chain: Sequence[bytes],
        rule: PinRule,
        error: CertificateError | None,
        pin_only: bool,
    ) -> None:
        """Report a chain that has none of ``rule``'s pins, then raise when enforced."""
        certs = tuple(bytes(cert) for cert in chain)
        pins = _readable_pins(certs)
        chain_pins = tuple(pin for pin in pins if pin is not None)
        enforced = self._enforce or pin_only
        failure = PinFailure(
            hostname=host,
            port=port,
            chain=certs,
            chain_pins=chain_pins,
            expected=rule.pins,
            pattern=rule.pattern,
            enforced=enforced,
            time=dt.datetime.now(_UTC),
            expires=self._expires,
            include_subdomains=rule.include_subdomains,
        )
        try:
            self._reporter(failure)
        except Exception:
            logger.warning(
                "pinning reporter %r raised; the failure for %s was not reported",
                self._reporter,
                host,
                exc_info=True,
            )
        if enforced:
            message = _failure_message(host, certs, pins, rule, error, pin_only)
            raise PinMismatch(
                message, hostname=host, chain_pins=chain_pins, expected=rule.pins
            ) from error

    def _log_expired(self) -> None:
        with self._lock:
            if self._expired_logged:
                return
            self._expired_logged = True
        logger.warning(
            "pinning policy expired at %s: pins are no longer enforced",
            self._expires.isoformat() if self._expires else "?",
        )

    def __repr__(self) -> str:
        return (
            f"PinPolicy(<{len(self._rules)} rules>, expires={self._expires!r}, "
            f"enforce={self._enforce}, strict={self._strict})"
        )


def _expiry(expires: object) -> dt.datetime | None:
    """Return ``expires`` as an aware UTC datetime (a date means 00:00 UTC that day)."""
    if expires is None:
        return None
    if isinstance(expires, dt.datetime):
        if expires.utcoffset() is None:
            raise PolicyError(
                f"expires={expires.isoformat()!r} is a naive datetime: give it a time zone, "
                "or pass a date (00:00 UTC that day)"
            )
        return expires.astimezone(_UTC)
    if isinstance(expires, dt.date):
        return dt.datetime(expires.year, expires.month, expires.day, tzinfo=_UTC)
    raise PolicyError(f"expires must be a date or an aware datetime, not {quote(expires)}")


def _rule_items(rules: object) -> Iterable[tuple[object, object]]:
    if isinstance(rules, Mapping):
        return list(rules.items())
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Iterable):
        raise PolicyError(f"rules must be a mapping or (patterns, pins) pairs, not {quote(rules)}")
    items = []
    for item in rules:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise PolicyError(f"a rule must be a (patterns, pins) pair, not {quote(item)}")
        items.append((item[0], item[1]))
    return items


def _pattern_texts(patterns: object) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, Iterable) and not isinstance(patterns, bytes):
        texts = list(patterns)
        if texts and all(isinstance(text, str) for text in texts):
            return texts
    raise PolicyError(f"host patterns must be a str or strs, not {quote(patterns)}")


def _pin_set(patterns: object, pins: object) -> frozenset[Pin]:
    if isinstance(pins, (str, bytes, Pin)) or not isinstance(pins, Iterable):
        raise PolicyError(
            f"the pins of rule {quote(patterns)} must be a list of pins, not {quote(pins)}"
        )
    result = set()
    for pin in pins:
        if isinstance(pin, Pin):
            result.add(pin)
            continue
        try:
            result.add(Pin.parse(pin))
        except PolicyError as exc:
            raise PolicyError(f"rule {quote(patterns)}: {exc}") from None
    if not result:
        raise PolicyError(f"rule {quote(patterns)} has no pins: give two (one and a backup)")
    return frozenset(result)


def _readable_pins(certs: tuple[bytes, ...]) -> list[Pin | None]:
    """Return the pin of each certificate, or None for one that cannot be read."""
    backend = _backend.backend
    try:
        return [Pin(digest) for digest in backend.spki_sha256_many(certs)]
    except CertificateError:
        pass
    pins: list[Pin | None] = []
    for cert in certs:
        try:
            pins.append(Pin(backend.spki_sha256(cert)))
        except CertificateError:
            pins.append(None)
    return pins


def _subject(cert: bytes) -> str:
    try:
        return x509.load_der_x509_certificate(cert).subject.rfc4514_string()
    except Exception:
        return "<unparseable certificate>"


def _failure_message(
    host: str,
    certs: tuple[bytes, ...],
    pins: list[Pin | None],
    rule: PinRule,
    error: CertificateError | None,
    pin_only: bool,
) -> str:
    """Write the failure as OkHttp does: the chain's pins and subjects, then the expected pins."""
    lines = [f"Certificate pinning failure for {host}!"]
    if not certs:
        lines.append("  Peer certificate chain: (empty: no certificate to check)")
    else:
        lines.append("  Peer certificate chain:")
        for cert, pin in zip(certs, pins, strict=True):
            shown = "<unreadable key>" if pin is None else str(pin)
            lines.append(f"    {shown}: {_subject(cert)}")
    if error is not None:
        lines.append(f"  The chain cannot be read: {error}")
    if pin_only:
        lines.append("  (pin-only connection: only the leaf certificate's key counts)")
    lines.append(f'  Pinned certificates for {host} (rule "{rule.pattern}"):')
    lines.extend(f"    {pin}" for pin in sorted(rule.pins, key=str))
    return "\n".join(lines)
