"""Host texts as the clients and OpenSSL read them: the rule that covers them is the one applied.

Two ways a connection could go ahead unpinned although a rule covers its host:

- An IP address text that OpenSSL reads as an address but :mod:`ipaddress` does not
  (``127.000.000.001``, ``0127.0.0.1``, ``+127.0.0.1``, ``" 127.0.0.1"``): OpenSSL verifies the
  certificate for 127.0.0.1, so the rule of 127.0.0.1 must decide, or the connection be refused.
  Checked here against the OpenSSL that ``ssl`` uses (its own parser, called through ctypes) and
  on real TLS over loopback, with ``ssl`` and with ``http.client``.
- A Unicode name: requests, httpx and aiohttp connect to its IDNA 2008 / UTS 46 A-label
  (``straße.example`` is ``xn--strae-oqa.example``), so that is what a pattern must stand for.
  Checked against what each real client computes for the URL (no network).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import string
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import yarl
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st
from openssl_ctypes import _OpenSSL
from tlsutil import (
    BACKUP_PIN,
    GENUINE_BODY,
    LOOPBACK,
    SECRET,
    TIMEOUT,
    Server,
    client_context,
    connect,
    eager_handler,
    http_handler,
    pki,
    policy,
    serving,
)

from pinning import PinMismatch, PinPolicy, find_pin_mismatch
from pinning.core.errors import PolicyError
from pinning.policy.hosts import canonical_host
from pinning.policy.pins import Pin


def _wide(text: str) -> str:
    """``text`` with its ASCII letters and digits in their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


# -- IP address texts ------------------------------------------------------------------------------

# Texts OpenSSL 3.0 reads as 127.0.0.1 (sscanf "%d.%d.%d.%d": white space, a sign and leading
# zeros allowed before each number, read in decimal). The ones without white space also go
# through http.client, which refuses a host with white space.
LOOPBACK_TEXTS = ["127.000.000.001", "127.0.0.01", "127.-0.0.1", "+127.0.0.1"]
LOOPBACK_TEXTS_WITH_SPACE = [" 127.0.0.1", "127. 0.0.1", "\t127.0.0.1"]

# Texts OpenSSL reads as 127.0.0.1 in some versions only (four numbers, then more), or through an
# int overflow of the C library (glibc reads 4294967297 as 1): they have no canonical form, and a
# pinned connection to them is refused, genuine server or not.
AMBIGUOUS_TEXTS = ["127.0.0.1 x", "127.0.0.1 ", "127.0.0.4294967297"]
AMBIGUOUS_TEXTS_WITHOUT_SPACE = ["127.0.0.4294967297", "127.0.0.1x"]


def _der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))


def _chain(leaf_chain: tuple[bytes, ...], root_pem: bytes) -> list[bytes]:
    """A verified chain, as OpenSSL builds it: the served certificates, then the root."""
    return [_der(pem) for pem in leaf_chain] + [_der(root_pem)]


def _loopback_policy() -> PinPolicy:
    """An exact IP rule: 127.0.0.1 pinned to the genuine CA's key (and a backup pin)."""
    return policy({LOOPBACK: [pki().genuine_ca_pin]})


@pytest.mark.parametrize("text", LOOPBACK_TEXTS + LOOPBACK_TEXTS_WITH_SPACE)
def test_the_ip_rule_decides_for_every_text_openssl_reads_as_the_address(
    text: str, active_backend: str
) -> None:
    pinned = _loopback_policy()
    genuine = _chain(pki().genuine.chain_pems, pki().genuine_ca.cert_pem.bytes())
    rogue = _chain(pki().rogue.chain_pems, pki().rogue_ca.cert_pem.bytes())
    assert canonical_host(text) == LOOPBACK
    assert pinned.rule_for(text) is pinned.rule_for(LOOPBACK) is not None
    pinned.check(text, genuine)
    assert pinned._passes(text, genuine)
    assert not pinned._passes(text, rogue)
    with pytest.raises(PinMismatch) as info:
        pinned.check(text, rogue)
    assert info.value.hostname == LOOPBACK
    assert info.value.expected == frozenset({pki().genuine_ca_pin, BACKUP_PIN})


