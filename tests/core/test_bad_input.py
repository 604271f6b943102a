"""Bad input, everywhere: every public entry point fed wrong types, empty values and huge values.

Each case must raise the documented exception (``TypeError`` for a wrong type, ``CertificateError``
with the right ``status``, ``field`` and ``index`` for a certificate that is not strict DER,
``PolicyError`` naming the bad value), with a message that stays short however big the input was,
and the process must stay healthy: a normal call works right after each case.

Huge inputs: a 100 MB "certificate" (a SEQUENCE header claiming 100 MB, then zeros; and 100 MB of
zeros), a chain of 10,000 certificates, a rule of 100,000 pins, a 1 MB host name. Each 100 MB input
is made inside its own case, so at most one or two are alive at a time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tlsutil import BACKUP_PIN, HOST, pki

import pinning
from pinning import CertificateError, Pin, PinMismatch, PinPolicy, PolicyError, Status
from pinning.core.status import field_of
from pinning.policy.policy import PinFailure

MB = 1024 * 1024
HUGE = 100 * MB
MESSAGE_LIMIT = 500  # characters: a message names what failed, it never dumps the input
MISMATCH_LIMIT = 10_000  # a PinMismatch lists a chain and pins: bounded, whatever their number


# --- Inputs --------------------------------------------------------------------------------------


def der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@functools.cache
def genuine_chain() -> tuple[bytes, bytes]:
    """The genuine localhost leaf and its CA, DER."""
    return der(pki().genuine.chain_pems[0]), der(pki().genuine_ca.cert_pem.bytes())


@functools.cache
def rogue_chain() -> tuple[bytes, bytes]:
    return der(pki().rogue.chain_pems[0]), der(pki().rogue_ca.cert_pem.bytes())


def leaf() -> bytes:
    return genuine_chain()[0]


def reference_digest(cert: bytes) -> bytes:
    """The SPKI SHA-256 of ``cert`` as ``cryptography`` computes it, independently of pinning."""
    key = x509.load_der_x509_certificate(cert).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def huge_sequence() -> bytes:
    """A SEQUENCE header claiming 100 MB, then 100 MB of zeros: the outer length is right, and
    the tbsCertificate inside is not there."""
    return b"\x30\x84" + HUGE.to_bytes(4, "big") + bytes(HUGE)


def huge_zeros() -> bytes:
    return bytes(HUGE)


def truncated_claim() -> bytes:
    """A SEQUENCE header claiming 100 MB, and nothing after it."""
    return b"\x30\x84" + HUGE.to_bytes(4, "big")


def reporter_list() -> list[PinFailure]:
    return []


def policy(**options: object) -> PinPolicy:
    """Pins localhost to the genuine CA's key (and a backup), reporting to nowhere."""
    options.setdefault("reporter", reporter_list().append)
    return PinPolicy({HOST: [pki().genuine_ca_pin, BACKUP_PIN]}, **options)  # type: ignore[arg-type]


PIN_TEXT = "sha256/" + "A" * 43 + "="  # a well-formed pin (32 zero bytes)
PINS = [PIN_TEXT, str(BACKUP_PIN)]
PINS_TOML = "[" + ", ".join(f'"{pin}"' for pin in PINS) + "]"


def healthy() -> None:
    """A normal call of each kind works, and gives the right answer."""
    leaf_der, ca_der = genuine_chain()
    assert pinning.spki_sha256(leaf_der) == reference_digest(leaf_der)
    assert pinning.spki_sha256_many([leaf_der, ca_der]) == [
        reference_digest(leaf_der),
        reference_digest(ca_der),
    ]
    assert Pin.parse(str(pki().genuine_ca_pin)) == pki().genuine_ca_pin
    good = policy()
    good.check(HOST, list(genuine_chain()))
    with pytest.raises(PinMismatch):
        good.check(HOST, list(rogue_chain()))


# --- The table -----------------------------------------------------------------------------------

ANY = object()


@dataclass(frozen=True)
class Bad:
    """What one bad call must raise."""

    error: type[BaseException]
    status: Status | None = None  # For CertificateError: the status (and so the field).
    index: object = ANY  # For CertificateError: the index (None for a single certificate).
    names: str | None = None  # A piece of the bad value that the message must quote.
    cause: type[BaseException] | None = None  # For PinMismatch: the exception behind it.


