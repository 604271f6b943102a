"""PinPolicy: validation at construction, rule lookup, and the check with its failure paths."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import ssl
import threading
from collections.abc import Iterator, Sequence

import pytest
from _certs import Chain, make_chain, random_pin
from cryptography import x509

from pinning.core import backend as _backend
from pinning.core.errors import CertificateError, PinningWarning, PolicyError
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.policy.policy import PinFailure, PinPolicy, PinRule
from pinning.report.http import LoggingReporter

UTC = dt.timezone.utc
HOST = "api.example.com"


@pytest.fixture(autouse=True)
def _each_backend(active_backend: str) -> str:
    """Run every test of this module with each backend (the ``active_backend`` of conftest)."""
    return active_backend


@pytest.fixture
def chain() -> Chain:
    return make_chain(HOST)


class Recorder:
    """A reporter that keeps what it receives."""

    def __init__(self) -> None:
        self.failures: list[PinFailure] = []

    def __call__(self, failure: PinFailure) -> None:
        self.failures.append(failure)


def policy(rules: object, **options: object) -> PinPolicy:
    return PinPolicy(rules, **options)  # type: ignore[arg-type]


def backup() -> Pin:
    return random_pin()


# -- construction ------------------------------------------------------------------------------


def test_rules_as_mapping_pairs_and_tuples(chain: Chain) -> None:
    leaf, root = chain.pins[0], chain.pins[2]
    as_mapping = policy({(HOST, "*.example.org"): [leaf, str(root)]})
    as_pairs = policy([((HOST, "*.example.org"), [str(leaf), root])])
    as_list_pairs = policy([[[HOST, "*.example.org"], (leaf, root)]])
    for built in (as_mapping, as_pairs, as_list_pairs):
        assert built.pins_for(HOST) == frozenset({leaf, root})
        assert built.pins_for("www.example.org") == frozenset({leaf, root})
        assert [rule.pattern for rule in built.rules] == [HOST, "*.example.org"]


def test_defaults() -> None:
    built = policy({HOST: [backup(), backup()]})
    assert built.enforce is True
    assert built.strict is False
    assert built.expires is None
    assert isinstance(built.reporter, LoggingReporter)
    assert built.expired() is False
    assert "PinPolicy(" in repr(built)


def test_empty_pin_list_refused() -> None:
    with pytest.raises(PolicyError, match="no pins"):
        policy({HOST: []})


def test_no_rule_refused() -> None:
    with pytest.raises(PolicyError, match="at least one rule"):
        policy({})


@pytest.mark.parametrize(
    "rules",
    [
        {"example.com": ["P1", "P2"], "EXAMPLE.com.": ["P3", "P4"]},
        {("example.com", "a.example.com"): ["P1", "P2"], "a.example.com": ["P3", "P4"]},
        {("*.example.com", "*.example.com"): ["P1", "P2"]},
        [("**.example.com", ["P1", "P2"]), ("**.example.com", ["P1", "P2"])],
    ],
)
def test_same_pattern_in_two_rules_refused(rules: object) -> None:
    pins = {f"P{i}": str(backup()) for i in range(1, 5)}

    def resolve(value: object) -> object:
        return [pins[p] for p in value] if isinstance(value, list) else value

    if isinstance(rules, dict):
        rules = {key: resolve(value) for key, value in rules.items()}
    else:
        rules = [(patterns, resolve(value)) for patterns, value in rules]  # type: ignore[attr-defined]
    with pytest.raises(PolicyError, match="more than one rule"):
        policy(rules)


def test_bad_pin_named_with_its_rule() -> None:
    with pytest.raises(PolicyError) as info:
        policy({HOST: [str(backup()), "sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA="]})
    assert "'sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA='" in str(info.value)
    assert repr(HOST) in str(info.value)


def test_bad_pattern_named() -> None:
    with pytest.raises(PolicyError, match=r"'a\*\.example\.com'"):
        policy({"a*.example.com": [backup(), backup()]})


@pytest.mark.parametrize(
    "rules",
    [
        "example.com",
        b"example.com",
        42,
        [("example.com",)],
        [("example.com", ["x"], "extra")],
        {42: ["x"]},
        {(): ["x"]},
    ],
)
def test_malformed_rules_refused(rules: object) -> None:
    with pytest.raises(PolicyError):
        policy(rules)


@pytest.mark.parametrize("pins", ["sha256/" + "A" * 43 + "=", b"x", None, 42])
def test_pins_must_be_a_collection(pins: object) -> None:
    with pytest.raises(PolicyError, match="list of pins"):
        policy({HOST: pins})


def test_a_single_pin_object_is_not_a_pin_list() -> None:
    with pytest.raises(PolicyError, match="list of pins"):
        policy({HOST: backup()})


def test_single_pin_warns_no_backup() -> None:
    with pytest.warns(PinningWarning, match="no backup pin") as record:
        PinPolicy({HOST: [backup()]})
    assert record[0].filename == __file__  # points at the caller


def test_duplicate_pins_count_once_for_the_backup_warning() -> None:
    pin = backup()
    with pytest.warns(PinningWarning):
        policy({HOST: [pin, str(pin)]})


def test_report_only_single_pin_does_not_warn() -> None:
    policy({HOST: [backup()]}, enforce=False)


@pytest.mark.parametrize(("option", "value"), [("enforce", 1), ("strict", "yes"), ("reporter", 42)])
def test_option_types(option: str, value: object) -> None:
    with pytest.raises(TypeError):
        policy({HOST: [backup(), backup()]}, **{option: value})


# -- expiry ------------------------------------------------------------------------------------


def test_expires_date_means_midnight_utc_at_the_start_of_that_day() -> None:
    built = policy({HOST: [backup(), backup()]}, expires=dt.date(2030, 6, 1))
    assert built.expires == dt.datetime(2030, 6, 1, tzinfo=UTC)
    before = dt.datetime(2030, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert built.expired(before) is False
    assert built.expired(dt.datetime(2030, 6, 1, tzinfo=UTC)) is True
    assert built.expired(dt.datetime(2030, 6, 1, 0, 0, 1, tzinfo=UTC)) is True
    # 01:30 at UTC+02:00 is 23:30 UTC the day before.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert built.expired(dt.datetime(2030, 6, 1, 1, 30, tzinfo=plus_two)) is False
    assert built.expired(dt.datetime(2030, 6, 1, 2, 0, tzinfo=plus_two)) is True


def test_expires_aware_datetime() -> None:
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    expires = dt.datetime(2030, 1, 1, 12, tzinfo=minus_five)
    built = policy({HOST: [backup(), backup()]}, expires=expires)
    assert built.expires == dt.datetime(2030, 1, 1, 17, tzinfo=UTC)
    assert built.expired(dt.datetime(2030, 1, 1, 16, 59, 59, tzinfo=UTC)) is False
    assert built.expired(dt.datetime(2030, 1, 1, 17, tzinfo=UTC)) is True


def test_naive_expires_refused() -> None:
    with pytest.raises(PolicyError, match="naive"):
        policy({HOST: [backup(), backup()]}, expires=dt.datetime(2030, 1, 1))


@pytest.mark.parametrize("value", ["2030-01-01", 1893456000, dt.time(0)])
def test_expires_type_refused(value: object) -> None:
    with pytest.raises(PolicyError, match="expires"):
        policy({HOST: [backup(), backup()]}, expires=value)


def test_expired_needs_an_aware_now() -> None:
    built = policy({HOST: [backup(), backup()]}, expires=dt.date(2030, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        built.expired(dt.datetime(2031, 1, 1))


def test_expired_policy_passes_and_says_so_once(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    built = policy(
        {HOST: [backup(), backup()]}, expires=dt.date(2000, 1, 1), strict=True, reporter=recorder
    )
    with caplog.at_level(logging.WARNING, logger="pinning"):
        for _ in range(3):
            built.check(HOST, chain.certs)  # mismatching chain
            built.check("uncovered.example.org", chain.certs)  # strict, no rule
            built.check("a..b", chain.certs)  # invalid name
    expired = [r for r in caplog.records if "expired" in r.getMessage()]
    assert len(expired) == 1
    assert expired[0].name == "pinning"
    assert recorder.failures == []


def test_expiry_is_logged_once_per_policy(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    rules = {HOST: [backup(), backup()]}
    first = policy(rules, expires=dt.date(2000, 1, 1))
    second = policy(rules, expires=dt.date(2000, 1, 1))
    with caplog.at_level(logging.WARNING, logger="pinning"):
        first.check(HOST, chain.certs)
        first.check(HOST, chain.certs)
        second.check(HOST, chain.certs)
    assert sum("expired" in r.getMessage() for r in caplog.records) == 2


def test_policy_not_yet_expired_enforces(chain: Chain) -> None:
    built = policy({HOST: [backup(), backup()]}, expires=dt.date(2999, 1, 1))
    with pytest.raises(PinMismatch):
        built.check(HOST, chain.certs)


# -- lookup ------------------------------------------------------------------------------------


def test_most_specific_rule_wins() -> None:
    pins = {name: frozenset({backup(), backup()}) for name in ("exact", "one", "deep", "all")}
    built = policy(
        {
            HOST: pins["exact"],
            "*.example.com": pins["one"],
            "**.example.com": pins["deep"],
            "*": pins["all"],
        }
    )
    assert built.pins_for(HOST) == pins["exact"]
    assert built.pins_for("API.Example.COM.") == pins["exact"]
    assert built.pins_for("www.example.com") == pins["one"]
    assert built.pins_for("a.b.example.com") == pins["deep"]
    assert built.pins_for("example.com") == pins["deep"]
    assert built.pins_for("example.org") == pins["all"]
    rule = built.rule_for("www.example.com")
    assert isinstance(rule, PinRule)
    assert rule.pattern == "*.example.com"
    assert rule.pins == pins["one"]
    assert rule.include_subdomains is True
    exact = built.rule_for(HOST)
    assert exact is not None
    assert exact.include_subdomains is False


def test_uncovered_and_invalid_hosts_have_no_pins() -> None:
    built = policy({"*": [backup(), backup()]})
    for host in ("a..b", ".example.com", "example.com..", "", "exa mple.com"):
        assert built.pins_for(host) is None
        assert built.rule_for(host) is None
    narrow = policy({"**.example.com": [backup(), backup()]})
    assert narrow.pins_for("example.org") is None
    assert narrow.pins_for("a.example.com.notexample.com") is None


def test_idna_hosts() -> None:
    pins = frozenset({backup(), backup()})
    built = policy({"*.bücher.example": pins})
    assert built.pins_for("www.BÜCHER.example") == pins
    assert built.pins_for("www.xn--bcher-kva.example.") == pins
    assert built.rules[0].pattern == "*.xn--bcher-kva.example"


# -- check: success ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_pin_at_any_depth_passes(chain: Chain, depth: int) -> None:
    built = policy({HOST: [chain.pins[depth], backup()]})
    built.check(HOST, chain.certs)
    built.check(HOST, tuple(chain.certs), port=443)


def test_success_is_one_chain_match_call(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _backend.backend
    calls: list[str] = []

    class Counting:
        NAME = "counting"

        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(backend, name)

    monkeypatch.setattr(_backend, "backend", Counting())
    built = policy({"**.example.com": [chain.pins[2], backup()]})
    built.check(HOST, chain.certs)
    assert calls == ["chain_match"]


def test_uncovered_host_passes_unless_strict(chain: Chain) -> None:
    rules = {"other.example": [backup(), backup()]}
    policy(rules).check(HOST, chain.certs)
    policy(rules).check(HOST, [])  # not covered: the chain does not matter
    with pytest.raises(PinMismatch, match=r"(?i)no pinning rule covers") as info:
        policy(rules, strict=True).check(HOST, chain.certs)
    assert info.value.hostname == HOST


def test_strict_report_only_logs_instead(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    built = policy({"other.example": [backup(), backup()]}, strict=True, enforce=False)
    with caplog.at_level(logging.WARNING, logger="pinning"):
        built.check(HOST, chain.certs)
    assert any("No pinning rule covers" in r.getMessage() for r in caplog.records)


# -- check: failures ---------------------------------------------------------------------------


def test_mismatch_raises_okhttp_style_message(chain: Chain) -> None:
    expected = sorted([backup(), backup()], key=str)
    built = policy({"*.example.com": expected}, reporter=Recorder())
    with pytest.raises(PinMismatch) as info:
        built.check("API.example.com", chain.certs, port=8443)
    error = info.value
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert error.hostname == HOST
    assert error.chain_pins == tuple(chain.pins)
    assert error.expected == frozenset(expected)
    lines = str(error).splitlines()
    assert lines[0] == f"Certificate pinning failure for {HOST}!"
    assert lines[1] == "  Peer certificate chain:"
    subjects = [x509.load_der_x509_certificate(c).subject.rfc4514_string() for c in chain.certs]
    assert lines[2:5] == [
        f"    {pin}: {subject}" for pin, subject in zip(chain.pins, subjects, strict=True)
    ]
    assert "Example Root" in lines[4]
    assert lines[5] == f'  Pinned certificates for {HOST} (rule "*.example.com"):'
    assert lines[6:] == [f"    {pin}" for pin in expected]


def test_reporter_receives_one_failure(chain: Chain) -> None:
    recorder = Recorder()
    expected = frozenset({backup(), backup()})
    built = policy({"**.example.com": expected}, reporter=recorder, expires=dt.date(2999, 1, 1))
    with pytest.raises(PinMismatch):
        built.check(HOST, chain.certs, port=443)
    (failure,) = recorder.failures
    assert failure.hostname == HOST
    assert failure.port == 443
    assert failure.chain == tuple(chain.certs)
    assert failure.chain_pins == tuple(chain.pins)
    assert failure.expected == expected
    assert failure.pattern == "**.example.com"
    assert failure.enforced is True
    assert failure.include_subdomains is True
    assert failure.expires == dt.datetime(2999, 1, 1, tzinfo=UTC)
    assert failure.time.tzinfo is not None
    assert failure.time.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(UTC) - failure.time) < dt.timedelta(minutes=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        failure.port = 1  # type: ignore[misc]


def test_report_only_reports_once_and_does_not_raise(chain: Chain) -> None:
    recorder = Recorder()
    built = policy({HOST: [backup(), backup()]}, enforce=False, reporter=recorder)
    built.check(HOST, chain.certs)
    (failure,) = recorder.failures
    assert failure.enforced is False
    assert failure.include_subdomains is False


def test_default_reporter_logs_one_warning(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    expected = [backup(), backup()]
    built = policy({HOST: expected}, enforce=False)
    with caplog.at_level(logging.WARNING, logger="pinning"):
        built.check(HOST, chain.certs, port=8443)
    (record,) = caplog.records
    assert record.name == "pinning"
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert f"{HOST}:8443" in message
    assert "report-only" in message
    for pin in [*expected, *chain.pins]:
        assert str(pin) in message


def test_logging_reporter_takes_a_logger(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    reporter = LoggingReporter(logging.getLogger("custom"))
    built = policy({HOST: [backup(), backup()]}, reporter=reporter)
    with caplog.at_level(logging.WARNING), pytest.raises(PinMismatch):
        built.check(HOST, chain.certs)
    assert [r.name for r in caplog.records] == ["custom"]
    assert "enforced" in caplog.records[0].getMessage()
    assert "custom" in repr(reporter)


@pytest.mark.parametrize("enforce", [True, False])
def test_a_reporter_that_raises_is_isolated_and_logged(
    chain: Chain, caplog: pytest.LogCaptureFixture, enforce: bool
) -> None:
    def broken(failure: PinFailure) -> None:
        raise RuntimeError("reporter down")

    built = policy({HOST: [backup(), backup()]}, enforce=enforce, reporter=broken)
    with caplog.at_level(logging.WARNING, logger="pinning"):
        if enforce:
            with pytest.raises(PinMismatch) as info:
                built.check(HOST, chain.certs)
            assert not isinstance(info.value.__cause__, RuntimeError)
        else:
            built.check(HOST, chain.certs)
    (record,) = caplog.records
    assert record.name == "pinning"
    assert "reporter" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


@pytest.mark.parametrize("host", ["a..example.com", ".example.com", "api.example.com..", ""])
def test_invalid_host_name_fails_closed(chain: Chain, host: str) -> None:
    built = policy({"**.example.com": [chain.pins[0], backup()]})
    with pytest.raises(PinMismatch, match=r"(?i)not a valid host name"):
        built.check(host, chain.certs)


def test_invalid_host_name_report_only_logs(chain: Chain, caplog: pytest.LogCaptureFixture) -> None:
    built = policy({"*": [backup(), backup()]}, enforce=False)
    with caplog.at_level(logging.WARNING, logger="pinning"):
        built.check("a..b", chain.certs)
    assert any("not a valid host name" in r.getMessage().lower() for r in caplog.records)


def test_empty_chain_fails_closed() -> None:
    recorder = Recorder()
    built = policy({HOST: [backup(), backup()]}, reporter=recorder)
    with pytest.raises(PinMismatch, match="empty") as info:
        built.check(HOST, [])
    assert info.value.chain_pins == ()
    assert recorder.failures[0].chain == ()


def test_empty_chain_report_only_reports() -> None:
    recorder = Recorder()
    policy({HOST: [backup(), backup()]}, enforce=False, reporter=recorder).check(HOST, [])
    assert len(recorder.failures) == 1


@pytest.mark.parametrize("position", [0, 1])
def test_unreadable_chain_is_a_mismatch_caused_by_the_certificate_error(
    chain: Chain, position: int
) -> None:
    recorder = Recorder()
    certs = list(chain.certs)
    certs[position] = b"\x30\x03\x02\x01\x01"
    # The root is pinned, but a certificate before it cannot be read.
    built = policy({HOST: [chain.pins[2], backup()]}, reporter=recorder)
    with pytest.raises(PinMismatch) as info:
        built.check(HOST, certs)
    assert isinstance(info.value.__cause__, CertificateError)
    assert info.value.__cause__.index == position
    readable = [pin for i, pin in enumerate(chain.pins) if i != position]
    assert info.value.chain_pins == tuple(readable)
    assert recorder.failures[0].chain_pins == tuple(readable)
    message = str(info.value)
    assert "<unreadable key>: <unparseable certificate>" in message
    assert "cannot be read" in message


def test_subject_unreadable_by_cryptography(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes) -> object:
        raise ValueError("no")

    leaf_pin = chain.pins[0]
    built = policy({HOST: [backup(), backup()]}, reporter=Recorder())
    monkeypatch.setattr(x509, "load_der_x509_certificate", refuse)
    with pytest.raises(PinMismatch) as info:
        built.check(HOST, chain.certs)
    assert f"    {leaf_pin}: <unparseable certificate>" in str(info.value).splitlines()


# -- pin_only ----------------------------------------------------------------------------------


def test_pin_only_counts_only_the_leaf(chain: Chain) -> None:
    recorder = Recorder()
    built = policy({HOST: [chain.pins[2], backup()]}, reporter=recorder)
    built.check(HOST, chain.certs)  # verified chain: the root's pin counts
    with pytest.raises(PinMismatch, match="pin-only") as info:
        built.check(HOST, chain.certs, pin_only=True)
    assert info.value.chain_pins == (chain.pins[0],)
    assert recorder.failures[-1].chain == (chain.leaf,)
    policy({HOST: [chain.pins[0], backup()]}).check(HOST, chain.certs, pin_only=True)


def test_pin_only_refuses_hosts_without_a_rule(chain: Chain) -> None:
    built = policy({"other.example": [chain.pins[0], backup()]})
    with pytest.raises(PinMismatch, match=r"(?i)no pinning rule covers"):
        built.check(HOST, chain.certs, pin_only=True)


def test_pin_only_ignores_report_only(chain: Chain) -> None:
    recorder = Recorder()
    built = policy({HOST: [backup(), backup()]}, enforce=False, reporter=recorder)
    with pytest.raises(PinMismatch):
        built.check(HOST, chain.certs, pin_only=True)
    assert recorder.failures[0].enforced is True
    with pytest.raises(PinMismatch):
        built.check("uncovered.example", chain.certs, pin_only=True)
    with pytest.raises(PinMismatch):
        built.check("a..b", chain.certs, pin_only=True)


def test_pin_only_refuses_an_expired_policy(chain: Chain) -> None:
    built = policy({HOST: [chain.pins[0], backup()]}, expires=dt.date(2000, 1, 1))
    built.check(HOST, [b"anything"])  # expired: pins no longer apply
    with pytest.raises(PinMismatch, match="expired"):
        built.check(HOST, chain.certs, pin_only=True)


def test_pin_only_empty_chain_refused() -> None:
    built = policy({HOST: [backup(), backup()]}, enforce=False, reporter=Recorder())
    with pytest.raises(PinMismatch):
        built.check(HOST, [], pin_only=True)


# -- concurrency -------------------------------------------------------------------------------


def _hammer(built: PinPolicy, chains: Sequence[tuple[str, list[bytes], bool]]) -> Iterator[str]:
    for host, certs, ok in chains:
        try:
            built.check(host, certs)
        except PinMismatch:
            if ok:
                yield f"{host} refused"
        else:
            if not ok:
                yield f"{host} accepted"


def test_one_policy_from_many_threads() -> None:
    good = make_chain("good.example.com")
    bad = make_chain("bad.example.com")
    built = policy({"*.example.com": [good.pins[1], backup()]}, reporter=Recorder())
    cases = [("good.example.com", good.certs, True), ("bad.example.com", bad.certs, False)] * 100
    errors: list[str] = []

    def work() -> None:
        errors.extend(_hammer(built, cases))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