@pytest.mark.parametrize("text", [*AMBIGUOUS_TEXTS, "127.0.0.1x", "10.0.0.1.nip.io"])
def test_a_text_openssl_versions_disagree_about_is_refused(text: str) -> None:
    pinned = _loopback_policy()
    genuine = _chain(pki().genuine.chain_pems, pki().genuine_ca.cert_pem.bytes())
    assert pinned.rule_for(text) is None
    assert not pinned._passes(text, genuine)
    with pytest.raises(PinMismatch, match="Not a valid host name"):
        pinned.check(text, genuine)


# The OpenSSL that ssl uses, called directly: a2i_IPADDRESS is what CPython calls on
# server_hostname to decide whether to verify an IP address or a DNS name.


def test_openssl_reads_the_loopback_texts_as_pinning_does(openssl: _OpenSSL) -> None:
    loopback = ipaddress.IPv4Address(LOOPBACK).packed
    for text in LOOPBACK_TEXTS + LOOPBACK_TEXTS_WITH_SPACE:
        found = openssl.ip_address(text)
        assert found in (loopback, None), text  # None: a newer OpenSSL, a DNS name there
        assert canonical_host(text) == LOOPBACK
    if ssl.OPENSSL_VERSION_INFO[:2] == (3, 0):  # the sscanf parser, as the texts say
        assert all(openssl.ip_address(text) == loopback for text in LOOPBACK_TEXTS)
        assert all(openssl.ip_address(text) == loopback for text in AMBIGUOUS_TEXTS)


def _number(draw: st.DrawFn) -> str:
    space = draw(st.text(alphabet=" \t\n\v\f\r", max_size=2))
    sign = draw(st.sampled_from(["", "", "+", "-"]))
    zeros = "0" * draw(st.integers(0, 3))
    value = draw(st.one_of(st.integers(0, 300), st.sampled_from([4294967297, 2**31, 2**32])))
    return space + sign + zeros + str(value)


@st.composite
def _ipv4_like(draw: st.DrawFn) -> str:
    numbers = ".".join(_number(draw) for _ in range(4))
    tail = draw(st.sampled_from(["", "", ".", " ", "\t", "x", " x", ".5", ".example", "..", "/8"]))
    return numbers + tail


@st.composite
def _ipv6_like(draw: st.DrawFn) -> str:
    address = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
    forms = [address.compressed, address.exploded, str(address).upper()]
    v4 = ipaddress.IPv4Address(address.packed[12:])
    forms += [f"{address.exploded.rsplit(':', 2)[0]}:{v4}", f"::ffff:{v4}"]
    text = draw(st.sampled_from(forms))
    if draw(st.booleans()):  # an edit: a character in, out or replaced
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["", ":", "::", " ", "0", "00", ".", "%1", "+", "g"]))
        cut = draw(st.integers(0, 1))
        text = text[:at] + edit + text[at + cut :]
    return text


_texts = st.one_of(
    _ipv4_like(),
    _ipv6_like(),
    st.text(alphabet=string.digits + "abcdefx.:+- \t\n[]%", max_size=24),
)


@settings(max_examples=3000, deadline=None)
@given(_texts)
def test_every_text_openssl_reads_as_an_address_is_that_address_or_refused(
    openssl: _OpenSSL, text: str
) -> None:
    found = openssl.ip_address(text)
    canonical = canonical_host(text)
    if found is not None and canonical is not None:
        try:
            looked_up: bytes | None = ipaddress.ip_address(canonical).packed
        except ValueError:
            looked_up = None  # looked up as a DNS name: no IP rule could decide
        assert looked_up == found, (text, canonical)


# -- IP address texts on real TLS --------------------------------------------------------------


@pytest.fixture
def genuine() -> Iterator[Server]:
    with serving(pki().genuine, http_handler()) as server:
        yield server


@pytest.fixture
def rogue() -> Iterator[Server]:
    with serving(pki().rogue, eager_handler()) as server:
        yield server


def _openssl_verifies_as_loopback(server: Server, text: str) -> bool:
    """Whether an unpinned client reaches ``server`` (its certificate is for 127.0.0.1 and
    localhost) with ``server_hostname=text``: this OpenSSL verifies ``text`` as 127.0.0.1."""
    try:
        connect(client_context(), server, server_hostname=text).close()
    except ssl.SSLCertVerificationError:
        return False
    return True


