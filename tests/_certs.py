"""Certificates and keys for the pin, host and policy tests."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from dataclasses import dataclass

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from pinning.policy.pins import Pin

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def pem_to_der(pem: bytes) -> bytes:
    """Return the DER of the first certificate in ``pem``."""
    return x509.load_pem_x509_certificate(pem).public_bytes(DER)


def reference_pin(cert_der: bytes) -> Pin:
    """The pin of ``cert_der`` computed by ``cryptography``, independently of our backends."""
    spki = x509.load_der_x509_certificate(cert_der).public_key().public_bytes(DER, SPKI)
    return Pin(hashlib.sha256(spki).digest())


def random_pin() -> Pin:
    """A pin that no certificate has."""
    return Pin(os.urandom(32))


@dataclass(frozen=True)
class Chain:
    """A leaf, its intermediate and the root, as DER, with their pins."""

    leaf: bytes
    intermediate: bytes
    root: bytes

    @property
    def certs(self) -> list[bytes]:
        """The chain as a TLS library returns it: leaf first."""
        return [self.leaf, self.intermediate, self.root]

    @property
    def pins(self) -> list[Pin]:
        """The pins of ``certs``, in order."""
        return [reference_pin(cert) for cert in self.certs]


@functools.cache
def make_chain(*identities: str, key_type: trustme.KeyType = trustme.KeyType.ECDSA) -> Chain:
    """Return a three-certificate chain for ``identities`` (default ``api.example.com``)."""
    root = trustme.CA(key_type=key_type, organization_name="Example Root")
    intermediate = root.create_child_ca(key_type=key_type)
    leaf = intermediate.issue_cert(*(identities or ("api.example.com",)), key_type=key_type)
    return Chain(
        leaf=pem_to_der(leaf.cert_chain_pems[0].bytes()),
        intermediate=pem_to_der(intermediate.cert_pem.bytes()),
        root=pem_to_der(root.cert_pem.bytes()),
    )


KEY_TYPES = ("rsa", "ec", "ed25519")


@functools.cache
def private_key(kind: str) -> CertificateIssuerPrivateKeyTypes:
    """A private key of ``kind``: ``"rsa"``, ``"ec"`` or ``"ed25519"``."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def self_signed(
    key: CertificateIssuerPrivateKeyTypes, common_name: str = "test"
) -> x509.Certificate:
    """A self-signed certificate for ``key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, algorithm)
    )


def csr(key: CertificateIssuerPrivateKeyTypes) -> x509.CertificateSigningRequest:
    """A certificate signing request for ``key``."""
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr.example")])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, algorithm)
