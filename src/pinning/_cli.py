"""The ``pinning`` command line: argument parsing and the subcommands."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Sequence

from . import _backend
from ._api import spki, spki_sha256

__all__ = ["main"]


def _demo(_: argparse.Namespace) -> int:
    import certifi

    print(f"pinning backend: {_backend.backend.NAME}")
    with open(certifi.where(), encoding="ascii") as bundle:
        text = bundle.read()
    first = text.index("-----BEGIN CERTIFICATE-----")
    body = text[first:].split("-----END CERTIFICATE-----")[0].split("-----", 2)[2]
    der = base64.b64decode("".join(body.split()))
    print(f"first certificate of certifi's bundle: {len(der)} bytes of DER")
    print(f"its SubjectPublicKeyInfo: {len(spki(der))} bytes")
    print(f"its pin: sha256/{base64.b64encode(spki_sha256(der)).decode()}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinning", description="TLS public-key (SPKI) certificate pinning for Python."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="show pinning at work, offline")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
