"""SPKI pins: parsing ``sha256/<base64>``, curl's ``sha256//<base64>`` and
``pin-sha256="<base64>"``, and computing them.

The base64 of a 32-byte digest is 44 characters ending in one ``=``. OkHttp's form is
``sha256/`` and those 44; curl's is ``sha256//`` and those 44. When the base64 itself starts
with ``/``, OkHttp's form also starts with ``sha256//``: the length tells the two apart (44 or 45
characters after ``sha256/``), and anything else after ``sha256//`` is refused as ambiguous.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ..core import backend as _backend
from ..core.errors import PolicyError

__all__ = ["Pin"]

DIGEST_LEN = 32
B64_LEN = 44  # base64 of DIGEST_LEN bytes, padded: 43 characters and one "="
CURL_PREFIX = "sha256//"

_OKHTTP = re.compile(r"([A-Za-z0-9-]+)/(.*)", re.DOTALL)
_HPKP = re.compile(r'pin-([A-Za-z0-9-]+)="([^"]*)"', re.DOTALL)
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)

_PUBLIC_KEY_LABELS = frozenset({"PUBLIC KEY", "RSA PUBLIC KEY"})
_PRIVATE_KEY_LABELS = frozenset(
    {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}
)
_CSR_LABELS = frozenset({"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"})
_CERTIFICATE_LABEL = "CERTIFICATE"


def quote(value: object, limit: int = 80) -> str:
    """Return ``repr(value)``, cut to about ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True, repr=False)
