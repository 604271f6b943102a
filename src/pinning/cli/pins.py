"""``pinning pins TARGET...``: the pins of a live server, or of certificate and key files, as
text, JSON, or ready to paste: a TOML rule, curl's ``--pinnedpubkey``, an OkHttp
``CertificatePinner``, an Android ``network_security_config.xml`` (also of a whole policy)."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ..core.errors import CertificateError, PinningWarning, PolicyError
from ..policy.hosts import HostPattern
from ..policy.pins import _PEM, Pin
from ..policy.policy import PinPolicy
from ..sources.nsc import to_android_nsc
from .live import (
    CONNECT_TO_HELP,
    CertInfo,
    LiveChain,
    UsageError,
    describe_certificate,
    fetch_chain,
    format_address,
    parse_connect_to,
    redirect,
)
from .live import parse_target as parse_host_target
from .policyfile import load_policy_file

__all__ = ["add_parser", "cert_json", "run", "when"]

# Names a path has when it is meant as a file even if it does not exist (a typo gets "no such file",
# not "not a host name").
_FILE_SUFFIXES = (".pem", ".der", ".crt", ".cer", ".cert", ".key", ".pub", ".csr", ".req", ".p10")
_SKIPPED_LABELS = frozenset({"EC PARAMETERS", "DH PARAMETERS"})


@dataclass(frozen=True)
class Target:
    """What one TARGET gave: a live chain, or the keys of a file.

    Attributes:
        name: The TARGET as shown (``host:port``, a path, or ``<stdin>``).
        items: The keys, leaf first for a chain, in file order for a file.
        chain: The live chain, for a host.
    """

    name: str
    items: tuple[CertInfo, ...]
    chain: LiveChain | None = None


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``pins`` subcommand to ``commands`` (what ``add_subparsers`` returned)."""
    parser = commands.add_parser(
        "pins",
        help="print the pins of a server's verified chain, or of certificate and key files",
        description="Print the SPKI pins (sha256/<base64>) of each TARGET. A host[:port] "
        "(default port 443) is connected to; its chain is verified with the system's trust "
        "store or --cafile and printed leaf first, with each certificate's subject, issuer and "
        "expiry. A file may hold PEM or DER: a certificate or a bundle of them, a public key, a "
        "private key (its public half is pinned; nothing of the private key is printed) or a "
        "certificate signing request, which gives the pin of a backup key before any "
        "certificate exists for it. '-' reads standard input. A TARGET naming an existing file "
        "is read as a file.",
        epilog="formats:\n"
        "  text    the pins, with each certificate's subject, issuer and expiry\n"
        "  json    the same, for a program\n"
        "  toml    one [[rule]] with every pin, ready to paste into a policy file\n"
        "  curl    curl's --pinnedpubkey argument: sha256//<base64>;sha256//<base64>\n"
        "  okhttp  an OkHttp CertificatePinner.Builder() (Kotlin) with .add(host, pin)\n"
        "  nsc     an Android network_security_config.xml: a <domain-config> and its\n"
        "          <pin-set>; with --policy, the whole policy\n"
        "The hosts of toml, okhttp and nsc are those connected to, or --host.\n\n"
        "examples:\n"
        "  pinning pins api.example.com\n"
        "  pinning pins --format toml api.example.com backup.csr   # a rule to paste\n"
        "  pinning pins --format curl api.example.com backup.csr   # curl --pinnedpubkey ...\n"
        "  pinning pins --format nsc --policy pins.toml             # the policy, for Android\n"
        "  pinning pins --insecure 10.0.0.5:8443                   # self-signed: leaf only\n"
        "  openssl x509 -in cert.pem | pinning pins -",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="host[:port], a file, or -")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), json, toml, curl, okhttp or nsc: see below",
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="a host pattern the pins are for, in toml, okhttp and nsc output (default: the "
        "hosts connected to); repeatable",
    )
    parser.add_argument(
        "--policy",
        metavar="POLICY",
        help="with --format nsc and no TARGET: write this policy (TOML or NSC) as a "
        "network_security_config.xml",
    )
    parser.add_argument(
        "--cafile", metavar="FILE", help="trust the PEM CA certificates of FILE, not the system's"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="verify nothing (for servers no CA vouches for) and print the leaf only",
    )
    parser.add_argument(
        "--servername",
        metavar="NAME",
        help="the name to send (SNI) and verify, when it is not the host connected to",
    )
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS:PORT2",
        help=CONNECT_TO_HELP,
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on a server after SECONDS (default 10)",
    )
    parser.set_defaults(run=run)


FORMATS = ("text", "json", "toml", "curl", "okhttp", "nsc")


