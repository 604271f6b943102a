"""Host names and patterns: canonical form, OkHttp's matching cases, most specific wins."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinning.core.errors import PolicyError
from pinning.policy.hosts import HostIndex, HostPattern, Kind, canonical_host


def _wide(text: str) -> str:
    """``text`` with its ASCII letters and digits in their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


# -- canonical form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("example.com.", "example.com"),  # one trailing dot removed
        ("bücher.example", "xn--bcher-kva.example"),  # U-label to A-label
        ("BÜCHER.EXAMPLE", "xn--bcher-kva.example"),  # case folded around IDNA
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),  # A-label input
        ("bücher.example.", "xn--bcher-kva.example"),
        ("bücher。example", "xn--bcher-kva.example"),  # ideographic full stop
        # IDNA 2008 with the UTS 46 mapping, non-transitional, as requests, httpx and aiohttp:
        ("straße.example", "xn--strae-oqa.example"),  # not strasse.example (IDNA 2003)
        ("STRASSE.example", "strasse.example"),
        ("ςa.example", "xn--a-xmb.example"),  # final sigma kept, not folded to a sigma
        ("faß.de", "xn--fa-hia.de"),
        (_wide("EXAMPLE.com"), "example.com"),  # full-width letters mapped
        ("a\u00adb.example", "ab.example"),  # a soft hyphen is mapped to nothing
        ("xn--bcher-kva.BÜCHER.example.", "xn--bcher-kva.xn--bcher-kva.example"),
        ("_dmarc.example.com", "_dmarc.example.com"),  # underscores occur in real names
        ("localhost", "localhost"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1.", "192.0.2.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::", "::"),
        ("1::", "1::"),
        ("::FFFF:192.0.2.1", str(ipaddress.IPv6Address("::ffff:192.0.2.1"))),
        ("0:0:0:0:0:0:192.0.2.1", str(ipaddress.IPv6Address("::192.0.2.1"))),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 61] * 4), ".".join(["a" * 61] * 4)),  # 247 characters
    ],
)
def test_canonical_host(name: str, canonical: str) -> None:
    assert canonical_host(name) == canonical


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "a..b",  # empty label
        ".a",  # empty first label
        "a..",  # empty label once one trailing dot is removed
        "..",
        "bücher..example",  # empty label in an IDN
        "a b.com",  # whitespace
        " example.com",
        "example.com ",
        "ex*ample.com",
        "*.example.com",  # a pattern is not a host
        "exa/mple.com",
        "user@example.com",
        "example.com:443",  # a port is not part of a host name
        "[example.com]",
        "[192.0.2.1]",  # brackets are for IPv6 only
        "2001:db8::zz",
        "a" * 64 + ".com",  # label over 63
        ".".join(["a" * 63] * 4),  # 255 characters
        "\u0000.example",
        # The idna package refuses these (requests and httpx too).
        "💩.example",
        "a\u200db.example",  # a joiner out of context
        "١٢٣.example",  # the bidi rule
        "_dmarc.bücher.example",  # an underscore in a non-ASCII name
        "bücher.exa mple",
        "bücher.example:443",
        # IPv6 texts that OpenSSL and ipaddress do not read alike, or not at all.
        "fe80::1%eth0",  # ipaddress keeps a scope, OpenSSL reads no address
        "[fe80::1%eth0]",
        "::ffff:127.000.0.1",  # OpenSSL reads ::ffff:127.0.0.1, ipaddress refuses
        "::ffff: 127.0.0.1",
        "::ffff:+127.0.0.1",
        "::1 ",
        " ::1",
        "::1.",
        "1::2::3",
        ":1",
        "1:",
        ":::",
        "[]",
        "[::1",
    ],
)
def test_names_without_canonical_form(name: str) -> None:
    assert canonical_host(name) is None


# -- IPv4 texts: as OpenSSL reads server_hostname -----------------------------------------------
#
# OpenSSL verifies a server_hostname without ':' as an IPv4 address when sscanf(text,
# "%d.%d.%d.%d") reads four numbers 0 to 255 from it: leading white space, a sign and leading
# zeros are all allowed, and the numbers are decimal. Such a text must be looked up as that
# address (or refused), never as a DNS name that no IP rule covers.

