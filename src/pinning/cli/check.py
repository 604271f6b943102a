"""``pinning check POLICY [HOST...]``: a policy against the servers it pins, before they rotate.

For each host the chain is fetched and verified as a pinned client would (:mod:`pinning.cli.live`),
then judged:

- **pass** when a pin of the host's rule is in the verified chain (``matched``, with its depth),
  and the rule has a backup: RFC 7469 (section 4.3) asks for at least one pin of a key that is
  *not* in the live chain, since a "backup" that is already served is lost with the key it is
  meant to replace;
- **fail** when no pin is in the chain, when the rule has no backup, or when no rule covers the
  host;
- **error** when the server cannot be reached, or its chain cannot be verified: nothing is known
  of its pins.

Hosts are checked ``--jobs`` at a time; each verdict is printed as soon as it is known (the order
of the hosts given with ``--jobs 1``), with a progress line on standard error when it is a
terminal. Then warnings, per rule: it expires within ``--expiry-warning`` days (or has expired),
or it has a single pin. Warnings fail the check only with ``--fail-on-warning``.

The exit status tells the three outcomes apart: 1 when a host fails (or, with
``--fail-on-warning``, something warns), else 3 when a host is in error, else 0; 2 is a usage
error, before any connection.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import PinningWarning
from ..policy.hosts import canonical_host
from ..policy.pins import Pin
from ..policy.policy import PinPolicy, PinRule
from .live import (
    CONNECT_TO_HELP,
    DEFAULT_PORT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    ConnectTo,
    LiveChain,
    LiveError,
    UsageError,
    fetch_chain,
    format_address,
    parse_connect_to,
    redirect,
)
from .pins import cert_json, when
from .policyfile import declared_check_targets, load_policy_file
from .progress import Progress
from .targets import Target, collect_targets

__all__ = ["EXIT_STATUS_HELP", "add_parser", "run"]

_UTC = dt.timezone.utc
DEFAULT_JOBS = 8
MAX_JOBS = 256

EXIT_STATUS_HELP = (
    "exit status:\n"
    "  0  every host passed (and, with --fail-on-warning, nothing warned)\n"
    "  1  a host failed its pin check: no pin in its verified chain, no backup pin, no rule\n"
    "     for it (or, with --fail-on-warning, something warned)\n"
    "  2  a usage error: bad arguments, or an unreadable or malformed policy or hosts file;\n"
    "     nothing was checked\n"
    "  3  no host failed, but one could not be reached or its chain could not be verified\n"
    "  (1 wins over 3: a pin failure is never hidden by an unreachable host)"
)


@dataclass
class HostResult:
    """What one host showed."""

    host: str
    port: int
    address: str
    rule: PinRule | None
    chain: LiveChain | None = None
    error: str | None = None
    matched: list[tuple[int, Pin]] = field(default_factory=list)
    backups: list[Pin] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        """``pass``; ``fail`` (the pins); or ``error`` (not reached or not verified)."""
        if self.error is not None:
            return "error"
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class RuleGroup:
    """The patterns that share one rule of the file (same pins, same expiry)."""

    patterns: tuple[str, ...]
    pins: frozenset[Pin]
    expires: dt.datetime | None
    warnings: tuple[str, ...]


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to {MAX_JOBS}, not {text!r}")
    return int(text)


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``check`` subcommand to ``commands`` (what ``add_subparsers`` returned)."""
    parser = commands.add_parser(
        "check",
        help="check a policy against the live servers it pins",
        description="Connect to each exact host of POLICY (or to the HOSTs given), verify its "
        "chain with the system's trust store or --cafile, and report per host: PASS, FAIL or "
        "ERROR (not reached, or not verified), which pin matched at which depth of the chain, "
        "and whether the rule has a backup pin that is NOT in the live chain (RFC 7469: a "
        "backup that is already served is no backup; without one the host FAILs). Hosts are "
        "checked --jobs at a time and each verdict is printed as soon as it is known, with a "
        "progress line on standard error when it is a terminal. Then warn about rules that "
        "expire within 30 days and rules with a single pin. POLICY is a TOML policy file, or "
        "an Android network_security_config.xml.",
        epilog=EXIT_STATUS_HELP + "\n\n"
        "hosts files: one host, host:port or [v6]:port a line; '#' starts a comment; blank "
        "lines are skipped; '-' is standard input\n\n"
        "examples:\n"
        "  pinning check pins.toml\n"
        "  pinning check --format json pins.toml api.example.com staging.example.com:8443\n"
        "  pinning check --jobs 32 pins.toml @hosts.txt\n"
        "  pinning check --connect-to api.example.com:443:10.0.0.7:443 pins.toml  # a new server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("policy", metavar="POLICY", help="a TOML policy, or an Android NSC .xml")
    parser.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="host, host:port, [v6]:port, or @FILE for the hosts of a file: check these "
        "instead of the policy's exact hosts (a wildcard rule's hosts can only be checked "
        "this way)",
    )
    parser.add_argument(
        "--hosts-file",
        action="append",
        default=[],
        metavar="FILE",
        help="check the hosts of FILE too (as @FILE); repeatable",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text or json")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port of the policy's hosts and of hosts given without one (a policy's rule "
        f"can name its servers with ports: check = [\"host:8443\"]) "
        f"(default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"check N hosts at once (default {DEFAULT_JOBS}, at most {MAX_JOBS})",
    )
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS:PORT2",
        help=CONNECT_TO_HELP,
    )
    parser.add_argument("--cafile", metavar="FILE", help="trust these PEM CAs, not the system's")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="verify nothing: only the leaf counts, as for a pin-only context",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="per host (default 10)"
    )
    parser.add_argument(
        "--expiry-warning",
        type=int,
        default=30,
        metavar="DAYS",
        help="warn about rules expiring within DAYS (default 30)",
    )
    parser.add_argument("--fail-on-warning", action="store_true", help="exit 1 when anything warns")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``pinning check``; return the exit status (see :data:`EXIT_STATUS_HELP`).

    Raises:
        PolicyError: The policy cannot be read.
        UsageError: A HOST, a hosts file or ``--connect-to`` is malformed.
        OSError: The policy file cannot be read.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)  # Reported below, as warnings.
        policy = load_policy_file(args.policy)
    redirects = [parse_connect_to(text) for text in args.connect_to]
    targets = _targets(args, policy)
    now = dt.datetime.now(_UTC)
    groups = _groups(policy, now, args.expiry_warning)
    progress = Progress(sys.stderr)
    if args.format == "text":
        _emit(_summary(args.policy, policy))

    def done(result: HostResult, counts: dict[str, int]) -> None:
        progress.clear()
        if args.format == "text":
            _emit(_host_text(result))
        total = len(targets)
        finished = sum(counts.values())
        progress.show(
            f"checked {finished} of {total}: {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['error']} in error; last {format_address(result.host, result.port)} "
            f"{result.status.upper()}"
        )

    try:
        results = _check_all(policy, targets, redirects, args, done)
    finally:
        progress.clear()
    warned = [text for group in groups for text in group.warnings]
    status = _exit_status(results, bool(args.fail_on_warning and warned))
    if args.format == "json":
        _emit(json.dumps(_json(args.policy, policy, results, groups, status), indent=2))
    else:
        _emit(_footer(results, groups, status))
    return status