def run(args: argparse.Namespace) -> int:
    """Run ``pinning pins``; print the pins and return 0, or raise with a one-line message."""
    if args.policy is not None:
        if args.targets or args.format != "nsc":
            raise UsageError("--policy writes a whole policy: give it with --format nsc alone")
        print(to_android_nsc(load_policy_file(args.policy)), end="")
        return 0
    if not args.targets:
        raise UsageError("give a TARGET: host[:port], a file, or -")
    for pattern in args.host:
        HostPattern.parse(pattern)  # A bad pattern fails before any connection.
    targets = [_read_target(text, args) for text in args.targets]
    if args.format == "json":
        print(json.dumps([_target_json(target) for target in targets], indent=2))
    elif args.format == "toml":
        print(_toml(targets, args.host))
    elif args.format == "curl":
        print(";".join(pin.curl() for pin in _pins(targets)))
    elif args.format == "okhttp":
        print(_okhttp(targets, _hosts(targets, args.host, "okhttp")))
    elif args.format == "nsc":
        print(_nsc(targets, _hosts(targets, args.host, "nsc")), end="")
    else:
        for target in targets:
            print(_text(target))
    return 0


def _read_target(text: str, args: argparse.Namespace) -> Target:
    if text == "-":
        return Target("<stdin>", read_keys(sys.stdin.buffer.read(), "<stdin>"))
    if os.path.isfile(text) or text.lower().endswith(_FILE_SUFFIXES) or os.sep in text:
        try:
            with open(text, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise OSError(f"cannot read {text}: {exc.strerror or exc}") from None
        return Target(text, read_keys(data, text))
    host, port = parse_host_target(text)
    address, connect_port = redirect(
        host, port, [parse_connect_to(rule) for rule in args.connect_to]
    )
    chain = fetch_chain(
        host,
        connect_port,
        address=address,
        servername=args.servername,
        cafile=args.cafile,
        insecure=args.insecure,
        timeout=args.timeout,
    )
    shown = format_address(host, port)
    if address is not None or connect_port != port:
        shown += f" (via {format_address(address or host, connect_port)})"
    return Target(shown, chain.certs, chain)


# -- files ------------------------------------------------------------------------------------


def read_keys(data: bytes, source: str) -> tuple[CertInfo, ...]:
    """Return the keys of a PEM or DER file: certificates, public keys, private keys, CSRs.

    Raises:
        PolicyError: The data holds none of these, or a block that cannot be read; the message
            names ``source``.
    """
    if not data.strip():
        raise PolicyError(f"{source}: the file is empty")
    if b"-----BEGIN" in data:
        items = []
        for match in _PEM.finditer(data.decode("latin-1")):
            label, body = match.group(1), match.group(2)
            if label in _SKIPPED_LABELS:
                continue
            try:
                items.append(_pem_item(label, body, match.group(0)))
            except (PolicyError, CertificateError) as exc:
                raise PolicyError(f"{source}: the PEM {label} block: {exc}") from None
        if not items:
            raise PolicyError(
                f"{source}: no complete PEM certificate, public key, private key or CSR"
            )
        return tuple(items)
    try:
        return (describe_certificate(data),)
    except CertificateError:
        pass
    found = _der_key(data)
    if found is None:
        raise PolicyError(
            f"{source}: not a certificate, public key, private key or certificate signing "
            "request (PEM or DER)"
        )
    return (found,)


def _pem_item(label: str, body: str, block: str) -> CertInfo:
    if label in ("CERTIFICATE", "X509 CERTIFICATE"):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PolicyError("invalid base64") from None
        return describe_certificate(der)
    pin = Pin.from_public_key(block)  # Names encrypted keys and unknown labels clearly.
    if "PRIVATE KEY" in label:
        return CertInfo(pin, "private key")
    if "REQUEST" in label:
        return CertInfo(pin, "certificate signing request", _csr_subject(block.encode()))
    return CertInfo(pin, "public key")


def _csr_subject(pem: bytes) -> str | None:
    try:
        return x509.load_pem_x509_csr(pem).subject.rfc4514_string()
    except ValueError:
        return None


def _from_private(der: bytes) -> PublicKeyTypes:
    return serialization.load_der_private_key(der, password=None).public_key()


_DER_LOADERS: tuple[tuple[str, Callable[[bytes], PublicKeyTypes]], ...] = (
    ("public key", serialization.load_der_public_key),
    ("private key", _from_private),
)


def _der_key(der: bytes) -> CertInfo | None:
    """The key of a DER public key, private key or CSR; None when it is none of these."""
    for kind, loader in _DER_LOADERS:
        try:
            key = loader(der)
        except TypeError:
            raise PolicyError(
                "the private key is encrypted: decrypt it, or pin its public key or a CSR"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            continue
        return CertInfo(_pin_of(key), kind)
    try:
        csr = x509.load_der_x509_csr(der)
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    return CertInfo(_pin_of(key), "certificate signing request", csr.subject.rfc4514_string())


def _pin_of(key: PublicKeyTypes) -> Pin:
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pin.from_spki(spki)


# -- output -----------------------------------------------------------------------------------


def when(moment: Any) -> str | None:
    """RFC 3339 UTC text of an aware datetime, or None."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_json(info: CertInfo, depth: int | None = None) -> dict[str, Any]:
    """The JSON object of one key: its pin and what is known of it."""
    item: dict[str, Any] = {} if depth is None else {"depth": depth}
    item.update(pin=str(info.pin), type=info.kind)
    if info.subject is not None:
        item["subject"] = info.subject
    if info.kind == "certificate":
        item.update(issuer=info.issuer, not_after=when(info.not_after))
    return item


def _target_json(target: Target) -> dict[str, Any]:
    result: dict[str, Any] = {"target": target.name}
    if target.chain is None:
        result.update(source="file", keys=[cert_json(info) for info in target.items])
    else:
        result.update(
            source="server",
            host=target.chain.host,
            port=target.chain.port,
            verified=target.chain.verified,
            chain=[cert_json(info, depth) for depth, info in enumerate(target.items)],
        )
    return result


def _describe(info: CertInfo) -> list[str]:
    lines = []
    if info.subject is not None:
        lines.append(f"subject:   {info.subject}")
    if info.issuer is not None:
        lines.append(f"issuer:    {info.issuer}")
    if info.not_after is not None:
        lines.append(f"not after: {info.not_after:%Y-%m-%d %H:%M:%S} UTC")
    return lines


def _text(target: Target) -> str:
    chain = target.chain
    if chain is None:
        kinds = sorted({info.kind for info in target.items})
        lines = [f"{target.name}: {', '.join(kinds)}"]
    elif chain.verified:
        lines = [f"{target.name}: verified chain of {chain.host}, leaf first"]
    else:
        lines = [
            f"{target.name}: NOT VERIFIED (--insecure): the leaf only, "
            "whose key nothing but a pin vouches for"
        ]
    for index, info in enumerate(target.items):
        label = f"{index}" if chain is not None else f"{index} {info.kind}:"
        lines.append(f"  {label} {info.pin}")
        lines.extend(f"      {line}" for line in _describe(info))
    return "\n".join(lines)


def _live_hosts(targets: list[Target]) -> list[str]:
    hosts: list[str] = []
    for target in targets:
        if target.chain is not None and target.chain.host not in hosts:
            hosts.append(target.chain.host)
    return hosts


def _hosts(targets: list[Target], given: list[str], form: str) -> list[str]:
    hosts = given or _live_hosts(targets)
    if not hosts:
        raise UsageError(
            f"--format {form} needs the hosts the pins are for: give --host PATTERN, or a "
            "host TARGET"
        )
    return hosts


def _pins(targets: list[Target]) -> list[Pin]:
    """Every pin of the targets, once, in the order found."""
    return list(_notes(targets))


def _okhttp(targets: list[Target], hosts: list[str]) -> str:
    lines = [
        "// OkHttp (Kotlin); in Java: new CertificatePinner.Builder() ... .build();",
        "val certificatePinner = CertificatePinner.Builder()",
    ]
    for host in hosts:
        lines.extend(
            f'    .add({json.dumps(host)}, "{pin}")  // {_comment(note)}'
            for pin, note in _notes(targets).items()
        )
    lines.append("    .build()")
    return "\n".join(lines)


def _nsc(targets: list[Target], hosts: list[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)  # A single pin: the XML reader warns.
        policy = PinPolicy([(hosts, _pins(targets))])
    return to_android_nsc(policy)


def _notes(targets: list[Target]) -> dict[Pin, str]:
    """Every pin of the targets, once, in the order found, with where it comes from."""
    pins: dict[Pin, str] = {}
    for target in targets:
        for index, info in enumerate(target.items):
            if target.chain is None:
                kind = "CSR" if info.kind == "certificate signing request" else info.kind
                note = f"{target.name} ({kind})"
            else:
                note = f"{target.chain.host} depth {index}"
                note += "" if target.chain.verified else " (not verified)"
            note += f": {info.subject}" if info.subject else ""
            pins.setdefault(info.pin, note)
    return pins


def _toml(targets: list[Target], given: list[str]) -> str:
    hosts = given or _live_hosts(targets)
    pins = _notes(targets)
    lines = [
        "# Keep the pins of keys you control: your leaf's and a backup key's (a CSR). The pin",
        "# of a CA key accepts every certificate that CA issues for these hosts.",
        "[[rule]]",
    ]
    if hosts:
        lines.append("hosts = [" + ", ".join(json.dumps(host) for host in hosts) + "]")
    else:
        lines.append("hosts = []  # the host patterns these pins are for")
    lines.append("pins = [")
    lines.extend(f'  "{pin}",  # {_comment(note)}' for pin, note in pins.items())
    lines.append("]")
    return "\n".join(lines)


def _comment(text: str) -> str:
    """``text`` made safe for a TOML comment (no control characters)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
