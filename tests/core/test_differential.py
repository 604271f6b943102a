"""Differential tests: the C core, the pure mirror and the ``cryptography`` reference agree.

(a) Certificates generated over key types, names, extensions, validity, serials and versions:
    C == pure == reference, bytes and digests.
(b) Arbitrary bytes and structurally mutated DER: C and pure give the same status, the same failing
    index and field, or the same SPKI bytes and digest; neither crashes. Where ``cryptography``
    (a strict DER X.509 parser) accepts a mutated certificate, the walk accepts it too, and its
    SPKI lies inside the tbsCertificate that ``cryptography`` found.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import hashlib
from collections.abc import Callable
from typing import Any

from _certs_core import (
    KEY_TYPES,
    both_backends,
    certifi_bundle,
    load_reference,
    long_name,
    make_certificate,
    make_v1,
    private_key,
    reference_pin,
    reference_spki,
    small_certificate,
)
from _der import Cert, Node, contents, length_octets, parse_tree, read, split, tlv
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pinning.core.backend import Backend
from pinning.core.errors import CertificateError
from pinning.core.status import Status

# Keys are made once; these three cover RSA, EC and EdDSA for the cheap per-example signatures.
SIGNERS = ("rsa2048", "ec-p256", "ed25519")


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did, as a comparable value: its result, or the error and its details."""
    try:
        return ("ok", call())
    except CertificateError as exc:
        return ("error", exc.status, exc.field, exc.index, str(exc))


def observe(backend: Backend, der: bytes) -> tuple[tuple[Any, ...], ...]:
    """Every entry point's outcome on ``der``."""
    pin = b"\x5a" * 32
    return (
        outcome(lambda: backend.spki(der)),
        outcome(lambda: backend.spki_sha256(der)),
        outcome(lambda: backend.spki_sha256_many([small_certificate(), der])),
        outcome(lambda: backend.chain_match([der, small_certificate()], pin)),
    )


def assert_backends_agree(der: bytes) -> tuple[Any, ...]:
    """C and pure agree on everything about ``der``; returns the outcome of ``spki``."""
    c, pure = both_backends()
    seen_c = observe(c, der)
    assert seen_c == observe(pure, der)
    spki, digest = seen_c[0], seen_c[1]
    if spki[0] == "ok":
        # The SPKI is the certificate's own bytes, and the digest is of exactly those bytes.
        assert spki[1] in der
        assert digest == ("ok", hashlib.sha256(spki[1]).digest())
        assert seen_c[2] == (
            "ok",
            [hashlib.sha256(Cert.parse(small_certificate()).spki).digest(), digest[1]],
        )
    else:
        # A walk status naming a field: never an argument or digest error from Python.
        assert spki[1] not in (Status.ERR_ARGUMENT, Status.ERR_DIGEST)
        assert digest[:3] == spki[:3]
        assert seen_c[2][:4] == ("error", spki[1], spki[2], 1)
        assert seen_c[3][:4] == ("error", spki[1], spki[2], 0)
    return spki


# --- (a) generated certificates -------------------------------------------------------------

ATTRIBUTE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=64
)
ATTRIBUTES = st.one_of(
    st.builds(
        x509.NameAttribute,
        st.just(NameOID.COMMON_NAME),
        ATTRIBUTE_TEXT.filter(lambda value: len(value.encode("utf-8")) <= 64),  # ub-common-name
    ),
    st.builds(x509.NameAttribute, st.just(NameOID.ORGANIZATION_NAME), ATTRIBUTE_TEXT),
    st.builds(x509.NameAttribute, st.just(NameOID.ORGANIZATIONAL_UNIT_NAME), ATTRIBUTE_TEXT),
    st.builds(x509.NameAttribute, st.just(NameOID.LOCALITY_NAME), ATTRIBUTE_TEXT),
    st.builds(
        x509.NameAttribute,
        st.just(NameOID.COUNTRY_NAME),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    ),
)
NAMES = st.one_of(
    st.just(long_name()),
    st.builds(
        x509.Name,
        st.lists(
            st.builds(
                x509.RelativeDistinguishedName,
                st.lists(ATTRIBUTES, min_size=1, max_size=3, unique_by=lambda a: a.value),
            ),
            max_size=6,
        ),
    ),
)
DNS_NAMES = st.from_regex(r"\A[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}\Z")
BASIC_CONSTRAINTS = st.builds(
    lambda ca, length: (x509.BasicConstraints(ca, length if ca else None), True),
    st.booleans(),
    st.none() | st.integers(0, 5),
)
SUBJECT_ALT_NAME = st.builds(
    lambda names: (x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False),
    st.lists(DNS_NAMES, min_size=1, max_size=200),
)
SERVER_AUTH = st.just((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False))
UNKNOWN_EXTENSION = st.builds(
    lambda value: (
        x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), value),
        False,
    ),
    st.binary(max_size=3000),
)
# Each extension present or not, in a random order.
EXTENSIONS = st.tuples(
    *(
        st.none() | ext
        for ext in (BASIC_CONSTRAINTS, SUBJECT_ALT_NAME, SERVER_AUTH, UNKNOWN_EXTENSION)
    )
).flatmap(lambda present: st.permutations([ext for ext in present if ext is not None]))
INSTANTS = st.datetimes(
    min_value=datetime.datetime(1951, 1, 1),
    max_value=datetime.datetime(2200, 1, 1),
    timezones=st.just(datetime.timezone.utc),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KEY_TYPES),
    signer=st.sampled_from(SIGNERS),
    subject=NAMES,
    issuer=NAMES,
    extensions=EXTENSIONS,
    not_before=INSTANTS,
    lifetime=st.timedeltas(datetime.timedelta(seconds=1), datetime.timedelta(days=100 * 366)),
    serial=st.integers(1, (1 << 159) - 1),
    v1=st.booleans(),
)
def test_generated_certificates(
    kind: str,
    signer: str,
    subject: x509.Name,
    issuer: x509.Name,
    extensions: list[tuple[x509.ExtensionType, bool]],
    not_before: datetime.datetime,
    lifetime: datetime.timedelta,
    serial: int,
    v1: bool,
) -> None:
    der = make_certificate(
        private_key(kind),
        subject=subject,
        issuer=issuer,
        signer=private_key(signer),
        serial=serial,
        not_before=not_before,
        not_after=not_before + lifetime,
        extensions=extensions,
    )
    if v1:
        der = make_v1(der, private_key(signer))
    spki = assert_backends_agree(der)
    assert spki == ("ok", reference_spki(der))
    c, _ = both_backends()
    assert c.spki_sha256(der) == reference_pin(der)


