"""``pinning check POLICY [HOST...]``: a policy against the servers it pins, before they rotate.

For each host the chain is fetched and verified as a pinned client would (:mod:`pinning.cli.live`),
then judged:

- **pass** when a pin of the host's rule is in the verified chain (``matched``, with its depth);
- **fail** when none is, when the server cannot be reached or verified, or when the rule has no
  backup: RFC 7469 (section 4.3) asks for at least one pin of a key that is *not* in the live
  chain, since a "backup" that is already served is lost with the key it is meant to replace.

Then warnings, per rule: it expires within ``--expiry-warning`` days (or has expired), or it has a
single pin. Warnings fail the check only with ``--fail-on-warning``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import PinningWarning
from ..policy.pins import Pin
from ..policy.policy import PinPolicy, PinRule
from .live import (
    CONNECT_TO_HELP,
    DEFAULT_PORT,
    ConnectTo,
    LiveChain,
    LiveError,
    UsageError,
    fetch_chain,
    format_address,
    parse_connect_to,
    parse_target,
    redirect,
)
from .pins import cert_json, when

__all__ = ["add_parser", "run"]

_UTC = dt.timezone.utc
_MAX_PARALLEL = 8


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


@dataclass(frozen=True)
class RuleGroup:
    """The patterns that share one rule of the file (same pins, same expiry)."""

    patterns: tuple[str, ...]
    pins: frozenset[Pin]
    expires: dt.datetime | None
    warnings: tuple[str, ...]


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``check`` subcommand to ``commands`` (what ``add_subparsers`` returned)."""
    parser = commands.add_parser(
        "check",
        help="check a policy against the live servers it pins",
        description="Connect to each exact host of POLICY (or to the HOSTs given), verify its "
        "chain with the system's trust store or --cafile, and report per host: PASS or FAIL, "
        "which pin matched at which depth of the chain, and whether the rule has a backup pin "
        "that is NOT in the live chain (RFC 7469: a backup that is already served is no "
        "backup; without one the host FAILs). Then warn about rules that expire within 30 "
        "days and rules with a single pin. POLICY is a TOML policy file, or an Android "
        "network_security_config.xml.",
        epilog="exit status: 0 when every host passes (and, with --fail-on-warning, nothing "
        "warns); 1 when a host fails or on an error; 2 on a usage error.\n\n"
        "examples:\n"
        "  pinning check pins.toml\n"
        "  pinning check --format json pins.toml api.example.com staging.example.com:8443\n"
        "  pinning check --connect-to api.example.com:443:10.0.0.7:443 pins.toml  # a new server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("policy", metavar="POLICY", help="a TOML policy, or an Android NSC .xml")
    parser.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="host[:port] to check instead of the policy's exact hosts (a wildcard rule's hosts "
        "can only be checked this way)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text or json")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port of the policy's hosts and of HOSTs without one (default {DEFAULT_PORT})",
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
    """Run ``pinning check``; return 0 when every host passes, 1 otherwise.

    Raises:
        PolicyError: The policy cannot be read.
        LiveError: A HOST argument or ``--connect-to`` is malformed.
        OSError: The policy file cannot be read.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinningWarning)  # Reported below, as warnings.
        policy = _load(args.policy)
    redirects = [parse_connect_to(text) for text in args.connect_to]
    if args.hosts:
        targets = [parse_target(text, args.port) for text in args.hosts]
    else:
        targets = [(rule.pattern, args.port) for rule in policy.rules if _is_exact(rule)]
        if not targets:
            raise UsageError(
                f"{args.policy} has no exact host to connect to (only wildcard rules): name "
                "the hosts to check, e.g. pinning check POLICY www.example.com"
            )
    now = dt.datetime.now(_UTC)
    groups = _groups(policy, now, args.expiry_warning)
    with concurrent.futures.ThreadPoolExecutor(min(_MAX_PARALLEL, len(targets))) as pool:
        results = list(
            pool.map(lambda t: _check_host(policy, t[0], t[1], redirects, args), targets)
        )
    warned = [text for group in groups for text in group.warnings]
    ok = all(result.passed for result in results) and not (args.fail_on_warning and warned)
    if args.format == "json":
        print(json.dumps(_json(args.policy, policy, results, groups, ok), indent=2))
    else:
        print(_text(args.policy, policy, results, groups, ok))
    return 0 if ok else 1


def _load(path: str) -> PinPolicy:
    with open(path, "rb") as file:
        head = file.read(256).lstrip()
    if path.lower().endswith(".xml") or head.startswith(b"<"):
        return PinPolicy.from_android_nsc(path)
    return PinPolicy.load(path)


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


def _text(
    path: str, policy: PinPolicy, results: list[HostResult], groups: list[RuleGroup], ok: bool
) -> str:
    lines = [_summary(path, policy)]
    for result in results:
        name = format_address(result.host, result.port)
        via = "" if result.address == name else f" via {result.address}"
        rule = "" if result.rule is None else f' (rule "{result.rule.pattern}")'
        lines.append(f"{'PASS' if result.passed else 'FAIL'} {name}{via}{rule}")
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
    warned = [(group, text) for group in groups for text in group.warnings]
    if warned:
        lines.append("warnings:")
        for group, text in warned:
            lines.append(f"  rule {', '.join(group.patterns)}: {text}")
    failed = sum(not result.passed for result in results)
    verdict = "ok" if ok else "FAILED"
    lines.append(
        f"{verdict}: {len(results) - failed} of {len(results)} host{'s' * (len(results) != 1)} "
        f"passed, {len(warned)} warning{'s' * (len(warned) != 1)}"
    )
    return "\n".join(lines)


def _json(
    path: str, policy: PinPolicy, results: list[HostResult], groups: list[RuleGroup], ok: bool
) -> dict[str, Any]:
    return {
        "policy": os.fspath(path),
        "ok": ok,
        "enforce": policy.enforce,
        "strict": policy.strict,
        "expires": when(policy.expires),
        "hosts": [
            {
                "host": result.host,
                "port": result.port,
                "address": result.address,
                "status": "pass" if result.passed else "fail",
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