def expect(call: Callable[[], object], bad: Bad) -> BaseException:
    """Call, check the exception against ``bad``, then check that the process is healthy."""
    with pytest.raises(bad.error) as info:
        call()
    error = info.value
    del info  # The traceback holds the input: let a 100 MB one go.
    text = str(error)
    limit = MISMATCH_LIMIT if isinstance(error, PinMismatch) else MESSAGE_LIMIT
    assert len(text) < limit, f"a {len(text)}-character message: {text[:200]!r}..."
    assert text, "an empty message"
    if bad.status is not None:
        assert isinstance(error, CertificateError)
        assert error.status is bad.status, error
        assert error.field == field_of(bad.status)
    if bad.index is not ANY:
        assert isinstance(error, CertificateError)
        assert error.index == bad.index
    if bad.names is not None:
        assert bad.names in text, text
    if bad.cause is not None:
        assert isinstance(error.__cause__, bad.cause), repr(error.__cause__)
    healthy()
    return error


def cert_error(status: Status, index: int | None = None) -> Bad:
    return Bad(CertificateError, status=status, index=index)


# The certificate functions: each on both backends.

SINGLE = [
    # Wrong types.
    (lambda: None, Bad(TypeError)),
    (lambda: 42, Bad(TypeError)),
    (lambda: "MIIBszCCAVmgAwIBAgI", Bad(TypeError)),  # str where bytes
    (lambda: [leaf()], Bad(TypeError)),  # a list of one certificate
    # Empty, truncated, trailing.
    (lambda: b"", cert_error(Status.ERR_EMPTY)),
    (lambda: leaf()[:-1], cert_error(Status.ERR_CERTIFICATE)),
    (lambda: leaf() + b"\x00", cert_error(Status.ERR_TRAILING_DATA)),
    (truncated_claim, cert_error(Status.ERR_CERTIFICATE)),
    # 100 MB.
    (huge_sequence, cert_error(Status.ERR_TBS_CERTIFICATE)),
    (huge_zeros, cert_error(Status.ERR_CERTIFICATE)),
]
SINGLE_IDS = [
    "None",
    "int",
    "str",
    "list",
    "empty",
    "truncated",
    "trailing-byte",
    "claims-100MB-has-0",
    "100MB-sequence",
    "100MB-zeros",
]


@pytest.mark.parametrize("function", [pinning.spki, pinning.spki_sha256])
@pytest.mark.parametrize(("make", "bad"), SINGLE, ids=SINGLE_IDS)
def test_one_certificate(
    function: Callable[[object], bytes], make: Callable[[], object], bad: Bad, active_backend: str
) -> None:
    expect(lambda: function(make()), bad)


# Pin.from_certificate reads a str as PEM text: a str without a CERTIFICATE block is a PolicyError.
FROM_CERTIFICATE = [
    (make, Bad(PolicyError) if name == "str" else bad)
    for (make, bad), name in zip(SINGLE, SINGLE_IDS, strict=True)
]


@pytest.mark.parametrize(("make", "bad"), FROM_CERTIFICATE, ids=SINGLE_IDS)
def test_pin_from_certificate(make: Callable[[], object], bad: Bad, active_backend: str) -> None:
    expect(lambda: Pin.from_certificate(make()), bad)  # type: ignore[arg-type]


MANY = [
    (lambda: None, Bad(TypeError)),
    (lambda: 42, Bad(TypeError)),
    (lambda: leaf(), Bad(TypeError)),  # one certificate, not a list of them
    (lambda: "certificates", Bad(TypeError)),
    (lambda: [leaf(), None], Bad(TypeError)),
    (lambda: [leaf(), "MIIB"], Bad(TypeError)),
    (lambda: [leaf(), [leaf()]], Bad(TypeError)),
    (lambda: [b""], cert_error(Status.ERR_EMPTY, 0)),
    (lambda: [leaf(), leaf() + b"\x00"], cert_error(Status.ERR_TRAILING_DATA, 1)),
    (lambda: [leaf(), truncated_claim(), leaf()], cert_error(Status.ERR_CERTIFICATE, 1)),
    (lambda: [leaf(), huge_sequence()], cert_error(Status.ERR_TBS_CERTIFICATE, 1)),
    (lambda: [huge_zeros(), leaf()], cert_error(Status.ERR_CERTIFICATE, 0)),
]
MANY_IDS = [
    "None",
    "int",
    "bytes",
    "str",
    "None-item",
    "str-item",
    "list-item",
    "empty-item",
    "trailing-byte-at-1",
    "claims-100MB-at-1",
    "100MB-sequence-at-1",
    "100MB-zeros-at-0",
]


