"""Known answers: the SPKI and its SHA-256 equal ``cryptography``'s, on both backends.

Certificates cover every key type the ecosystem uses, v1 and v3, with and without extensions,
20-byte serials, long multi-RDN names and lengths on one to three octets; then a fixed pin of a
public root, and every root of ``certifi``'s bundle.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from _certs_core import (
    BACKENDS,
    KEY_TYPES,
    backend_or_skip,
    certifi_bundle,
    load_reference,
    long_name,
    make_certificate,
    make_v1,
    name,
    private_key,
    reference_pin,
    reference_spki,
)
from _der import Cert
from cryptography import x509
from cryptography.x509.oid import NameOID

from pinning.core.backend import Backend

ISRG_ROOT_X1_PIN = "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
LONG_SERIAL = (1 << 159) - 0x1234  # 20 bytes: the most RFC 5280 allows


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return backend_or_skip(request.param)


def many_dns_names(count: int) -> list[tuple[x509.ExtensionType, bool]]:
    """A subjectAltName of ``count`` DNS names: pushes lengths onto three octets."""
    names = [x509.DNSName(f"host-{i:05d}.pinning.test") for i in range(count)]
    return [(x509.SubjectAlternativeName(names), False)]


def variant(kind: str, shape: str) -> bytes:
    """Return a certificate for a key of ``kind`` in one of the shapes of :data:`SHAPES`."""
    key = private_key(kind)
    if shape == "v3-extensions":
        return make_certificate(key)
    if shape == "v3-no-extensions":
        return make_certificate(key, extensions=())
    if shape == "v1":
        return make_v1(make_certificate(key, extensions=()), key)
    if shape == "long-serial":
        return make_certificate(key, serial=LONG_SERIAL)
    if shape == "long-names":
        return make_certificate(key, subject=long_name(), issuer=long_name())
    if shape == "issued-by-other-key":
        issuer = private_key("ec-p256" if kind != "ec-p256" else "rsa2048")
        return make_certificate(key, signer=issuer, issuer=name("pinning test issuer"))
    if shape == "large-san":
        return make_certificate(key, extensions=many_dns_names(3000))
    raise ValueError(shape)


SHAPES = (
    "v3-extensions",
    "v3-no-extensions",
    "v1",
    "long-serial",
    "long-names",
    "issued-by-other-key",
    "large-san",
)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KEY_TYPES)
def test_generated_certificate(backend: Backend, kind: str, shape: str) -> None:
    der = variant(kind, shape)
    parts = Cert.parse(der)
    reference = load_reference(der)
    if shape == "v1":
        assert parts.version == b"" and parts.tail == b""
        assert reference.version is x509.Version.v1
        reference.verify_directly_issued_by(reference)  # signed again after the edit
    if shape == "long-serial":
        assert len(parts.serial) == 2 + 20
        assert reference.serial_number == LONG_SERIAL
    if shape == "long-names":
        assert len(parts.subject) > 256
        cn = reference.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert cn == "c" * 64
    if shape == "large-san":
        assert len(der) > 65536

    spki = backend.spki(der)
    assert spki == reference_spki(der)
    assert spki == parts.spki
    assert der[parts.spki_offset() : parts.spki_offset() + len(spki)] == spki
    assert backend.spki_sha256(der) == reference_pin(der) == hashlib.sha256(spki).digest()


def test_generated_chain_in_one_call(backend: Backend) -> None:
    chain = [variant(kind, "v3-extensions") for kind in KEY_TYPES]
    pins = [reference_pin(der) for der in chain]
    assert backend.spki_sha256_many(chain) == pins
    for index, pin in enumerate(pins):
        assert backend.chain_match(chain, pin) == index
    assert backend.chain_match(chain, pins[-1] + pins[3]) == 3


def common_name(der: bytes) -> str | None:
    names = load_reference(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def isrg_root_x1() -> bytes:
    for der in certifi_bundle():
        if common_name(der) == "ISRG Root X1":
            return der
    pytest.fail("ISRG Root X1 is not in certifi's bundle")


def test_isrg_root_x1(backend: Backend) -> None:
    der = isrg_root_x1()
    pin = base64.b64encode(backend.spki_sha256(der)).decode()
    assert pin == ISRG_ROOT_X1_PIN
    assert backend.spki_sha256(der) == reference_pin(der)


def bundle_ids() -> list[str]:
    return [f"{i:03d}-{common_name(der) or 'no-CN'}" for i, der in enumerate(certifi_bundle())]


@pytest.mark.parametrize("der", certifi_bundle(), ids=bundle_ids())
def test_certifi_bundle(backend: Backend, der: bytes) -> None:
    """Every root in certifi's bundle: each backend equals the reference, so C == pure too."""
    assert backend.spki(der) == reference_spki(der)
    assert backend.spki_sha256(der) == reference_pin(der)


def test_certifi_bundle_in_one_call(backend: Backend) -> None:
    bundle = list(certifi_bundle())
    assert len(bundle) > 100
    assert backend.spki_sha256_many(bundle) == [reference_pin(der) for der in bundle]