class Pin:
    """The SHA-256 of a DER SubjectPublicKeyInfo.

    Attributes:
        digest: The 32-byte SHA-256 digest.
    """

    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.digest, bytes):
            raise TypeError(f"Pin digest must be bytes, not {type(self.digest).__name__}")
        if len(self.digest) != DIGEST_LEN:
            raise PolicyError(f"a SHA-256 pin is {DIGEST_LEN} bytes, not {len(self.digest)}")

    @classmethod
    def parse(cls, text: str) -> Pin:
        """Parse ``sha256/<base64>`` (OkHttp), ``sha256//<base64>`` (curl's
        ``--pinnedpubkey``) or ``pin-sha256="<base64>"`` (HPKP, RFC 7469).

        Surrounding whitespace is ignored. The base64 must be strict, padded and canonical, and
        decode to exactly 32 bytes: 44 characters. After ``sha256/`` come either those 44 (OkHttp;
        they may start with ``/``) or ``/`` and those 44 (curl); any other text after
        ``sha256//`` is refused, since it could be meant either way.

        Args:
            text: The pin as text.

        Returns:
            The pin.

        Raises:
            PolicyError: ``text`` is not such a pin; the message quotes it. Other algorithms than
                SHA-256 (``sha1/``, ``pin-sha384=``...) are refused, as is a curl list of pins
                (``sha256//a;sha256//b``).
        """
        if not isinstance(text, str):
            raise PolicyError(f"a pin must be a str like 'sha256/<base64>', not {quote(text)}")
        stripped = text.strip()
        if ";" in stripped:
            raise PolicyError(
                f"malformed pin {quote(text)}: several pins separated by ';' (a curl "
                "--pinnedpubkey list): give each pin on its own"
            )
        match = _HPKP.fullmatch(stripped) or _OKHTTP.fullmatch(stripped)
        if match is None:
            raise PolicyError(
                f"malformed pin {quote(text)}: "
                "expected 'sha256/<base64>' or 'pin-sha256=\"<base64>\"'"
            )
        algorithm, encoded = match.groups()
        if algorithm != "sha256":
            raise PolicyError(
                f"unsupported pin algorithm {algorithm!r} in {quote(text)}: "
                "only SHA-256 pins are accepted, use 'sha256/<base64>'"
            )
        if match.re is _OKHTTP and encoded.startswith("/"):
            encoded = _slash_form(text, encoded)
        try:
            digest = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise PolicyError(f"malformed pin {quote(text)}: invalid base64") from None
        if base64.b64encode(digest).decode("ascii") != encoded:
            raise PolicyError(f"malformed pin {quote(text)}: base64 is not in canonical form")
        if len(digest) != DIGEST_LEN:
            raise PolicyError(
                f"malformed pin {quote(text)}: a SHA-256 pin decodes to {DIGEST_LEN} bytes, "
                f"not {len(digest)}"
            )
        return cls(digest)

    @classmethod
    def from_spki(cls, spki: bytes) -> Pin:
        """Return the pin of a DER SubjectPublicKeyInfo (the whole element, header included).

        Raises:
            PolicyError: ``spki`` is not one complete DER SEQUENCE.
        """
        spki = bytes(spki)
        if not _is_one_der_sequence(spki):
            raise PolicyError("not a DER SubjectPublicKeyInfo: expected exactly one DER SEQUENCE")
        return cls(hashlib.sha256(spki).digest())

    @classmethod
    def from_certificate(cls, data: bytes | str) -> Pin:
        """Return the pin of a certificate's public key, hashed by the certificate backend.

        Args:
            data: A DER certificate, or PEM text (``str`` or ``bytes``) whose first
                ``CERTIFICATE`` block is used.

        Raises:
            PolicyError: PEM text without a readable ``CERTIFICATE`` block.
            CertificateError: The certificate is not strict DER X.509.
        """
        der = _certificate_der(data)
        return cls(_backend.backend.spki_sha256(der))

    @classmethod
    def from_public_key(cls, data: bytes | str) -> Pin:
        """Return the pin of a public key, of a private key's public half, or of a CSR's key.

        Args:
            data: PEM (``str`` or ``bytes``; the first PEM block is used) or DER: a public key
                (SubjectPublicKeyInfo or PKCS#1), an unencrypted private key (PKCS#8, PKCS#1,
                SEC 1), or a PKCS#10 certificate signing request.

        Raises:
            PolicyError: ``data`` is none of these, or is an encrypted private key.
        """
        key = _load_public_key(data)
        spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls.from_spki(spki)

    def __str__(self) -> str:
        return "sha256/" + base64.b64encode(self.digest).decode("ascii")

    def __repr__(self) -> str:
        return f"Pin({str(self)!r})"

    def hpkp(self) -> str:
        """Return the pin as an HPKP directive: ``pin-sha256="<base64>"``."""
        return 'pin-sha256="' + base64.b64encode(self.digest).decode("ascii") + '"'

    def curl(self) -> str:
        """Return the pin as curl's ``--pinnedpubkey`` takes it: ``sha256//<base64>``.

        Several are joined with ``;``: ``sha256//<a>;sha256//<b>``.
        """
        return CURL_PREFIX + base64.b64encode(self.digest).decode("ascii")


def _slash_form(text: str, rest: str) -> str:
    """The base64 of a pin written ``sha256//...``: ``rest`` is what follows ``sha256/``.

    44 characters ending in ``=`` are OkHttp's form of a base64 that starts with ``/``; ``/`` and
    44 are curl's form. Anything else is refused, naming both readings.

    Raises:
        PolicyError: ``rest`` is neither of these.
    """
    if len(rest) == B64_LEN + 1:
        return rest[1:]  # curl: sha256//<44>
    if len(rest) == B64_LEN and rest.endswith("="):
        return rest  # OkHttp: sha256/<44>, the base64 starting with "/"
    raise PolicyError(
        f"ambiguous pin {quote(text)}: neither curl's 'sha256//<base64>' ({B64_LEN} characters "
        f"after 'sha256//') nor 'sha256/<base64>' whose base64 starts with '/' ({B64_LEN} "
        f"characters ending in '=' after 'sha256/'); {len(rest) - 1} characters follow 'sha256//'"
    )