@pytest.mark.parametrize(("make", "bad"), MANY, ids=MANY_IDS)
def test_many_certificates(make: Callable[[], object], bad: Bad, active_backend: str) -> None:
    expect(lambda: pinning.spki_sha256_many(make()), bad)  # type: ignore[arg-type]


def test_bytes_like_certificates_are_accepted(active_backend: str) -> None:
    digest = reference_digest(leaf())
    for value in (bytearray(leaf()), memoryview(leaf())):
        assert pinning.spki_sha256(value) == digest  # type: ignore[arg-type]
        assert pinning.spki_sha256_many([value]) == [digest]  # type: ignore[list-item]
    assert pinning.spki_sha256_many([]) == []
    assert pinning.spki_sha256_many(iter([leaf()])) == [digest]  # type: ignore[arg-type]


# --- 10,000 certificates ------------------------------------------------------------------------

CHAIN_LEN = 10_000
MALFORMED = b"\x30\x03\x02\x01\x01"  # a SEQUENCE holding an INTEGER: no tbsCertificate


def long_chain(last: bytes) -> list[bytes]:
    """9,999 valid certificates (the genuine leaf and the rogue CA, alternating), then ``last``."""
    leaf_der, rogue_ca = leaf(), rogue_chain()[1]
    return [leaf_der if n % 2 else rogue_ca for n in range(CHAIN_LEN - 1)] + [last]


def test_ten_thousand_certificates_are_all_hashed(active_backend: str) -> None:
    ca = genuine_chain()[1]
    digests = pinning.spki_sha256_many(long_chain(ca))
    assert len(digests) == CHAIN_LEN
    assert set(digests[:-1]) == {reference_digest(leaf()), reference_digest(rogue_chain()[1])}
    assert digests[-1] == reference_digest(ca)
    healthy()


def test_ten_thousand_certificates_one_malformed_at_the_end(active_backend: str) -> None:
    expect(
        lambda: pinning.spki_sha256_many(long_chain(MALFORMED)),
        cert_error(Status.ERR_TBS_CERTIFICATE, CHAIN_LEN - 1),
    )


def test_chain_of_ten_thousand_with_the_pin_at_the_end_passes(active_backend: str) -> None:
    policy().check(HOST, long_chain(genuine_chain()[1]))  # Only the last one is pinned.
    healthy()


def test_chain_of_ten_thousand_without_the_pin_is_refused_with_a_bounded_message(
    active_backend: str,
) -> None:
    reports: list[PinFailure] = []
    error = expect(
        lambda: policy(reporter=reports.append).check(HOST, long_chain(rogue_chain()[0])),
        Bad(PinMismatch),
    )
    assert isinstance(error, PinMismatch)
    assert len(error.chain_pins) == CHAIN_LEN  # The data is all there; the message is bounded.
    assert len(reports) == 1 and len(reports[0].chain) == CHAIN_LEN


def test_chain_of_ten_thousand_malformed_at_the_end_is_refused(active_backend: str) -> None:
    error = expect(lambda: policy().check(HOST, long_chain(MALFORMED)), Bad(PinMismatch))
    cause = error.__cause__
    assert isinstance(cause, CertificateError)
    assert (cause.status, cause.index) == (Status.ERR_TBS_CERTIFICATE, CHAIN_LEN - 1)
    assert "certificate 9999" in str(error)


# --- 100,000 pins -----------------------------------------------------------------------------

PIN_COUNT = 100_000