# --- (b) arbitrary and mutated DER ------------------------------------------------------------


@functools.cache
def seeds() -> tuple[bytes, ...]:
    """Real certificates to mutate: small and large, v1 and v3, three key families, one root."""
    v3_unique_ids = Cert.parse(small_certificate())
    v3_unique_ids = v3_unique_ids.replace(
        tail=tlv(0x81, b"\x00\xaa") + tlv(0x82, b"\x00\xbb") + v3_unique_ids.tail
    )
    roots = [der for der in certifi_bundle() if len(der) < 1000][:1]
    return (
        small_certificate(),
        v3_unique_ids.encode(),
        make_v1(make_certificate(private_key("ec-p256"), extensions=()), private_key("ec-p256")),
        make_certificate(private_key("rsa2048"), subject=long_name()),
        make_certificate(private_key("ed448")),
        *roots,
    )


def header_positions(der: bytes) -> list[int]:
    """The offsets of every element header in ``der`` (walking into constructed elements)."""
    positions = []

    def visit(start: int, end: int) -> None:
        pos = start
        while pos < end:
            try:
                element = read(der[:end], pos)
            except ValueError:
                return
            positions.append(pos)
            if der[pos] & 0x20:
                visit(element.contents_start, element.end)
            pos = element.end

    visit(0, len(der))
    return positions


LENGTH_FORMS = st.one_of(
    st.just(b"\x80"),  # indefinite
    st.binary(min_size=1, max_size=1),  # any single length octet
    st.integers(0, 6).flatmap(  # long form on n octets, with a random value
        lambda n: st.binary(min_size=n, max_size=n).map(lambda body: bytes([0x80 | n]) + body)
    ),
)
TAGS = st.one_of(
    st.binary(min_size=1, max_size=1),
    # tag 0, high-tag-number forms, and the tags the walk expects somewhere else
    st.sampled_from(
        [
            b"\x00",
            b"\x20",
            b"\x1f\x21",
            b"\xbf\x21",
            b"\x30",
            b"\x31",
            b"\xa0",
            b"\xa3",
            b"\x02",
            b"\x03",
        ]
    ),
)
TREE_EDITS = ["tag", "length", "bytes", "bytes", "contents", "reencode"]
TREE_EDITS += ["drop", "duplicate", "swap", "insert", "graft"]


