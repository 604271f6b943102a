"""The ``pinning`` command line: argument parsing, the subcommands, and errors as one line."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence

from ..core.errors import CertificateError, PolicyError
from . import bench as _bench
from . import check as _cli_check
from . import pins as _cli_pins
from . import publish as _cli_publish
from .live import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, LiveError

__all__ = ["EXIT_FAILED", "EXIT_UNREACHABLE", "EXIT_USAGE", "main"]


def _demo(_: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinning",
        description="TLS public-key (SPKI) certificate pinning for Python: make pins from "
        "servers, certificates, keys and CSRs, and check a pin policy against the live servers "
        "before a key rotates.",
        epilog="exit status:\n"
        "  0  success (check: every host passed)\n"
        "  1  check: a host failed its pin check\n"
        "  2  a usage error: bad arguments, or an unreadable or malformed file (policy, hosts "
        "file, certificate, key)\n"
        "  3  a host could not be reached, or its chain could not be verified\n\n"
        "Errors are one line on standard error: 'pinning: error: <what went wrong>'.\n"
        "Run 'pinning COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _cli_pins.add_parser(commands)
    _cli_check.add_parser(commands)
    demo = commands.add_parser(
        "demo",
        help="show a pinned client defeating an intercepting proxy, offline on loopback",
        description="Start a genuine HTTPS server and an intercepting proxy on 127.0.0.1, then "
        "show an unpinned client leaking a secret to the proxy, a pinned client refusing it, and "
        "the pinned client reaching the genuine server. Needs no network; leaves nothing behind.",
    )
    demo.set_defaults(run=_demo)
    _bench.add_parser(commands)
    _cli_publish.add_parser(commands)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Expected errors (an unreachable host, an unreadable file, a malformed policy) are printed as
    one line, ``pinning: error: ...``, on standard error: no traceback.
    """
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # Any subject prints on any terminal.
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("pinning: interrupted", file=sys.stderr)
        return 130
    except LiveError as exc:  # A host not reached or not verified (3), or a UsageError (2).
        print(f"pinning: error: {_one_line(exc)}", file=sys.stderr)
        return int(exc.exit_status)
    except (PolicyError, CertificateError, OSError) as exc:
        # What was given cannot be used: a malformed policy, certificate or key, an unreadable
        # file. (fetch_chain turns every ssl.SSLError of a connection into a LiveError.)
        print(f"pinning: error: {_one_line(exc)}", file=sys.stderr)
        return int(getattr(exc, "exit_status", EXIT_USAGE))
    return status


if __name__ == "__main__":
    sys.exit(main())
