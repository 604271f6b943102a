"""Write the seed corpus of the fuzz harnesses: ``fuzz/corpus/{fuzz_spki,fuzz_many,fuzz_chain}/``.

Run from anywhere: ``python fuzz/make_corpus.py``. It needs ``cryptography``, ``certifi`` and
``cryptography-vectors`` (all in the ``test`` extra). The seeds are:

- real certificates: a few roots from certifi's bundle and a few odd ones from
  cryptography-vectors' x509 directory (version 1, unique identifiers, Ed25519, Ed448, DSA, a long
  OID, an invalid version);
- certificates generated here with RSA, ECDSA (P-256, P-384) and EdDSA keys, deterministically
  (fixed key material, serials, dates and deterministic signatures), so that a rerun with the same
  libraries writes the same bytes;
- defective inputs, each named after its defect: truncated, indefinite length, non-minimal
  lengths, trailing data, bad tags and so on;
- for ``fuzz_many`` and ``fuzz_chain``, those certificates framed in the harnesses' input layouts
  (see the comments at the top of ``fuzz/fuzz_many.c`` and ``fuzz/fuzz_chain.c``).

Regression inputs for fixed findings live in the same directories as ``regress-*`` files. This
script never deletes them; it only rewrites the files it names.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import struct
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import certifi
import cryptography_vectors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

CORPUS = Path(__file__).resolve().parent / "corpus"
DER = serialization.Encoding.DER

# certifi roots, chosen by subject so that a newer bundle picks the same ones when they are there.
CERTIFI_SUBJECTS = (
    "CN=ISRG Root X1,O=Internet Security Research Group,C=US",  # RSA 4096
    "CN=ISRG Root X2,O=Internet Security Research Group,C=US",  # EC P-384
    "CN=Amazon Root CA 3,O=Amazon,C=US",  # EC P-256
    "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US",  # RSA 2048
)
# cryptography-vectors' x509 files: odd but real certificates.
VECTOR_FILES = (
    "v1_cert.pem",  # no [0] version
    "unique_identifier.pem",  # issuerUniqueID and subjectUniqueID
    "san_edipartyname.der",
    "e-trust.ru.der",
    "bigoid.pem",  # a long OID
    "ed25519/root-ed25519.pem",
    "ed448/root-ed448.pem",
    "custom/dsa_selfsigned_ca.pem",
    "custom/invalid_version.pem",  # version 3: refused with PINNING_ERR_VERSION
)


def _prime(rng: random.Random, bits: int) -> int:
    """Return a probable prime of ``bits`` bits drawn from ``rng`` (Miller-Rabin, 40 rounds)."""
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if candidate % 65537 != 1 and _probably_prime(rng, candidate):
            return candidate


def _probably_prime(rng: random.Random, n: int) -> bool:
    for small in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _rsa_key(bits: int, seed: int) -> rsa.RSAPrivateKey:
    """A deterministic RSA key: primes drawn from a seeded generator (test material only)."""
    rng = random.Random(seed)
    e = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pinning fuzz corpus"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    key: object, common_name: str, serial: int, issuer: tuple[object, str] | None = None
) -> bytes:
    """A certificate for ``key`` signed by ``issuer`` (key, name), or self-signed, as DER."""
    signer, issuer_name = issuer if issuer is not None else (key, common_name)
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"{common_name}.example")]), critical=False
        )
    )
    algorithm = (
        None
        if isinstance(signer, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA256()
    )
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        cert = builder.sign(signer, algorithm, ecdsa_deterministic=True)
    else:
        cert = builder.sign(signer, algorithm)  # type: ignore[arg-type]
    return cert.public_bytes(DER)


def generated() -> dict[str, bytes]:
    """Certificates made here, with fixed keys: one per key type, and a small chain."""
    rsa_root = _rsa_key(2048, 1)
    rsa_leaf = _rsa_key(1024, 2)
    p256 = ec.derive_private_key(0x5EED_0256, ec.SECP256R1())
    p384 = ec.derive_private_key(0x5EED_0384, ec.SECP384R1())
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    ed4 = ed448.Ed448PrivateKey.from_private_bytes(bytes(range(57)))
    return {
        "gen-rsa2048-root": _certificate(rsa_root, "rsa root", 1),
        "gen-rsa1024-leaf": _certificate(rsa_leaf, "rsa leaf", 2, (rsa_root, "rsa root")),
        "gen-p256-leaf": _certificate(p256, "p256 leaf", 3, (rsa_root, "rsa root")),
        "gen-p384-root": _certificate(p384, "p384 root", 4),
        "gen-ed25519-leaf": _certificate(ed, "ed25519 leaf", 5, (p384, "p384 root")),
        "gen-ed448-root": _certificate(ed4, "ed448 root", 6),
    }


def real() -> dict[str, bytes]:
    """A few roots from certifi and odd certificates from cryptography-vectors."""
    found: dict[str, bytes] = {}
    with warnings.catch_warnings():
        # Some roots in the bundle have non-positive serial numbers; cryptography warns of them.
        warnings.simplefilter("ignore")
        bundle = x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes())
    by_subject = {cert.subject.rfc4514_string(): cert for cert in bundle}
    for subject in CERTIFI_SUBJECTS:
        if subject not in by_subject:
            print(f"make_corpus: certifi has no {subject}; skipped", file=sys.stderr)
            continue
        label = subject.split(",")[0].removeprefix("CN=").lower().replace(" ", "-")
        found[f"certifi-{label}"] = by_subject[subject].public_bytes(DER)
    vectors = Path(cryptography_vectors.__file__).resolve().parent / "x509"
    for name in VECTOR_FILES:
        data = (vectors / name).read_bytes()
        if data.startswith(b"-----BEGIN"):
            data = _pem_body(data)
        found["vectors-" + Path(name).stem] = data
    chain = x509.load_pem_x509_certificates((vectors / "cryptography.io.chain.pem").read_bytes())
    for i, cert in enumerate(chain):
        found[f"vectors-cryptography.io-chain-{i}"] = cert.public_bytes(DER)
    return found


def _pem_body(pem: bytes) -> bytes:
    """The DER inside the first PEM block, without parsing it (the block may be malformed)."""
    import base64

    lines = pem.decode("ascii").splitlines()
    begin = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN"))
    end = next(i for i, line in enumerate(lines) if i > begin and line.startswith("-----END"))
    return base64.b64decode("".join(lines[begin + 1 : end]))


def _header(tag: int, length: int) -> bytes:
    """A minimal DER header."""
    if length < 0x80:
        return bytes([tag, length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body


def _reframe_outer(cert: bytes, header: bytes) -> bytes:
    """``cert`` with its outer SEQUENCE header replaced by ``header``."""
    header_len = 2 + (cert[1] & 0x7F if cert[1] & 0x80 else 0)
    return header + cert[header_len:]


def defective(good: bytes, small: bytes) -> dict[str, bytes]:
    """Inputs with one defect each, made from the certificate ``good`` (long form outer length)
    and the tiny hand-built ``small``."""
    body = good[2 + (good[1] & 0x7F) :]
    return {
        "bad-empty": b"",
        "bad-truncated-half": good[: len(good) // 2],
        "bad-truncated-last-byte": good[:-1],
        "bad-trailing-byte": good + b"\x00",
        "bad-trailing-certificate": small + small,
        # X.690 8.1.3.6 / 10.1: the indefinite form, with end-of-contents octets.
        "bad-indefinite-length": b"\x30\x80" + body + b"\x00\x00",
        # 10.1: a leading zero length octet.
        "bad-length-leading-zero": _reframe_outer(good, b"\x30\x83\x00" + good[2:4]),
        # 10.1: the long form for a length under 128.
        "bad-long-form-under-128": b"\x30\x81" + small[1:],
        # 8.1.3.5: five length octets.
        "bad-length-five-octets": b"\x30\x85\x00\x00\x00" + good[2:4] + body,
        # 8.1.2.4: the high-tag-number form.
        "bad-high-tag-number": b"\x3f\x81\x00" + small[1:],
        # 8.1.5: tag 0 (end-of-contents).
        "bad-tag-zero": b"\x00" + small[1:],
        # length larger than the input.
        "bad-length-past-end": b"\x30\x84\x7f\xff\xff\xff" + body,
        "bad-only-header": b"\x30\x82\x01\x00",
        "small-hand-built": small,
        "bad-version-3": _small_certificate(version=b"\xa0\x03\x02\x01\x03"),
        "bad-version-two-bytes": _small_certificate(version=b"\xa0\x04\x02\x02\x00\x02"),
        "bad-version-trailing": _small_certificate(version=b"\xa0\x05\x02\x01\x02\x05\x00"),
        "bad-empty-serial": _small_certificate(serial=b"\x02\x00"),
        "bad-spki-extra-element": _small_certificate(spki_extra=b"\x05\x00"),
        # X.690 8.6.2.2, 8.6.2.3, 11.2.1: the subjectPublicKey BIT STRING.
        "bad-spki-key-unused-bits-8": _small_certificate(key=b"\x03\x03\x08\x01\x00"),
        "bad-spki-key-padding-not-zero": _small_certificate(key=b"\x03\x03\x01\x01\x03"),
        "bad-spki-key-empty-with-unused-bits": _small_certificate(key=b"\x03\x01\x03"),
        "bad-spki-key-no-octets": _small_certificate(key=b"\x03\x00"),
        "ok-spki-key-empty": _small_certificate(key=b"\x03\x01\x00"),
        "ok-spki-key-zero-padding": _small_certificate(key=b"\x03\x03\x04\x01\x10"),
        "bad-extensions-out-of-order": _small_certificate(tail=b"\xa3\x02\x30\x00\x81\x01\x00"),
        "ok-unique-ids-and-extensions": _small_certificate(
            tail=b"\x81\x02\x00\xff\x82\x01\x00\xa3\x02\x30\x00"
        ),
        "bad-signature-value-trailing": _small_certificate(after=b"\x05\x00"),
    }


def _small_certificate(
    *,
    version: bytes = b"\xa0\x03\x02\x01\x02",
    serial: bytes = b"\x02\x01\x01",
    key: bytes = b"\x03\x03\x00\x01\x02",
    spki_extra: bytes = b"",
    tail: bytes = b"",
    after: bytes = b"",
) -> bytes:
    """A tiny certificate that is well-framed DER (not a real key or signature): enough for the
    walk, and small enough for the fuzzer to mutate field by field."""
    algorithm = b"\x30\x05\x06\x03\x2b\x65\x70"  # id-Ed25519
    spki_body = algorithm + key + spki_extra
    spki = _header(0x30, len(spki_body)) + spki_body
    name = b"\x30\x0b\x31\x09\x30\x07\x06\x03\x55\x04\x03\x0c\x00"
    validity = b"\x30\x1e\x17\x0d250101000000Z\x17\x0d350101000000Z"
    tbs_body = version + serial + algorithm + name + validity + name + spki + tail
    tbs = _header(0x30, len(tbs_body)) + tbs_body
    body = tbs + algorithm + b"\x03\x03\x00\xaa\xbb" + after
    return _header(0x30, len(body)) + body


def many_input(
    certs: list[bytes],
    *,
    keep_lengths: bool = False,
    overflow: bool = False,
    lens: list[int] | None = None,
) -> bytes:
    """An input of fuzz_many: control byte, 16-bit lengths, certificates back to back."""
    control = len(certs) | (0x08 if keep_lengths else 0) | (0x10 if overflow else 0)
    lengths = lens if lens is not None else [len(cert) for cert in certs]
    return bytes([control]) + b"".join(struct.pack(">H", n) for n in lengths) + b"".join(certs)


def chain_input(
    certs: list[bytes],
    *,
    pin_mask: int = 0,
    pins: Sequence[bytes] = (),
    keep_lengths: bool = False,
    lens: list[int] | None = None,
) -> bytes:
    """An input of fuzz_chain: control byte, pin mask, raw pins, 16-bit lengths, certificates."""
    control = len(certs) | (0x08 if keep_lengths else 0) | (len(pins) << 4)
    lengths = lens if lens is not None else [len(cert) for cert in certs]
    return (
        bytes([control, pin_mask])
        + b"".join(pins)
        + b"".join(struct.pack(">H", n) for n in lengths)
        + b"".join(certs)
    )


def _write(directory: str, files: dict[str, bytes]) -> None:
    target = CORPUS / directory
    target.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (target / f"{name}.der").write_bytes(data)


def main() -> None:
    gen = generated()
    found = real()
    small = _small_certificate()
    good = gen["gen-rsa1024-leaf"]
    bad = defective(good, small)
    _write("fuzz_spki", {**gen, **found, **bad})

    root, leaf, p256 = gen["gen-rsa2048-root"], gen["gen-rsa1024-leaf"], gen["gen-p256-leaf"]
    ed, p384 = gen["gen-ed25519-leaf"], gen["gen-p384-root"]
    chain = [found[k] for k in sorted(found) if k.startswith("vectors-cryptography.io-chain-")]
    make: dict[str, Callable[[], bytes]] = {
        "many-none": lambda: many_input([]),
        "many-one": lambda: many_input([leaf]),
        "many-two": lambda: many_input([leaf, root]),
        "many-three-key-types": lambda: many_input([p256, ed, p384]),
        "many-real-chain": lambda: many_input(chain),
        "many-small-x4": lambda: many_input([small] * 4),
        "many-second-truncated": lambda: many_input([leaf, root[:-1]]),
        "many-second-trailing": lambda: many_input([small, small + b"\x00", small]),
        "many-first-bad-version": lambda: many_input([bad["bad-version-3"], small]),
        "many-empty-cert": lambda: many_input([small, b"", small]),
        "many-lengths-short": lambda: many_input(
            [small, small], keep_lengths=True, lens=[len(small), len(small) - 1]
        ),
        "many-lengths-long": lambda: many_input(
            [small, small], keep_lengths=True, lens=[len(small), len(small) + 1]
        ),
        "many-lengths-exact": lambda: many_input([small, leaf], keep_lengths=True),
        "many-overflow": lambda: many_input([small, small], overflow=True),
        "many-seven": lambda: many_input([small, leaf, root, p256, ed, p384, small]),
    }
    _write("fuzz_many", {name: build() for name, build in make.items()})

    def digest_of(cert: bytes) -> bytes:
        # Not a real SPKI digest: raw pins that match nothing, shaped like one.
        return hashlib.sha256(cert).digest()

    make = {
        "chain-none": lambda: chain_input([]),
        "chain-nothing-pinned": lambda: chain_input([leaf, root], pins=[digest_of(leaf)]),
        "chain-pin-leaf": lambda: chain_input([leaf, root], pin_mask=0b01),
        "chain-pin-root": lambda: chain_input([leaf, root], pin_mask=0b10),
        "chain-pin-both": lambda: chain_input([leaf, root], pin_mask=0b11),
        "chain-real-pin-last": lambda: chain_input(chain, pin_mask=1 << (len(chain) - 1)),
        "chain-real-raw-pins": lambda: chain_input(chain, pins=[digest_of(c) for c in chain[:3]]),
        "chain-bad-before-match": lambda: chain_input(
            [bad["bad-empty-serial"], root], pin_mask=0b10
        ),
        "chain-bad-after-match": lambda: chain_input([leaf, root[:-1]], pin_mask=0b01),
        "chain-key-types": lambda: chain_input([ed, p256, p384, root], pin_mask=0b0100),
        "chain-small-x3": lambda: chain_input([small] * 3, pin_mask=0b100),
        "chain-lengths-short": lambda: chain_input(
            [small, small], keep_lengths=True, lens=[len(small), len(small) - 1]
        ),
        "chain-lengths-exact": lambda: chain_input([small, leaf], keep_lengths=True, pin_mask=0b10),
        "chain-seven": lambda: chain_input(
            [small, leaf, root, p256, ed, p384, small], pin_mask=0b1000000
        ),
        "chain-three-raw-pins": lambda: chain_input(
            [p256], pins=[bytes(32), b"\xff" * 32, digest_of(p256)]
        ),
    }
    _write("fuzz_chain", {name: build() for name, build in make.items()})
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"make_corpus: {count} files, {total} bytes under {CORPUS}")


if __name__ == "__main__":
    main()
