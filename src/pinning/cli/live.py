"""A live server's certificate chain, for the command line: connect, verify, describe.

The chain is the one OpenSSL verified against the trust store (ARCHITECTURE.md, decision 1), read
with :func:`pinning.tls.chain.verified_chain` as the pinned contexts read it. With ``insecure``
nothing is verified, so only the leaf is given (decision 2), marked as unverified.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from ..core.errors import CertificateError, PolicyError
from ..policy.hosts import canonical_host, split_host_port
from ..policy.pins import Pin, quote
from ..tls.chain import peer_leaf, require_verified_chain, verified_chain

__all__ = [
    "CONNECT_TO_HELP",
    "DEFAULT_PORT",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CertInfo",
    "ConnectTo",
    "LiveChain",
    "LiveError",
    "UsageError",
    "describe_certificate",
    "fetch_chain",
    "format_address",
    "parse_connect_to",
    "parse_target",
    "redirect",
]

DEFAULT_PORT = 443


CONNECT_TO_HELP = (
    "connect to ADDRESS:PORT2 instead when reaching HOST:PORT, still verifying the name HOST "
    "(as curl does: an empty HOST or PORT matches any, an empty PORT2 keeps the port); "
    "for a server that DNS does not point to yet; repeatable"
)


EXIT_OK = 0
EXIT_FAILED = 1
"""``check``: a host failed its pin check (or, with ``--fail-on-warning``, something warned)."""
EXIT_USAGE = 2
"""Bad arguments, or an unreadable or malformed file: nothing was checked."""
EXIT_UNREACHABLE = 3
"""A host could not be reached or its chain could not be verified."""


class LiveError(Exception):
    """A server could not be reached or verified; the message is one line."""

    exit_status = EXIT_UNREACHABLE


class UsageError(LiveError):
    """A request that cannot be carried out as given; the command exits with status 2."""

    exit_status = EXIT_USAGE


@dataclass(frozen=True)
class ConnectTo:
    """One ``--connect-to HOST:PORT:ADDRESS:PORT2``; empty fields are None (match any, keep)."""

    host: str | None
    port: int | None
    address: str
    to_port: int | None


@dataclass(frozen=True)
class CertInfo:
    """A pinnable key and what is known of it.

    Attributes:
        pin: The pin of the key.
        kind: ``"certificate"``, ``"public key"``, ``"private key"`` or
            ``"certificate signing request"``.
        subject: The subject (RFC 4514) of a certificate or CSR; None for a bare key.
        issuer: The issuer of a certificate; None otherwise.
        not_after: When a certificate expires (aware, UTC); None otherwise.
    """

    pin: Pin
    kind: str
    subject: str | None = None
    issuer: str | None = None
    not_after: dt.datetime | None = None


@dataclass(frozen=True)
class LiveChain:
    """What a server presented.

    Attributes:
        host: The name verified and sent as SNI.
        port: The port connected to.
        address: The address connected to (``host`` unless redirected).
        verified: Whether the chain was verified (False: ``insecure``, the leaf only).
        certs: The certificates, leaf first.
    """

    host: str
    port: int
    address: str
    verified: bool
    certs: tuple[CertInfo, ...]


def describe_certificate(der: bytes) -> CertInfo:
    """Return the pin (from the certificate backend) and the names of a DER certificate.

    Raises:
        CertificateError: The certificate is not strict DER X.509.
    """
    pin = Pin.from_certificate(der)
    try:
        cert = x509.load_der_x509_certificate(der)
        return CertInfo(
            pin,
            "certificate",
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            cert.not_valid_after_utc,
        )
    except ValueError:
        return CertInfo(pin, "certificate", "<unreadable>", "<unreadable>")


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_NOT_A_HOST = " is not a host name, an IP address or a file"


def parse_target(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address.

    Raises:
        UsageError: The host is not a valid name or address, or the port not 1 to 65535.
    """
    try:
        host, port = split_host_port(text)
    except PolicyError as exc:
        message = str(exc)
        if message.endswith(" is not a host name or an IP address"):  # may be a file's name
            message = message.replace(" is not a host name or an IP address", _NOT_A_HOST)
        raise UsageError(message) from None
    return host, default_port if port is None else port