@functools.cache
def pins_around(where: str) -> tuple[Pin, ...]:
    """100,000 pins whose digests are the integers next to the genuine CA pin's digest: below
    it, above it, or both, so that it sorts first, last or in the middle of the rule, and every
    neighbour is a near miss."""
    value = int.from_bytes(pki().genuine_ca_pin.digest, "big")
    offsets = {
        "first": range(1, PIN_COUNT + 1),
        "last": range(-PIN_COUNT, 0),
        "middle": range(-PIN_COUNT // 2, PIN_COUNT // 2 + 1),
    }[where]
    return tuple(Pin((value + offset).to_bytes(32, "big")) for offset in offsets if offset)


def test_a_rule_of_a_hundred_thousand_pins_as_text() -> None:
    texts = [str(pin) for pin in pins_around("middle")] + [str(pki().genuine_ca_pin)]
    built = PinPolicy({HOST: texts}, reporter=reporter_list().append)
    pins = built.pins_for(HOST)
    assert pins is not None and len(pins) == PIN_COUNT + 1
    built.check(HOST, list(genuine_chain()))
    with pytest.raises(PinMismatch):
        built.check(HOST, list(rogue_chain()))
    healthy()


REPORTS: list[PinFailure] = []  # What the policies of hundred_thousand() report.


@functools.cache
def hundred_thousand(where: str) -> tuple[PinPolicy, PinPolicy]:
    """A rule of 100,000 near misses and the genuine CA's pin (``where`` it sorts), and the same
    rule without that pin; made once for both backends."""
    near = pins_around(where)
    return (
        PinPolicy({HOST: [*near, pki().genuine_ca_pin]}, reporter=REPORTS.append),
        PinPolicy({HOST: near}, reporter=REPORTS.append),
    )


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_rule_of_a_hundred_thousand_pins(where: str, active_backend: str) -> None:
    built, near_misses = hundred_thousand(where)
    REPORTS.clear()
    built.check(HOST, list(genuine_chain()))
    built.check(HOST, [genuine_chain()[1]])  # The CA alone: its key is the pinned one.
    with pytest.raises(PinMismatch):
        built.check(HOST, list(rogue_chain()))
    # Without the CA's pin: every neighbour of its digest is pinned, and none matches.
    error = expect(lambda: near_misses.check(HOST, list(genuine_chain())), Bad(PinMismatch))
    assert isinstance(error, PinMismatch)
    assert len(error.expected) == PIN_COUNT
    assert f"and {PIN_COUNT - 10} more pins" in str(error)
    assert len(REPORTS) == 2  # The rogue chain, then the near misses.
    REPORTS.clear()


def test_a_hundred_thousand_pins_and_one_malformed() -> None:
    texts = [str(pin) for pin in pins_around("first")] + ["sha256/bad"]
    expect(lambda: PinPolicy({HOST: texts}), Bad(PolicyError, names="'sha256/bad'"))


# --- Pins -------------------------------------------------------------------------------------

MEGA_PIN = "sha256/" + "A" * MB


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, "None"),
        (42, "42"),
        (b"sha256/" + b"A" * 43 + b"=", "b'sha256/AAAA"),  # bytes where str
        ([PIN_TEXT], "['sha256/AAAA"),
        ("", "''"),
        ("sha256/", "'sha256/'"),
        ("sha1/" + "A" * 27 + "=", "'sha1'"),
        (MEGA_PIN, "'sha256/AAAAAAAAAA"),  # 1 MB
        ("x" * MB, "'xxxxxxxxxx"),
    ],
    ids=["None", "int", "bytes", "list", "empty", "no-digest", "sha1", "1MB-pin", "1MB-junk"],
)
def test_pin_parse(value: object, names: str) -> None:
    expect(lambda: Pin.parse(value), Bad(PolicyError, names=names))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        (None, Bad(TypeError)),
        ("A" * 32, Bad(TypeError)),
        (bytearray(32), Bad(TypeError)),
        ([0] * 32, Bad(TypeError)),
        (b"", Bad(PolicyError, names="not 0")),
        (bytes(31), Bad(PolicyError, names="not 31")),
        (bytes(HUGE), Bad(PolicyError, names=f"not {HUGE}")),
    ],
    ids=["None", "str", "bytearray", "list", "empty", "31-bytes", "100MB"],
)
def test_pin_digest(value: object, bad: Bad) -> None:
    expect(lambda: Pin(value), bad)  # type: ignore[arg-type]