OPENSSL_IPV4_TEXTS = [
    ("127.000.000.001", "127.0.0.1"),
    ("127.0.0.01", "127.0.0.1"),
    ("127.-0.0.1", "127.0.0.1"),
    ("+127.0.0.1", "127.0.0.1"),
    (" 127.0.0.1", "127.0.0.1"),
    ("127. 0.-0.+001", "127.0.0.1"),
    ("\t\n\v\f\r127.0.0.1", "127.0.0.1"),  # the whole of C's white space
    ("127.0.0.-0", "127.0.0.0"),
    ("127.0.0." + "0" * 5000 + "1", "127.0.0.1"),  # more digits than int() may read
    ("127.000.000.001.", "127.0.0.1"),  # one trailing dot removed first
    (_wide("127.000.0.1"), "127.0.0.1"),  # full-width digits: UTS 46 maps them to ASCII
    ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"),
]


@pytest.mark.parametrize(("text", "address"), OPENSSL_IPV4_TEXTS)
def test_ipv4_texts_openssl_reads_are_that_address(text: str, address: str) -> None:
    assert canonical_host(text) == address


AMBIGUOUS_IPV4_TEXTS = [
    # Four numbers, then more: OpenSSL 1.1.1 reads them all as the address, OpenSSL 3.0 those
    # where white space follows, newer releases none.
    "127.0.0.1x",
    "127.0.0.1 ",
    "127.0.0.1\t",
    "127.0.0.1 x",
    "127.0.0.1..",
    "127.0.0.1.5",
    "127.0.0.1/8",
    "127.0.0.1e0",
    "127.0.0.0x1",
    "1.2.3.4.example.com",
    "10.0.0.1.nip.io",
    # A number out of range: refused whatever the C library makes of an overflow (glibc reads
    # 4294967297 as 1).
    "127.0.0.256",
    "256.0.0.1",
    "127.0.0.-1",
    "127.0.0.4294967297",
    "127.0.0.-4294967295",
    "127.0.0." + "9" * 5000,
]


@pytest.mark.parametrize("text", AMBIGUOUS_IPV4_TEXTS)
def test_texts_starting_with_an_ipv4_address_and_going_on_have_no_canonical_form(
    text: str,
) -> None:
    assert canonical_host(text) is None


@pytest.mark.parametrize("text", ["127.0..1", "127.0.0.+", "a.1.2.3.4", "1-2-3-4.example"])
def test_texts_openssl_reads_as_dns_names_keep_the_dns_rules(text: str) -> None:
    # Fewer than four numbers: OpenSSL verifies the text as a DNS name, and so is it looked up.
    expected = None if ".." in text or "+" in text else text
    assert canonical_host(text) == expected


