"""Every log record of the library carries its facts as ``pinning_*`` extra fields, after real
handshakes, so that a JSON log handler needs no parsing; the text stays as it was."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket

import pytest
from tlsutil import HOST, LOOPBACK, Server, exchange, pki, policy
from tlsutil import client_context as make_client

from pinning.policy.failure import PinFailure, PinMismatch
from pinning.policy.policy import PinPolicy
from pinning.report.http import HttpReporter

pytestmark = pytest.mark.usefixtures("active_backend")

# The fields of a pin failure's record, besides pinning_event.
FAILURE_FIELDS = {
    "pinning_host",
    "pinning_port",
    "pinning_rule",
    "pinning_pins",
    "pinning_chain_pins",
    "pinning_outcome",
    "pinning_reason",
    "pinning_expires",
}


def fields(record: logging.LogRecord) -> dict[str, object]:
    """The record's pinning_* fields, through JSON (as a JSON handler would write them)."""
    found = {key: value for key, value in vars(record).items() if key.startswith("pinning_")}
    return json.loads(json.dumps(found))  # type: ignore[no-any-return]


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "pinning"]


def test_a_refused_handshake_logs_its_facts(
    genuine: Server, rogue: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "pinning")
    ctx = make_client(policy({HOST: [pki().genuine_ca_pin]}))
    assert exchange(ctx, genuine) == b"hello"
    assert records(caplog) == []  # a pass logs nothing
    with pytest.raises(PinMismatch):
        exchange(ctx, rogue)
    [record] = records(caplog)
    got = fields(record)
    assert set(got) == FAILURE_FIELDS | {"pinning_event"}
    assert got["pinning_event"] == "pin_failure"
    assert got["pinning_host"] == HOST
    assert got["pinning_port"] == rogue.address[1]
    assert got["pinning_rule"] == HOST
    assert got["pinning_outcome"] == "refused"
    assert got["pinning_reason"] == "The chain holds none of the rule's pins."
    assert got["pinning_expires"] is None
    rogue_chain = [str(pki().rogue.pin), str(pki().rogue_ca_pin)]
    assert got["pinning_chain_pins"] == rogue_chain
    assert str(pki().genuine_ca_pin) in got["pinning_pins"]  # type: ignore[operator]
    assert got["pinning_pins"] == sorted(got["pinning_pins"])  # type: ignore[type-var]
    # The human text is what it was: every fact in one line.
    message = record.getMessage()
    assert message.startswith(f"certificate pinning failure for {HOST}:{rogue.address[1]} ")
    assert "(enforced: connection refused)" in message
    assert all(pin in message for pin in rogue_chain)


def test_a_report_only_handshake_logs_its_outcome(
    rogue: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "pinning")
    expires = dt.datetime(2099, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    ctx = make_client(policy({HOST: [pki().genuine_ca_pin]}, enforce=False, expires=expires))
    assert exchange(ctx, rogue) == b"hello"
    [record] = records(caplog)
    got = fields(record)
    assert got["pinning_outcome"] == "report_only"
    assert got["pinning_expires"] == "2099-01-02T03:04:05Z"
    assert "(report-only: connection allowed)" in record.getMessage()


def test_a_refusal_without_a_rule_logs_none_as_rule(
    genuine: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "pinning")
    ctx = make_client(policy({"other.example": [pki().genuine_ca_pin]}, strict=True))
    with pytest.raises(PinMismatch):
        exchange(ctx, genuine, server_hostname=LOOPBACK)
    got = fields(records(caplog)[0])
    assert got["pinning_rule"] is None
    assert got["pinning_pins"] == []
    assert got["pinning_host"] == LOOPBACK
    assert "strict policy" in str(got["pinning_reason"])


def test_expiry_records(genuine: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "pinning")
    pins = [pki().genuine_ca_pin, pki().rogue_ca_pin]
    ctx = make_client(PinPolicy([(HOST, pins, dt.date(2020, 1, 1))]))
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"  # logged once only
    ctx = make_client(PinPolicy({HOST: pins}, expires=dt.date(2020, 1, 1)))
    assert exchange(ctx, genuine) == b"hello"
    rule, whole = (fields(record) for record in records(caplog))
    assert rule == {
        "pinning_event": "rule_expired",
        "pinning_host": HOST,
        "pinning_port": genuine.address[1],
        "pinning_rule": HOST,
        "pinning_outcome": "expired",
        "pinning_expires": "2020-01-01T00:00:00Z",
    }
    assert whole == {**rule, "pinning_event": "policy_expired"}


def test_a_reporter_that_raises_is_logged_with_the_failure(
    rogue: Server, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(failure: PinFailure) -> None:
        raise RuntimeError("reporter down")

    caplog.set_level(logging.WARNING, "pinning")
    ctx = make_client(policy({HOST: [pki().genuine_ca_pin]}, reporter=broken))
    with pytest.raises(PinMismatch):
        exchange(ctx, rogue)
    [record] = records(caplog)
    got = fields(record)
    assert got["pinning_event"] == "reporter_failed"
    assert "broken" in str(got["pinning_reporter"])
    assert set(got) == FAILURE_FIELDS | {"pinning_event", "pinning_reporter"}
    assert record.exc_info is not None


def test_http_reporter_records(rogue: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "pinning")
    with socket.socket() as closed:  # a port where nothing listens
        closed.bind((LOOPBACK, 0))
        url = f"http://{LOOPBACK}:{closed.getsockname()[1]}/report"
    reporter = HttpReporter(url, timeout=2)
    try:
        ctx = make_client(policy({HOST: [pki().genuine_ca_pin]}, reporter=reporter))
        with pytest.raises(PinMismatch):
            exchange(ctx, rogue)
        assert reporter.flush(timeout=10)
    finally:
        reporter.close()
    [record] = records(caplog)
    got = fields(record)
    assert got["pinning_event"] == "report_not_sent"
    assert got["pinning_url"] == url
    assert got["pinning_host"] == HOST
    assert got["pinning_outcome"] == "refused"
    assert got["pinning_error"]
    assert record.getMessage().startswith(
        f"pinning: could not send the pin failure report for {HOST} to {url}: "
    )

