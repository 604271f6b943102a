"""Throwaway certificate authorities and server certificates for the commands that run servers
on loopback (``pinning demo``, ``pinning bench --gateway``).

Everything is made in memory with ``cryptography`` and passes strict verification
(``VERIFY_X509_STRICT``, on by default from Python 3.13): key identifiers, key usage, basic
constraints, and the server-authentication extended key usage on leaves.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CA", "Issued", "server_context"]


# The extensions that strict verification (VERIFY_X509_STRICT, on by default from Python 3.13)
# requires of a CA and of a server certificate, besides the key identifiers.
def _key_usage(*, signature: bool, certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificates,
        crl_sign=certificates,
        encipher_only=False,
        decipher_only=False,
    )


_CA_USAGE = _key_usage(signature=False, certificates=True)
_LEAF_USAGE = _key_usage(signature=True, certificates=False)


@dataclass(frozen=True)
class Issued:
    """A certificate chain (PEM, leaf first, as a server presents it) and its private key."""

    cert_pem: bytes
    key_pem: bytes


class CA:
    """A throwaway certificate authority held in memory: a root, or an intermediate when
    ``issuer`` is given (then ``chain_pem`` is its certificate followed by its issuer's chain)."""

    def __init__(self, name: str, issuer: CA | None = None) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        public = self.key.public_key()
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        signer = self if issuer is None else issuer
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(signer.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=0 if issuer else 1), critical=True
            )
            .add_extension(_CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()),
                critical=False,
            )
            .sign(signer.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        # What a server sends after its leaf: this CA, then its issuers short of the root.
        self.chain_pem: bytes = b"" if issuer is None else self.pem + issuer.chain_pem

    def issue(self, hostname: str) -> Issued:
        """Issue a server certificate for ``hostname`` (a DNS name or an IP address text), with a
        new EC P-256 key."""
        try:
            name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(hostname))
        except ValueError:
            name = x509.DNSName(hostname)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([name]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_LEAF_USAGE, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        leaf = cert.public_bytes(serialization.Encoding.PEM)
        return Issued(leaf + (self.chain_pem or self.pem), key_pem)


def server_context(issued: Issued) -> ssl.SSLContext:
    """Return a server context presenting ``issued``.

    ``ssl`` loads keys only from files: the key lives for a moment in a private temporary
    directory, removed before this returns.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="pinning-server-") as folder:
        path = os.path.join(folder, "server.pem")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(issued.cert_pem + issued.key_pem)
        ctx.load_cert_chain(path)
    return ctx
