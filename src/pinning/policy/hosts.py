"""Canonical host names and OkHttp-style host patterns (ARCHITECTURE.md, decision 4).

A pattern is one of:

- ``host``: that host only;
- ``*.host``: exactly one more label in front of ``host`` (not ``host`` itself, not two labels);
- ``**.host``: ``host`` itself and any number of labels in front of it;
- ``*``: any host.

Names are compared in canonical form, the one spelling of what OpenSSL verifies the certificate
against (see :func:`canonical_host`):

- an IP address in the text form of :mod:`ipaddress`. A text is one when OpenSSL reads it as one
  (``a2i_IPADDRESS``, which CPython calls on ``server_hostname``): an IPv4 text is read as C's
  ``sscanf("%d.%d.%d.%d")`` reads it, so ``127.000.000.001``, ``0127.0.0.1`` (decimal, never
  octal), ``+127.0.0.1`` and ``" 127.0.0.1"`` are all ``127.0.0.1``; a text that starts with four
  such numbers and goes on (``127.0.0.1x``, ``1.2.3.4.example``), about which OpenSSL versions
  disagree, or whose numbers are out of range, has no canonical form. An IPv6 text (brackets
  allowed) has one only when OpenSSL and :mod:`ipaddress` read the same address from it.
- a DNS name in lower case, with one trailing dot removed, of labels of ``[a-z0-9_-]`` (at most 63
  characters, 253 in all). A name with non-ASCII characters is first turned into A-labels by IDNA
  2008 with the UTS 46 mapping, non-transitional: the A-label requests, httpx and aiohttp connect
  to (``straße.example`` is ``xn--strae-oqa.example``); a name the ``idna`` package refuses, or with
  an empty label, has no canonical form.

A name without a canonical form matches nothing, and a pinned connection to it is refused. A
pattern must write an IPv4 address in plain dotted decimal (``127.0.0.1``, not
``127.000.000.001``). When
several patterns match a host the most specific wins: exact, then ``*.``, then ``**.`` with the
longest suffix, then ``*``. (OkHttp instead pools the pins of every matching pattern; Android's
Network Security Config and TrustKit take the most specific one, as we do.)
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Generic, TypeVar

import idna

from ..core.errors import PolicyError
from .pins import quote

__all__ = [
    "HostIndex",
    "HostPattern",
    "Kind",
    "canonical_host",
    "openssl_address",
    "split_host_port",
]

MAX_NAME_LEN = 253
MAX_LABEL_LEN = 63

# After lower-casing and IDNA: letters, digits, hyphen, and the underscore that real names use.
_LABEL = re.compile(r"[a-z0-9_-]+")

# What C's sscanf skips before a number (isspace in the C locale), and what it reads in one.
_C_SPACE = frozenset(" \t\n\v\f\r")
_DECIMAL = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")

T = TypeVar("T")


class Kind(enum.IntEnum):
    """The kind of a host pattern; a larger value is more specific."""

    ANY = 0  # "*"
    ANY_DEPTH = 1  # "**.host"
    ONE_LABEL = 2  # "*.host"
    EXACT = 3  # "host"


def _scan_number(text: str, at: int) -> tuple[int, int] | None:
    """Read one ``%d`` of C's ``sscanf`` from ``text[at:]``.

    That is: optional white space (the C locale's: space, tab, newline, vertical tab, form feed,
    carriage return), an optional ``+`` or ``-``, then one or more decimal digits, read in decimal
    whatever zeros lead them.

    Returns:
        The number and the index just after it, or None when there is no number there. A number
        beyond 999 in magnitude is returned as 1000 or -1000: out of range either way, and its
        exact value (which C libraries disagree about once it overflows an ``int``) does not matter.
    """
    end = len(text)
    while at < end and text[at] in _C_SPACE:
        at += 1
    negative = at < end and text[at] == "-"
    if at < end and text[at] in "+-":
        at += 1
    start = at
    while at < end and text[at] in _DECIMAL:
        at += 1
    if at == start:
        return None
    digits = text[start:at].lstrip("0") or "0"
    value = int(digits) if len(digits) <= 3 else 1000
    return (-value if negative else value), at


def _scan_ipv4(text: str) -> tuple[list[int], str] | None:
    """Read ``text`` as ``sscanf(text, "%d.%d.%d.%d%n")`` does.

    Returns:
        The four numbers and the rest of the text, or None when fewer than four numbers are read.
    """
    numbers: list[int] = []
    at = 0
    for index in range(4):
        if index:
            if text[at : at + 1] != ".":
                return None
            at += 1
        scanned = _scan_number(text, at)
        if scanned is None:
            return None
        number, at = scanned
        numbers.append(number)
    return numbers, text[at:]


def _ipv4_text(text: str) -> str | None:
    """Return the canonical text of the IPv4 address OpenSSL reads from ``text``.

    OpenSSL (``a2i_IPADDRESS``, given a text without ``:``) reads four ``%d`` numbers separated by
    dots, each 0 to 255; so ``127.000.000.001``, ``0127.0.0.1`` (decimal, never octal),
    ``+127.0.0.1``, ``127.-0.0.1`` and ``" 127.0.0.1"`` are all 127.0.0.1.

    Returns:
        The address, or None when ``text`` does not start with four such numbers: OpenSSL then
        verifies it as a DNS name.

    Raises:
        ValueError: Four numbers are read but the text goes on after them (OpenSSL 1.1.1 reads
            ``127.0.0.1x`` and ``1.2.3.4.example`` as 1.2.3.4, OpenSSL 3.0 only when white space
            follows the numbers, newer releases never), or a number is out of range (an ``int``
            overflow that some C libraries wrap back into range): no canonical form is safe.
    """
    scanned = _scan_ipv4(text)
    if scanned is None:
        return None
    numbers, rest = scanned
    if rest:
        raise ValueError(
            f"it starts with four numbers that OpenSSL may read as an IPv4 address, then "
            f"{quote(rest[:20])}"
        )
    if not all(0 <= number <= 255 for number in numbers):
        raise ValueError("an IPv4 address with a number out of range (0 to 255)")
    return ".".join(map(str, numbers))


def _openssl_ipv6(text: str) -> bytes | None:
    """Return the 16 bytes OpenSSL's ``a2i_IPADDRESS`` reads from ``text`` (a text with ``:``).

    Its rules: elements separated by ``:``; an empty one stands for the zeros of ``::`` (one in
    the middle, two at either end, three for ``::`` alone); any other of up to four characters is
    one group of hexadecimal digits; a longer one must be the last and an IPv4 address in at most
    the last four bytes (read here only in the form :func:`_ipv4_text` maps to an address).

    Returns:
        The address, or None when OpenSSL reads none (it verifies the text as a DNS name then).
    """
    data = bytearray()
    zero_at = -1
    zeros = 0
    elements = text.split(":")
    for index, element in enumerate(elements):
        if len(data) == 16:
            return None
        if not element:
            if zero_at == -1:
                zero_at = len(data)
            elif zero_at != len(data):
                return None
            zeros += 1
        elif len(element) > 4:
            if len(data) > 12 or index != len(elements) - 1:
                return None
            try:
                address = _ipv4_text(element)
            except ValueError:
                return None
            if address is None:
                return None
            data += ipaddress.IPv4Address(address).packed
        else:
            if not _HEX.issuperset(element):
                return None
            data += int(element, 16).to_bytes(2, "big")
    total = len(data)
    if zero_at == -1:
        return bytes(data) if total == 16 else None
    if total == 16 or zeros > 3:
        return None
    if (zeros == 3 and total) or (zeros == 2 and zero_at not in (0, total)):
        return None
    if zeros == 1 and zero_at in (0, total):
        return None
    data[zero_at:zero_at] = bytes(16 - total)
    return bytes(data)


def openssl_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP address OpenSSL 3 verifies a ``server_hostname`` of ``text`` as, or None when
    it verifies ``text`` as a DNS name (``a2i_IPADDRESS``: four ``%d`` numbers, each 0 to 255,
    then nothing or white space; an IPv6 text as :func:`_openssl_ipv6` reads it)."""
    if ":" in text:
        packed = _openssl_ipv6(text)
        return None if packed is None else ipaddress.IPv6Address(packed)
    scanned = _scan_ipv4(text)
    if scanned is None:
        return None
    numbers, rest = scanned
    if (rest and rest[0] not in _C_SPACE) or not all(0 <= number <= 255 for number in numbers):
        return None
    return ipaddress.IPv4Address(".".join(map(str, numbers)))


