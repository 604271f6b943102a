"""Policy files (TOML): a table of good files, a table of bad ones with their exact errors, and
the per-rule expiry a file can give."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import pytest
from _certs import Chain, make_chain

from pinning import PinPolicy
from pinning.core.errors import PinningWarning, PolicyError
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin

UTC = dt.timezone.utc
A = Pin(bytes(32))  # sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
B = Pin(bytes([1]) * 32)  # sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=
C = Pin(bytes([2]) * 32)
PINS = f'pins = ["{A}", "{B}"]'
HOST = "api.example.com"


@pytest.fixture(autouse=True)
def _each_backend(active_backend: str) -> str:
    """Run every test with each backend (the checks below hash certificates)."""
    return active_backend


@pytest.fixture
def chain() -> Chain:
    return make_chain(HOST)


def loads(text: str) -> PinPolicy:
    return PinPolicy.loads(text, source="pins.toml")


# -- good files ---------------------------------------------------------------------------------

GOOD = [
    pytest.param(
        f"""\
expires = 2027-06-30          # optional, policy-wide; a rule may override it
enforce = true                # false = report-only
strict = false
[[rule]]
hosts = ["api.example.com", "**.cdn.example.com"]
{PINS}
""",
        {"api.example.com": (A, B), "**.cdn.example.com": (A, B)},
        dict(enforce=True, strict=False, expires=dt.datetime(2027, 6, 30, tzinfo=UTC)),
        id="the issue's example",
    ),
    pytest.param(
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\n',
        {"a.example": (A, B)},
        dict(enforce=True, strict=False, expires=None),
        id="defaults",
    ),
    pytest.param(
        f'enforce = false\nstrict = true\n[[rule]]\nhosts = ["a.example"]\npins = ["{A}"]\n',
        {"a.example": (A,)},
        dict(enforce=False, strict=True, expires=None),
        id="report-only, strict, single pin (no warning when report-only)",
    ),
    pytest.param(
        f'expires = 2027-06-30T12:00:00+02:00\n[[rule]]\nhosts = ["a.example"]\n{PINS}\n',
        {"a.example": (A, B)},
        dict(expires=dt.datetime(2027, 6, 30, 10, tzinfo=UTC)),
        id="offset date-time",
    ),
    pytest.param(
        f"""\
[[rule]]
hosts = ["Bücher.example.", "*.b.example", "*"]
pins = ['pin-sha256="{str(A)[7:]}"', "{B}", "{C}"]
""",
        {"xn--bcher-kva.example": (A, B, C), "*.b.example": (A, B, C), "*": (A, B, C)},
        dict(),
        id="IDNA, trailing dot, HPKP pin syntax, catch-all",
    ),
    pytest.param(
        f'rule = [{{hosts = ["a.example"], pins = ["{A}", "{B}"]}}]\n',
        {"a.example": (A, B)},
        dict(),
        id="inline array of tables",
    ),
    pytest.param(
        f"""\
