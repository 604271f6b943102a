"""Host name verification of a leaf certificate, for connections whose context turned it off.

OpenSSL verifies the server's name inside the handshake only if the context's ``check_hostname``
was on when the connection was made. Some clients turn it off on a context they were given (urllib3
does, for good, when ``assert_hostname`` or ``assert_fingerprint`` is set), and with it every later
connection through that context would skip the check: with a CA pin, that CA's certificate for any
name would pass. A pinned connection that has a server name then has its name verified here, on the
verified leaf, or is refused.

The rules are those of OpenSSL as CPython configures it (``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``,
the subject's common name never consulted), or stricter where simpler: only subjectAltName entries
count; a DNS name matches exactly (case-insensitive, one trailing dot ignored), or through a
wildcard that is the whole leftmost label of a name of at least three labels, standing for exactly
one non-empty label; an IP address matches an IP address entry of the same bytes. A certificate
this code cannot read matches nothing.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509

__all__ = ["leaf_matches_name"]


def _dns_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    if pattern.endswith("."):
        pattern = pattern[:-1]
    if not pattern or not pattern.isascii():
        return False
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[2:]
    if "*" in suffix or "." not in suffix:
        return False
    first, dot, rest = host.partition(".")
    return bool(first) and bool(dot) and rest == suffix


def leaf_matches_name(leaf_der: bytes, host: str) -> bool:
    """Return whether the certificate ``leaf_der`` (DER) is valid for ``host``.

    Args:
        leaf_der: The leaf certificate, DER.
        host: A canonical host name (lower case, A-labels, no trailing dot) or the canonical text
            of an IP address (see :func:`pinning._hosts.canonical_host`).

    Returns:
        True when a subjectAltName entry of the certificate covers ``host``; False otherwise, and
        when the certificate or its subjectAltName extension cannot be read.
    """
    try:
        names = x509.load_der_x509_certificate(leaf_der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(ip == address for ip in names.get_values_for_type(x509.IPAddress))
    return any(_dns_matches(name, host) for name in names.get_values_for_type(x509.DNSName))