def _get_over_ssl(ctx: ssl.SSLContext, server: Server, text: str) -> bytes:
    with connect(ctx, server, server_hostname=text) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: x\r\nX-Secret: {SECRET}\r\n\r\n".encode())
        with tls.makefile("rb") as response:
            return response.read()


def _get_over_http_client(ctx: ssl.SSLContext, server: Server, text: str) -> bytes:
    conn = http.client.HTTPSConnection(text, server.port, context=ctx, timeout=TIMEOUT)

    def to_loopback(
        address: tuple[str, int], timeout: float, source_address: object = None
    ) -> socket.socket:
        # The TCP connection goes to the server whatever the resolver would make of the text
        # (glibc reads 0127.0.0.1 as octal: 87.0.0.1); server_hostname stays the text.
        return socket.create_connection((LOOPBACK, address[1]), timeout)

    conn._create_connection = to_loopback  # type: ignore[attr-defined]
    try:
        conn.request("GET", "/", headers={"X-Secret": SECRET})
        return conn.getresponse().read()
    finally:
        conn.close()


GETS: dict[str, Callable[[ssl.SSLContext, Server, str], bytes]] = {
    "ssl": _get_over_ssl,
    "http.client": _get_over_http_client,
}


def _cases() -> list[tuple[str, str]]:
    cases = [(client, text) for client in GETS for text in LOOPBACK_TEXTS]
    return cases + [("ssl", text) for text in LOOPBACK_TEXTS_WITH_SPACE]


@pytest.mark.parametrize(("client", "text"), _cases())
def test_rogue_server_refused_and_genuine_accepted_through_odd_ip_texts(
    genuine: Server, rogue: Server, client: str, text: str
) -> None:
    get = GETS[client]
    ctx = client_context(_loopback_policy())
    if _openssl_verifies_as_loopback(rogue, text):
        with pytest.raises(PinMismatch) as info:
            get(ctx, rogue, text)
        assert info.value.hostname == LOOPBACK
        assert info.value.chain_pins == (pki().rogue.pin, pki().rogue_ca_pin)
    else:  # a newer OpenSSL verifies the text as a DNS name, which no certificate here holds
        with pytest.raises(ssl.SSLCertVerificationError):
            get(ctx, rogue, text)
    rogue.close()
    assert rogue.accepted >= 1
    assert rogue.all_received == b""  # Not one application byte.
    if _openssl_verifies_as_loopback(genuine, text):
        assert GENUINE_BODY in get(ctx, genuine, text)
        genuine.close()
        assert SECRET.encode() in genuine.all_received


@pytest.mark.parametrize(
    ("client", "text"),
    [("ssl", text) for text in AMBIGUOUS_TEXTS]
    + [("http.client", text) for text in AMBIGUOUS_TEXTS_WITHOUT_SPACE],
)
def test_texts_openssl_versions_disagree_about_are_refused_on_real_tls(
    genuine: Server, rogue: Server, client: str, text: str
) -> None:
    get = GETS[client]
    ctx = client_context(_loopback_policy())
    for server in (rogue, genuine):
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            get(ctx, server, text)
        if _openssl_verifies_as_loopback(server, text):
            mismatch = find_pin_mismatch(info.value)
            assert mismatch is not None
            assert "Not a valid host name" in str(mismatch)
        server.close()
        assert server.all_received == b""


def test_both_leaves_are_for_the_loopback_address_and_only_the_genuine_ca_is_pinned() -> None:
    for identity in (pki().genuine, pki().rogue):
        leaf = x509.load_pem_x509_certificate(identity.chain_pems[0])
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert ipaddress.IPv4Address(LOOPBACK) in names.get_values_for_type(x509.IPAddress)
    pins = _loopback_policy().pins_for(LOOPBACK)
    assert pins == frozenset({pki().genuine_ca_pin, BACKUP_PIN})
    assert pki().rogue.pin not in pins
    assert pki().rogue_ca_pin not in pins


# -- Unicode names: the A-label each real client connects to ---------------------------------


def _requests_host(url: str) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    host = urlsplit(prepared.url).hostname
    assert host is not None
    return host


