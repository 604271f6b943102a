"""Policy files: a :class:`~pinning.PinPolicy` from TOML, checked key by key (fail closed).

The format::

    expires = 2027-06-30          # optional, policy-wide; a rule may override it
    enforce = true                # false = report-only
    strict = false

    [[rule]]
    hosts = ["api.example.com", "**.cdn.example.com"]
    pins  = ["sha256/...", "sha256/..."]
    expires = 2027-01-31          # optional
    check = ["api.example.com:8443", "edge.cdn.example.com"]   # optional, see below

``check`` is for ``pinning check`` only: the servers it connects to for this rule, each
``host``, ``host:port`` or ``[v6]:port`` (the host must be covered by the rule); the policy itself
ignores it. Without it, ``pinning check`` connects to the rule's exact host patterns.

Every problem is a :class:`~pinning.PolicyError` whose message starts with the file and the line,
then the rule, as compilers do: ``pins.toml:9: rule 2: malformed pin 'sha256/x': invalid base64``.
Nothing is skipped or defaulted silently: an unknown key, a value of the wrong type, a bad pin or
pattern, a pin or pattern given twice, or a file without rules never gives a policy.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import PinningWarning, PolicyError
from ..policy.hosts import HostPattern, canonical_host, split_host_port
from ..policy.pins import Pin, quote
from ..policy.policy import PinPolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover (Python 3.10)
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:
    from ..policy.policy import Reporter

__all__ = ["check_targets", "load_policy", "loads_policy"]

POLICY_KEYS = ("expires", "enforce", "strict", "rule")
RULE_KEYS = ("hosts", "pins", "expires", "check")

# tomllib ends its messages with "(at line 3, column 7)" or "(at end of document)".
_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_END = re.compile(r"^(?P<message>.*) \(at end of document\)$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_RULE_HEADER = re.compile(r"""^\s*\[\[\s*(?:rule|"rule"|'rule')\s*\]\]\s*(?:#.*)?$""")


def load_policy(path: str | os.PathLike[str], *, reporter: Reporter | None = None) -> PinPolicy:
    """Read the TOML policy file at ``path``; see :meth:`pinning.PinPolicy.load`.

    Raises:
        PolicyError: The file is not UTF-8 TOML, or not a valid policy.
        OSError: The file cannot be read.
    """
    source = os.fsdecode(path)
    with open(path, "rb") as file:
        data = file.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PolicyError(f"{source}:{line}:{column}: not UTF-8 text") from None
    return loads_policy(text, source=source, reporter=reporter)


def check_targets(path: str | os.PathLike[str]) -> list[tuple[str, int | None]]:
    """Return the ``check`` servers of every rule of the TOML policy at ``path``, in file order:
    (host as written, port or None).

    Raises:
        PolicyError: The file is not a valid policy.
        OSError: The file cannot be read.
    """
    source = os.fsdecode(path)
    with open(path, "rb") as file:
        data = file.read()
    try:
        text = data.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(_decode_error(source, exc)) from None
    spec = _Reader(source, text).read(document)
    return [target for rule in spec.rules for target in rule.check]


def loads_policy(
    text: str, *, source: str = "<string>", reporter: Reporter | None = None
) -> PinPolicy:
    """Read a TOML policy from ``text``; see :meth:`pinning.PinPolicy.loads`.

    Args:
        text: The TOML document.
        source: The name error messages give the document.
        reporter: The policy's reporter.

    Warns:
        PinningWarning: An enforced rule has a single pin; the warning points at its line.

    Raises:
        PolicyError: ``text`` is not TOML, or not a valid policy; the message names ``source``.
    """
    if not isinstance(text, str):
        raise TypeError(f"a policy is TOML text (str), not {type(text).__name__}")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(_decode_error(source, exc)) from None
    spec = _Reader(source, text).read(document)
    for rule in spec.rules:
        if spec.enforce and len(rule.pins) < 2:
            warnings.warn_explicit(
                f"{source}:{rule.line}: rule {rule.index} ({', '.join(rule.hosts)}) has a single "
                "pin and no backup pin: losing that key locks clients out",
                PinningWarning,
                source,
                rule.line or 0,
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinningWarning)  # Warned above, with the line.
            return PinPolicy(
                [(rule.hosts, rule.pins, rule.expires) for rule in spec.rules],
                expires=spec.expires,
                enforce=spec.enforce,
                strict=spec.strict,
                reporter=reporter,
            )
    except PolicyError as exc:  # Not expected once the reader accepted it; still name the file.
        raise PolicyError(f"{source}: {exc}") from None


@dataclass(frozen=True)
class RuleSpec:
    """One ``[[rule]]`` table, checked.

    Attributes:
        index: Its position in the file, from 1.
        line: The line of its ``[[rule]]`` header (or of ``rule =``), or None when unknown.
        hosts: Its host patterns, as written.
        pins: Its pins.
        expires: Its own expiry, or None.
        check: The servers ``pinning check`` connects to for it: (host, port or None).
    """

    index: int
    line: int | None
    hosts: tuple[str, ...]
    pins: tuple[Pin, ...]
    expires: dt.date | dt.datetime | None
    check: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True)
