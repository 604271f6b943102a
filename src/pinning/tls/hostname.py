"""Host name verification of a leaf certificate, for connections whose context turned it off.

OpenSSL verifies the server's name inside the handshake only if the context's ``check_hostname`` was
on when the connection was made. Some clients turn it off on a context they were given (urllib3
does, for good, when ``assert_hostname`` or ``assert_fingerprint`` is set), and with it every later
connection through that context would skip the check: with a CA pin, that CA's certificate for any
name would pass. A pinned connection that has a server name then has its name verified here, on the
verified leaf, or is refused.

The rules are those of OpenSSL as CPython configures it (``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``,
the subject's common name never consulted), or stricter where simpler. The name is the text the
``_ssl`` object holds, as OpenSSL compares it: an IP address when OpenSSL reads one from it
(``_hosts.openssl_address``), matching an IP address entry of the same bytes; otherwise a DNS name,
matching a subjectAltName DNS entry exactly (ASCII case aside, a trailing dot included: OpenSSL
ignores it on neither side), or a wildcard entry ``*.rest`` whose ``rest`` has two labels or more,
the ``*`` standing for exactly one label of letters, digits and hyphens. A certificate this code
cannot read matches nothing.
"""

from __future__ import annotations

import re

from cryptography import x509

from ..policy.hosts import openssl_address

__all__ = ["leaf_matches_name"]


_WILDCARD_LABEL = re.compile(r"[a-z0-9-]+")


def _dns_matches(entry: str, host: str) -> bool:
    entry = entry.lower()
    if not entry.isascii():
        return False
    if entry == host:
        return True
    if not entry.startswith("*."):
        return False
    rest = entry[2:]
    if "*" in rest or "." not in rest.rstrip("."):
        return False
    label, dot, after = host.partition(".")
    return bool(dot) and after == rest and _WILDCARD_LABEL.fullmatch(label) is not None


def leaf_matches_name(leaf_der: bytes, server_hostname: str) -> bool:
    """Return whether the certificate ``leaf_der`` (DER) is valid for ``server_hostname``.

    Args:
        leaf_der: The leaf certificate, DER.
        server_hostname: The name as the ``_ssl`` object holds it (ASCII: CPython encodes a
            Unicode name before OpenSSL sees it).

    Returns:
        True when a subjectAltName entry of the certificate covers the name; False otherwise, and
        when the certificate or its subjectAltName extension cannot be read.
    """
    try:
        names = x509.load_der_x509_certificate(leaf_der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    address = openssl_address(server_hostname)
    if address is not None:
        return any(ip == address for ip in names.get_values_for_type(x509.IPAddress))
    if not server_hostname.isascii():
        return False
    host = server_hostname.lower()
    return any(_dns_matches(name, host) for name in names.get_values_for_type(x509.DNSName))