def _httpx_host(url: str) -> str:
    return httpx.URL(url).raw_host.decode("ascii")


def _aiohttp_host(url: str) -> str:
    host = yarl.URL(url).raw_host  # aiohttp connects to yarl's raw_host
    assert host is not None
    return host


CLIENT_HOSTS: dict[str, Callable[[str], str]] = {
    "requests": _requests_host,
    "httpx": _httpx_host,
    "aiohttp": _aiohttp_host,
}


def _client_a_labels(name: str) -> dict[str, str | None]:
    """The host each client connects to for ``https://<name>/`` (None: it refuses the URL)."""
    found: dict[str, str | None] = {}
    for client, host in CLIENT_HOSTS.items():
        try:
            found[client] = host(f"https://{name}/")
        except (requests.RequestException, httpx.InvalidURL, ValueError):
            found[client] = None
    return found


UNICODE_NAMES = [
    # (name, the pattern it gives, or None when pinning refuses it)
    ("bücher.example", "xn--bcher-kva.example"),
    ("ÉCOLE.example", "xn--cole-9oa.example"),
    ("İ.example", "xn--i-9bb.example"),
    ("Bücher.Example.", "xn--bcher-kva.example"),
    ("bücher。example", "xn--bcher-kva.example"),  # ideographic full stop: httpx, aiohttp
    ("bücher\uff0eexample", "xn--bcher-kva.example"),  # full-width full stop
    (_wide("EXAMPLE.com"), "example.com"),  # full-width letters: aiohttp
    # Refused by the idna package, so the pattern is refused: a rule could not seem to cover
    # what a client connects to. (aiohttp falls back to IDNA 2003 for them, requests encodes
    # label by label; their A-labels can be pinned as written.)
    ("💩.example", None),
    ("☃.example", None),
    ("١٢٣.example", None),
    ("a\u200db.example", None),
    ("_dmarc.bücher.example", None),
]


# IDNA 2003, which Python's ssl, http.client and asyncio use, writes these otherwise than UTS 46
# (requests, httpx, aiohttp): two different names, so a pattern must be written as an A-label.
DEVIATIONS = [
    ("straße.example", "xn--strae-oqa.example", "strasse.example"),
    ("ςa.example", "xn--a-xmb.example", "xn--a-zmb.example"),
    ("faß.de", "xn--fa-hia.de", "fass.de"),
]


@pytest.mark.parametrize(("name", "uts46", "legacy"), DEVIATIONS)
def test_a_unicode_pattern_the_two_idna_write_otherwise_is_refused(
    name: str, uts46: str, legacy: str
) -> None:
    pins = [Pin(bytes(32)), BACKUP_PIN]
    assert name.encode("idna").decode() == legacy  # what the standard library connects to
    labels = _client_a_labels(name)
    assert set(labels.values()) == {uts46}, labels
    with pytest.raises(PolicyError, match=f"writes it {legacy} .* {uts46}"):
        PinPolicy({name: pins})
    both = PinPolicy({uts46: pins, legacy: pins})  # what the message asks for
    for label in (uts46, legacy):
        assert both.rule_for(label) is not None


@pytest.mark.parametrize(("name", "pattern"), UNICODE_NAMES)
def test_a_unicode_pattern_covers_the_a_label_each_client_connects_to(
    name: str, pattern: str | None
) -> None:
    pins = [Pin(bytes(32)), BACKUP_PIN]
    labels = _client_a_labels(name)
    if pattern is None:
        assert canonical_host(name) is None
        with pytest.raises(PolicyError, match="malformed host pattern"):
            PinPolicy({name: pins})
        assert None in labels.values(), labels  # a client refuses it too
        for label in labels.values():
            if label is not None:  # that A-label is a pattern of its own
                written = PinPolicy({label: pins})
                assert written.rule_for(label) is written.rules[0]
        return
    built = PinPolicy({name: pins})
    (rule,) = built.rules
    assert rule.pattern == pattern
    accepted = {client: label for client, label in labels.items() if label is not None}
    assert accepted, labels
    for client, label in accepted.items():
        assert built.rule_for(label) is rule, (client, label)
        assert canonical_host(label) == pattern