class PolicySpec:
    """A policy file, checked: what :class:`~pinning.PinPolicy` is built from."""

    expires: dt.date | dt.datetime | None
    enforce: bool
    strict: bool
    rules: tuple[RuleSpec, ...]


def _decode_error(source: str, exc: Exception) -> str:
    """Return tomllib's message as ``file:line:column: invalid TOML: message``."""
    message = str(exc)
    found = _TOML_POSITION.match(message)
    if found:
        where = f"{source}:{found['line']}:{found['column']}"
        return f"{where}: invalid TOML: {_first_lower(found['message'])}"
    found = _TOML_END.match(message)
    if found:
        return f"{source}: invalid TOML at the end of the file: {_first_lower(found['message'])}"
    return f"{source}: invalid TOML: {_first_lower(message)}"


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _kind(value: object) -> str:
    """The TOML name of ``value``'s type, with an article: ``a string``, ``an array``..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime):
        return "an offset date-time" if value.tzinfo else "a local date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    return type(value).__name__


def _unknown_key(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {quote(key)} ({hint}expected {', '.join(known)})"


class _Reader:
    """Checks a parsed document; knows the text, to name lines."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.rule_headers = [
            number for number, line in enumerate(self.lines, 1) if _RULE_HEADER.match(line)
        ]

    # -- where --------------------------------------------------------------------------------

    def _block(self, rule: int | None) -> tuple[int, int]:
        """The 1-based line range [first, end) of the top level, or of the n-th ``[[rule]]``."""
        if rule is None or rule > len(self.rule_headers):
            first = 1
        else:
            first = self.rule_headers[rule - 1] + 1
        end = first
        while end <= len(self.lines) and not _TABLE_HEADER.match(self.lines[end - 1]):
            end += 1
        return first, end

    def _key_line(self, key: str, rule: int | None = None) -> int | None:
        """The line where ``key =`` is written, at the top level or in rule ``rule``."""
        spelled = re.escape(key)
        assignment = re.compile(rf"""^\s*(?:{spelled}|"{spelled}"|'{spelled}')\s*[=.]""")
        first, end = self._block(rule)
        for number in range(first, end):
            if assignment.match(self.lines[number - 1]):
                return number
        if rule is None:  # A table [key] or [[key]] at the top level.
            header = re.compile(rf"""^\s*\[\[?\s*(?:{spelled}|"{spelled}"|'{spelled}')\s*[\].]""")
            for number, line in enumerate(self.lines, 1):
                if header.match(line):
                    return number
            return None
        return self._rule_line(rule)

    def _rule_line(self, rule: int) -> int | None:
        if rule <= len(self.rule_headers):
            return self.rule_headers[rule - 1]
        return self._key_line("rule")  # rule = [{...}, ...] written inline

    def error(
        self, message: str, *, line: int | None = None, rule: int | None = None
    ) -> PolicyError:
        """A PolicyError for ``message``, prefixed with ``file:line: rule n:``."""
        where = self.source if line is None else f"{self.source}:{line}"
        what = "" if rule is None else f"rule {rule}: "
        return PolicyError(f"{where}: {what}{message}")

    # -- what ---------------------------------------------------------------------------------

    def read(self, document: dict[str, Any]) -> PolicySpec:
        for key in document:
            if key not in POLICY_KEYS:
                raise self.error(_unknown_key(key, POLICY_KEYS), line=self._key_line(key))
        expires = self._expires(document, None)
        enforce = self._flag(document, "enforce", True)
        strict = self._flag(document, "strict", False)
        tables = document.get("rule")
        if tables is None:
            raise self.error("no [[rule]] table: a policy needs at least one rule")
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.error(
                f"'rule' must be an array of tables ([[rule]]), not {_kind(tables)}",
                line=self._key_line("rule"),
            )
        if not tables:
            raise self.error(
                "'rule' is empty: a policy needs at least one rule", line=self._key_line("rule")
            )
        rules = []
        seen_hosts: dict[str, RuleSpec] = {}
        for index, table in enumerate(tables, 1):
            rule = self._rule(index, table, seen_hosts)
            rules.append(rule)
            for text in rule.hosts:
                seen_hosts[HostPattern.parse(text).text] = rule
        return PolicySpec(expires, enforce, strict, tuple(rules))

    def _flag(self, table: dict[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(
                f"{key!r} must be true or false, not {_kind(value)}", line=self._key_line(key)
            )
        return value

    def _expires(self, table: dict[str, Any], rule: int | None) -> dt.date | dt.datetime | None:
        value = table.get("expires")
        if value is None:
            return None
        line = self._key_line("expires", rule)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise self.error(
                    "'expires' is a local date-time, which names no instant: give its offset "
                    "(2027-06-30T00:00:00Z) or a date (2027-06-30, 00:00 UTC)",
                    line=line,
                    rule=rule,
                )
            return value
        if isinstance(value, dt.date):
            return value
        hint = " (write it without quotes: expires = 2027-06-30)" if isinstance(value, str) else ""
        raise self.error(
            f"'expires' must be a date or an offset date-time, not {_kind(value)}{hint}",
            line=line,
            rule=rule,
        )

    def _strings(self, table: dict[str, Any], key: str, rule: int, example: str) -> list[str]:
        line = self._key_line(key, rule)
        if key not in table:
            raise self.error(
                f"no {key!r}: give a list such as {key} = [{example}]", line=line, rule=rule
            )
        value = table[key]
        if isinstance(value, str):
            raise self.error(
                f"{key!r} must be an array of strings, not a string: "
                f"write {key} = [{json.dumps(value)}]",
                line=line,
                rule=rule,
            )
        if not isinstance(value, list):
            raise self.error(
                f"{key!r} must be an array of strings, not {_kind(value)}", line=line, rule=rule
            )
        if not value:
            raise self.error(f"{key!r} is empty", line=line, rule=rule)
        for item in value:
            if not isinstance(item, str):
                raise self.error(
                    f"{key!r} must hold strings only, not {_kind(item)} ({quote(item)})",
                    line=line,
                    rule=rule,
                )
        return value

    def _rule(self, index: int, table: dict[str, Any], seen: dict[str, RuleSpec]) -> RuleSpec:
        for key in table:
            if key not in RULE_KEYS:
                raise self.error(
                    _unknown_key(key, RULE_KEYS), line=self._key_line(key, index), rule=index
                )
        hosts = self._strings(table, "hosts", index, '"api.example.com"')
        hosts_line = self._key_line("hosts", index)
        canonical = set()
        for text in hosts:
            try:
                pattern = HostPattern.parse(text)
            except PolicyError as exc:
                raise self.error(str(exc), line=hosts_line, rule=index) from None
            if pattern.text in canonical:
                raise self.error(
                    f"host pattern {quote(text)} is given twice", line=hosts_line, rule=index
                )
            canonical.add(pattern.text)
            earlier = seen.get(pattern.text)
            if earlier is not None:
                where = "" if earlier.line is None else f" (line {earlier.line})"
                raise self.error(
                    f"host pattern {quote(text)} is already in rule {earlier.index}{where}: "
                    "a pattern belongs to one rule",
                    line=hosts_line,
                    rule=index,
                )
        pin_texts = self._strings(table, "pins", index, '"sha256/...", "sha256/..."')
        pins_line = self._key_line("pins", index)
        pins: list[Pin] = []
        for text in pin_texts:
            try:
                pin = Pin.parse(text)
            except PolicyError as exc:
                raise self.error(str(exc), line=pins_line, rule=index) from None
            if pin in pins:
                raise self.error(
                    f"pin {pin} is given twice (a backup pin must be another key)",
                    line=pins_line,
                    rule=index,
                )
            pins.append(pin)
        expires = self._expires(table, index)
        check = self._check(table, index, hosts) if "check" in table else ()
        return RuleSpec(index, self._rule_line(index), tuple(hosts), tuple(pins), expires, check)

    def _check(
        self, table: dict[str, Any], index: int, hosts: list[str]
    ) -> tuple[tuple[str, int | None], ...]:
        line = self._key_line("check", index)
        patterns = [HostPattern.parse(text) for text in hosts]
        found: list[tuple[str, int | None]] = []
        for text in self._strings(table, "check", index, '"api.example.com:8443"'):
            try:
                host, port = split_host_port(text)
            except PolicyError as exc:
                raise self.error(f"check: {exc}", line=line, rule=index) from None
            canonical = canonical_host(host)
            if canonical is None or not any(p.matches(canonical) for p in patterns):
                raise self.error(
                    f"check: {quote(text)} is not covered by this rule's hosts",
                    line=line,
                    rule=index,
                )
            found.append((host, port))
        return tuple(found)