def _emit(text: str) -> None:
    print(text, flush=True)


def _targets(args: argparse.Namespace, policy: PinPolicy) -> list[Target]:
    if args.hosts or args.hosts_file:
        return collect_targets(args.hosts, args.hosts_file, args.port)
    # The servers the policy names for checking (``check = [...]`` in a rule), then the exact
    # host patterns none of them names, on --port.
    declared = declared_check_targets(args.policy)
    targets = [(host, args.port if port is None else port) for host, port in declared]
    named = {canonical_host(host) for host, _ in declared}
    targets += [
        (rule.pattern, args.port)
        for rule in policy.rules
        if _is_exact(rule) and rule.pattern not in named
    ]
    if not targets:
        raise UsageError(
            f"{args.policy} has no exact host to connect to (only wildcard rules): name "
            "the hosts to check, e.g. pinning check POLICY www.example.com, or @hosts.txt"
        )
    return targets


def _check_all(
    policy: PinPolicy,
    targets: Sequence[Target],
    redirects: list[ConnectTo],
    args: argparse.Namespace,
    done: Callable[[HostResult, dict[str, int]], None],
) -> list[HostResult]:
    """Check every target, ``args.jobs`` at once; call ``done`` in this thread as each ends.

    Returns the results in the order of ``targets``.
    """
    results: list[HostResult | None] = [None] * len(targets)
    counts = {"pass": 0, "fail": 0, "error": 0}
    pool = concurrent.futures.ThreadPoolExecutor(min(args.jobs, len(targets)))
    try:
        futures = {
            pool.submit(_check_host, policy, host, port, redirects, args): index
            for index, (host, port) in enumerate(targets)
        }
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            counts[result.status] += 1
            done(result, counts)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: start no other host.
        raise
    pool.shutdown()
    return [result for result in results if result is not None]


