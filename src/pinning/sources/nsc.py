"""Import the pin sets of an Android ``network_security_config.xml`` as a PinPolicy.

The file is read as Android's ``XmlConfigSource`` reads it, so that the policy pins exactly what
the app pins:

- each ``<domain>`` of a ``<domain-config>`` is a rule: ``host`` for ``includeSubdomains="false"``
  (the default), ``**.host`` (the host and every name below it) for ``"true"``;
- its pins are those of the ``<pin-set>`` of its ``<domain-config>``, or of the nearest enclosing
  ``<domain-config>`` that has one; a pin set without pins means no pinning;
- ``<pin-set expiration="yyyy-MM-dd">`` is the rule's expiry, at 00:00 UTC (Android reads the date
  in the device's time zone);
- what Android refuses is refused (a digest other than SHA-256, a domain given twice, two pin sets
  in one ``<domain-config>``, a ``<domain-config>`` without domains, a pin set outside one...);
- elements Android skips are skipped (``<trust-anchors>``, ``<debug-overrides>``,
  ``<certificateTransparency>``...), with a :class:`~pinning.PinningWarning` for those Android does
  not know either, since a misspelt ``<pin-set>`` pins nothing on the phone too.

One thing a policy cannot express is refused: a domain that Android leaves unpinned (no pin set,
or an empty one) below a pinned ``includeSubdomains`` domain, since the most specific rule would be
the pinned one. The XML is parsed with expat, refusing any document type declaration, so no entity
can be declared, expanded or fetched.

:func:`to_android_nsc` writes a policy the other way, as a file that :func:`load_nsc` reads back
to the same rules. What a Network Security Config cannot say is refused rather than dropped
(:func:`to_android_nsc` lists it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.parsers import expat
from xml.sax.saxutils import escape

from ..core.errors import PinningWarning, PolicyError
from ..policy.hosts import HostPattern
from ..policy.pins import DIGEST_LEN, Pin, quote
from ..policy.policy import PinPolicy

if TYPE_CHECKING:
    from ..policy.policy import Reporter

__all__ = ["load_nsc", "to_android_nsc"]

ROOT = "network-security-config"
MAX_NESTING = 64  # <domain-config> in <domain-config>: far beyond any real file
# Elements Android reads, or knows and skips (newer releases add some): never warned about.
_KNOWN = frozenset(
    {
        ROOT,
        "base-config",
        "domain-config",
        "debug-overrides",
        "domain",
        "pin-set",
        "pin",
        "trust-anchors",
        "certificates",
        "certificateTransparency",
    }
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass
class _Element:
    """An XML element: what the importer needs of it."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _PinSet:
    pins: frozenset[Pin]
    expires: dt.date | None
    line: int


@dataclass(frozen=True)
class _Domain:
    name: str
    include_subdomains: bool
    line: int
    pin_set: _PinSet | None

    @property
    def pattern(self) -> str:
        return f"**.{self.name}" if self.include_subdomains else self.name


def load_nsc(path: str | os.PathLike[str], *, reporter: Reporter | None = None) -> PinPolicy:
    """Read the Network Security Config at ``path``; see :meth:`PinPolicy.from_android_nsc`.

    Raises:
        PolicyError: The file is not a valid Network Security Config, or cannot be a policy.
        OSError: The file cannot be read.
    """
    source = os.fsdecode(path)
    with open(path, "rb") as file:
        data = file.read()
    return _Importer(source).run(data, reporter)


