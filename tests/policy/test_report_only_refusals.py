"""Every connection a policy refuses, or would refuse if enforced, is reported exactly once.

Not only chains without the host's pins: a host no rule covers under ``strict`` or ``pin_only``,
a peer without a name, a name that is not a valid host name, and a pin-only connection under an
expired policy or rule. Each is reported to the policy's reporter as one :class:`PinFailure`,
report-only (``enforced=False``: the connection goes on) and enforced (``enforced=True``: it is
refused) alike, and every log line says what happened to the connection. First through
``PinPolicy.check`` on both backends, then through real handshakes on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from _certs import Chain, make_chain, random_pin
from tlsutil import (
    BACKUP_PIN,
    HOST,
    LOOPBACK,
    Server,
    connect,
    exchange,
    greeting_handler,
    pin_only_context,
    pki,
    policy,
    serving,
)
from tlsutil import client_context as make_client

from pinning import PinFailure, PinPolicy
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.policy.policy import UNNAMED_PEER

PAST = dt.date(2000, 1, 1)
FUTURE = dt.date(2999, 1, 1)
UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def _each_backend(active_backend: str) -> str:
    return active_backend


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain("api.example.com")


def pins() -> list[Pin]:
    return [random_pin(), random_pin()]


# What enforce refuses before comparing a pin, as (policy options and rules, check arguments,
# the host the failure names, a piece of its reason). Each is refused whether or not the policy
# is report-only, except where ``pin_only`` is given (then always refused).
Case = tuple[dict[str, Any], dict[str, Any], str, str]
REFUSALS: dict[str, Case] = {
    "strict-uncovered-host": (
        {"rules": {"other.example": pins()}, "strict": True},
        {"hostname": "API.Example.com."},
        "api.example.com",
        "No pinning rule covers the host (strict policy)",
    ),
    "strict-peer-without-a-name": (
        {"rules": {"other.example": pins()}, "strict": True},
        {"hostname": None, "peer": "192.0.2.7"},
        "192.0.2.7",
        "this strict policy has none",
    ),
    "strict-peer-without-a-name-or-address": (
        {"rules": {"other.example": pins()}, "strict": True},
        {"hostname": None},
        UNNAMED_PEER,
        "this strict policy has none",
    ),
    "invalid-host-name": (
        {"rules": {"*": pins()}},
        {"hostname": "a..example.com"},
        "'a..example.com'",
        "Not a valid host name",
    ),
    "invalid-host-name-under-strict": (
        {"rules": {"*": pins()}, "strict": True},
        {"hostname": "bad\nname"},
        "'bad\\nname'",
        "Not a valid host name",
    ),
}
# Refused even by a report-only policy: nothing but the pins vouches for these.
PIN_ONLY_REFUSALS: dict[str, Case] = {
    "pin-only-uncovered-host": (
        {"rules": {"other.example": pins()}},
        {"hostname": "api.example.com", "pin_only": True},
        "api.example.com",
        "needs one",
    ),
    "pin-only-peer-without-a-name": (
        {"rules": {"*": pins()}},
        {"hostname": None, "peer": "192.0.2.7", "pin_only": True},
        "192.0.2.7",
        "pin-only",
    ),
    "pin-only-expired-policy": (
        {"rules": {"**.example.com": pins()}, "expires": PAST},
        {"hostname": "api.example.com", "pin_only": True},
        "api.example.com",
        "The pinning policy expired at 2000-01-01",
    ),
    "pin-only-expired-policy-uncovered-host": (
        {"rules": {"other.example": pins()}, "expires": PAST},
        {"hostname": "api.example.com", "pin_only": True},
        "api.example.com",
        "The pinning policy expired",
    ),
    "pin-only-expired-rule": (
        {"rules": [("**.example.com", pins(), PAST)], "expires": FUTURE},
        {"hostname": "api.example.com", "pin_only": True},
        "api.example.com",
        "The pinning rule '**.example.com' expired at 2000-01-01",
    ),
}


def build(options: dict[str, Any], **extra: Any) -> PinPolicy:
    options = {**options, **extra}
    rules = options.pop("rules")
    return PinPolicy(rules, **options)


def call(built: PinPolicy, chain: Chain, arguments: dict[str, Any]) -> None:
    arguments = dict(arguments)
    built.check(arguments.pop("hostname"), chain.certs, port=8443, **arguments)


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
@pytest.mark.parametrize(
    ("options", "arguments", "host", "reason"),
    [*REFUSALS.values(), *PIN_ONLY_REFUSALS.values()],
    ids=[*REFUSALS, *PIN_ONLY_REFUSALS],
)
def test_each_refusal_is_reported_once(
    options: dict[str, Any],
    arguments: dict[str, Any],
    host: str,
    reason: str,
    enforce: bool,
    chain: Chain,
) -> None:
    reports: list[PinFailure] = []
    built = build(options, enforce=enforce, reporter=reports.append)
    refused = enforce or arguments.get("pin_only", False)
    if refused:
        with pytest.raises(PinMismatch) as info:
            call(built, chain, arguments)
        assert reason in str(info.value)
    else:
        call(built, chain, arguments)  # Report-only: the connection goes on.
    (failure,) = reports
    assert failure.enforced is refused
    assert failure.hostname == host
    assert failure.port == 8443
    assert reason in failure.reason
    leaf_only = arguments.get("pin_only", False)
    assert failure.chain == (tuple(chain.certs[:1]) if leaf_only else tuple(chain.certs))
    assert failure.chain_pins == (tuple(chain.pins[:1]) if leaf_only else tuple(chain.pins))
    assert failure.time.tzinfo is not None
    assert abs(dt.datetime.now(UTC) - failure.time) < dt.timedelta(minutes=1)
    report = json.loads(json.dumps(failure.to_report()))
    assert report["hostname"] == host
    assert report["port"] == 8443
    if failure.pattern is None:
        assert failure.expected == frozenset()
        assert report["known-pins"] == []
        assert report["noted-hostname"] is None
    else:
        assert failure.expected  # The rule that expired, with its pins.
        assert report["known-pins"]


def test_the_expired_policy_reports_the_rule_that_covered_the_host(chain: Chain) -> None:
    reports: list[PinFailure] = []
    expected = frozenset(pins())
    built = PinPolicy({"**.example.com": expected}, expires=PAST, reporter=reports.append)
    with pytest.raises(PinMismatch):
        built.check("api.example.com", chain.certs, pin_only=True)
    (failure,) = reports
    assert (failure.pattern, failure.expected) == ("**.example.com", expected)
    assert failure.expires == dt.datetime(2000, 1, 1, tzinfo=UTC)


def test_a_mismatch_says_why_too(chain: Chain) -> None:
    reports: list[PinFailure] = []
    built = policy({"api.example.com": [random_pin()]}, enforce=False, reporter=reports.append)
    built.check("api.example.com", chain.certs)
    built.check("api.example.com", [])
    built.check("api.example.com", [b"\x30\x03\x02\x01\x01"])
    with pytest.raises(PinMismatch):
        built.check("api.example.com", chain.certs, pin_only=True)
    assert [failure.reason for failure in reports] == [
        "The chain holds none of the rule's pins.",
        "The chain is empty: there is no certificate to check.",
        "The chain cannot be read: certificate 0 is not valid DER X.509: malformed or "
        "unexpected tbsCertificate.",
        "The leaf certificate's key is none of the rule's pins (pin-only connection: only the "
        "leaf counts).",
    ]
    assert [failure.pattern for failure in reports] == ["api.example.com"] * 4


def test_the_defaults_of_the_new_fields_keep_old_constructions_working() -> None:
    failure = PinFailure(
        hostname=HOST,
        port=None,
        chain=(),
        chain_pins=(),
        expected=frozenset({BACKUP_PIN}),
        pattern=HOST,
        enforced=True,
        time=dt.datetime.now(UTC),
        expires=None,
        include_subdomains=False,
    )
    assert failure.reason == "The chain holds none of the rule's pins."
    assert failure.to_report()["noted-hostname"] == HOST


# -- what is not a refusal is not reported ----------------------------------------------------


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
def test_what_enforce_lets_through_is_not_reported(chain: Chain, enforce: bool) -> None:
    reports: list[PinFailure] = []
    rules = {"other.example": pins(), "api.example.com": [chain.pins[1], random_pin()]}
    built = PinPolicy(rules, enforce=enforce, reporter=reports.append)
    built.check("uncovered.example", chain.certs)  # Not strict: uncovered hosts pass.
    built.check(None, chain.certs, peer=LOOPBACK)  # No "*" rule, not strict.
    built.check("api.example.com", chain.certs)  # The pin is there.
    expired = PinPolicy(rules, enforce=enforce, reporter=reports.append, strict=True, expires=PAST)
    expired.check("uncovered.example", chain.certs)  # Expired: nothing refused, strict too.
    expired.check("a..b", chain.certs)
    assert reports == []


# -- the log says what happened ---------------------------------------------------------------


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
@pytest.mark.parametrize(
    ("options", "arguments", "host", "reason"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_the_default_reporter_logs_one_line_saying_what_happened(
    options: dict[str, Any],
    arguments: dict[str, Any],
    host: str,
    reason: str,
    enforce: bool,
    chain: Chain,
    caplog: pytest.LogCaptureFixture,
) -> None:
    built = build(options, enforce=enforce)  # The default reporter: a LoggingReporter.
    with caplog.at_level(logging.WARNING, logger="pinning"):
        if enforce:
            with pytest.raises(PinMismatch):
                call(built, chain, arguments)
        else:
            call(built, chain, arguments)
    (record,) = caplog.records
    message = record.getMessage()
    assert reason in message
    assert f"{host}:8443" in message
    assert "\n" not in message
    if enforce:
        assert "enforced: connection refused" in message
    else:
        assert "report-only: connection allowed" in message


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
@pytest.mark.parametrize("expiry", ["policy", "rule"])
def test_an_expired_pin_only_connection_is_logged_as_refused(
    chain: Chain, caplog: pytest.LogCaptureFixture, enforce: bool, expiry: str
) -> None:
    reports: list[PinFailure] = []
    if expiry == "policy":
        built = PinPolicy(
            {"**.example.com": pins()}, expires=PAST, enforce=enforce, reporter=reports.append
        )
    else:
        built = PinPolicy(
            [("**.example.com", pins(), PAST)],
            expires=FUTURE,
            enforce=enforce,
            reporter=reports.append,
        )
    with caplog.at_level(logging.WARNING, logger="pinning"):
        for _ in range(2):
            with pytest.raises(PinMismatch, match="pin-only"):
                built.check("api.example.com", chain.certs, pin_only=True)
        # Refused: the log does not say that pins are no longer enforced (the reporter has it).
        assert caplog.records == []
        built.check("api.example.com", chain.certs)  # Verified: let through.
        built.check("api.example.com", chain.certs)
    assert [(failure.enforced, failure.hostname) for failure in reports] == [
        (True, "api.example.com")
    ] * 2
    assert all("pin-only" in failure.reason for failure in reports)
    # The expiry is logged once, by the first connection it lets through.
    (record,) = caplog.records
    message = record.getMessage()
    assert "expired at 2000-01-01" in message
    assert "no longer enforced" in message


def test_an_expired_pin_only_connection_is_logged_as_refused_by_the_default_reporter(
    chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    built = policy({"**.example.com": pins()}, expires=PAST)
    with caplog.at_level(logging.WARNING, logger="pinning"), pytest.raises(PinMismatch):
        built.check("api.example.com", chain.certs, pin_only=True)
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith("certificate pinning failure for api.example.com (")
    assert "enforced: connection refused" in message
    assert "The pinning policy expired at 2000-01-01" in message and "pin-only" in message
    assert "no longer enforced" not in message


# -- the reporter is isolated on every path ---------------------------------------------------


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
@pytest.mark.parametrize(
    ("options", "arguments", "host", "reason"),
    [*REFUSALS.values(), *PIN_ONLY_REFUSALS.values()],
    ids=[*REFUSALS, *PIN_ONLY_REFUSALS],
)
def test_a_reporter_that_raises_never_changes_a_refusal(
    options: dict[str, Any],
    arguments: dict[str, Any],
    host: str,
    reason: str,
    enforce: bool,
    chain: Chain,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(failure: PinFailure) -> None:
        raise RuntimeError("reporter down")

    built = build(options, enforce=enforce, reporter=broken)
    with caplog.at_level(logging.WARNING, logger="pinning"):
        if enforce or arguments.get("pin_only", False):
            with pytest.raises(PinMismatch) as info:
                call(built, chain, arguments)
            assert info.value.__cause__ is None and info.value.__context__ is None
        else:
            call(built, chain, arguments)
    logged = [r for r in caplog.records if "reporter" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
    assert host in logged[0].getMessage()


# -- through real handshakes ------------------------------------------------------------------


@pytest.fixture
def self_signed() -> Iterator[Server]:
    with serving(pki().self_signed, greeting_handler()) as server:
        yield server


def received(server: Server) -> list[bytes]:
    server.close()
    return [data for data in server.received if data]


def handshake(
    ctx: ssl.SSLContext, server: Server, refused: bool, **options: Any
) -> PinMismatch | None:
    if not refused:
        assert exchange(ctx, server, **options) == b"hello"
        return None
    with pytest.raises(PinMismatch) as info:
        connect(ctx, server, **options).close()
    return info.value


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
def test_a_strict_policy_reports_an_uncovered_host_through_a_handshake(
    genuine: Server, enforce: bool
) -> None:
    reports: list[PinFailure] = []
    pinned = policy(
        {"other.example": [pki().genuine_ca_pin]},
        strict=True,
        enforce=enforce,
        reporter=reports.append,
    )
    error = handshake(make_client(pinned), genuine, refused=enforce)
    (failure,) = reports
    assert (failure.hostname, failure.port, failure.pattern) == (HOST, genuine.port, None)
    assert failure.enforced is enforce
    assert "strict" in failure.reason
    # The verified chain, and the chain the server sent, as for a mismatch.
    assert failure.chain_pins == (pki().genuine.pin, pki().genuine_ca_pin)
    assert failure.served_chain is not None and len(failure.served_chain) >= 1
    if enforce:
        assert error is not None and "strict" in str(error)
        assert received(genuine) == []
    else:
        assert received(genuine) == [b"ping"]


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
def test_a_strict_policy_reports_a_peer_without_a_name_through_a_handshake(
    genuine: Server, enforce: bool
) -> None:
    reports: list[PinFailure] = []
    pinned = policy(
        {HOST: [pki().genuine_ca_pin]}, strict=True, enforce=enforce, reporter=reports.append
    )
    ctx = make_client(pinned)
    ctx.check_hostname = False
    handshake(ctx, genuine, refused=enforce, server_hostname=None)
    (failure,) = reports
    assert (failure.hostname, failure.port, failure.enforced) == (LOOPBACK, genuine.port, enforce)
    assert "server_hostname" in failure.reason
    assert received(genuine) == ([] if enforce else [b"ping"])


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
def test_an_expired_policy_reports_a_pin_only_refusal_through_a_handshake(
    self_signed: Server, enforce: bool, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[PinFailure] = []
    pinned = policy(
        {HOST: [pki().self_signed.pin]}, expires=PAST, enforce=enforce, reporter=reports.append
    )
    with caplog.at_level(logging.WARNING, logger="pinning"):
        error = handshake(pin_only_context(pinned), self_signed, refused=True)
    assert error is not None and "expired" in str(error)
    (failure,) = reports
    assert (failure.hostname, failure.port, failure.enforced) == (HOST, self_signed.port, True)
    assert failure.chain_pins == (pki().self_signed.pin,)
    assert "no longer enforced" not in caplog.text
    assert received(self_signed) == []