def parse_connect_to(text: str) -> ConnectTo:
    """Parse ``HOST:PORT:ADDRESS:PORT2`` (IPv6 addresses in brackets).

    Raises:
        UsageError: Not four fields, no ADDRESS, or a port that is not 1 to 65535.
    """
    fields: list[str] = []
    current = ""
    in_brackets = False
    for char in text:
        if char == ":" and not in_brackets:
            fields.append(current)
            current = ""
            continue
        in_brackets = (in_brackets or char == "[") and char != "]"
        current += char
    fields.append(current)
    fields = [f[1:-1] if f.startswith("[") and f.endswith("]") else f for f in fields]
    if len(fields) != 4 or not fields[2]:
        raise UsageError(f"--connect-to {quote(text)}: expected HOST:PORT:ADDRESS:PORT2")
    ports: list[int | None] = []
    for port in (fields[1], fields[3]):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise UsageError(f"--connect-to {quote(text)}: {quote(port)} is not a port")
        ports.append(int(port) if port else None)
    return ConnectTo(fields[0] or None, ports[0], fields[2], ports[1])


def redirect(host: str, port: int, rules: Sequence[ConnectTo]) -> tuple[str | None, int]:
    """Return where to connect for ``host:port``: (address or None for ``host``, port)."""
    for rule in rules:
        if rule.host is not None and canonical_host(rule.host) != canonical_host(host):
            continue
        if rule.port is not None and rule.port != port:
            continue
        return rule.address, port if rule.to_port is None else rule.to_port
    return None, port


def fetch_chain(
    host: str,
    port: int,
    *,
    servername: str | None = None,
    address: str | None = None,
    cafile: str | None = None,
    insecure: bool = False,
    timeout: float = 10.0,
) -> LiveChain:
    """Connect to a TLS server and return the chain it presented, verified, leaf first.

    Args:
        host: The server's name (or address).
        port: Its port.
        servername: The name to verify and send as SNI instead of ``host``.
        address: Where to connect instead of ``host`` (the name stays ``host``).
        cafile: PEM CA certificates to trust instead of the system's.
        insecure: Verify nothing and return the leaf only.
        timeout: Seconds for the connection and each read.

    Raises:
        LiveError: The server cannot be reached, the handshake fails, or the chain is not
            trusted; the message is one line and says what to try.
    """
    name = servername or host
    where = format_address(address or host, port)
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise LiveError(f"cannot load the CA file {cafile}: {_reason(exc)}") from None
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        require_verified_chain()
    try:
        raw = socket.create_connection((address or host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise LiveError(f"cannot resolve {address or host}: {_reason(exc)}") from None
    except TimeoutError:
        raise LiveError(f"cannot connect to {where}: no answer in {timeout:g} s") from None
    except OSError as exc:
        raise LiveError(f"cannot connect to {where}: {_reason(exc)}") from None
    try:
        with raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
            ders = _peer_chain(tls, insecure, where)
    except ssl.SSLCertVerificationError as exc:
        raise LiveError(
            f"{where}: the certificate of {name} is not trusted: {exc.verify_message}; "
            "trust its CA with --cafile, or read the leaf alone with --insecure"
        ) from None
    except TimeoutError:
        raise LiveError(f"{where}: the TLS handshake timed out after {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise LiveError(f"{where}: the TLS handshake failed: {_reason(exc)}") from None
    except OSError as exc:
        raise LiveError(f"{where}: the connection failed: {_reason(exc)}") from None
    certs = []
    for depth, der in enumerate(ders):
        try:
            certs.append(describe_certificate(der))
        except CertificateError as exc:
            raise LiveError(f"{where}: the certificate at depth {depth}: {exc}") from None
    return LiveChain(name, port, address or host, not insecure, tuple(certs))


def _peer_chain(tls: ssl.SSLSocket, insecure: bool, where: str) -> list[bytes]:
    if insecure:
        leaf = peer_leaf(tls)
        if leaf is None:
            raise LiveError(f"{where}: the server sent no certificate")
        return [leaf]
    chain = verified_chain(tls)
    if not chain:
        raise LiveError(f"{where}: OpenSSL gave no verified chain for this connection")
    return chain


def _reason(exc: BaseException) -> str:
    """A one-line reason for an OSError or SSLError."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return " ".join(str(exc).split()) or type(exc).__name__