def _exit_status(results: Sequence[HostResult], warned: bool) -> int:
    if warned or any(result.status == "fail" for result in results):
        return EXIT_FAILED
    if any(result.status == "error" for result in results):
        return EXIT_UNREACHABLE
    return EXIT_OK


def _is_exact(rule: PinRule) -> bool:
    return "*" not in rule.pattern


def _check_host(
    policy: PinPolicy,
    host: str,
    port: int,
    redirects: list[ConnectTo],
    args: argparse.Namespace,
) -> HostResult:
    address, connect_port = redirect(host, port, redirects)
    rule = policy.rule_for(host)
    result = HostResult(host, port, format_address(address or host, connect_port), rule)
    if rule is None:
        result.problems.append("no rule of the policy covers this host")
        return result
    try:
        chain = fetch_chain(
            host,
            connect_port,
            address=address,
            cafile=args.cafile,
            insecure=args.insecure,
            timeout=args.timeout,
        )
    except LiveError as exc:
        result.error = str(exc)
        result.problems.append(str(exc))
        return result
    result.chain = chain
    served = {info.pin for info in chain.certs}
    result.matched = [
        (depth, info.pin) for depth, info in enumerate(chain.certs) if info.pin in rule.pins
    ]
    result.backups = sorted(rule.pins - served, key=str)
    if not result.matched:
        result.problems.append("no pin of the rule is in the verified chain")
    if not result.backups:
        result.problems.append(
            "no backup pin: every pin of the rule is in the live chain; RFC 7469 asks for one "
            "that is not (a key kept offline), so that losing a served key leaves a pin to "
            "move to"
        )
    return result


def _groups(policy: PinPolicy, now: dt.datetime, within_days: int) -> list[RuleGroup]:
    """The rules as given to the policy (its patterns together), each with its warnings."""
    grouped: list[list[PinRule]] = []
    for rule in policy.rules:
        # The patterns of one rule come in a row and share its one pin set.
        if grouped and grouped[-1][0].pins is rule.pins and grouped[-1][0].expires == rule.expires:
            grouped[-1].append(rule)
        else:
            grouped.append([rule])
    groups = []
    for rules in grouped:
        pins, expires = rules[0].pins, rules[0].expires
        found = []
        if expires is not None:
            left = expires - now
            if left <= dt.timedelta(0):
                found.append(f"expired on {expires:%Y-%m-%d}: its pins are no longer enforced")
            elif left <= dt.timedelta(days=within_days):
                days = left.days
                soon = "in less than a day" if days == 0 else f"in {days} day{'s' * (days != 1)}"
                found.append(f"expires on {expires:%Y-%m-%d}, {soon}")
        if len(pins) < 2:
            found.append("a single pin: no backup")
        patterns = tuple(rule.pattern for rule in rules)
        groups.append(RuleGroup(patterns, pins, expires, tuple(found)))
    return groups


# -- output -----------------------------------------------------------------------------------