def byte_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """One flat edit of ``data``: a bit flip, a truncation, an insertion or a deletion."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    if kind == "insert" or not data:
        pos = draw(st.integers(0, len(data)))
        return data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:]
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << draw(st.integers(0, 7)))]) + data[pos + 1 :]
    if kind == "truncate":
        return data[:pos]
    return data[:pos] + data[pos + draw(st.integers(1, 8)) :]


@st.composite
def tree_mutation(draw: st.DrawFn, der: bytes) -> bytes:
    """Change one element deep in the tree and re-encode, fixing every enclosing length, so the
    outer framing stays valid and the walk meets the defect where it is."""
    root = parse_tree(der)
    nodes = list(root.walk())
    # Mostly the elements the walk reads (depth 0 to 3: Certificate, tbsCertificate and its
    # fields, the SPKI's and version's insides), sometimes anything deeper.
    level, walked = [root], [root]
    for _ in range(3):
        level = [child for parent in level for child in parent.children or ()]
        walked += level
    node = draw(st.sampled_from(walked if draw(st.integers(0, 3)) else nodes))
    parents = {id(child): parent for parent in nodes for child in parent.children or ()}
    parent = parents.get(id(node))
    kind = draw(st.sampled_from(TREE_EDITS))
    if kind == "tag":
        node.tag = draw(TAGS)
    elif kind == "length":
        node.length = draw(LENGTH_FORMS)
    elif kind == "bytes":
        node.children, node.raw = None, byte_edit(draw, node.body())
    elif kind == "contents":
        node.children, node.raw = None, draw(st.binary(max_size=40))
    elif kind == "reencode":
        # The same contents in the indefinite form, or in the long form on one octet too many.
        body = node.body()
        if draw(st.booleans()):
            node.children, node.raw, node.length = None, body + b"\x00\x00", b"\x80"
        else:
            minimal = length_octets(len(body))
            node.length = bytes([0x80 | len(minimal)]) + len(body).to_bytes(len(minimal), "big")
    elif parent is not None and parent.children is not None:
        siblings = parent.children
        index = next(i for i, child in enumerate(siblings) if child is node)
        if kind == "drop":
            del siblings[index]
        elif kind == "duplicate":
            siblings.insert(index, copy.deepcopy(node))
        elif kind == "swap" and index + 1 < len(siblings):
            siblings[index], siblings[index + 1] = siblings[index + 1], siblings[index]
        elif kind == "insert":
            extra = Node(draw(TAGS), None, draw(st.binary(max_size=8)))
            siblings.insert(index + draw(st.integers(0, 1)), extra)
        elif kind == "graft":
            donor = parse_tree(draw(st.sampled_from(seeds())))
            siblings[index] = draw(st.sampled_from(list(donor.walk())))
    return root.encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real certificate with one to three mutations: flat byte edits, length-octet edits and
    splices of two certificates, or (most often) structural edits of one nested element."""
    der = draw(st.sampled_from(seeds()))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["bytes", "length", "splice", "tree", "tree", "tree", "tree"]))
        if kind == "bytes":
            der = byte_edit(draw, der)
        elif kind == "length" and der:
            pos = draw(st.sampled_from(header_positions(der) or [0])) + 1
            width = 1 + (der[pos] & 0x7F if pos < len(der) and der[pos] & 0x80 else 0)
            der = der[:pos] + draw(LENGTH_FORMS) + der[pos + width :]
        elif kind == "splice":
            other = draw(st.sampled_from(seeds()))
            der = der[: draw(st.integers(0, len(der)))] + other[draw(st.integers(0, len(other))) :]
        else:
            # An earlier mutation may have broken the framing that the tree view needs.
            with contextlib.suppress(ValueError):
                der = draw(tree_mutation(der))
    return der


def refused_by_rfc_5280_alone(der: bytes) -> bool:
    """Whether ``der`` breaks one of the two RFC 5280 rules the walk enforces and ``cryptography``
    does not: a v1 certificate (no ``[0]``) with unique identifiers or extensions (4.1.2.8,
    4.1.2.9), or an empty Extensions SEQUENCE (SIZE (1..MAX))."""
    try:
        parts = Cert.parse(der)
        tail = split(parts.tail)
    except ValueError:
        return False
    if not parts.version and tail:
        return True
    return any(element[:1] == b"\xa3" and contents(element) == b"\x30\x00" for element in tail)


def reference_tbs(der: bytes) -> bytes | None:
    """The raw tbsCertificate ``cryptography`` finds in ``der``, or None when it refuses ``der``."""
    try:
        return load_reference(der).tbs_certificate_bytes
    except Exception:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(der=mutated())
def test_mutated_certificates(der: bytes) -> None:
    spki = assert_backends_agree(der)
    event("accepted" if spki[0] == "ok" else spki[1].name)
    tbs = reference_tbs(der)
    event("cryptography accepts" if tbs is not None else "cryptography refuses")
    if tbs is not None:
        # What a strict DER X.509 parser accepts, the walk accepts, and it finds the SPKI inside
        # the same tbsCertificate; but for the two RFC 5280 rules it leaves to its users.
        if (
            spki[0] == "error"
            and spki[1] is Status.ERR_EXTENSIONS
            and refused_by_rfc_5280_alone(der)
        ):
            event("refused by RFC 5280 alone")
            return
        assert spki[0] == "ok", f"cryptography accepts a certificate refused with {spki[1]!r}"
        assert spki[1] in tbs


@settings(max_examples=300, deadline=None)
@given(der=st.binary(max_size=600))
def test_arbitrary_bytes(der: bytes) -> None:
    assert_backends_agree(der)


@settings(max_examples=200, deadline=None)
@given(
    head=st.sampled_from([b"\x30", b"\x30\x81", b"\x30\x82", b"\x30\x80", b"\x30\x84"]),
    body=st.binary(max_size=300),
)
def test_arbitrary_bytes_behind_a_sequence_header(head: bytes, body: bytes) -> None:
    """Random contents framed as a SEQUENCE of the right length, so the walk goes past the top."""
    assert_backends_agree(tlv(0x30, body))
    assert_backends_agree(head + body)


def test_seeds_are_accepted_by_everyone() -> None:
    for der in seeds():
        assert assert_backends_agree(der) == ("ok", reference_spki(der))