def _resolver_ipv4(text: str) -> str | None:
    """Return the IPv4 address the system's resolver reads from ``text`` (``inet_aton``, which
    ``getaddrinfo`` uses: ``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1`` in octal), or
    None when it reads none."""
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def _ipv6_text(text: str) -> str:
    """Return the canonical text of the IPv6 address ``text``.

    Raises:
        ValueError: OpenSSL and :mod:`ipaddress` do not both read ``text`` as the same address
            (a scope ``%eth0``, white space or leading zeros in an IPv4 tail, not an address).
    """
    packed = _openssl_ipv6(text)
    try:
        address: ipaddress.IPv6Address | None = ipaddress.IPv6Address(text)
    except ValueError:
        address = None
    if packed is None or address is None or address.scope_id or address.packed != packed:
        raise ValueError("not an IPv6 address that OpenSSL and ipaddress read alike")
    return str(address)


def _same_in_idna_2003(text: str, a_label: str) -> None:
    """Refuse a pattern that IDNA 2003 writes otherwise than UTS 46 (``ß``, ``ς``, joiners).

    Python's ``ssl``, http.client and asyncio (and the resolver behind them) encode a Unicode name
    with IDNA 2003: ``straße.example`` is ``strasse.example`` there, and ``xn--strae-oqa.example``
    for requests, httpx and aiohttp. The two are different names, and a pattern must say which.

    Raises:
        ValueError: The two encodings differ; the message gives both.
    """
    try:
        legacy = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return  # Python's codec cannot write it: the standard library cannot connect to it.
    if legacy.rstrip(".") != a_label.lower().rstrip("."):
        raise ValueError(
            f"IDNA 2003 (Python's ssl, http.client, asyncio) writes it {legacy} and UTS 46 "
            f"(requests, httpx, aiohttp) {a_label.lower()}: two different names; write the "
            "A-label you mean (or both)"
        )


