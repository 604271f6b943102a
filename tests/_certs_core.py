"""Certificates and reference answers for the tests of the core (C and pure backends).

Certificates are made with ``cryptography``; the reference SPKI is ``cryptography``'s own
re-encoding of the public key, and the reference pin its SHA-256. Keys are made once per process.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import re
import warnings
from collections.abc import Sequence
from typing import Any

import pytest
from _der import Cert, bit_string
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from pinning.core.backend import Backend, load

BACKENDS = ("c", "pure")
KEY_TYPES = (
    "rsa1024",
    "rsa2048",
    "rsa4096",
    "ec-p256",
    "ec-p384",
    "ec-p521",
    "ed25519",
    "ed448",
    "dsa2048",
)
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2034, 1, 1, tzinfo=datetime.timezone.utc)

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN (?:X509 )?CERTIFICATE-----(.*?)-----END (?:X509 )?CERTIFICATE-----", re.S
)


def backend_or_skip(name: str) -> Backend:
    """Return the backend ``name``, skipping the test when the C extension is not built."""
    try:
        return load(name)
    except ImportError as exc:
        reason = exc.__cause__ or exc
        pytest.skip(f"the C core (pinning.core._native) is not built; only pure runs: {reason}")


def both_backends() -> tuple[Backend, Backend]:
    """Return ``(c, pure)`` for differential tests, skipping when the C core is not built."""
    return backend_or_skip("c"), load("pure")


@functools.cache
def private_key(kind: str) -> Any:
    """Return a private key of ``kind`` (one of :data:`KEY_TYPES`), made once."""
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind.startswith("ec-"):
        curve = {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1(), "ec-p521": ec.SECP521R1()}
        return ec.generate_private_key(curve[kind])
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if kind.startswith("dsa"):
        return dsa.generate_private_key(key_size=int(kind[3:]))
    raise ValueError(f"unknown key type {kind!r}")


def _hash_for(key: Any) -> hashes.HashAlgorithm | None:
    return (
        None
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else (hashes.SHA256())
    )


def sign(key: Any, data: bytes) -> bytes:
    """Return the signature of ``data`` by ``key``, as the certificate builder makes it."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, dsa.DSAPrivateKey):
        return key.sign(data, hashes.SHA256())
    return key.sign(data)


def name(common_name: str = "pinning test") -> x509.Name:
    """Return a Name of one commonName."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def long_name() -> x509.Name:
    """Return a Name of many RDNs, one multi-valued, with a 64-character commonName: over 255
    bytes, so its length needs two octets."""
    rdns = [
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ")]),
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pinning Test Organisation " * 3),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Unit " * 20),
            ]
        ),
        *(
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"department {i} " * 4)]
            )
            for i in range(6)
        ),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "c" * 64)]),
    ]
    return x509.Name(rdns)


def default_extensions(key: Any) -> list[tuple[x509.ExtensionType, bool]]:
    """Return the extensions of a typical CA certificate for ``key``."""
    return [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
        (x509.SubjectAlternativeName([x509.DNSName("pinning.test")]), False),
    ]


def make_certificate(
    key: Any,
    *,
    subject: x509.Name | None = None,
    issuer: x509.Name | None = None,
    signer: Any = None,
    serial: int = 0x1234,
    not_before: datetime.datetime = NOT_BEFORE,
    not_after: datetime.datetime = NOT_AFTER,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] | None = None,
) -> bytes:
    """Return a v3 DER certificate for ``key``, self-signed unless ``signer`` is given.

    ``extensions=None`` gives :func:`default_extensions`; ``()`` gives none (still v3).
    """
    subject = name() if subject is None else subject
    signer = key if signer is None else signer
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension, critical in default_extensions(key) if extensions is None else extensions:
        builder = builder.add_extension(extension, critical)
    cert = builder.sign(signer, _hash_for(signer))
    return cert.public_bytes(serialization.Encoding.DER)


def make_v1(der: bytes, signer: Any) -> bytes:
    """Return ``der`` rewritten as a v1 certificate (no ``[0]`` version, no extensions), signed
    again by ``signer``: ``cryptography`` always writes v3."""
    v1 = Cert.parse(der).replace(version=b"", tail=b"")
    signature = sign(signer, v1.tbs())
    return v1.replace(signature_value=bit_string(signature)).encode()


@functools.cache
def small_certificate() -> bytes:
    """Return a small, fixed, self-signed Ed25519 v3 certificate with one extension (the same bytes
    every run: Ed25519 signatures are deterministic)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    return make_certificate(
        key, extensions=[(x509.BasicConstraints(ca=True, path_length=None), True)]
    )


def load_reference(der: bytes) -> x509.Certificate:
    """Return ``cryptography``'s view of ``der``, quietly accepting what it only warns about
    (negative serials, NULL parameters). Raises what ``cryptography`` raises on refusal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(der)


def reference_spki(der: bytes) -> bytes:
    """Return ``cryptography``'s re-encoding of the certificate's public key (SPKI DER)."""
    return (
        load_reference(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def reference_pin(der: bytes) -> bytes:
    """Return the SHA-256 of :func:`reference_spki`."""
    return hashlib.sha256(reference_spki(der)).digest()


def pem_certificates(data: bytes) -> list[bytes]:
    """Return the DER of every ``CERTIFICATE`` (or old ``X509 CERTIFICATE``) block in ``data``,
    ignoring RFC 1421 header lines (``Name: value``) and anything between blocks."""
    out = []
    for block in _PEM_CERTIFICATE.finditer(data):
        lines = [line for line in block.group(1).splitlines() if b":" not in line]
        out.append(base64.b64decode(b"".join(lines), validate=False))
    return out


@functools.cache
def certifi_bundle() -> tuple[bytes, ...]:
    """Return the DER of every certificate in ``certifi``'s CA bundle."""
    certifi = pytest.importorskip("certifi", reason="certifi is not installed")
    with open(certifi.where(), "rb") as bundle:
        return tuple(pem_certificates(bundle.read()))