expires = 2027-06-30
[[rule]]
hosts = ["a.example"]
{PINS}
[[rule]]
hosts = ["b.example"]
{PINS}
expires = 2026-01-15T00:00:00Z
""",
        {"a.example": (A, B), "b.example": (A, B)},
        dict(expires=dt.datetime(2027, 6, 30, tzinfo=UTC)),
        id="a rule's own expiry",
    ),
]


@pytest.mark.parametrize(("text", "rules", "options"), GOOD)
def test_good_files(
    text: str, rules: dict[str, tuple[Pin, ...]], options: dict[str, object]
) -> None:
    policy = loads(text)
    assert {rule.pattern: rule.pins for rule in policy.rules} == {
        pattern: frozenset(pins) for pattern, pins in rules.items()
    }
    for name, value in options.items():
        assert getattr(policy, name) == value


def test_rule_expiry_overrides_the_policy() -> None:
    policy = loads(GOOD[-1].values[0])  # type: ignore[arg-type]
    expiries = {rule.pattern: rule.expires for rule in policy.rules}
    assert expiries == {
        "a.example": dt.datetime(2027, 6, 30, tzinfo=UTC),
        "b.example": dt.datetime(2026, 1, 15, tzinfo=UTC),
    }


# -- bad files: the exact error of each ---------------------------------------------------------

BAD = [
    # Unknown keys, with a suggestion when one is close.
    (
        f'enforced = true\n[[rule]]\nhosts = ["a.example"]\n{PINS}\n',
        "pins.toml:1: unknown key 'enforced' (did you mean 'enforce'? expected expires, enforce, "
        "strict, rule)",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\n\n[[rule]]\nhost = ["b.example"]\n{PINS}\n',
        "pins.toml:6: rule 2: unknown key 'host' (did you mean 'hosts'? expected hosts, pins, "
        "expires, check)",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\nreport-uri = "https://x.example/"\n',
        "pins.toml:4: rule 1: unknown key 'report-uri' (expected hosts, pins, expires, check)",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\n\n[rule.extra]\nx = 1\n',
        "pins.toml:1: rule 1: unknown key 'extra' (expected hosts, pins, expires, check)",
    ),
    (
        f'[options]\nstrict = true\n[[rule]]\nhosts = ["a.example"]\n{PINS}\n',
        "pins.toml:1: unknown key 'options' (expected expires, enforce, strict, rule)",
    ),
    # Wrong types.
    ('enforce = "true"\n', "pins.toml:1: 'enforce' must be true or false, not a string"),
    ("strict = 0\n", "pins.toml:1: 'strict' must be true or false, not an integer"),
    (
        'expires = "2027-06-30"\n',
        "pins.toml:1: 'expires' must be a date or an offset date-time, not a string (write it "
        "without quotes: expires = 2027-06-30)",
    ),
    (
        "expires = 2027-06-30T00:00:00\n",
        "pins.toml:1: 'expires' is a local date-time, which names no instant: give its offset "
        "(2027-06-30T00:00:00Z) or a date (2027-06-30, 00:00 UTC)",
    ),
    (
        "expires = 12:00:00\n",
        "pins.toml:1: 'expires' must be a date or an offset date-time, not a time",
    ),
    (
        f'[[rule]]\nhosts = "a.example"\n{PINS}\n',
        "pins.toml:2: rule 1: 'hosts' must be an array of strings, not a string: write "
        'hosts = ["a.example"]',
    ),
    (
        '[[rule]]\nhosts = ["a.example"]\npins = {a = 1}\n',
        "pins.toml:3: rule 1: 'pins' must be an array of strings, not a table",
    ),
    (
        f'[[rule]]\nhosts = ["a.example", 7]\n{PINS}\n',
        "pins.toml:2: rule 1: 'hosts' must hold strings only, not an integer (7)",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\nexpires = true\n',
        "pins.toml:4: rule 1: 'expires' must be a date or an offset date-time, not a boolean",
    ),
    (
        'rule = "a.example"\n',
        "pins.toml:1: 'rule' must be an array of tables ([[rule]]), not a string",
    ),
    (
        "[rule]\nhosts = []\n",
        "pins.toml:1: 'rule' must be an array of tables ([[rule]]), not a table",
    ),
    # Missing or empty.
    ("", "pins.toml: no [[rule]] table: a policy needs at least one rule"),
    ("enforce = false\n", "pins.toml: no [[rule]] table: a policy needs at least one rule"),
    ("rule = []\n", "pins.toml:1: 'rule' is empty: a policy needs at least one rule"),
    (
        f"[[rule]]\n{PINS}\n",
        "pins.toml:1: rule 1: no 'hosts': give a list such as hosts = [\"api.example.com\"]",
    ),
    (
        '[[rule]]\nhosts = ["a.example"]\n',
        'pins.toml:1: rule 1: no \'pins\': give a list such as pins = ["sha256/...", "sha256/..."]',
    ),
    (f"[[rule]]\nhosts = []\n{PINS}\n", "pins.toml:2: rule 1: 'hosts' is empty"),
    ('[[rule]]\nhosts = ["a.example"]\npins = []\n', "pins.toml:3: rule 1: 'pins' is empty"),
    # Bad pins.
    (
        '[[rule]]\nhosts = ["a.example"]\npins = ["sha256/abc"]\n',
        "pins.toml:3: rule 1: malformed pin 'sha256/abc': invalid base64",
    ),
    (
        '[[rule]]\nhosts = ["a.example"]\npins = ["sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA="]\n',
        "pins.toml:3: rule 1: unsupported pin algorithm 'sha1' in "
        "'sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=': only SHA-256 pins are accepted, use "
        "'sha256/<base64>'",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\npins = ["{str(A)[7:]}"]\n',
        "pins.toml:3: rule 1: malformed pin 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=': "
        "expected 'sha256/<base64>' or 'pin-sha256=\"<base64>\"'",
    ),
    (
        f'[[rule]]\nhosts = ["a.example"]\npins = ["{A}", "{A}"]\n',
        f"pins.toml:3: rule 1: pin {A} is given twice (a backup pin must be another key)",
    ),
    # Bad patterns and duplicates.
    (
        f'[[rule]]\nhosts = ["a..example"]\n{PINS}\n',
        "pins.toml:2: rule 1: malformed host pattern 'a..example': empty label",
    ),
    (
        f'[[rule]]\nhosts = ["api.*.example"]\n{PINS}\n',
        "pins.toml:2: rule 1: malformed host pattern 'api.*.example': '*' is allowed only as "
        "'*', or at the start as '*.' or '**.'",
    ),
    (
        f'[[rule]]\nhosts = ["a.example", "A.EXAMPLE."]\n{PINS}\n',
        "pins.toml:2: rule 1: host pattern 'A.EXAMPLE.' is given twice",
    ),
    (
        f"""\