def certificate_pem() -> str:
    return pki().genuine.chain_pems[0].decode()


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: None, Bad(TypeError)),
        (lambda: 42, Bad(TypeError)),
        (lambda: [certificate_pem()], Bad(TypeError)),
        (lambda: b"", Bad(PolicyError)),
        (lambda: "", Bad(PolicyError)),
        (lambda: "x" * MB, Bad(PolicyError)),
        (lambda: leaf(), Bad(PolicyError)),  # a DER certificate is not a key
        (lambda: certificate_pem(), Bad(PolicyError, names="Pin.from_certificate")),
        (huge_sequence, Bad(PolicyError)),
        (huge_zeros, Bad(PolicyError)),
    ],
    ids=[
        "None",
        "int",
        "list",
        "empty-bytes",
        "empty-str",
        "1MB-str",
        "certificate-DER",
        "certificate-PEM",
        "100MB-sequence",
        "100MB-zeros",
    ],
)
def test_pin_from_public_key(make: Callable[[], object], bad: Bad) -> None:
    expect(lambda: Pin.from_public_key(make()), bad)  # type: ignore[arg-type]


def test_pin_from_certificate_pem_text_without_a_certificate() -> None:
    for text in ("", "x" * MB, "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"):
        expect(lambda text=text: Pin.from_certificate(text), Bad(PolicyError))  # type: ignore[misc]


# --- Policies ---------------------------------------------------------------------------------

MEGA_HOST = "a" * MB


@pytest.mark.parametrize(
    ("rules", "names"),
    [
        (None, "None"),
        (42, "42"),
        (HOST, "'localhost'"),
        (b"localhost", "b'localhost'"),
        ({}, "at least one rule"),
        ([], "at least one rule"),
        ({None: PINS}, "None"),
        ({42: PINS}, "42"),
        ({b"localhost": PINS}, "b'localhost'"),
        ({"": PINS}, "''"),
        ({(): PINS}, "()"),
        ({"a..example": PINS}, "'a..example'"),
        ({"*.*.example": PINS}, "'*.*.example'"),
        ({MEGA_HOST: PINS}, "'aaaaaaaaaa"),
        ({HOST: None}, "None"),
        ({HOST: PIN_TEXT}, "'sha256/AAAA"),  # one pin, not a list of pins
        ({HOST: BACKUP_PIN}, "Pin("),
        ({HOST: []}, "no pins"),
        ({HOST: [None, PIN_TEXT]}, "None"),
        ({HOST: [b"sha256/" + b"A" * 43 + b"="]}, "b'sha256/AAAA"),
        ({HOST: [MEGA_PIN, PIN_TEXT]}, "'sha256/AAAAAAAAAA"),
        ([(HOST,)], "('localhost',)"),
        ([(HOST, PINS, "2027-01-01")], "'2027-01-01'"),
        ([(HOST, PINS, dt.datetime(2027, 1, 1))], "2027-01-01T00:00:00"),  # naive
    ],
    ids=[
        "None",
        "int",
        "str",
        "bytes",
        "empty-dict",
        "empty-list",
        "None-pattern",
        "int-pattern",
        "bytes-pattern",
        "empty-pattern",
        "no-patterns",
        "empty-label",
        "inner-wildcard",
        "1MB-pattern",
        "None-pins",
        "str-pins",
        "Pin-pins",
        "no-pins",
        "None-pin",
        "bytes-pin",
        "1MB-pin",
        "pair-of-one",
        "str-expiry",
        "naive-expiry",
    ],
)
def test_policy_rules(rules: object, names: str) -> None:
    expect(lambda: PinPolicy(rules), Bad(PolicyError, names=names))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"expires": "2027-01-01"}, Bad(PolicyError, names="'2027-01-01'")),
        ({"expires": 42}, Bad(PolicyError, names="42")),
        ({"expires": b""}, Bad(PolicyError, names="b''")),
        ({"expires": "x" * MB}, Bad(PolicyError, names="'xxxxxxxxxx")),
        ({"expires": dt.datetime(2027, 1, 1)}, Bad(PolicyError, names="naive")),
        ({"enforce": None}, Bad(TypeError, names="None")),
        ({"enforce": 1}, Bad(TypeError, names="1")),
        ({"enforce": "yes"}, Bad(TypeError, names="'yes'")),
        ({"enforce": "x" * MB}, Bad(TypeError, names="'xxxxxxxxxx")),
        ({"strict": None}, Bad(TypeError, names="None")),
        ({"strict": "no"}, Bad(TypeError, names="'no'")),
        ({"strict": ["x"] * MB}, Bad(TypeError, names="['x', 'x'")),
        ({"reporter": 42}, Bad(TypeError, names="int")),
        ({"reporter": "print"}, Bad(TypeError, names="str")),
    ],
    ids=[
        "expires-str",
        "expires-int",
        "expires-bytes",
        "expires-1MB",
        "expires-naive",
        "enforce-None",
        "enforce-int",
        "enforce-str",
        "enforce-1MB",
        "strict-None",
        "strict-str",
        "strict-1M-list",
        "reporter-int",
        "reporter-str",
    ],
)
def test_policy_options(options: dict[str, object], bad: Bad) -> None:
    expect(lambda: PinPolicy({HOST: PINS}, **options), bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hostname", "names"),
    [
        (42, "42"),
        (b"localhost", "b'localhost'"),
        ("", "''"),
        ("a..localhost", "'a..localhost'"),
        ("localhost\x00", "'localhost\\x00'"),
        (MEGA_HOST, "'aaaaaaaaaa"),
        ("a." * (MB // 2), "'a.a.a.a."),
    ],
    ids=["int", "bytes", "empty", "empty-label", "NUL", "1MB", "1MB-of-labels"],
)
def test_check_hostname(hostname: object, names: str) -> None:
    # A name that cannot be looked up is refused (fail closed), naming it, briefly. (None is not
    # bad input: it stands for a peer without a name, covered by the "*" rule only.)
    expect(
        lambda: policy().check(hostname, list(genuine_chain())),  # type: ignore[arg-type]
        Bad(PinMismatch, names=names),
    )


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: None, Bad(TypeError)),
        (lambda: 42, Bad(TypeError)),
        (lambda: leaf(), Bad(TypeError)),  # one certificate, not a chain
        (lambda: "certificates", Bad(TypeError)),
        (lambda: [leaf(), None], Bad(TypeError)),
        (lambda: [leaf(), "MIIB"], Bad(TypeError)),
        (lambda: [], Bad(PinMismatch, names="empty")),
        (lambda: [b""], Bad(PinMismatch, cause=CertificateError, names="certificate 0 is empty")),
        (lambda: [huge_zeros()], Bad(PinMismatch, cause=CertificateError)),
        (lambda: [leaf(), huge_sequence()], Bad(PinMismatch, cause=CertificateError)),
    ],
    ids=[
        "None",
        "int",
        "bytes",
        "str",
        "None-item",
        "str-item",
        "empty",
        "empty-certificate",
        "100MB-zeros",
        "100MB-sequence-at-1",
    ],
)
def test_check_chain(make: Callable[[], object], bad: Bad, active_backend: str) -> None:
    expect(lambda: policy().check(HOST, make()), bad)  # type: ignore[arg-type]