# The system's resolver (inet_aton, behind getaddrinfo) reads other texts as IPv4 addresses than
# OpenSSL does: the connection goes to that address while OpenSSL verifies a DNS name (or another
# address), so no rule could be the right one. They have no canonical form.
RESOLVER_DISAGREES = [
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("1.2.3", "1.2.0.3"),
    ("2130706433", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"),
    ("0X7F.1", "127.0.0.1"),
    ("0127.0.0.1", "87.0.0.1"),  # octal for the resolver, decimal for OpenSSL (127.0.0.1)
    ("0177.0.0.1", "127.0.0.1"),  # octal for the resolver, decimal for OpenSSL (177.0.0.1)
]


@pytest.mark.parametrize(("text", "resolved"), RESOLVER_DISAGREES)
def test_texts_the_resolver_reads_otherwise_than_openssl_have_no_canonical_form(
    text: str, resolved: str
) -> None:
    assert socket.inet_ntoa(socket.inet_aton(text)) == resolved  # what a client connects to
    assert canonical_host(text) is None
    with pytest.raises(PolicyError, match=f"resolver reads it as the IPv4 address {resolved}"):
        HostPattern.parse(text)


def test_an_ip_rule_covers_every_text_openssl_reads_as_that_address() -> None:
    index: HostIndex[str] = HostIndex()
    index.add(HostPattern.parse("127.0.0.1"), "loopback")
    for text, address in OPENSSL_IPV4_TEXTS:
        canonical = canonical_host(text)
        assert canonical is not None
        found = index.lookup(canonical)
        assert (found is not None and found[1] == "loopback") is (address == "127.0.0.1"), text


@pytest.mark.parametrize(
    "text",
    [
        "127.000.000.001",
        "127.0.0.01",
        "127.-0.0.1",
        "+127.0.0.1",
        "127. 0.0.1",
        _wide("127.000.0.1"),  # full-width digits are mapped, the zeros stay ambiguous
    ],
)
def test_patterns_spell_ipv4_addresses_canonically(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        HostPattern.parse(text)
    message = str(info.value)
    assert repr(text)[:40] in message
    assert "write the IPv4 address as 127.0.0.1" in message


def test_an_ipv4_pattern_may_end_in_a_dot_or_be_full_width() -> None:
    assert HostPattern.parse("192.0.2.1.").text == "192.0.2.1"
    assert HostPattern.parse(_wide("127.0.0.1")).text == "127.0.0.1"


def test_canonical_host_never_raises_on_huge_or_odd_texts() -> None:
    for text in ("1." * 100_000, "9" * 100_000, ":" * 10_000, "ß" * 10_000, "\ud800.example"):
        assert canonical_host(text) is None


@given(st.text(max_size=60))
def test_canonical_host_answers_every_text(text: str) -> None:
    canonical = canonical_host(text)
    if canonical is not None:
        assert canonical.isascii()
        assert canonical_host(canonical) == canonical  # canonical forms are fixed points


# -- pattern matching: OkHttp's published cases and ours ---------------------------------------

MATCHES = [
    # (pattern, host, matches)
    ("example.com", "example.com", True),
    ("example.com", "www.example.com", False),
    ("example.com", "notexample.com", False),
    ("*.example.com", "www.example.com", True),
    ("*.example.com", "api.example.com", True),
    ("*.example.com", "example.com", False),  # OkHttp: no match for the host itself
    ("*.example.com", "a.b.example.com", False),  # OkHttp: exactly one label
    ("*.example.com", "wwwexample.com", False),
    ("*.example.com", "a.example.com.notexample.com", False),
    ("**.example.com", "example.com", True),  # OkHttp: the host itself
    ("**.example.com", "www.example.com", True),
    ("**.example.com", "a.b.example.com", True),  # any depth
    ("**.example.com", "a.b.c.d.example.com", True),
    ("**.example.com", "notexample.com", False),
    ("**.example.com", "a.example.com.notexample.com", False),
    ("**.example.com", "example.com.notexample.com", False),
    ("*", "example.com", True),
    ("*", "a.b.c", True),
    ("*", "192.0.2.1", True),
    ("*", "2001:db8::1", True),
    ("EXAMPLE.COM", "example.com", True),  # case folding
    ("example.com.", "example.com", True),  # trailing dot
    ("*.bücher.example", "www.xn--bcher-kva.example", True),  # IDNA folding
    ("**.XN--BCHER-KVA.example", "xn--bcher-kva.example", True),
    ("192.0.2.1", "192.0.2.1", True),
    ("192.0.2.1", "192.0.2.10", False),
    ("[2001:DB8::1]", "2001:db8::1", True),
    ("*.com", "example.com", True),
    ("*.com", "www.example.com", False),
]


@pytest.mark.parametrize(("pattern", "host", "expected"), MATCHES)
def test_matches(pattern: str, host: str, expected: bool) -> None:
    canonical = canonical_host(host)
    assert canonical is not None
    assert HostPattern.parse(pattern).matches(canonical) is expected
    index: HostIndex[str] = HostIndex()
    index.add(HostPattern.parse(pattern), "value")
    assert (index.lookup(canonical) is not None) is expected


@pytest.mark.parametrize(
    ("host", "pattern"),
    [
        ("WWW.Example.COM.", "*.example.com"),
        ("www.bücher.example", "*.bücher.example"),
        ("WWW.BÜCHER.EXAMPLE.", "**.xn--bcher-kva.example"),
    ],
)
def test_hosts_are_canonicalised_before_matching(host: str, pattern: str) -> None:
    canonical = canonical_host(host)
    assert canonical is not None
    assert HostPattern.parse(pattern).matches(canonical)


def test_ip_literals_never_match_wildcards() -> None:
    # "*.0.2.1" is refused, so build the suffix check through a DNS-looking pattern on the same
    # labels: an IP literal host has no parent domain.
    index: HostIndex[str] = HostIndex()
    index.add(HostPattern.parse("**.example.com"), "x")
    assert index.lookup("192.0.2.1") is None
    assert index.lookup("::ffff:192.0.2.1") is None


@pytest.mark.parametrize(
    ("pattern", "text", "kind", "suffix"),
    [
        ("*", "*", Kind.ANY, ""),
        ("Example.COM.", "example.com", Kind.EXACT, "example.com"),
        ("*.Example.com", "*.example.com", Kind.ONE_LABEL, "example.com"),
        ("**.bücher.example", "**.xn--bcher-kva.example", Kind.ANY_DEPTH, "xn--bcher-kva.example"),
        ("2001:DB8::1", "2001:db8::1", Kind.EXACT, "2001:db8::1"),
    ],
)
def test_parse(pattern: str, text: str, kind: Kind, suffix: str) -> None:
    parsed = HostPattern.parse(pattern)
    assert (parsed.text, parsed.kind, parsed.suffix) == (text, kind, suffix)
    assert str(parsed) == text
    assert parsed == HostPattern.parse(text)


def test_pattern_is_a_frozen_slotted_value() -> None:
    pattern = HostPattern.parse("*.example.com")
    assert not hasattr(pattern, "__dict__")
    assert hash(pattern) == hash(HostPattern.parse("*.EXAMPLE.com."))
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.text = "x"  # type: ignore[misc]


MALFORMED_PATTERNS = [
    "",  # empty
    " ",  # whitespace
    " example.com",  # surrounding whitespace
    "example.com\n",
    "exa mple.com",  # inner whitespace
    "a*.example.com",  # asterisk inside a label
    "*a.example.com",
    "*.*.example.com",  # two wildcards
    "example.*",  # wildcard at the end
    "example.*.com",  # wildcard in the middle
    "***.example.com",  # three asterisks
    "**",
    "**example.com",
    "*example.com",
    "*.",  # nothing after the wildcard
    "**.",
    ".*.example.com",
    "*..example.com",  # empty label
    "a..example.com",
    ".example.com",
    "example.com..",
    "a" * 64 + ".com",  # label over 63 characters
    "*." + ".".join(["a" * 63] * 4),  # name over 253 characters
    "example.com:443",
    "https://example.com",
    "*.192.0.2.1",  # wildcard over an IP address
    "**.0.2.1",
    "*.2001:db8::1",
    "2001:db8::zz",
    "fe80::1%eth0",
    "::ffff:127.000.0.1",
    "127.0.0.1x",  # four numbers then more: OpenSSL versions disagree
    "10.0.0.1.nip.io",
    "*.10.0.0.1.nip.io",
    "127.0.0.256",
    "💩.example",  # refused by the idna package
    "**._dmarc.bücher.example",
]


@pytest.mark.parametrize("pattern", MALFORMED_PATTERNS)
def test_malformed_patterns_refused_naming_them(pattern: str) -> None:
    with pytest.raises(PolicyError) as info:
        HostPattern.parse(pattern)
    assert repr(pattern)[:40] in str(info.value)


@pytest.mark.parametrize("value", [None, 42, b"example.com", ["example.com"]])
def test_non_str_patterns_refused(value: object) -> None:
    with pytest.raises(PolicyError):
        HostPattern.parse(value)  # type: ignore[arg-type]


# -- most specific wins ------------------------------------------------------------------------

SPECIFICITY_PATTERNS = [
    "*",
    "**.com",
    "**.example.com",
    "**.api.example.com",
    "*.example.com",
    "*.api.example.com",
    "api.example.com",
    "v1.api.example.com",
]


@pytest.mark.parametrize(
    ("host", "winner"),
    [
        ("api.example.com", "api.example.com"),  # exact beats every wildcard
        ("www.example.com", "*.example.com"),  # one label beats any depth
        ("v1.api.example.com", "v1.api.example.com"),
        ("v2.api.example.com", "*.api.example.com"),
        ("a.v2.api.example.com", "**.api.example.com"),  # longest any-depth suffix
        ("example.com", "**.example.com"),
        ("a.b.example.com", "**.example.com"),
        ("other.com", "**.com"),
        ("example.org", "*"),
    ],
)
def test_most_specific_wins(host: str, winner: str) -> None:
    patterns = [HostPattern.parse(text) for text in SPECIFICITY_PATTERNS]
    index: HostIndex[str] = HostIndex()
    for pattern in patterns:
        index.add(pattern, pattern.text)
    found = index.lookup(host)
    assert found is not None
    assert found[1] == winner
    best = max((p for p in patterns if p.matches(host)), key=lambda p: p.specificity)
    assert best.text == winner


def test_one_label_outranks_a_longer_any_depth_suffix() -> None:
    # The kind ranks first: "*.a.example.com" beats "**.x.a.example.com" for x.a.example.com.
    one = HostPattern.parse("*.a.example.com")
    deep = HostPattern.parse("**.x.a.example.com")
    assert one.specificity > deep.specificity
    index: HostIndex[str] = HostIndex()
    index.add(deep, "deep")
    index.add(one, "one")
    assert index.lookup("x.a.example.com") == (one, "one")


def test_index_contains() -> None:
    index: HostIndex[int] = HostIndex()
    index.add(HostPattern.parse("*.example.com"), 1)
    index.add(HostPattern.parse("*"), 2)
    assert HostPattern.parse("*.EXAMPLE.com") in index
    assert HostPattern.parse("*") in index
    assert HostPattern.parse("example.com") not in index
    assert HostPattern.parse("**.example.com") not in index


_labels = st.sampled_from(["a", "b", "c", "example", "com"])
_hosts = st.lists(_labels, min_size=1, max_size=5).map(".".join)
_patterns = st.one_of(
    st.just("*"),
    _hosts,
    _hosts.map(lambda host: "*." + host),
    _hosts.map(lambda host: "**." + host),
)


@given(st.lists(_patterns, max_size=8, unique=True), _hosts)
def test_index_agrees_with_matches_and_specificity(texts: list[str], host: str) -> None:
    patterns = {HostPattern.parse(text) for text in texts}
    index: HostIndex[str] = HostIndex()
    for pattern in patterns:
        index.add(pattern, pattern.text)
    matching = [pattern for pattern in patterns if pattern.matches(host)]
    found = index.lookup(host)
    if not matching:
        assert found is None
    else:
        keys = sorted(pattern.specificity for pattern in matching)
        assert len(set(keys)) == len(keys)  # the winner is never ambiguous
        best = max(matching, key=lambda pattern: pattern.specificity)
        assert found == (best, best.text)


@given(_patterns, _hosts)
def test_wildcard_semantics_by_label_count(text: str, host: str) -> None:
    pattern = HostPattern.parse(text)
    labels, suffix = host.split("."), pattern.suffix.split(".")
    below = labels[-len(suffix) :] == suffix
    extra = len(labels) - len(suffix)
    expected = {
        Kind.ANY: True,
        Kind.EXACT: host == pattern.suffix,
        Kind.ONE_LABEL: below and extra == 1,
        Kind.ANY_DEPTH: below and extra >= 0,
    }[pattern.kind]
    assert pattern.matches(host) is expected