# Two rules for one host: which pins would apply?
[[rule]]
hosts = ["a.example"]
{PINS}

[[rule]]
hosts = ["b.example", "a.example"]
{PINS}
""",
        "pins.toml:7: rule 2: host pattern 'a.example' is already in rule 1 (line 2): a pattern "
        "belongs to one rule",
    ),
]


# Not TOML at all: the line tomllib gives, as file:line:column (tomllib words the rest).
SYNTAX = [
    ("enforce = yes\n", "pins.toml:1:11: invalid TOML: invalid value"),
    (f'[[rule]]\nhosts = ["a.example"\n{PINS}\n', "pins.toml:3:1: invalid TOML: unclosed array"),
    ("enforce = true\nenforce = false\n", "pins.toml:2:"),
    ("[[rule]\n", "pins.toml:1:"),
    ('[[rule]]\nhosts = ["a.example"]\npins = ["a", "b"] x\n', "pins.toml:3:"),
    ("expires = 2027-02-30\n", "pins.toml:1:"),
    ("hosts = [\n", "pins.toml: invalid TOML at the end of the file: "),
]


@pytest.mark.parametrize(("text", "start"), SYNTAX)
def test_toml_syntax_errors_give_file_and_line(text: str, start: str) -> None:
    with pytest.raises(PolicyError) as info:
        loads(text)
    message = str(info.value)
    assert message.startswith(start)
    assert "invalid TOML" in message
    assert "\n" not in message


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        loads(text)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_errors_name_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "pins.toml"
    path.write_text(f'[[rule]]\nhosts = ["a.example"]\npins = ["{A}", "sha256/x"]\n')
    with pytest.raises(PolicyError) as info:
        PinPolicy.load(path)
    assert str(info.value) == f"{path}:3: rule 1: malformed pin 'sha256/x': invalid base64"


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "pins.toml"
    path.write_text(f'enforce = false\n[[rule]]\nhosts = ["a.example"]\n{PINS}\n')
    policy = PinPolicy.load(str(path))
    assert policy.enforce is False
    assert policy.pins_for("a.example") == frozenset({A, B})


def test_not_utf8_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pins.toml"
    path.write_bytes(b"enforce = true\n# caf\xe9\n[[rule]]\n")
    with pytest.raises(PolicyError) as info:
        PinPolicy.load(path)
    assert str(info.value) == f"{path}:2:6: not UTF-8 text"


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PinPolicy.load(tmp_path / "absent.toml")


def test_loads_needs_text() -> None:
    with pytest.raises(TypeError, match="str"):
        PinPolicy.loads(b"enforce = true")  # type: ignore[arg-type]


def test_default_source_name() -> None:
    with pytest.raises(PolicyError, match=r"^<string>: no \[\[rule\]\] table"):
        PinPolicy.loads("")


def test_reporter_is_passed_on(chain: Chain) -> None:
    seen: list[object] = []
    policy = PinPolicy.loads(
        f'enforce = false\n[[rule]]\nhosts = ["{HOST}"]\n{PINS}\n', reporter=seen.append
    )
    policy.check(HOST, chain.certs)
    assert len(seen) == 1


def test_single_pin_warns_with_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "pins.toml"
    path.write_text(
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\n\n'
        f'[[rule]]\nhosts = ["b.example"]\npins = ["{A}"]\n'
    )
    with pytest.warns(PinningWarning) as record:
        PinPolicy.load(path)
    assert len(record) == 1
    assert str(record[0].message) == (
        f"{path}:5: rule 2 (b.example) has a single pin and no backup pin: losing that key "
        "locks clients out"
    )
    assert (record[0].filename, record[0].lineno) == (str(path), 5)


def test_a_file_that_fails_gives_no_policy() -> None:
    # Fail closed: no partial policy from the rules before the bad one.
    text = (
        f'[[rule]]\nhosts = ["a.example"]\n{PINS}\n[[rule]]\nhosts = ["b.example"]\npins = ["x"]\n'
    )
    policy = None
    with pytest.raises(PolicyError):
        policy = loads(text)
    assert policy is None


# -- per-rule expiry in the check ----------------------------------------------------------------


def test_an_expired_rule_stops_applying_while_the_others_enforce(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    policy = loads(
        f"""\