def test_check_chain_types_are_checked_even_when_no_rule_applies(active_backend: str) -> None:
    # A wrong chain must not pass silently just because no pin happens to be read: an uncovered
    # host, or an expired policy.
    for hostname in (HOST, "uncovered.example"):
        for built in (policy(), policy(expires=dt.date(2000, 1, 1))):
            call = functools.partial(built.check, hostname, None)
            expect(call, Bad(TypeError, names="NoneType"))


@pytest.mark.parametrize(
    ("port", "bad"),
    [
        ("443", Bad(TypeError, names="str")),
        (443.0, Bad(TypeError, names="float")),
        (True, Bad(TypeError, names="bool")),
        (b"443", Bad(TypeError, names="bytes")),
        (-1, Bad(ValueError, names="-1")),
        (65536, Bad(ValueError, names="65536")),
        (10**1000, Bad(ValueError, names="port")),
    ],
    ids=["str", "float", "bool", "bytes", "negative", "65536", "googol-cubed"],
)
def test_check_port(port: object, bad: Bad) -> None:
    # The port goes into RFC 7469 reports, where it is an integer.
    expect(lambda: policy().check(HOST, list(genuine_chain()), port=port), bad)  # type: ignore[arg-type]


def test_check_valid_ports() -> None:
    reports: list[PinFailure] = []
    for port in (None, 0, 443, 65535):
        with pytest.raises(PinMismatch):
            policy(reporter=reports.append).check(HOST, list(rogue_chain()), port=port)
    assert [report.port for report in reports] == [None, 0, 443, 65535]


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        (None, Bad(TypeError, names="NoneType")),
        (b"[[rule]]", Bad(TypeError, names="bytes")),
        (42, Bad(TypeError, names="int")),
        ("", Bad(PolicyError, names="<string>")),
        ("x" * MB, Bad(PolicyError, names="<string>")),
        ('enforce = "yes"\n', Bad(PolicyError, names="enforce")),
        ("rule = 42\n", Bad(PolicyError, names="rule")),
        (f'[[rule]]\nhosts = ["localhost"]\npins = ["{MEGA_PIN}"]\n', Bad(PolicyError)),
        (
            f'[[rule]]\nhosts = ["{MEGA_HOST}"]\npins = ["{PINS[0]}", "{PINS[1]}"]\n',
            Bad(PolicyError),
        ),
    ],
    ids=[
        "None",
        "bytes",
        "int",
        "empty",
        "1MB-junk",
        "enforce-str",
        "rule-int",
        "1MB-pin",
        "1MB-host",
    ],
)
def test_policy_loads(text: object, bad: Bad) -> None:
    expect(lambda: PinPolicy.loads(text), bad)  # type: ignore[arg-type]


