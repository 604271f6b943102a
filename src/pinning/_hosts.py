"""Canonical host names and OkHttp-style host patterns (DESIGN.md, decision 4).

A pattern is one of:

- ``host``: that host only;
- ``*.host``: exactly one more label in front of ``host`` (not ``host`` itself, not two labels);
- ``**.host``: ``host`` itself and any number of labels in front of it;
- ``*``: any host.

Names are compared in canonical form: lower case, IDNA A-labels, one trailing dot removed; IP
literals in the text form of :mod:`ipaddress`. A name with an empty label has no canonical form and
matches nothing. When several patterns match a host the most specific wins: exact, then ``*.``,
then ``**.`` with the longest suffix, then ``*``. (OkHttp instead pools the pins of every matching
pattern; Android's Network Security Config and TrustKit take the most specific one, as we do.)
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._errors import PolicyError
from ._pins import quote

__all__ = ["HostIndex", "HostPattern", "Kind", "canonical_host"]

MAX_NAME_LEN = 253
MAX_LABEL_LEN = 63

# After lower-casing and IDNA: letters, digits, hyphen, and the underscore that real names use.
_LABEL = re.compile(r"[a-z0-9_-]+")

T = TypeVar("T")


class Kind(enum.IntEnum):
    """The kind of a host pattern; a larger value is more specific."""

    ANY = 0  # "*"
    ANY_DEPTH = 1  # "**.host"
    ONE_LABEL = 2  # "*.host"
    EXACT = 3  # "host"


def _ip_literal(name: str) -> str | None:
    """Return the canonical text of an IP literal, or None when ``name`` is not one.

    Raises:
        ValueError: ``name`` has the shape of an IPv6 literal but is not a valid one.
    """
    if name.startswith("[") and name.endswith("]"):
        inner = name[1:-1]
    elif ":" in name:
        inner = name
    else:
        if not name[-1:].isdigit():
            return None
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            return None
    try:
        return str(ipaddress.IPv6Address(inner))
    except ValueError:
        raise ValueError("not a valid IPv6 address") from None


def _canonicalize(name: str) -> str:
    """Return the canonical form of ``name``.

    Raises:
        ValueError: ``name`` has no canonical form; the message says why.
    """
    if not isinstance(name, str):
        raise ValueError(f"a host name is a str, not {type(name).__name__}")
    if not name:
        raise ValueError("empty name")
    address = _ip_literal(name)
    if address is not None:
        return address
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("not a valid internationalized domain name (IDNA)") from None
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValueError("empty name")
    if len(name) > MAX_NAME_LEN:
        raise ValueError(f"longer than {MAX_NAME_LEN} characters")
    for label in name.split("."):
        if not label:
            raise ValueError("empty label")
        if len(label) > MAX_LABEL_LEN:
            raise ValueError(f"a label is longer than {MAX_LABEL_LEN} characters")
        if _LABEL.fullmatch(label) is None:
            raise ValueError(f"invalid character in label {quote(label)}")
    # "192.0.2.1." is the IPv4 literal once its trailing dot is gone.
    return _ip_literal(name) or name


def canonical_host(name: str) -> str | None:
    """Return the canonical form of a host name or IP literal, or None when it has none.

    Lower case, IDNA A-labels (``bücher.example`` gives ``xn--bcher-kva.example``), one trailing
    dot removed; IPv4 and IPv6 literals (with or without brackets) in :mod:`ipaddress` text form.
    Names with an empty label (``a..b``, ``.a``, ``a..``), an invalid character, a label over 63
    characters or a total over 253 have none, and so match no pattern.
    """
    if type(name) is not str:
        # A plain copy of a str subclass: the cache below must never compare or hash with the
        # subclass's own __eq__ and __hash__, which could make one name answer for another.
        name = str.__str__(name)
    return _canonical_host(name)


@functools.lru_cache(maxsize=4096)
def _canonical_host(name: str) -> str | None:
    try:
        return _canonicalize(name)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class HostPattern:
    """A parsed host pattern. Build it with :meth:`parse`.

    Attributes:
        text: The canonical pattern (``"*.xn--bcher-kva.example"``).
        kind: Which of the four forms it is.
        suffix: The canonical host the pattern is anchored on; ``""`` for ``*``.
    """

    text: str
    kind: Kind
    suffix: str

    @classmethod
    def parse(cls, pattern: str) -> HostPattern:
        """Parse ``host``, ``*.host``, ``**.host`` or ``*``.

        Raises:
            PolicyError: The pattern is malformed (an asterisk anywhere else, whitespace, an empty
                label, a label over 63 characters, a name over 253); the message names it.
        """
        if not isinstance(pattern, str):
            raise PolicyError(f"a host pattern is a str, not {type(pattern).__name__}")
        if pattern == "*":
            return cls("*", Kind.ANY, "")
        if pattern.startswith("**."):
            kind, rest, prefix = Kind.ANY_DEPTH, pattern[3:], "**."
        elif pattern.startswith("*."):
            kind, rest, prefix = Kind.ONE_LABEL, pattern[2:], "*."
        else:
            kind, rest, prefix = Kind.EXACT, pattern, ""
        try:
            if "*" in rest:
                raise ValueError("'*' is allowed only as '*', or at the start as '*.' or '**.'")
            if rest != rest.strip():
                raise ValueError("surrounding whitespace")
            suffix = _canonicalize(rest)
        except ValueError as exc:
            raise PolicyError(f"malformed host pattern {quote(pattern)}: {exc}") from None
        if kind is not Kind.EXACT and _is_ip(suffix):
            raise PolicyError(
                f"malformed host pattern {quote(pattern)}: "
                "a wildcard cannot apply to an IP address or a numeric top-level label"
            )
        return cls(prefix + suffix, kind, suffix)

    def matches(self, host: str) -> bool:
        """Return whether the canonical host name ``host`` matches (see :func:`canonical_host`)."""
        if self.kind is Kind.EXACT:
            return host == self.suffix
        if self.kind is Kind.ANY:
            return True
        if self.kind is Kind.ANY_DEPTH and host == self.suffix:
            return True
        if _is_ip(host) or not host.endswith("." + self.suffix):
            return False
        return self.kind is Kind.ANY_DEPTH or "." not in host[: -len(self.suffix) - 1]

    @property
    def specificity(self) -> tuple[int, int]:
        """A sort key: of the patterns matching one host, the largest key is the most specific."""
        labels = self.suffix.count(".") + 1 if self.kind is Kind.ANY_DEPTH else 0
        return (int(self.kind), labels)

    def __str__(self) -> str:
        return self.text


def _is_ip(host: str) -> bool:
    # Canonical DNS names never contain ':' nor end in a numeric label (a wildcard pattern cannot).
    return ":" in host or host.rpartition(".")[2].isdigit()


class HostIndex(Generic[T]):
    """Patterns with a value each, looked up by host in time linear in the host's label count."""

    __slots__ = ("_any", "_by_kind")

    def __init__(self) -> None:
        self._by_kind: dict[Kind, dict[str, tuple[HostPattern, T]]] = {
            Kind.EXACT: {},
            Kind.ONE_LABEL: {},
            Kind.ANY_DEPTH: {},
        }
        self._any: tuple[HostPattern, T] | None = None

    def __contains__(self, pattern: HostPattern) -> bool:
        if pattern.kind is Kind.ANY:
            return self._any is not None
        return pattern.suffix in self._by_kind[pattern.kind]

    def add(self, pattern: HostPattern, value: T) -> None:
        """Add ``pattern`` with ``value``, replacing any value it had."""
        if pattern.kind is Kind.ANY:
            self._any = (pattern, value)
        else:
            self._by_kind[pattern.kind][pattern.suffix] = (pattern, value)

    def lookup(self, host: str) -> tuple[HostPattern, T] | None:
        """Return the most specific pattern matching the canonical ``host``, with its value."""
        found = self._by_kind[Kind.EXACT].get(host)
        if found is not None:
            return found
        if not _is_ip(host):
            parent = host.partition(".")[2]
            if parent:
                found = self._by_kind[Kind.ONE_LABEL].get(parent)
                if found is not None:
                    return found
            any_depth = self._by_kind[Kind.ANY_DEPTH]
            suffix = host
            while suffix:
                found = any_depth.get(suffix)
                if found is not None:
                    return found
                suffix = suffix.partition(".")[2]
        return self._any
