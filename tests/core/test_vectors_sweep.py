"""A sweep over every X.509 certificate of the ``cryptography-vectors`` package.

For each certificate (DER files, and each CERTIFICATE block of PEM files, under ``x509/``):

* C and pure agree: the same SPKI bytes and digest, or the same status;
* when ``cryptography`` loads it and its re-encoding of the key equals the raw SPKI, the digest
  equals the reference;
* when the re-encoding differs (RSA-PSS parameters, explicit EC parameters...) or ``cryptography``
  refuses the certificate or its key, the raw SPKI is still the certificate's own element:
  the bytes at the SPKI's offset, header included, one SEQUENCE of an AlgorithmIdentifier and a
  BIT STRING;
* the walk refuses only what ``cryptography`` refuses too, and only the inputs listed in
  :data:`EXPECTED_REFUSALS`.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest
from _certs_core import both_backends, load_reference, pem_certificates, reference_spki
from _der import BIT_STRING, SEQUENCE, children, read, spki_bounds

from pinning.core.errors import CertificateError
from pinning.core.status import Status

vectors = pytest.importorskip(
    "cryptography_vectors", reason="cryptography-vectors is not installed (pip install it)"
)

X509 = Path(vectors.__file__).parent / "x509"

# Files under x509/ that hold no certificate: CRLs, CSRs, OCSP, PKCS#12, S/MIME, cross-certificate
# pairs and LDAP dumps.
NOT_CERTIFICATES = (
    "ocsp/",
    "requests/",
    "PKITS_data/crls/",
    "PKITS_data/pkcs12/",
    "PKITS_data/smime/",
    "PKITS_data/certpairs/",
)

# Inputs the walk refuses, and why. Each is refused by cryptography as well.
EXPECTED_REFUSALS = {
    # a bare TBSCertificate (a precertificate's to-be-signed part), not a Certificate
    "cryptography-scts-tbs-precert.der": Status.ERR_TBS_CERTIFICATE,
    # [0] holds INTEGER 7: not v1, v2 or v3
    "custom/invalid_version.pem#0": Status.ERR_VERSION,
}


@functools.cache
def vector_certificates() -> tuple[tuple[str, bytes], ...]:
    """``(name, der)`` of every certificate under x509/, PEM blocks named ``file#index``."""
    found = []
    for path in sorted(X509.rglob("*")):
        name = path.relative_to(X509).as_posix()
        if not path.is_file() or name.startswith(NOT_CERTIFICATES):
            continue
        if path.suffix == ".pem":
            blocks = pem_certificates(path.read_bytes())
            found += [(f"{name}#{index}", der) for index, der in enumerate(blocks)]
        elif path.suffix in (".der", ".crt") and not path.name.startswith("crl"):
            found.append((name, path.read_bytes()))
    return tuple(found)


def reference_or_reason(der: bytes) -> bytes | str:
    """``cryptography``'s SPKI re-encoding, or why there is none."""
    try:
        load_reference(der)
    except Exception as exc:
        return f"cryptography refuses the certificate: {type(exc).__name__}"
    try:
        return reference_spki(der)
    except Exception as exc:
        return f"cryptography refuses the key: {type(exc).__name__}"


def test_the_sweep_finds_the_vectors() -> None:
    names = [name for name, _ in vector_certificates()]
    assert len(names) > 500
    assert any(name.startswith("PKITS_data/certs/") for name in names)
    assert "ed25519/root-ed25519.pem#0" in names


@pytest.mark.parametrize(
    "name_der", vector_certificates(), ids=[name for name, _ in vector_certificates()]
)
def test_vector(name_der: tuple[str, bytes]) -> None:
    name, der = name_der
    c, pure = both_backends()
    reference = reference_or_reason(der)
    try:
        spki = c.spki(der)
    except CertificateError as exc:
        with pytest.raises(CertificateError) as pure_error:
            pure.spki(der)
        assert pure_error.value.status is exc.status
        assert EXPECTED_REFUSALS.get(name) is exc.status, (
            f"{name}: refused with {exc.status.name}; cryptography: "
            + ("accepts it" if isinstance(reference, bytes) else reference)
        )
        assert isinstance(reference, str), f"{name}: cryptography accepts what the walk refuses"
        return
    assert name not in EXPECTED_REFUSALS
    digest = c.spki_sha256(der)
    assert pure.spki(der) == spki
    assert pure.spki_sha256(der) == digest == hashlib.sha256(spki).digest()
    if reference == spki:
        return
    # The re-encoding differs or there is none: the raw SPKI is the certificate's own element.
    start, end = spki_bounds(der)
    assert der[start:end] == spki
    assert read(spki).tag == SEQUENCE and read(spki).end == len(spki)
    algorithm, key = children(spki)
    assert read(algorithm).tag == SEQUENCE and read(key).tag == BIT_STRING
