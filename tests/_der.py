"""A tiny DER builder and editor for the tests of the core.

The tests build defective certificates by taking a real certificate apart into its RFC 5280 fields
(:class:`Cert`), replacing one field with a hand-made encoding, and putting it back together with
correct outer lengths. The builders here always write minimal (strict DER) headers unless told
otherwise, so that a test's one defect is the only one in its input.

This is test code: the reader (:func:`read`) trusts well-formed input and raises ``ValueError``
on anything it cannot frame; it is not a second implementation of the walk under test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

# Identifier octets (X.690 8.1.2), as in csrc/der.h.
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTF8_STRING = 0x0C
SEQUENCE = 0x30
SET = 0x31
VERSION = 0xA0  # [0] EXPLICIT, constructed
ISSUER_UID = 0x81  # [1] IMPLICIT BIT STRING
SUBJECT_UID = 0x82  # [2] IMPLICIT BIT STRING
EXTENSIONS = 0xA3  # [3] EXPLICIT, constructed


def length_octets(length: int) -> bytes:
    """Return the minimal DER length octets for ``length`` (X.690 8.1.3, 10.1)."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int | bytes, contents: bytes) -> bytes:
    """Return the element with identifier ``tag`` (an octet, or raw identifier octets) and
    ``contents``, with a minimal length."""
    identifier = bytes([tag]) if isinstance(tag, int) else tag
    return identifier + length_octets(len(contents)) + contents


def seq(*elements: bytes) -> bytes:
    """Return a SEQUENCE of the given encoded elements."""
    return tlv(SEQUENCE, b"".join(elements))


def integer(value: int) -> bytes:
    """Return a minimal two's-complement INTEGER (X.690 8.3)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    """Return a primitive BIT STRING (X.690 8.6)."""
    return tlv(BIT_STRING, bytes([unused_bits]) + data)


def explicit(number: int, inner: bytes) -> bytes:
    """Return the constructed context-specific ``[number]`` wrapping ``inner``."""
    return tlv(0xA0 | number, inner)


@dataclasses.dataclass(frozen=True)
class Element:
    """One element framed inside a buffer: its identifier, where it starts, its header length and
    where it ends."""

    tag: int
    start: int
    header_len: int
    end: int

    @property
    def contents_start(self) -> int:
        """Where the contents start."""
        return self.start + self.header_len


def read(buf: bytes, pos: int = 0) -> Element:
    """Frame the element at ``pos`` (single identifier octet, definite length).

    Raises:
        ValueError: the element cannot be framed.
    """
    if len(buf) - pos < 2:
        raise ValueError("no element header")
    tag, first = buf[pos], buf[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or len(buf) - start < count:
            raise ValueError("indefinite or truncated length")
        length = int.from_bytes(buf[start : start + count], "big")
        start += count
    if start + length > len(buf):
        raise ValueError("element runs past the buffer")
    return Element(tag, pos, start - pos, start + length)


def split(buf: bytes) -> list[bytes]:
    """Return the encodings of the elements laid back to back in ``buf``.

    Raises:
        ValueError: ``buf`` is not a whole number of elements.
    """
    out = []
    pos = 0
    while pos < len(buf):
        element = read(buf, pos)
        out.append(buf[pos : element.end])
        pos = element.end
    return out


def contents(element: bytes) -> bytes:
    """Return the contents of the single element ``element``."""
    framed = read(element)
    if framed.end != len(element):
        raise ValueError("not exactly one element")
    return element[framed.contents_start :]


def children(element: bytes) -> list[bytes]:
    """Return the elements inside the constructed ``element``."""
    return split(contents(element))


def reheader(
    element: bytes, *, tag: int | bytes | None = None, length: bytes | None = None
) -> bytes:
    """Return ``element`` with its identifier octets and/or length octets replaced, contents kept.

    ``length`` is given as raw length octets (``b"\\x81\\x05"``), so non-minimal and indefinite
    forms can be written on purpose.
    """
    framed = read(element)
    old_tag = element[framed.start : framed.start + 1]
    new_tag = old_tag if tag is None else (bytes([tag]) if isinstance(tag, int) else tag)
    new_length = element[framed.start + 1 : framed.contents_start] if length is None else length
    return new_tag + new_length + element[framed.contents_start :]


def indefinite(element: bytes) -> bytes:
    """Return ``element`` in the BER indefinite form (0x80, contents, end-of-contents 00 00)."""
    return reheader(element, length=b"\x80") + b"\x00\x00"


def long_form(element: bytes, num_octets: int) -> bytes:
    """Return ``element`` with its length in the long form on ``num_octets`` octets, padded with
    leading zero octets when the value needs fewer (non-minimal when it does)."""
    size = len(contents(element))
    return reheader(element, length=bytes([0x80 | num_octets]) + size.to_bytes(num_octets, "big"))


def name_of_length(contents_len: int) -> bytes:
    """Return a Name (one RDN holding one commonName) whose contents are ``contents_len`` bytes.

    Used to reach exact length values such as 0x90, where the long form is required.
    """
    cn_oid = tlv(OID, bytes([0x55, 0x04, 0x03]))
    for value_len in range(contents_len, -1, -1):
        rdn = tlv(SET, seq(cn_oid, tlv(UTF8_STRING, b"n" * value_len)))
        if len(rdn) == contents_len:
            return tlv(SEQUENCE, rdn)
    raise ValueError(f"no Name has contents of {contents_len} bytes")


@dataclasses.dataclass(frozen=True)
class Cert:
    """A certificate taken apart into the fields the walk reads, each a whole encoded element.

    ``version`` is ``b""`` for a v1 certificate without ``[0]``. ``tail`` is everything after the
    SPKI in tbsCertificate (unique identifiers and extensions), as raw bytes. Encoding puts the
    fields back with minimal outer headers.
    """

    version: bytes
    serial: bytes
    signature: bytes
    issuer: bytes
    validity: bytes
    subject: bytes
    spki: bytes
    tail: bytes
    signature_algorithm: bytes
    signature_value: bytes

    @classmethod
    def parse(cls, der: bytes) -> Cert:
        """Take the well-formed certificate ``der`` apart."""
        tbs, signature_algorithm, signature_value = children(der)
        fields = children(tbs)
        version = fields.pop(0) if fields[0][0] == VERSION else b""
        serial, signature, issuer, validity, subject, spki, *tail = fields
        return cls(
            version=version,
            serial=serial,
            signature=signature,
            issuer=issuer,
            validity=validity,
            subject=subject,
            spki=spki,
            tail=b"".join(tail),
            signature_algorithm=signature_algorithm,
            signature_value=signature_value,
        )

    def replace(self, **changes: bytes) -> Cert:
        """Return a copy with the named fields replaced."""
        return dataclasses.replace(self, **changes)

    def tbs_fields(self) -> bytes:
        """Return the contents of tbsCertificate."""
        return b"".join(
            (
                self.version,
                self.serial,
                self.signature,
                self.issuer,
                self.validity,
                self.subject,
                self.spki,
                self.tail,
            )
        )

    def tbs(self) -> bytes:
        """Return the tbsCertificate element."""
        return tlv(SEQUENCE, self.tbs_fields())

    def encode(self, *, tbs: bytes | None = None, after_signature: bytes = b"") -> bytes:
        """Return the Certificate; ``tbs`` replaces the whole tbsCertificate element, and
        ``after_signature`` is put inside the Certificate after signatureValue."""
        body = (
            (self.tbs() if tbs is None else tbs)
            + self.signature_algorithm
            + self.signature_value
            + after_signature
        )
        return tlv(SEQUENCE, body)

    def spki_offset(self) -> int:
        """Return where the SPKI element starts in :meth:`encode`'s output."""
        der = self.encode()
        tbs_start = read(der).contents_start
        before_spki = (
            self.version,
            self.serial,
            self.signature,
            self.issuer,
            self.validity,
            self.subject,
        )
        return read(der, tbs_start).contents_start + sum(map(len, before_spki))


