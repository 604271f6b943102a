"""The host name check pinning runs when a context's check_hostname was off, against OpenSSL's.

Pinning must never accept a name that OpenSSL, as CPython configures it, would refuse: the check
stands in for OpenSSL's when urllib3 (or anyone) turned it off on a shared context. The table and
the generated cases are checked against OpenSSL's own ``X509_check_host`` and ``X509_check_ip``,
called through ctypes in the libcrypto that ``ssl`` loaded.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from openssl_ctypes import _OpenSSL

from pinning.tls.hostname import leaf_matches_name

# CPython's flags: no partial wildcards; the subject's common name is never consulted.
_NO_PARTIAL_WILDCARDS = 0x4
_NEVER_CHECK_SUBJECT = 0x20
_KEY = ec.generate_private_key(ec.SECP256R1())


def _certificate(*names: str) -> bytes:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    return builder.sign(_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _Checker:
    """OpenSSL's verdict for a name, as its verification reaches it from CPython."""

    def __init__(self, found: _OpenSSL) -> None:
        library = found.library
        self._openssl = found
        self._d2i = library.d2i_X509
        self._d2i.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
        self._d2i.restype = ctypes.c_void_p
        self._free = library.X509_free
        self._free.argtypes = [ctypes.c_void_p]
        self._free.restype = None
        self._host = library.X509_check_host
        self._host.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_void_p,
        ]
        self._host.restype = ctypes.c_int
        self._ip = library.X509_check_ip
        self._ip.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
        self._ip.restype = ctypes.c_int

    def accepts(self, der: bytes, name: str) -> bool:
        data = ctypes.c_char_p(der)
        cert = self._d2i(None, ctypes.byref(data), len(der))
        assert cert, "OpenSSL could not read the test certificate"
        try:
            flags = _NO_PARTIAL_WILDCARDS | _NEVER_CHECK_SUBJECT
            address = self._openssl.ip_address(name)
            if address is not None:
                return bool(self._ip(cert, address, len(address), flags) == 1)
            text = name.encode("ascii")
            return bool(self._host(cert, text, len(text), flags, None) == 1)
        finally:
            self._free(cert)


@pytest.fixture(scope="module")
def checker(openssl: _OpenSSL) -> _Checker:
    return _Checker(openssl)


CASES = [
    # (subjectAltName entries, host, accepted)
    (["localhost"], "localhost", True),
    (["localhost"], "LOCALHOST", True),
    (["localhost"], "localhost.", False),  # OpenSSL ignores a trailing dot on neither side
    (["localhost."], "localhost", False),
    (["*.example.com"], "a.example.com", True),
    (["*.example.com"], "A-1.EXAMPLE.com", True),
    (["*.example.com"], "a.b.example.com", False),  # exactly one label
    (["*.example.com"], "example.com", False),
    (["*.example.com"], "_dmarc.example.com", False),  # a wildcard covers [a-z0-9-] only
    (["*.example.com"], "a_b.example.com", False),
    (["*.example.com."], "a.example.com", False),
    (["*.com"], "example.com", False),  # a wildcard needs two labels after it
    (["a*.example.com"], "ab.example.com", False),  # no partial wildcards
    (["*.xn--bcher-kva.example"], "a.xn--bcher-kva.example", True),
    (["127.0.0.1"], "127.0.0.1", True),
    (["127.0.0.1"], "127.000.000.001", True),  # OpenSSL reads that as the address
    (["127.0.0.1"], "127.0.0.1.", False),  # a DNS name for OpenSSL
    (["::1"], "::1", True),
    (["::1"], "0:0::1", True),
    (["::1"], "[::1]", False),  # a DNS name for OpenSSL
    (["localhost"], "127.0.0.1", False),
    (["127.0.0.1"], "localhost", False),
    ([], "localhost", False),
    (["other.example"], "localhost", False),
]


@pytest.mark.parametrize(("names", "host", "accepted"), CASES)
def test_the_name_check_decides_as_openssl(
    checker: _Checker, names: list[str], host: str, accepted: bool
) -> None:
    der = _certificate(*names)
    assert checker.accepts(der, host) is accepted  # the table is OpenSSL's verdict
    assert leaf_matches_name(der, host) is accepted


def test_a_certificate_that_cannot_be_read_matches_nothing() -> None:
    assert leaf_matches_name(b"\x30\x03\x02\x01\x00", "localhost") is False


_LABEL = st.text(alphabet="aA0-_*.", min_size=1, max_size=4)


@settings(max_examples=400, deadline=None)
@given(
    entry=st.lists(_LABEL, min_size=1, max_size=3).map(".".join),
    host=st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
)
def test_the_name_check_never_accepts_what_openssl_refuses(
    checker: _Checker, entry: str, host: str
) -> None:
    try:
        der = _certificate(entry)
    except ValueError:  # not an entry cryptography will write
        return
    if leaf_matches_name(der, host):
        assert checker.accepts(der, host), (entry, host)