[[rule]]
hosts = ["{HOST}"]
{PINS}
expires = 2000-01-01
[[rule]]
hosts = ["other.example.com"]
{PINS}
"""
    )
    with caplog.at_level(logging.WARNING, logger="pinning"):
        policy.check(HOST, chain.certs)  # mismatch, but its rule has expired
        policy.check(HOST, chain.certs)
    assert [r.getMessage() for r in caplog.records] == [
        "pinning rule 'api.example.com' expired at 2000-01-01T00:00:00+00:00: its pins are no "
        "longer enforced"
    ]
    with pytest.raises(PinMismatch):
        policy.check("other.example.com", chain.certs)
    with pytest.raises(PinMismatch, match="expired"):
        policy.check(HOST, chain.certs, pin_only=True)


def test_a_rule_that_outlives_the_policy_still_enforces(chain: Chain) -> None:
    policy = loads(
        f"""\
expires = 2000-01-01
strict = true
[[rule]]
hosts = ["{HOST}"]
{PINS}
expires = 2999-01-01
[[rule]]
hosts = ["old.example.com"]
{PINS}
"""
    )
    with pytest.raises(PinMismatch) as info:
        policy.check(HOST, chain.certs, port=443)
    assert info.value.hostname == HOST
    policy.check("old.example.com", chain.certs)  # inherits the policy's past expiry
    policy.check("uncovered.example", chain.certs)  # strict ended with the policy


def test_the_failure_carries_the_rules_expiry(chain: Chain) -> None:
    seen: list[object] = []
    policy = PinPolicy.loads(
        f'expires = 2998-01-01\n[[rule]]\nhosts = ["{HOST}"]\n{PINS}\nexpires = 2999-01-01\n',
        reporter=seen.append,
    )
    with pytest.raises(PinMismatch):
        policy.check(HOST, chain.certs)
    (failure,) = seen
    assert failure.expires == dt.datetime(2999, 1, 1, tzinfo=UTC)  # type: ignore[attr-defined]


def test_triples_give_rules_their_expiry_in_python(chain: Chain) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = PinPolicy(
            [(HOST, [A, B], dt.date(2000, 1, 1)), ("b.example", [A, B])],
            expires=dt.date(2999, 1, 1),
        )
    assert [rule.expires for rule in policy.rules] == [
        dt.datetime(2000, 1, 1, tzinfo=UTC),
        dt.datetime(2999, 1, 1, tzinfo=UTC),
    ]
    policy.check(HOST, chain.certs)
    with pytest.raises(PolicyError, match="naive"):
        PinPolicy([(HOST, [A, B], dt.datetime(2030, 1, 1))])
