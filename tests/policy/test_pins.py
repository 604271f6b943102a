"""Pin: parsing both notations, strict refusal of everything else, and computing pins."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from pathlib import Path

import certifi
import pytest
from _certs import (
    DER,
    KEY_TYPES,
    PEM,
    SPKI,
    csr,
    make_chain,
    private_key,
    reference_pin,
    self_signed,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from pinning.core.errors import CertificateError, PolicyError
from pinning.policy.pins import Pin

ISRG_ROOT_X1_PIN = "sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
B64_32 = base64.b64encode(bytes(range(32))).decode()

# Run a test with each backend as the one the library uses (the conftest's ``active_backend``).
each_backend = pytest.mark.usefixtures("active_backend")


# -- parsing -----------------------------------------------------------------------------------


def test_parse_okhttp_and_hpkp_give_the_same_pin() -> None:
    pin = Pin.parse(f"sha256/{B64_32}")
    assert pin.digest == bytes(range(32))
    assert Pin.parse(f'pin-sha256="{B64_32}"') == pin
    assert str(pin) == f"sha256/{B64_32}"
    assert pin.hpkp() == f'pin-sha256="{B64_32}"'
    assert repr(pin) == f"Pin('sha256/{B64_32}')"


@pytest.mark.parametrize("padding", [" ", "\t", "\n", " \r\n "])
def test_parse_tolerates_surrounding_whitespace(padding: str) -> None:
    assert Pin.parse(f"{padding}sha256/{B64_32}{padding}").digest == bytes(range(32))
    assert Pin.parse(f'{padding}pin-sha256="{B64_32}"{padding}').digest == bytes(range(32))


@given(st.binary(min_size=32, max_size=32))
def test_round_trip(digest: bytes) -> None:
    pin = Pin(digest)
    assert Pin.parse(str(pin)) == pin
    assert Pin.parse(pin.hpkp()) == pin
    assert Pin.parse(pin.curl()) == pin
    # OkHttp's form and curl's differ by one character, whatever the base64 starts with.
    assert pin.curl() == "sha256//" + str(pin)[len("sha256/") :]
    assert len(str(pin)) == 7 + 44 and len(pin.curl()) == 8 + 44


# Digests whose base64 starts with "/" (0xfc = 111111 00), and with "//".
SLASH = bytes([0xFC]) + bytes(range(31))
SLASH_SLASH = bytes([0xFF, 0xF0]) + bytes(range(30))


@pytest.mark.parametrize("digest", [SLASH, SLASH_SLASH, bytes(range(32))])
def test_curl_form_and_a_base64_starting_with_a_slash_are_told_apart(digest: bytes) -> None:
    b64 = base64.b64encode(digest).decode()
    pin = Pin(digest)
    assert Pin.parse(f"sha256/{b64}") == pin  # OkHttp, maybe "sha256//..."
    assert Pin.parse(f"sha256//{b64}") == pin  # curl
    assert pin.curl() == f"sha256//{b64}"


def test_curl_form_of_a_slash_base64() -> None:
    b64 = base64.b64encode(SLASH).decode()
    assert b64.startswith("/")
    assert str(Pin(SLASH)) == f"sha256/{b64}"  # 44 characters after "sha256/"
    assert Pin(SLASH).curl() == f"sha256//{b64}"  # 44 after "sha256//"
    # The same 45 characters after "sha256/" with the first "/" dropped are OkHttp's form.
    assert Pin.parse("sha256//" + b64[1:]) == Pin(SLASH)


@pytest.mark.parametrize(
    "text",
    [
        "sha256//abc",
        f"sha256//{B64_32[:-1]}",  # curl's without padding, or OkHttp's without its "="
        f"sha256///{B64_32}",
        "sha256//" + base64.b64encode(SLASH).decode()[2:],  # OkHttp's, one character short
    ],
)
def test_ambiguous_slash_forms_are_refused_naming_both(text: str) -> None:
    with pytest.raises(PolicyError, match="ambiguous pin") as info:
        Pin.parse(text)
    assert "curl's 'sha256//<base64>'" in str(info.value)
    assert "'sha256/<base64>'" in str(info.value)


def test_pin_is_a_frozen_slotted_hashable_value() -> None:
    pin = Pin(bytes(32))
    assert {pin, Pin(bytes(32))} == {pin}
    assert pin in frozenset({Pin(bytes(32))})
    assert not hasattr(pin, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pin.digest = bytes(32)  # type: ignore[misc]


@pytest.mark.parametrize("length", [0, 20, 31, 33, 48])
def test_digest_of_wrong_length_refused(length: int) -> None:
    with pytest.raises(PolicyError, match=str(length)):
        Pin(bytes(length))


def test_digest_must_be_bytes() -> None:
    with pytest.raises(TypeError):
        Pin(bytearray(32))  # type: ignore[arg-type]


SHA1_B64 = base64.b64encode(bytes(20)).decode()
SHA384_B64 = base64.b64encode(bytes(48)).decode()

MALFORMED = [
    "",  # empty
    "   ",  # only whitespace
    "sha256/",  # no digest
    "sha256",  # no separator
    B64_32,  # no algorithm
    f"sha256:{B64_32}",  # wrong separator
    f"sha256///{B64_32}",  # tripled separator
    f"sha256//{B64_32[:-1]}",  # curl's form without its padding: ambiguous
    "sha256//" + "!" * 44,  # curl's form, not base64
    f"sha256//{B64_32};sha256//{B64_32}",  # a curl list of pins
    f"sha256/{B64_32};sha256/{B64_32}",  # a list of pins
    f"/{B64_32}",  # empty algorithm
    f"sha256/{B64_32[:-1]}",  # padding missing
    f"sha256/{B64_32}=",  # too much padding
    f"sha256/{B64_32[:20]} {B64_32[20:]}",  # whitespace inside the base64
    f"sha256/{B64_32[:20]}\n{B64_32[20:]}",  # newline inside the base64
    "sha256/" + base64.b64encode(bytes(31)).decode(),  # 31 bytes
    "sha256/" + base64.b64encode(bytes(33)).decode(),  # 33 bytes
    "sha256/" + base64.b64encode(b"\xfb" * 32).decode().replace("+", "-"),  # URL-safe alphabet
    "sha256/" + "!" * 44,  # not base64
    "sha256/" + "é" * 44,  # not ASCII
    "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",  # non-canonical: stray low bits
    f'pin-sha256="{B64_32}',  # unterminated quote
    f"pin-sha256={B64_32}",  # unquoted
    f"pin-sha256='{B64_32}'",  # single quotes
    f'pin-sha256 = "{B64_32}"',  # spaces around '='
    f'pin-sha256="{B64_32}"; max-age=10',  # the rest of an HPKP header
    'pin-sha256=""',  # empty digest
    f'pin-sha256="{B64_32}" pin-sha256="{B64_32}"',  # two directives
    f"sha256/{B64_32} sha256/{B64_32}",  # two pins
    f"SHA256/{B64_32}",  # algorithm in upper case
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_pins_refused_naming_the_value(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        Pin.parse(text)
    assert repr(text)[:40] in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        f"sha1/{SHA1_B64}",
        f"sha384/{SHA384_B64}",
        f"sha512/{base64.b64encode(bytes(64)).decode()}",
        f"md5/{base64.b64encode(bytes(16)).decode()}",
        f'pin-sha1="{SHA1_B64}"',
        f'pin-sha384="{SHA384_B64}"',
        f"sha-256/{B64_32}",
    ],
)
def test_other_algorithms_refused_with_advice(text: str) -> None:
    with pytest.raises(PolicyError, match="use 'sha256/<base64>'") as info:
        Pin.parse(text)
    assert repr(text)[:40] in str(info.value)


def test_very_long_input_is_truncated_in_the_message() -> None:
    text = "sha256/" + "A" * 10_000
    with pytest.raises(PolicyError) as info:
        Pin.parse(text)
    assert len(str(info.value)) < 200
    assert "sha256/AAAA" in str(info.value)


@pytest.mark.parametrize("value", [None, 42, b"sha256/" + B64_32.encode(), bytes(32)])
def test_non_str_refused(value: object) -> None:
    with pytest.raises(PolicyError):
        Pin.parse(value)  # type: ignore[arg-type]


# -- from_certificate --------------------------------------------------------------------------


def _isrg_root_x1_pem() -> str:
    bundle = Path(certifi.where()).read_text(encoding="utf-8")
    found = re.search(
        r'# Label: "ISRG Root X1"\n.*?(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)',
        bundle,
        re.DOTALL,
    )
    if found is None:
        pytest.skip("certifi's bundle no longer holds ISRG Root X1")
    return found.group(1)


@each_backend
def test_known_answer_isrg_root_x1() -> None:
    pem = _isrg_root_x1_pem()
    assert str(Pin.from_certificate(pem)) == ISRG_ROOT_X1_PIN
    assert str(Pin.from_certificate(pem.encode())) == ISRG_ROOT_X1_PIN
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(DER)
    assert str(Pin.from_certificate(der)) == ISRG_ROOT_X1_PIN


@each_backend
def test_from_certificate_agrees_with_cryptography() -> None:
    chain = make_chain()
    for cert in chain.certs:
        assert Pin.from_certificate(cert) == reference_pin(cert)


@each_backend
def test_from_certificate_takes_the_first_certificate_of_a_bundle() -> None:
    chain = make_chain()
    pems = [x509.load_der_x509_certificate(c).public_bytes(PEM).decode() for c in chain.certs]
    text = "# a comment: Főtanúsítvány\nsubject=CN=leaf\n" + "\n".join(pems)
    assert Pin.from_certificate(text) == reference_pin(chain.leaf)
    assert Pin.from_certificate(text.encode()) == reference_pin(chain.leaf)


@each_backend
def test_from_certificate_skips_other_pem_blocks() -> None:
    chain = make_chain()
    key = _encrypted(PEM, serialization.PrivateFormat.TraditionalOpenSSL)
    cert = x509.load_der_x509_certificate(chain.leaf).public_bytes(PEM)
    assert Pin.from_certificate(key + cert) == reference_pin(chain.leaf)


@pytest.mark.parametrize(
    "data",
    [
        "no certificate here",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIB\n",  # no END line
    ],
)
def test_from_certificate_bad_pem(data: bytes | str) -> None:
    with pytest.raises(PolicyError):
        Pin.from_certificate(data)


@each_backend
@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\x30\x82\x01\x00" + bytes(10), b"\x30\x03\x02\x01\x01"],
)
def test_from_certificate_bad_der(data: bytes) -> None:
    with pytest.raises(CertificateError):
        Pin.from_certificate(data)


@each_backend
def test_from_certificate_trailing_data_refused() -> None:
    with pytest.raises(CertificateError, match="data after"):
        Pin.from_certificate(make_chain().leaf + b"\x00")


# -- from_spki and from_public_key ------------------------------------------------------------


def test_from_spki() -> None:
    leaf = make_chain().leaf
    spki = x509.load_der_x509_certificate(leaf).public_key().public_bytes(DER, SPKI)
    assert Pin.from_spki(spki) == reference_pin(leaf)
    assert Pin.from_spki(spki) == Pin(hashlib.sha256(spki).digest())


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x02\x01\x00", b"\x30\x05\x00", b"\x30\x00\x00"])
def test_from_spki_refuses_non_sequence(data: bytes) -> None:
    with pytest.raises(PolicyError):
        Pin.from_spki(data)


def _key_encodings(kind: str) -> dict[str, bytes | str]:
    key = private_key(kind)
    public = key.public_key()
    none = serialization.NoEncryption()
    pkcs8 = serialization.PrivateFormat.PKCS8
    request = csr(key)
    forms: dict[str, bytes | str] = {
        "public PEM": public.public_bytes(PEM, SPKI),
        "public PEM str": public.public_bytes(PEM, SPKI).decode(),
        "public DER": public.public_bytes(DER, SPKI),
        "private PKCS#8 PEM": key.private_bytes(PEM, pkcs8, none),
        "private PKCS#8 DER": key.private_bytes(DER, pkcs8, none),
        "CSR PEM": request.public_bytes(PEM),
        "CSR PEM str": request.public_bytes(PEM).decode(),
        "CSR DER": request.public_bytes(DER),
    }
    if kind != "ed25519":
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
        forms["private traditional PEM"] = key.private_bytes(PEM, traditional, none)
        forms["private traditional DER"] = key.private_bytes(DER, traditional, none)
    if kind == "rsa":
        pkcs1 = serialization.PublicFormat.PKCS1
        forms["public PKCS#1 PEM"] = public.public_bytes(PEM, pkcs1)
        forms["public PKCS#1 DER"] = public.public_bytes(DER, pkcs1)
    return forms


@each_backend
@pytest.mark.parametrize("kind", KEY_TYPES)
def test_from_public_key_every_encoding_gives_the_certificate_pin(kind: str) -> None:
    cert = self_signed(private_key(kind)).public_bytes(DER)
    expected = Pin.from_certificate(cert)
    for name, data in _key_encodings(kind).items():
        assert Pin.from_public_key(data) == expected, name


def _encrypted(encoding: serialization.Encoding, form: serialization.PrivateFormat) -> bytes:
    encryption = serialization.BestAvailableEncryption(b"secret")
    return private_key("ec").private_bytes(encoding, form, encryption)


@pytest.mark.parametrize(
    ("encoding", "form"),
    [
        (PEM, serialization.PrivateFormat.PKCS8),
        (DER, serialization.PrivateFormat.PKCS8),
        (PEM, serialization.PrivateFormat.TraditionalOpenSSL),  # Proc-Type: 4,ENCRYPTED
    ],
)
def test_from_public_key_refuses_encrypted_private_key(
    encoding: serialization.Encoding, form: serialization.PrivateFormat
) -> None:
    with pytest.raises(PolicyError, match="encrypted"):
        Pin.from_public_key(_encrypted(encoding, form))


def test_from_public_key_points_certificates_to_from_certificate() -> None:
    pem = x509.load_der_x509_certificate(make_chain().leaf).public_bytes(PEM)
    with pytest.raises(PolicyError, match="from_certificate"):
        Pin.from_public_key(pem)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        "not PEM",
        b"\x30\x82\x01\x00" + bytes(256),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN DH PARAMETERS-----\nAAAA\n-----END DH PARAMETERS-----\n",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n",  # no END line
    ],
)
def test_from_public_key_bad_input_is_a_policy_error(data: bytes | str) -> None:
    with pytest.raises(PolicyError):
        Pin.from_public_key(data)