def _canonicalize(name: str, *, pattern: bool = False) -> str:
    """Return the canonical form of ``name``.

    Args:
        name: A host name or IP address text.
        pattern: ``name`` is the text of a pattern: an IPv4 address must then be written in
            plain dotted decimal.

    Raises:
        ValueError: ``name`` has no canonical form; the message says why.
    """
    if not isinstance(name, str):
        raise ValueError(f"a host name is a str, not {type(name).__name__}")
    if not name:
        raise ValueError("empty name")
    if not name.isascii():
        text = name
        try:
            name = idna.encode(text, uts46=True, transitional=False).decode("ascii")
        except UnicodeError:  # idna.IDNAError is one
            raise ValueError(
                "not a valid internationalized domain name (IDNA 2008, UTS 46)"
            ) from None
        if pattern:
            _same_in_idna_2003(text, name)
    if name.startswith("[") and name.endswith("]"):
        return _ipv6_text(name[1:-1])
    if ":" in name:
        return _ipv6_text(name)
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValueError("empty name")
    address = _ipv4_text(name)
    # The address the connection really goes to: a text OpenSSL verifies as one thing (a DNS
    # name, or another address) and the resolver connects to as an IPv4 address would escape
    # that address's rule.
    resolved = _resolver_ipv4(name)
    if resolved is not None and resolved != address:
        raise ValueError(
            f"the system's resolver reads it as the IPv4 address {resolved}, and OpenSSL "
            + ("as a DNS name" if address is None else f"as {address}")
        )
    if address is not None:
        if pattern and name != address:
            raise ValueError(
                f"write the IPv4 address as {address} (leading zeros, signs and white space "
                "are ambiguous)"
            )
        return address
    if len(name) > MAX_NAME_LEN:
        raise ValueError(f"longer than {MAX_NAME_LEN} characters")
    for label in name.split("."):
        if not label:
            raise ValueError("empty label")
        if len(label) > MAX_LABEL_LEN:
            raise ValueError(f"a label is longer than {MAX_LABEL_LEN} characters")
        if _LABEL.fullmatch(label) is None:
            raise ValueError(f"invalid character in label {quote(label)}")
    return name


def canonical_host(name: str) -> str | None:
    """Return the canonical form of a host name or IP address text, or None when it has none.

    The canonical form is what OpenSSL verifies the certificate against, in one spelling:

    - IPv4: any text OpenSSL reads as an address, in dotted decimal (``127.000.000.001``,
      ``0127.0.0.1`` and ``+127.0.0.1`` give ``127.0.0.1``; one trailing dot is removed). A text
      that starts with four numbers but goes on (``127.0.0.1x``, ``"127.0.0.1 "``,
      ``1.2.3.4.example``) or whose numbers are out of range has none: OpenSSL versions disagree
      about it.
    - IPv6, with or without brackets: the :mod:`ipaddress` text, when OpenSSL and :mod:`ipaddress`
      read the same address from it; otherwise (``fe80::1%eth0``, ``::ffff:127.000.0.1``) none.
    - A DNS name: lower case, one trailing dot removed, labels of letters, digits, ``-`` and
      ``_``. A name with non-ASCII characters is first turned into A-labels by IDNA 2008 with the
      UTS 46 mapping, non-transitional: the A-label requests, httpx and aiohttp connect to
      (``bücher.example`` gives ``xn--bcher-kva.example``, ``straße.example`` gives
      ``xn--strae-oqa.example``); a name the ``idna`` package refuses has none. Names with an
      empty label (``a..b``, ``.a``, ``a..``), an invalid character, a label over 63 characters
      or a total over 253 have none.

    A name without a canonical form matches no pattern, and a pinned connection to it is refused.
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
                label, a label over 63 characters, a name over 253, an IPv4 address not in plain
                dotted decimal, a name without a canonical form); the message names it.
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
            suffix = _canonicalize(rest, pattern=True)
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


def split_host_port(text: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address into the host, as
    written, and the port (None when none is given).

    Raises:
        PolicyError: The host is not a valid name or address, or the port not 1 to 65535.
    """
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (end + 1 < len(text) and text[end + 1] != ":"):
            raise PolicyError(f"{quote(text)} is not host[:port]")
        host, port_text = text[1:end], text[end + 2 :]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    port = None
    if port_text or text.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise PolicyError(f"{quote(text)}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if canonical_host(host) is None:
        raise PolicyError(f"{quote(text)} is not a host name or an IP address")
    return host, port
