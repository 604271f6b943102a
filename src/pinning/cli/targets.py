"""The hosts to check: ``host[:port]`` from the command line, ``@FILE`` and ``--hosts-file FILE``.

A hosts file holds one ``host``, ``host:port``, ``[v6]:port`` or bare IPv6 address a line;
``#`` starts a comment, blank lines are skipped, ``-`` reads standard input. A line that is not
a host names the file and the line. The same host and port given twice is checked once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from ..policy.hosts import canonical_host
from ..policy.pins import quote
from .live import UsageError, parse_target

__all__ = ["Target", "collect_targets", "read_hosts_file"]

Target = tuple[str, int]
"""A host (name or address, as given) and the port to check it on."""

FILE_PREFIX = "@"


def read_hosts_file(path: str, default_port: int) -> list[Target]:
    """Return the hosts of the file at ``path`` (``-``: standard input), in file order.

    Raises:
        UsageError: The file cannot be read or decoded (UTF-8), or a line is not a host; the
            message is ``FILE:LINE: ...``.
    """
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except OSError as exc:
        raise UsageError(f"cannot read the hosts file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text ({exc.reason})") from None
    targets = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if len(entry.split()) > 1:
            raise UsageError(
                f"{name}:{number}: {quote(entry)}: one host[:port] a line, '#' for a comment"
            )
        try:
            targets.append(parse_target(entry, default_port))
        except UsageError as exc:
            raise UsageError(f"{name}:{number}: {exc}") from None
    return targets


def collect_targets(hosts: Sequence[str], files: Sequence[str], default_port: int) -> list[Target]:
    """Return the hosts of ``hosts`` (``host[:port]`` or ``@FILE``) then of ``files``, deduplicated.

    Raises:
        UsageError: A malformed host, an unreadable or malformed file, or a file without hosts.
    """
    found: list[Target] = []
    for text in hosts:
        if text.startswith(FILE_PREFIX):
            found.extend(_from_file(text[len(FILE_PREFIX) :], default_port))
        else:
            found.append(parse_target(text, default_port))
    for path in files:
        found.extend(_from_file(path, default_port))
    return _unique(found)


def _from_file(path: str, default_port: int) -> list[Target]:
    if not path:
        raise UsageError("'@' must be followed by a file name: @hosts.txt")
    targets = read_hosts_file(path, default_port)
    if not targets:
        raise UsageError(f"the hosts file {path} names no host")
    return targets


def _unique(targets: Iterable[Target]) -> list[Target]:
    seen: set[tuple[str | None, int]] = set()
    result = []
    for host, port in targets:
        key = (canonical_host(host), port)
        if key not in seen:
            seen.add(key)
            result.append((host, port))
    return result
