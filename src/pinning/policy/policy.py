"""Pin policies: which pins each host requires, and the check run on a verified chain."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core import backend as _backend
from ..core.certinput import ONLY_BYTES as _ONLY_BYTES
from ..core.certinput import ONLY_CERTIFICATES as _ONLY_CERTIFICATES
from ..core.certinput import der as _der
from ..core.errors import CertificateError, PinningWarning, PolicyError
from .failure import MISMATCH, LoggingReporter, PinFailure, PinMismatch, Reporter, log_fields
from .hosts import HostIndex, HostPattern, canonical_host
from .loaders import loader
from .message import failure_message, readable_pins
from .metrics import (
    EXPIRED,
    FAST_PATH,
    PASSED,
    REFUSED,
    REMEMBERED,
    REPORT_ONLY,
    PolicyMetrics,
    Tally,
    new_tally,
    read_tally,
)
from .pins import Pin, quote
from .rule import PinRule, _expiry, _pattern_texts, _pin_set, _rule_items

# PinFailure and Reporter live in .failure; this module re-exports them.
__all__ = ["PinFailure", "PinPolicy", "PinRule", "Reporter"]

logger = logging.getLogger("pinning")

PinsLike = Iterable[Pin | str]
PatternsLike = str | Iterable[str]
ExpiresLike = dt.date | dt.datetime | None
RulesLike = (
    Mapping[str, PinsLike]
    | Mapping[tuple[str, ...], PinsLike]
    | Mapping[str | tuple[str, ...], PinsLike]
    | Iterable[tuple[PatternsLike, PinsLike]]
    | Iterable[tuple[PatternsLike, PinsLike, ExpiresLike]]
)

_UTC = dt.timezone.utc

# What check() was given about one connection: (port, chain, pin_only, served_chain).
_Attempt = tuple[int | None, Sequence[bytes], bool, Sequence[bytes] | None]

UNNAMED_PEER = "unnamed-peer.invalid"
"""How a peer without a host name and without a known address is named (RFC 2606 ``.invalid``)."""


class PinPolicy:
    """Host patterns and the pins each requires. Everything is validated here: fail closed.

    Args:
        rules: ``{pattern or tuple of patterns: pins}``, or an iterable of ``(patterns, pins)``
            pairs or ``(patterns, pins, expires)`` triples. Patterns are those of
            :class:`~pinning.policy.hosts.HostPattern`; pins are :class:`~pinning.Pin` objects
            or pin strings. When several patterns match a host, the most specific one wins (exact,
            then ``*.``, then ``**.`` by longest suffix, then ``*``); OkHttp instead requires any
            pin of any matching pattern. A triple's ``expires`` (a date or aware datetime, as for
            the policy) replaces the policy's expiry for that rule, earlier or later; None keeps it.
        expires: A :class:`datetime.date` (the policy expires at 00:00 UTC that day) or an aware
            :class:`datetime.datetime`. From then on pins are no longer enforced, except those of
            rules whose own expiry is later.
        enforce: False makes the policy report-only: failures are reported, never refused.
        reporter: Called with one :class:`PinFailure` for each connection the policy refuses, or
            would refuse if enforced; its exceptions are logged. Defaults to a
            :class:`~pinning.report.http.LoggingReporter`.
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
        "_expired_rules_logged",
        "_expires",
        "_index",
        "_leaves",
        "_lock",
        "_lookups",
        "_outliving",
        "_passed",
        "_reporter",
        "_rules",
        "_since",
        "_strict",
        "_tallies",
        "_unnamed_rule",
        "_unpinned",
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
                raise TypeError(f"{name} must be True or False, not {quote(flag)}")
        if reporter is not None and not callable(reporter):
            raise TypeError(f"reporter must be callable, not {type(reporter).__name__}")
        self._enforce = enforce
        self._strict = strict
        self._expires = _expiry(expires)
        self._reporter: Reporter = LoggingReporter() if reporter is None else reporter
        self._index: HostIndex[PinRule] = HostIndex()
        # Host names as given (exact str) -> their canonical form and rule; see _lookup.
        self._lookups: dict[str, tuple[str | None, PinRule | None]] = {}
        # Host names as given (exact str) -> the verified chains that passed for them, each with
        # the moment its pass stops counting and the counter of its hits; see _passes.
        self._passed: dict[str, tuple[tuple[tuple[Any, ...], dt.datetime | None, Any], ...]] = {}
        # Host names as given -> the leaves that passed for them by their own key (a leaf pin),
        # each with the moment its pass stops counting and the counter of its hits; see _passes.
        self._leaves: dict[str, tuple[tuple[Any, dt.datetime | None, Any], ...]] = {}
        self._lock = threading.Lock()
        self._expired_logged = False
        self._expired_rules_logged: set[str] = set()
        built = []
        for patterns, pins, own_expiry in _rule_items(rules):
            pin_set = _pin_set(patterns, pins)
            blob = b"".join(sorted(pin.digest for pin in pin_set))
            rule_expires = self._expires if own_expiry is None else _expiry(own_expiry)
            for text in _pattern_texts(patterns):
                pattern = HostPattern.parse(text)
                if pattern in self._index:
                    raise PolicyError(f"host pattern {quote(text)} appears in more than one rule")
                rule = PinRule(pattern.text, pin_set, blob, rule_expires)
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
        # The counters of each rule (by pattern) and of the connections no rule decided, made now
        # so that counting a connection is one next() on one of them (policy/metrics.py).
        self._since = dt.datetime.now(_UTC)
        self._tallies: dict[str, Tally] = {rule.pattern: new_tally() for rule in built}
        self._unpinned: Tally = new_tally()
        self._unnamed_rule = next((rule for rule in built if rule.pattern == "*"), None)
        # Whether some rule keeps applying after the policy's own expiry (its expiry is later).
        self._outliving = self._expires is not None and any(
            rule.expires is None or rule.expires > self._expires for rule in built
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, reporter: Reporter | None = None) -> PinPolicy:
        """Read a policy from a TOML file.

        The file holds ``expires`` (a TOML date or offset date-time), ``enforce`` and ``strict``
        (booleans), all optional, and one ``[[rule]]`` table per rule, each with ``hosts`` and
        ``pins`` (non-empty lists of strings) and an optional ``expires`` of its own::

            expires = 2027-06-30
            enforce = true
            strict = false

            [[rule]]
            hosts = ["api.example.com", "**.cdn.example.com"]
            pins = ["sha256/...", "sha256/..."]

        Args:
            path: The file to read (UTF-8).
            reporter: The reporter of the policy (default: a ``LoggingReporter``).

        Returns:
            The policy.

        Raises:
            PolicyError: The file is not valid TOML, or holds an unknown key, a value of the wrong
                type, a bad pin or host pattern, a duplicate, or no rule; the message names the
                file, the line and the rule (``pins.toml:7: rule 2: malformed pin ...``).
            OSError: The file cannot be read.
        """
        return loader("toml-file")(path, reporter=reporter)  # type: ignore[no-any-return]

    @classmethod
    def loads(
        cls, text: str, *, source: str = "<string>", reporter: Reporter | None = None
    ) -> PinPolicy:
        """Read a policy from TOML text, in the format of :meth:`load`.

        Args:
            text: The TOML document.
            source: The name that error messages give the text.
            reporter: The reporter of the policy (default: a ``LoggingReporter``).

        Raises:
            PolicyError: As for :meth:`load`, naming ``source``.
            TypeError: ``text`` is not a str.
        """
        return loader("toml-text")(text, source=source, reporter=reporter)  # type: ignore[no-any-return]

    @classmethod
    def from_android_nsc(
        cls, path: str | os.PathLike[str], *, reporter: Reporter | None = None
    ) -> PinPolicy:
        """Import the ``<pin-set>`` entries of an Android ``network_security_config.xml``.

        Each ``<domain>`` of a ``<domain-config>`` whose pin set (its own, or inherited from the
        enclosing ``<domain-config>``) holds pins becomes a rule: ``host`` for
        ``includeSubdomains="false"`` (the default), ``**.host`` for ``"true"``. A pin set's
        ``expiration`` (``yyyy-MM-dd``) becomes the rule's expiry. The policy is enforced and
        not strict, as Android does.

        Args:
            path: The XML file. Document type declarations and entities are refused.
            reporter: The reporter of the policy (default: a ``LoggingReporter``).

        Raises:
            PolicyError: The XML is not well-formed or has a DTD; an element or attribute is
                unknown or misplaced; a digest is not SHA-256; a pin, domain or expiration is
                malformed; a domain appears twice; or a domain without pins falls under a pinned
                ``includeSubdomains`` domain (a policy cannot exempt it). The message names the
                file and the line.
            OSError: The file cannot be read.
        """
        return loader("android-nsc")(path, reporter=reporter)  # type: ignore[no-any-return]

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

    def metrics(self) -> PolicyMetrics:
        """Return how many connections this policy has decided, per rule and outcome.

        Each handshake of a context pinned with this policy, and each call of :meth:`check`,
        is counted once, in the row of the rule that decided it (``"(unpinned)"`` when none
        did), under one outcome: ``passed``, ``fast_path``, ``remembered``, ``resumed``,
        ``expired``, ``report_only`` or ``refused`` (:mod:`pinning.policy.metrics`). The counts
        start at zero when the policy is built; a snapshot is cheap and takes no lock.
        """
        return PolicyMetrics(
            since=self._since,
            rules={pattern: read_tally(tally) for pattern, tally in self._tallies.items()},
            unpinned=read_tally(self._unpinned),
        )

    def _count(self, rule: PinRule | None, outcome: int) -> None:
        """Count one connection decided outside :meth:`check` and :meth:`_passes` (a resumed
        session, a refusal of the TLS layer), in ``rule``'s row (None: the unpinned one)."""
        next((self._unpinned if rule is None else self._tallies[rule.pattern])[outcome])

    def rule_for(self, hostname: str | None) -> PinRule | None:
        """Return the most specific rule covering ``hostname``, or None.

        ``None`` stands for a peer without a host name (a TLS client, or a server reached
        without ``server_hostname``): only the ``*`` rule covers it.
        """
        if hostname is None:
            return self._unnamed_rule
        if type(hostname) is str:
            return self._lookup(hostname)[1]
        host = canonical_host(hostname) if isinstance(hostname, str) else None
        found = None if host is None else self._index.lookup(host)
        return None if found is None else found[1]

    def _lookup(self, hostname: str) -> tuple[str | None, PinRule | None]:
        """Return the canonical form of ``hostname`` (None if it has none) and its rule (None if
        no rule covers it), remembered per name: a gateway connects to the same few hosts again
        and again, and both are pure functions of the name and of this policy's rules, which
        never change. At most ``_LOOKUPS_KEPT`` names are kept (then all are forgotten at once),
        so that a stream of distinct names cannot grow it without bound."""
        found = self._lookups.get(hostname)
        if found is None:
            host = canonical_host(hostname)
            entry = None if host is None else self._index.lookup(host)
            found = (host, None if entry is None else entry[1])
            if len(self._lookups) >= _LOOKUPS_KEPT:
                self._lookups.clear()
            self._lookups[hostname] = found
        return found

    def _passes(self, hostname: str, chain: Sequence[Any]) -> bool:
        """Return True when ``check(hostname, chain)`` would pass quietly: a current rule covers
        ``hostname`` and one of its pins is in ``chain``. False means "run :meth:`check`", which
        then decides, refuses and reports with every detail; this is the handshake's fast path,
        so that a passing connection pays for nothing else.

        ``chain`` is the verified chain, leaf first, as ``ssl`` gives it: ``_ssl.Certificate``
        objects (``tls.chain.CERTIFICATE_OBJECTS``; encoded as DER only when they have to be
        checked), or exact ``bytes`` (DER). Anything else (a mix, a subclass of bytes, a subclass
        of str as the name) returns False: a subclass could answer an equality test for another
        name or another certificate.

        A chain that passed is remembered under the host name, so that the next handshake with
        the very same chain for that name (a gateway calling the same upstream again) passes on
        one comparison instead of encoding and hashing the chain: inside a handshake every cache
        is cold, and that costs tens of microseconds there (``benchmarks/RESULTS.md``). This is
        exact: the whole chain is compared, as bytes, or as certificates by OpenSSL's
        ``X509_cmp`` (the same tbsCertificate bytes, which hold the SubjectPublicKeyInfo, for
        every certificate parsed from DER, and the same SHA-1 fingerprint); the rule covering a
        name never changes, since a policy never does; a pass stops counting when the policy or
        that rule expires. Only passes are remembered, of chains of at most ``_LONGEST_KEPT``
        certificates: ``_CHAINS_PER_HOST`` chains per name (a host behind a load balancer may
        serve several), for at most ``_PASSED_HOSTS`` names, after which all are forgotten at
        once.

        When the pin found is the leaf's own key (a leaf pin), the leaf alone is remembered
        instead (``_leaves``, with the same bounds): the leaf opens every chain OpenSSL verifies
        with it, so that chain holds a pin whatever follows the leaf. A later chain that starts
        with the very same certificate passes on that one comparison (the handshake makes it
        inline, before calling this)."""
        if type(hostname) is not str or not chain:
            return False
        leaves = self._leaves.get(hostname)
        if leaves is not None:
            leaf = chain[0]
            for known, until, hits in leaves:
                # The same certificate, of exactly its type (never a subclass, whose == could
                # answer for another), as is every certificate of the chain.
                if (
                    type(leaf) is type(known)
                    and known == leaf
                    and _KINDS[type(known)].issuperset(map(type, chain))
                ):
                    if until is None or dt.datetime.now(_UTC) < until:
                        next(hits)
                        return True
                    return False
        if _ONLY_CERTIFICATES.issuperset(map(type, chain)):
            encoded = False
        elif _ONLY_BYTES.issuperset(map(type, chain)):
            encoded = True
        else:
            return False
        key = tuple(chain)
        passed = self._passed.get(hostname)
        if passed is not None:
            for certs, until, hits in passed:
                if certs == key:
                    if until is None or dt.datetime.now(_UTC) < until:
                        next(hits)
                        return True
                    return False
        rule = self._lookup(hostname)[1]
        if rule is None:
            return False
        until = self._expires
        if rule.expires is not None and (until is None or rule.expires < until):
            until = rule.expires
        if until is not None and dt.datetime.now(_UTC) >= until:
            return False
        try:
            certs = key if encoded else tuple([_der(cert) for cert in key])
            depth = _backend.backend.chain_match(certs, rule.pins_blob)
        except CertificateError:
            return False
        if depth < 0:
            return False
        tally = self._tallies[rule.pattern]
        next(tally[FAST_PATH])
        entry = (key, until, tally[REMEMBERED])
        if depth == 0:
            # The leaf's own key is a pin: every verified chain that starts with this very leaf
            # holds a pin, whatever OpenSSL built above it, so the leaf alone is remembered.
            entry = (key[0], until, tally[REMEMBERED])
            _keep(self._leaves, hostname, leaves, entry)
        elif len(key) <= _LONGEST_KEPT:
            _keep(self._passed, hostname, passed, entry)
        return True

    def pins_for(self, hostname: str | None) -> frozenset[Pin] | None:
        """Return the pins of the most specific rule covering ``hostname`` (None: a peer without
        a name, covered by the ``*`` rule only), or None when no rule covers it."""
        rule = self.rule_for(hostname)
        return None if rule is None else rule.pins

    def check(
        self,
        hostname: str | None,
        chain: Sequence[bytes],
        *,
        port: int | None = None,
        pin_only: bool = False,
        served_chain: Sequence[bytes] | None = None,
        peer: str | None = None,
    ) -> None:
        """Check a verified chain (DER certificates, leaf first) against ``hostname``'s pins.

        Once the policy (or the rule covering the host) has expired, nothing is refused, under
        ``strict`` too, except ``pin_only`` connections. A report-only policy refuses nothing but
        ``pin_only`` connections. Each connection that is refused, or that would be if the policy
        were enforced, is reported once to the reporter, as a :class:`PinFailure`; whatever the
        reporter raises is logged and goes no further.

        Args:
            hostname: The host connected to; None for a peer without a name (a TLS client at a
                server, or a server reached without ``server_hostname``), which only the ``*``
                rule covers; ``strict`` refuses it when there is no such rule, ``pin_only``
                always.
            chain: The verified chain, as DER bytes, leaf first.
            port: The port, for reports.
            pin_only: Nothing but the pins vouches for the server (``CERT_NONE``): only the leaf
                counts, and a host without a rule, an expired policy or rule, or a mismatch is
                refused even when the policy is report-only.
            served_chain: The certificates the peer sent (DER, leaf first), for reports only;
                never checked.
            peer: How messages and reports name a peer without a host name (its IP address);
                ignored when ``hostname`` is given.

        Raises:
            PinMismatch: The chain holds none of the host's pins (when enforced), it cannot be
                read, the host name is not valid, or no rule covers it under ``strict`` or
                ``pin_only``.
            TypeError: ``chain`` is not a sequence (a list or tuple of DER certificates; not one
                certificate's bytes), holds something other than bytes, or ``port`` is not an
                int or None.
            ValueError: ``port`` is not in 0..65535.
        """
        if type(chain) is not list and type(chain) is not tuple:
            _check_chain_type(chain)
        if port is not None and (type(port) is not int or not 0 <= port <= _MAX_PORT):
            _check_port(port)
        now = None
        if self._expires is not None:
            now = dt.datetime.now(_UTC)
            if now >= self._expires and self._outlived_by(hostname, now) is None:
                self._expired_path(hostname, peer, port, chain, pin_only, served_chain, now)
                return
        attempt = (port, chain, pin_only, served_chain)
        if hostname is None:
            host = peer or UNNAMED_PEER
            rule = self._unnamed_rule
            if pin_only or (rule is None and self._strict):
                reason = (
                    "a connection without certificate verification (pin-only) is only checked "
                    "against the pins of its host name."
                    if pin_only
                    else "only a '*' rule could cover it, and this strict policy has none."
                )
                self._refuse(
                    host,
                    "The peer has no host name (no server_hostname was given, or it is a TLS "
                    f"client): {reason} Pass server_hostname (an IP address text is looked up "
                    "as such).",
                    attempt,
                )
                return
            if rule is None:
                next(self._unpinned[PASSED])
                return
        else:
            if type(hostname) is str:
                canonical, rule_found = self._lookup(hostname)
            else:
                canonical = canonical_host(hostname) if isinstance(hostname, str) else None
                entry = None if canonical is None else self._index.lookup(canonical)
                rule_found = None if entry is None else entry[1]
            if canonical is None:
                self._refuse(
                    quote(hostname),
                    "Not a valid host name, so its pins cannot be looked up.",
                    attempt,
                    raised_name=str(hostname),
                )
                return
            host = canonical
            if rule_found is None:
                if pin_only:
                    self._refuse(
                        host,
                        "No pinning rule covers the host, and a connection without certificate "
                        "verification (pin-only) needs one.",
                        attempt,
                    )
                elif self._strict:
                    self._refuse(host, "No pinning rule covers the host (strict policy).", attempt)
                else:
                    next(self._unpinned[PASSED])
                return
            rule = rule_found
        if rule.expires is not None:
            if now is None:
                now = dt.datetime.now(_UTC)
            if now >= rule.expires:
                self._rule_expired(host, rule, attempt)
                return
        if pin_only:
            chain = chain[:1]
        error = None
        if len(chain):
            try:
                if _backend.backend.chain_match(chain, rule.pins_blob) >= 0:
                    next(self._tallies[rule.pattern][PASSED])
                    return
            except CertificateError as exc:
                error = exc
        self._fail(host, port, chain, rule, error, pin_only, served_chain)

    def _outlived_by(self, hostname: str | None, now: dt.datetime) -> PinRule | None:
        """Return the rule that still covers ``hostname`` after the policy expired, or None."""
        if not self._outliving:
            return None
        rule = self.rule_for(hostname)
        if rule is None or (rule.expires is not None and now >= rule.expires):
            return None
        return rule

    def _rule_expired(self, host: str, rule: PinRule, attempt: _Attempt) -> None:
        """Let the connection through (log the expiry once per rule), or, pin-only, refuse it
        (and report it), as :meth:`_expired_path` does."""
        expires = rule.expires.isoformat() if rule.expires else "?"
        if attempt[2]:  # pin_only
            self._refuse(
                host,
                f"The pinning rule {rule.pattern!r} expired at {expires}, and nothing else "
                "vouches for a connection without certificate verification (pin-only).",
                attempt,
                rule=rule,
            )
            return
        next(self._tallies[rule.pattern][EXPIRED])
        with self._lock:
            if rule.pattern in self._expired_rules_logged:
                return
            self._expired_rules_logged.add(rule.pattern)
        logger.warning(
            "pinning rule %r expired at %s: its pins are no longer enforced",
            rule.pattern,
            expires,
            extra={
                "pinning_event": "rule_expired",
                "pinning_host": host,
                "pinning_port": attempt[0],
                "pinning_rule": rule.pattern,
                "pinning_outcome": "expired",
                "pinning_expires": _rfc3339(rule.expires),
            },
        )

    def _expired_path(
        self,
        hostname: str | None,
        peer: str | None,
        port: int | None,
        chain: Sequence[bytes],
        pin_only: bool,
        served_chain: Sequence[bytes] | None,
        now: dt.datetime,
    ) -> None:
        """The whole policy has expired: let the connection through (log the expiry once), or,
        pin-only, refuse it (and report it): the log then says that it was refused, not that
        pins are no longer enforced."""
        if not pin_only:
            rule = self.rule_for(hostname)
            self._count(rule, EXPIRED)
            name = hostname if hostname is not None else peer or UNNAMED_PEER
            self._log_expired(name, port, rule)
            return
        if hostname is None:
            host = peer or UNNAMED_PEER
        else:
            canonical = canonical_host(hostname) if isinstance(hostname, str) else None
            host = quote(hostname) if canonical is None else canonical
        rule = self.rule_for(hostname)
        expires = self._expires.isoformat() if self._expires else "?"
        self._refuse(
            host,
            f"The pinning policy expired at {expires}, and nothing else vouches for a connection "
            "without certificate verification (pin-only).",
            (port, chain, pin_only, served_chain),
            rule=rule,
            raised_name=str(hostname or peer or UNNAMED_PEER),
            now=now,
        )

    def _refuse(
        self,
        host: str,
        reason: str,
        attempt: _Attempt,
        *,
        rule: PinRule | None = None,
        raised_name: str | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """Report a connection refused before any pin was compared, then refuse it (raise
        PinMismatch) unless the policy is report-only and the connection is not pin-only.

        Args:
            host: How the failure and the message name the peer.
            reason: Why, in one or two sentences.
            attempt: ``(port, chain, pin_only, served_chain)`` as :meth:`check` got them.
            rule: The rule that covers the host and has expired, if any. Without one, the
                failure's ``expires`` is the policy's, and the connection is counted in the
                unpinned row.
            raised_name: The ``hostname`` of the PinMismatch, if not ``host``.
            now: The time of the check, if already read.
        """
        port, chain, pin_only, served_chain = attempt
        enforced = self._enforce or pin_only
        certs = _certificates(chain[:1] if pin_only else chain)
        self._report(
            PinFailure(
                hostname=host,
                port=port,
                chain=certs,
                chain_pins=tuple(pin for pin in readable_pins(certs) if pin is not None),
                expected=frozenset() if rule is None else rule.pins,
                pattern=None if rule is None else rule.pattern,
                enforced=enforced,
                time=dt.datetime.now(_UTC) if now is None else now,
                expires=self._expires if rule is None else rule.expires,
                include_subdomains=rule is not None and rule.include_subdomains,
                served_chain=None if served_chain is None else _certificates(served_chain),
                reason=reason,
            )
        )
        self._count(rule, REFUSED if enforced else REPORT_ONLY)
        if enforced:
            raise PinMismatch(
                f"Certificate pinning failure for {host}! {reason}",
                hostname=host if raised_name is None else raised_name,
            )

    def _fail(
        self,
        host: str,
        port: int | None,
        chain: Sequence[bytes],
        rule: PinRule,
        error: CertificateError | None,
        pin_only: bool,
        served_chain: Sequence[bytes] | None = None,
    ) -> None:
        """Report a chain that has none of ``rule``'s pins, then raise when enforced."""
        certs = _certificates(chain)
        pins = readable_pins(certs)
        chain_pins = tuple(pin for pin in pins if pin is not None)
        enforced = self._enforce or pin_only
        if error is not None:
            reason = f"The chain cannot be read: {error}."
        elif not certs:
            reason = "The chain is empty: there is no certificate to check."
        elif pin_only:
            reason = (
                "The leaf certificate's key is none of the rule's pins (pin-only connection: "
                "only the leaf counts)."
            )
        else:
            reason = MISMATCH
        self._report(
            PinFailure(
                hostname=host,
                port=port,
                chain=certs,
                chain_pins=chain_pins,
                expected=rule.pins,
                pattern=rule.pattern,
                enforced=enforced,
                time=dt.datetime.now(_UTC),
                expires=rule.expires,
                include_subdomains=rule.include_subdomains,
                served_chain=None if served_chain is None else _certificates(served_chain),
                reason=reason,
            )
        )
        next(self._tallies[rule.pattern][REFUSED if enforced else REPORT_ONLY])
        if enforced:
            message = failure_message(host, certs, pins, rule, error, pin_only)
            raise PinMismatch(
                message, hostname=host, chain_pins=chain_pins, expected=rule.pins
            ) from error

    def _report(self, failure: PinFailure) -> None:
        """Hand ``failure`` to the reporter. Reporting never breaks a connection: whatever the
        reporter raises is logged, with its traceback, and goes no further."""
        try:
            self._reporter(failure)
        except Exception:
            logger.warning(
                "pinning reporter %r raised; the failure for %s was not reported",
                self._reporter,
                failure.hostname,
                exc_info=True,
                extra={
                    "pinning_event": "reporter_failed",
                    "pinning_reporter": repr(self._reporter),
                    **log_fields(failure),
                },
            )

    def _log_expired(self, host: object, port: int | None, rule: PinRule | None) -> None:
        """Log, once per policy, that it has expired (when a connection is let through for it:
        ``host``, ``port`` and ``rule`` are that connection's, for the record's fields)."""
        with self._lock:
            if self._expired_logged:
                return
            self._expired_logged = True
        logger.warning(
            "pinning policy expired at %s: pins are no longer enforced",
            self._expires.isoformat() if self._expires else "?",
            extra={
                "pinning_event": "policy_expired",
                "pinning_host": str(host),
                "pinning_port": port,
                "pinning_rule": None if rule is None else rule.pattern,
                "pinning_outcome": "expired",
                "pinning_expires": _rfc3339(self._expires),
            },
        )

    def __repr__(self) -> str:
        return (
            f"PinPolicy(<{len(self._rules)} rules>, expires={self._expires!r}, "
            f"enforce={self._enforce}, strict={self._strict})"
        )


_MAX_PORT = 65535
# How many host names a policy remembers the rule of (PinPolicy._lookup).
_LOOKUPS_KEPT = 1024
# How many verified chains that passed a policy remembers (PinPolicy._passes): a few per host name
# (a host behind a load balancer may serve several), for enough names for the upstreams of a
# gateway, and none longer than a real chain. A chain is kept as OpenSSL's parsed certificates:
# 5 to 25 KiB each (a root is shared with the trust store), so about 5 MiB for 64 names of 4
# chains of 3 typical certificates. Under threads the bound on names may be passed by one name
# per thread (the size check and the store are two steps).
_LONGEST_KEPT = 6
_CHAINS_PER_HOST = 4
_PASSED_HOSTS = 64


def _rfc3339(moment: dt.datetime | None) -> str | None:
    """Return ``moment`` (aware) as RFC 3339 UTC, as log fields give times; None stays None."""
    return None if moment is None else moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The exact item types a chain may hold, by the type of its leaf (see _passes).
_KINDS: dict[type, frozenset[type]] = {bytes: _ONLY_BYTES}
_KINDS.update((kind, _ONLY_CERTIFICATES) for kind in _ONLY_CERTIFICATES)


def _keep(memory: dict[str, Any], hostname: str, kept: Any, entry: Any) -> None:
    """Remember ``entry`` (what passed, until when, its hit counter) under ``hostname`` in one of
    a policy's memories of passes: at most ``_CHAINS_PER_HOST`` per name, the oldest forgotten
    first, for at most ``_PASSED_HOSTS`` names, after which all are forgotten at once."""
    if kept is None:
        kept = ()
        if len(memory) >= _PASSED_HOSTS:
            memory.clear()
    # One tuple replaces another: a thread reading the old one sees entries that all passed.
    memory[hostname] = (*kept[1 - _CHAINS_PER_HOST :], entry)


def _check_chain_type(chain: object) -> None:
    """Raise TypeError unless ``chain`` is a sequence of certificates (not one certificate)."""
    if isinstance(chain, (str, bytes, bytearray, memoryview)) or not isinstance(chain, Sequence):
        raise TypeError(
            "chain must be a sequence of DER certificates (bytes), leaf first, "
            f"not {type(chain).__name__}"
        )


def _check_port(port: object) -> None:
    """Raise TypeError or ValueError unless ``port`` is an int in 0..65535 (reports carry it)."""
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"port must be an int or None, not {type(port).__name__}")
    if not 0 <= port <= _MAX_PORT:
        shown = str(port) if abs(port) < 10**9 else "a larger integer"
        raise ValueError(f"port must be in 0..{_MAX_PORT}, not {shown}")


def _certificates(chain: Iterable[object]) -> tuple[bytes, ...]:
    """Return ``chain``'s certificates as bytes, for a report.

    Raises:
        TypeError: An item is not bytes-like (``check`` takes DER certificates only).
    """
    certs = []
    for cert in chain:
        if not isinstance(cert, (bytes, bytearray, memoryview)):
            raise TypeError(f"chain must hold DER certificates (bytes), not {type(cert).__name__}")
        certs.append(bytes(cert))
    return tuple(certs)