def _summary(path: str, policy: PinPolicy) -> str:
    mode = "enforced" if policy.enforce else "report-only"
    expires = "" if policy.expires is None else f", expires {policy.expires:%Y-%m-%d}"
    strict = ", strict" if policy.strict else ""
    count = len(policy.rules)
    return f"policy {path}: {count} pattern{'s' * (count != 1)}, {mode}{strict}{expires}"


def _subject(result: HostResult, depth: int) -> str:
    assert result.chain is not None
    return result.chain.certs[depth].subject or "?"


def _host_text(result: HostResult) -> str:
    """The verdict of one host and what it is based on, printed as soon as it is known."""
    name = format_address(result.host, result.port)
    via = "" if result.address == name else f" via {result.address}"
    rule = "" if result.rule is None else f' (rule "{result.rule.pattern}")'
    lines = [f"{result.status.upper()} {name}{via}{rule}"]
    if result.chain is not None and not result.chain.verified:
        lines.append("    not verified (--insecure): only the leaf counts")
    for depth, pin in result.matched:
        lines.append(f"    matched: {pin} at depth {depth} ({_subject(result, depth)})")
    if result.matched:
        lines.extend(f"    backup:  {pin} (not in the live chain)" for pin in result.backups)
    if result.chain is not None and not result.matched:
        lines.append("    the verified chain:")
        for depth, info in enumerate(result.chain.certs):
            lines.append(f"      {depth} {info.pin} {info.subject}")
        assert result.rule is not None
        lines.append("    the rule's pins:")
        lines.extend(f"      {pin}" for pin in sorted(result.rule.pins, key=str))
    lines.extend(f"    problem: {problem}" for problem in result.problems)
    return "\n".join(lines)


def _footer(results: list[HostResult], groups: list[RuleGroup], status: int) -> str:
    """The warnings, then one line: the verdict and the counts."""
    lines = []
    warned = [(group, text) for group in groups for text in group.warnings]
    if warned:
        lines.append("warnings:")
        for group, text in warned:
            lines.append(f"  rule {', '.join(group.patterns)}: {text}")
    passed = sum(result.status == "pass" for result in results)
    errors = sum(result.status == "error" for result in results)
    verdict = "ok" if status == EXIT_OK else "FAILED"
    not_checked = f" ({errors} not reached or not verified)" if errors else ""
    lines.append(
        f"{verdict}: {passed} of {len(results)} host{'s' * (len(results) != 1)} passed"
        f"{not_checked}, {len(warned)} warning{'s' * (len(warned) != 1)}"
    )
    return "\n".join(lines)


def _json(
    path: str, policy: PinPolicy, results: list[HostResult], groups: list[RuleGroup], status: int
) -> dict[str, Any]:
    return {
        "policy": os.fspath(path),
        "ok": status == EXIT_OK,
        "exit_status": status,
        "counts": {
            name: sum(result.status == name for result in results)
            for name in ("pass", "fail", "error")
        },
        "enforce": policy.enforce,
        "strict": policy.strict,
        "expires": when(policy.expires),
        "hosts": [
            {
                "host": result.host,
                "port": result.port,
                "address": result.address,
                "status": result.status,
                "rule": None if result.rule is None else result.rule.pattern,
                "verified": None if result.chain is None else result.chain.verified,
                "error": result.error,
                "matched": [
                    {"pin": str(pin), "depth": depth, "subject": _subject(result, depth)}
                    for depth, pin in result.matched
                ],
                "backups": [str(pin) for pin in result.backups],
                "problems": result.problems,
                "chain": []
                if result.chain is None
                else [cert_json(info, depth) for depth, info in enumerate(result.chain.certs)],
            }
            for result in results
        ],
        "rules": [
            {
                "patterns": list(group.patterns),
                "pins": sorted(str(pin) for pin in group.pins),
                "expires": when(group.expires),
                "warnings": list(group.warnings),
            }
            for group in groups
        ],
        "warnings": [
            f"rule {', '.join(group.patterns)}: {text}"
            for group in groups
            for text in group.warnings
        ],
    }