# --- A tree view, for structural mutations in the differential tests. ---------------------------


@dataclasses.dataclass
class Node:
    """An element as a tree: identifier octets, and either children (constructed elements whose
    contents split into elements) or raw contents. ``length`` forces raw length octets."""

    tag: bytes
    children: list[Node] | None
    raw: bytes = b""
    length: bytes | None = None

    def body(self) -> bytes:
        """Return the contents octets."""
        return self.raw if self.children is None else b"".join(c.encode() for c in self.children)

    def encode(self) -> bytes:
        """Return the encoding, with minimal lengths except where ``length`` forces one."""
        body = self.body()
        return self.tag + (length_octets(len(body)) if self.length is None else self.length) + body

    def walk(self) -> Iterator[Node]:
        """Yield this node and every node below it, depth first."""
        yield self
        for child in self.children or ():
            yield from child.walk()


def parse_tree(element: bytes) -> Node:
    """Return ``element`` as a :class:`Node` tree; constructed elements (bit 6 of the identifier,
    X.690 8.1.2.5) whose contents frame as elements get children, everything else is raw."""
    framed = read(element)
    tag = element[:1]
    body = element[framed.contents_start : framed.end]
    if tag[0] & 0x20:
        try:
            return Node(tag, [parse_tree(child) for child in split(body)])
        except ValueError:
            pass
    return Node(tag, None, body)


def spki_bounds(der: bytes) -> tuple[int, int]:
    """Return ``(start, end)`` of the SPKI element of the certificate ``der``, found by framing
    alone with :func:`read`: a second opinion on where the walk should land."""
    tbs = read(der, read(der).contents_start)
    inside = der[: tbs.end]
    pos = tbs.contents_start
    if read(inside, pos).tag == VERSION:
        pos = read(inside, pos).end
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        pos = read(inside, pos).end
    spki = read(inside, pos)
    return spki.start, spki.end