class _Importer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.seen: dict[str, int] = {}  # domain name -> line
        self.domains: list[_Domain] = []

    def error(self, line: int | None, message: str) -> PolicyError:
        where = self.source if line is None else f"{self.source}:{line}"
        return PolicyError(f"{where}: {message}")

    def warn(self, line: int, message: str) -> None:
        """Warn, pointing at the line of the XML file (as a compiler would)."""
        warnings.warn_explicit(
            f"{self.source}:{line}: {message}", PinningWarning, self.source, line
        )

    # -- XML ----------------------------------------------------------------------------------

    def parse(self, data: bytes) -> _Element:
        """Parse ``data`` into elements, refusing DTDs (and so every entity)."""
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        stack: list[_Element] = []
        roots: list[_Element] = []

        def refuse(*_: object) -> None:
            raise self.error(
                parser.CurrentLineNumber,
                "a document type declaration (DTD) is refused: entities are not allowed",
            )

        def start(tag: str, attrib: dict[str, str]) -> None:
            element = _Element(tag, attrib, parser.CurrentLineNumber)
            (stack[-1].children if stack else roots).append(element)
            stack.append(element)

        def end(_: str) -> None:
            stack.pop()

        def text(data: str) -> None:
            if stack:
                stack[-1].text.append(data)

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.UnparsedEntityDeclHandler = refuse
        parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            reason = expat.ErrorString(exc.code) or "syntax error"
            raise self.error(exc.lineno, f"not well-formed XML: {reason}") from None
        return roots[0]

    # -- structure ----------------------------------------------------------------------------

    def run(self, data: bytes, reporter: Reporter | None) -> PinPolicy:
        root = self.parse(data)
        if root.tag != ROOT:
            raise self.error(root.line, f"the root element is <{root.tag}>, not <{ROOT}>")
        base_seen = debug_seen = False
        for child in root.children:
            if child.tag == "base-config":
                if base_seen:
                    raise self.error(child.line, "only one <base-config> is allowed")
                base_seen = True
                self.config(child, None, kind="base-config")
            elif child.tag == "debug-overrides":
                if debug_seen:
                    raise self.error(child.line, "only one <debug-overrides> is allowed")
                debug_seen = True
                self.config(child, None, kind="debug-overrides")
            elif child.tag == "domain-config":
                self.config(child, None, kind="domain-config")
            else:
                self.skip(child, ROOT)
        return self.build(reporter)

    def skip(self, element: _Element, parent: str) -> None:
        if element.tag not in _KNOWN:
            self.warn(
                element.line,
                f"unknown element <{element.tag}> in <{parent}> skipped, as Android skips it",
            )

    def config(
        self, element: _Element, inherited: _PinSet | None, *, kind: str, depth: int = 0
    ) -> None:
        """Read a ``<base-config>``, ``<debug-overrides>`` or ``<domain-config>``."""
        if depth > MAX_NESTING:
            raise self.error(element.line, f"<domain-config> nested over {MAX_NESTING} deep")
        own: _PinSet | None = None
        domains: list[tuple[_Element, str, bool]] = []
        nested: list[_Element] = []
        trust_anchors = False
        for child in element.children:
            if child.tag == "domain":
                if kind != "domain-config":
                    raise self.error(child.line, f"<domain> is not allowed in <{kind}>")
                domains.append((child, *self.domain(child)))
            elif child.tag == "pin-set":
                if kind != "domain-config":
                    raise self.error(child.line, f"<pin-set> is not allowed in <{kind}>")
                if own is not None:
                    raise self.error(child.line, "only one <pin-set> is allowed in <domain-config>")
                own = self.pin_set(child)
            elif child.tag == "trust-anchors":
                if trust_anchors:
                    raise self.error(child.line, f"only one <trust-anchors> is allowed in <{kind}>")
                trust_anchors = True  # Trust, not pins: nothing to import.
            elif child.tag == "domain-config":
                if kind != "domain-config":
                    raise self.error(child.line, f"<domain-config> cannot be nested in <{kind}>")
                nested.append(child)
            else:
                self.skip(child, kind)
        if kind != "domain-config":
            return
        if not domains:
            raise self.error(element.line, "<domain-config> has no <domain>")
        pin_set = own if own is not None else inherited
        for child, name, include_subdomains in domains:
            self.domains.append(_Domain(name, include_subdomains, child.line, pin_set))
        for child in nested:
            self.config(child, pin_set, kind="domain-config", depth=depth + 1)

    def domain(self, element: _Element) -> tuple[str, bool]:
        self.no_children(element)
        include = element.attrib.get("includeSubdomains", "false").strip().lower()
        if include not in ("true", "false"):
            raise self.error(
                element.line,
                f"includeSubdomains={quote(element.attrib['includeSubdomains'])}: "
                "expected 'true' or 'false'",
            )
        name = "".join(element.text).strip().lower()
        if not name:
            raise self.error(element.line, "<domain> holds no domain name")
        if "*" in name:
            raise self.error(
                element.line,
                f"<domain> {quote(name)} is a host name, not a pattern: use includeSubdomains",
            )
        try:
            HostPattern.parse(name)
            if include == "true":
                HostPattern.parse(f"**.{name}")
        except PolicyError as exc:
            raise self.error(element.line, f"<domain>: {exc}") from None
        earlier = self.seen.get(name)
        if earlier is not None:
            raise self.error(element.line, f"<domain> {name} is already given on line {earlier}")
        self.seen[name] = element.line
        return name, include == "true"

    def pin_set(self, element: _Element) -> _PinSet:
        expires: dt.date | None = None
        expiration = element.attrib.get("expiration")
        if expiration is not None:
            expires = self.date(expiration.strip(), element.line)
        pins = set()
        for child in element.children:
            if child.tag == "pin":
                pins.add(self.pin(child))
            else:
                self.skip(child, "pin-set")
        return _PinSet(frozenset(pins), expires, element.line)

    def date(self, text: str, line: int) -> dt.date:
        found = _DATE.fullmatch(text)
        try:
            if found is None:
                raise ValueError
            return dt.date(*(int(part) for part in found.groups()))
        except ValueError:
            raise self.error(
                line, f"<pin-set expiration={quote(text)}>: not a valid yyyy-MM-dd date"
            ) from None

    def pin(self, element: _Element) -> Pin:
        self.no_children(element)
        digest = element.attrib.get("digest")
        if digest != "SHA-256":
            shown = "none" if digest is None else quote(digest)
            raise self.error(
                element.line, f"<pin> digest {shown} is not supported: only 'SHA-256' is"
            )
        # Android's Base64.DEFAULT: whitespace is ignored, padding optional.
        encoded = "".join("".join(element.text).split())
        try:
            value = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.error(element.line, f"<pin> {quote(encoded)} is not valid base64") from None
        if len(value) != DIGEST_LEN:
            raise self.error(
                element.line,
                f"<pin> {quote(encoded)} decodes to {len(value)} bytes; "
                f"a SHA-256 digest is {DIGEST_LEN}",
            )
        return Pin(value)

    def no_children(self, element: _Element) -> None:
        if element.children:
            raise self.error(
                element.children[0].line,
                f"<{element.tag}> holds text only, not <{element.children[0].tag}>",
            )

    # -- the policy ---------------------------------------------------------------------------

    def build(self, reporter: Reporter | None) -> PinPolicy:
        pinned = [d for d in self.domains if d.pin_set is not None and d.pin_set.pins]
        if not pinned:
            raise self.error(
                None, "no <domain-config> has a <pin-set> with pins: nothing to import"
            )
        for domain in pinned:
            assert domain.pin_set is not None
            if len(domain.pin_set.pins) < 2:
                self.warn(
                    domain.pin_set.line,
                    f"the <pin-set> of {domain.name} has a single pin and no backup pin: "
                    "losing that key locks the app out",
                )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinningWarning)  # Warned above, with the line.
            policy = PinPolicy(
                [(d.pattern, d.pin_set.pins, d.pin_set.expires) for d in pinned if d.pin_set],
                reporter=reporter,
            )
        for domain in self.domains:
            if domain.pin_set is not None and domain.pin_set.pins:
                continue
            cover = policy.rule_for(domain.name)
            if cover is not None:
                pinned_by = next(d for d in pinned if d.pattern == cover.pattern)
                raise self.error(
                    domain.line,
                    f"<domain> {domain.name} has no pins, but it is below the pinned "
                    f'<domain includeSubdomains="true"> {pinned_by.name} (line {pinned_by.line}): '
                    "Android does not pin it and a policy cannot exempt it; give its "
                    "<domain-config> the pin set, or leave it out",
                )
        return policy