def _is_one_der_sequence(data: bytes) -> bool:
    """Return whether ``data`` is exactly one DER SEQUENCE (tag and length only; X.690 8.1.3)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return len(data) == 2 + first
    num_len = first & 0x7F
    if num_len == 0 or num_len > 4 or len(data) < 2 + num_len:
        return False
    length = int.from_bytes(data[2 : 2 + num_len], "big")
    if length < 0x80 or data[2] == 0:  # DER: shortest form only
        return False
    return len(data) == 2 + num_len + length


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected PEM text or DER bytes, not {type(data).__name__}")


def _is_pem(data: bytes | str, raw: bytes) -> bool:
    """Whether to read ``data`` as PEM text. A DER certificate or key is a SEQUENCE (0x30) whose
    length octet (0x81..0x84, it being over 127 bytes) is never printable text."""
    if isinstance(data, str):
        return True
    looks_like_der = len(raw) >= 2 and raw[0] == 0x30 and raw[1] >= 0x80
    return not looks_like_der and b"-----BEGIN" in raw


def _first_pem_block(raw: bytes, labels: frozenset[str] | None = None) -> tuple[str, bytes]:
    """Return the label and DER of the first PEM block of ``raw`` (with one of ``labels``).

    Raises:
        PolicyError: There is no such block, or its body is not base64.
    """
    for match in _PEM.finditer(raw.decode("latin-1")):
        label, body = match.group(1), match.group(2)
        if labels is not None and label not in labels:
            continue
        if "Proc-Type:" in body and "ENCRYPTED" in body:
            raise PolicyError(_ENCRYPTED)
        try:
            return label, base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PolicyError(f"the PEM {label} block holds invalid base64") from None
    wanted = "complete" if labels is None else " or ".join(repr(label) for label in sorted(labels))
    raise PolicyError(f"no {wanted} PEM block in the text given")


def _certificate_der(data: bytes | str) -> bytes:
    raw = _as_bytes(data)
    if not _is_pem(data, raw):
        return raw  # DER, or garbage that the backend names precisely
    return _first_pem_block(raw, frozenset({_CERTIFICATE_LABEL}))[1]


def _load_public_key(data: bytes | str) -> PublicKeyTypes:
    raw = _as_bytes(data)
    if _is_pem(data, raw):
        label, der = _first_pem_block(raw)
        return _load_der_public_key(der, label)
    return _load_der_public_key(raw, None)


def _load_der_public_key(der: bytes, label: str | None) -> PublicKeyTypes:
    """Load the public key held by ``der``; ``label`` is the PEM label, or None to try each kind."""
    if label == _CERTIFICATE_LABEL:
        raise PolicyError("this is a certificate: use Pin.from_certificate")
    if label == "ENCRYPTED PRIVATE KEY":
        raise PolicyError(_ENCRYPTED)
    loaders = [loader for labels, loader in _LOADERS if label is None or label in labels]
    if not loaders:
        raise PolicyError(
            f"unsupported PEM block {label!r}: expected a public key, private key or CSR"
        )
    for loader in loaders:
        try:
            return loader(der)
        except TypeError:
            # cryptography raises TypeError for an encrypted key given without a password.
            raise PolicyError(_ENCRYPTED) from None
        except (ValueError, UnsupportedAlgorithm):
            continue
    what = "DER data" if label is None else f"PEM {label} block"
    raise PolicyError(f"cannot read the {what} as a public key, private key or CSR")


_ENCRYPTED = "the private key is encrypted: decrypt it, or pin its public key or a CSR instead"


def _from_private_key(der: bytes) -> PublicKeyTypes:
    return serialization.load_der_private_key(der, password=None).public_key()


def _from_csr(der: bytes) -> PublicKeyTypes:
    return x509.load_der_x509_csr(der).public_key()


_LOADERS: tuple[tuple[frozenset[str], Callable[[bytes], PublicKeyTypes]], ...] = (
    (_PUBLIC_KEY_LABELS, serialization.load_der_public_key),
    (_PRIVATE_KEY_LABELS, _from_private_key),
    (_CSR_LABELS, _from_csr),
)
