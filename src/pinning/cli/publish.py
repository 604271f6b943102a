"""``pinning publish REPOSITORY``: a signed pin repository (TUF) for gateways to follow.

The work is :mod:`pinning.dynamic.publish`'s; this module parses the options and prints what was
signed. ``tuf`` (the ``dynamic`` extra) is imported only when the command runs, so the rest of the
command line works without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

from .live import EXIT_USAGE

__all__ = ["add_parser", "parse_duration", "run"]

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ROLES = ("root", "targets", "snapshot", "timestamp")


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``6h``, ``1d``, ``2w`` as a positive :class:`datetime.timedelta`."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 90s, 30m, 6h, 1d or 2w"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _role(text: str) -> str:
    if text not in _ROLES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a role: one of {', '.join(_ROLES)}")
    return text


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``publish`` subcommand to ``commands`` (what ``add_subparsers`` returned)."""
    parser = commands.add_parser(
        "publish",
        help="publish a pin policy as a signed TUF repository that gateways follow",
        description="Create or update the TUF repository in REPOSITORY (a folder to serve as "
        "static files) so that it holds POLICY, signed with the Ed25519 keys in --keys: a new "
        "policy gets new targets, snapshot and timestamp versions; an unchanged one only a new "
        "timestamp. The first run creates the repository (root v1, "
        "REPOSITORY/metadata/1.root.json: ship that file with the gateways as their trusted "
        "root). Requires the 'dynamic' extra (pip install 'pinning[dynamic]').",
        epilog="examples:\n"
        "  pinning publish --policy pins.toml --keys keys --create-keys repo   # first time\n"
        "  pinning publish --policy pins.toml --keys keys repo                 # a new policy\n"
        "  pinning publish --timestamp-only --keys keys repo                   # from cron\n"
        "  pinning publish --rotate root --keys keys repo                      # a new root key",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repository", metavar="REPOSITORY", help="the repository folder")
    parser.add_argument("--policy", metavar="POLICY", help="the TOML policy file to publish")
    parser.add_argument(
        "--keys",
        metavar="DIR",
        required=True,
        help="the folder of the key files: root.pem, targets.pem, snapshot.pem, timestamp.pem",
    )
    parser.add_argument(
        "--create-keys",
        action="store_true",
        help="when creating the repository, create the key files that do not exist",
    )
    parser.add_argument(
        "--target",
        default="pins.toml",
        metavar="NAME",
        help="the policy's name in the repository (default: pins.toml)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--timestamp-only",
        action="store_true",
        help="only sign a new timestamp (run it on a schedule, well within --timestamp-expiry)",
    )
    what.add_argument(
        "--rotate",
        type=_role,
        action="append",
        metavar="ROLE",
        help="replace the key of ROLE (root, targets, snapshot, timestamp) in a new root "
        "version; repeat for several",
    )
    for role, default in (("timestamp", "1d"), ("snapshot", "365d"), ("targets", "365d")):
        parser.add_argument(
            f"--{role}-expiry",
            type=parse_duration,
            default=parse_duration(default),
            metavar="DURATION",
            help=f"how long the new {role} signature is valid (default: {default})",
        )
    parser.add_argument(
        "--root-expiry",
        type=parse_duration,
        default=parse_duration("365d"),
        metavar="DURATION",
        help="how long a new root version is valid (default: 365d)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``pinning publish``; return the exit status."""
    try:
        from ..dynamic.errors import PublishError
        from ..dynamic.publish import Lifetimes, Repository
    except ImportError as exc:
        print(
            f"pinning: error: publish needs the 'dynamic' extra (pip install 'pinning[dynamic]'): "
            f"{exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    lifetimes = Lifetimes(
        root=args.root_expiry,
        targets=args.targets_expiry,
        snapshot=args.snapshot_expiry,
        timestamp=args.timestamp_expiry,
    )
    try:
        repo = Repository(args.repository, args.keys, target=args.target, lifetimes=lifetimes)
        if args.timestamp_only:
            reports = [repo.resign_timestamp()]
        elif args.rotate:
            reports = [repo.rotate(args.rotate)]
        else:
            if args.policy is None:
                raise PublishError("--policy POLICY is required to publish a policy")
            policy = Path(args.policy).read_bytes()
            repo.check(policy, args.policy)  # Before anything is created.
            reports = [] if repo.exists() else [repo.create(create_keys=args.create_keys)]
            reports.append(repo.publish(policy))
    except PublishError as exc:
        print(f"pinning: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    for report in reports:
        for line in report.lines:
            print(line)
    return 0