# --- Contexts ---------------------------------------------------------------------------------


def server_side(mode: ssl.VerifyMode) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.verify_mode = mode
    return ctx


@pytest.mark.parametrize(
    ("make_ctx", "make_policy", "bad"),
    [
        (lambda: None, policy, Bad(TypeError, names="NoneType")),
        (lambda: "context", policy, Bad(TypeError, names="str")),
        (ssl.create_default_context, lambda: None, Bad(TypeError, names="NoneType")),
        (ssl.create_default_context, lambda: {HOST: PINS}, Bad(TypeError, names="dict")),
        (ssl.create_default_context, lambda: PINS, Bad(TypeError, names="list")),
        (lambda: server_side(ssl.CERT_NONE), policy, Bad(ValueError, names="CERT_REQUIRED")),
        (lambda: server_side(ssl.CERT_REQUIRED), policy, Bad(ValueError, names="'*'")),
    ],
    ids=[
        "ctx-None",
        "ctx-str",
        "policy-None",
        "policy-dict",
        "policy-list",
        "server-no-client-certs",
        "server-no-star-rule",
    ],
)
def test_pin_context(
    make_ctx: Callable[[], object], make_policy: Callable[[], object], bad: Bad
) -> None:
    ctx = make_ctx()
    expect(lambda: pinning.pin_context(ctx, make_policy()), bad)  # type: ignore[arg-type]
    if isinstance(ctx, ssl.SSLContext):  # Refused whole: not half pinned.
        assert ctx.sslsocket_class is ssl.SSLSocket
        assert ctx.sslobject_class is ssl.SSLObject
        assert pinning.pinned_policy(ctx) is None


@pytest.mark.parametrize(
    ("make_policy", "options", "bad"),
    [
        (lambda: None, {}, Bad(TypeError, names="NoneType")),
        (lambda: {HOST: PINS}, {}, Bad(TypeError, names="dict")),
        (policy, {"cafile": 42}, Bad(TypeError)),
        (policy, {"cadata": 42}, Bad(TypeError)),
        (policy, {"capath": 42}, Bad(TypeError)),
        (policy, {"cafile": "/nonexistent/ca.pem"}, Bad(FileNotFoundError)),
        (policy, {"cadata": "x" * MB}, Bad(ssl.SSLError)),
        (policy, {"cadata": bytes(HUGE)}, Bad(ssl.SSLError)),
        # ssl reads an empty value as "not given" and would trust the system's CAs instead
        (policy, {"cafile": ""}, Bad(ValueError, names="cafile is empty")),
        (policy, {"capath": ""}, Bad(ValueError, names="capath is empty")),
        (policy, {"cadata": ""}, Bad(ValueError, names="cadata is empty")),
        (policy, {"cadata": b""}, Bad(ValueError, names="cadata is empty")),
    ],
    ids=[
        "policy-None",
        "policy-dict",
        "cafile-int",
        "cadata-int",
        "capath-int",
        "cafile-missing",
        "cadata-1MB-text",
        "cadata-100MB-zeros",
        "cafile-empty",
        "capath-empty",
        "cadata-empty-text",
        "cadata-empty-bytes",
    ],
)
def test_create_default_context(
    make_policy: Callable[[], object], options: dict[str, object], bad: Bad
) -> None:
    expect(lambda: pinning.create_default_context(make_policy(), **options), bad)  # type: ignore[arg-type]