# -- export ---------------------------------------------------------------------------------------


def to_android_nsc(policy: PinPolicy) -> str:
    """Return ``policy`` as an Android ``network_security_config.xml`` (UTF-8 text).

    Each rule becomes a ``<domain>`` (``host``: ``includeSubdomains="false"``; ``**.host``:
    ``"true"``); the rules that share their pins and expiry share one ``<domain-config>`` and its
    ``<pin-set>``, whose ``expiration`` is the rules' expiry. :func:`load_nsc` (or
    :meth:`PinPolicy.from_android_nsc`) reads the file back to the same rules: the same patterns,
    pins and expiry, enforced and not strict. Trust anchors are not written: each
    ``<domain-config>`` trusts what the app's ``<base-config>`` trusts.

    Raises:
        PolicyError: The policy holds what a Network Security Config cannot express, and the
            file would pin differently: a report-only policy (Android enforces every pin set), a
            strict one (Android lets every host it has no pin set for connect), a ``*.host``
            pattern (one label exactly; ``includeSubdomains`` covers the host and every level
            below) or ``*``, both ``host`` and ``**.host`` (one ``<domain>`` each, and Android
            refuses a domain given twice), or an expiry that is not 00:00 UTC (an
            ``expiration`` is a date). The reporter is not part of the file either: failures on
            the phone are not reported.
    """
    if not policy.enforce:
        raise PolicyError(
            "a report-only policy (enforce = false) cannot be written as a Network Security "
            "Config: Android enforces every <pin-set>, so the app would refuse what the policy "
            "only reports; enforce the policy first"
        )
    if policy.strict:
        raise PolicyError(
            "a strict policy cannot be written as a Network Security Config: Android connects "
            "to every host it has no <pin-set> for, trusting the CAs alone; make the policy "
            "not strict first, or pin a catch-all rule's hosts by name"
        )
    groups: dict[tuple[frozenset[Pin], dt.date | None], list[tuple[str, bool]]] = {}
    seen: dict[str, str] = {}
    for rule in policy.rules:
        name, include_subdomains = _nsc_domain(rule.pattern)
        if name in seen:
            raise PolicyError(
                f"rules {quote(seen[name])} and {quote(rule.pattern)} are both <domain> {name} "
                "in a Network Security Config, which Android refuses: merge them into one "
                f"**.{name} rule"
            )
        seen[name] = rule.pattern
        key = (rule.pins, _nsc_date(rule.pattern, rule.expires))
        groups.setdefault(key, []).append((name, include_subdomains))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!-- Written by pinning: each <pin> is the base64 SHA-256 of a public key (SPKI). -->",
        f"<{ROOT}>",
    ]
    for (pins, expires), domains in groups.items():
        lines.append("    <domain-config>")
        for name, include_subdomains in domains:
            flag = "true" if include_subdomains else "false"
            lines.append(f'        <domain includeSubdomains="{flag}">{escape(name)}</domain>')
        expiration = "" if expires is None else f' expiration="{expires.isoformat()}"'
        lines.append(f"        <pin-set{expiration}>")
        for encoded in sorted(base64.b64encode(pin.digest).decode("ascii") for pin in pins):
            lines.append(f'            <pin digest="SHA-256">{encoded}</pin>')
        lines.append("        </pin-set>")
        lines.append("    </domain-config>")
    lines.append(f"</{ROOT}>")
    return "\n".join(lines) + "\n"


def _nsc_domain(pattern: str) -> tuple[str, bool]:
    """The ``<domain>`` of a pattern, and its ``includeSubdomains``."""
    if pattern.startswith("**."):
        return pattern[3:], True
    if pattern.startswith("*"):
        raise PolicyError(
            f"the pattern {quote(pattern)} cannot be written as a Network Security Config: "
            "a <domain> is one host, or with includeSubdomains the host and every level below "
            "it (a '**.' pattern); "
            + (
                "'*' (every host) has no <domain>"
                if pattern == "*"
                else "'*.' matches one label exactly"
            )
        )
    return pattern, False


def _nsc_date(pattern: str, expires: dt.datetime | None) -> dt.date | None:
    """The ``expiration`` date of a rule's expiry, which must be 00:00 UTC."""
    if expires is None:
        return None
    if expires.timetz().replace(tzinfo=None) != dt.time():
        raise PolicyError(
            f"rule {quote(pattern)} expires at {expires:%Y-%m-%d %H:%M:%S} UTC, which a Network "
            "Security Config cannot say: an expiration is a date (read as its first moment); "
            "give the rule a date"
        )
    return expires.date()
