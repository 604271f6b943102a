"""Failure reports: RFC 7469 JSON from PinFailure.to_report(), and HttpReporter against a real
local HTTP server that accepts, deduplicates, fills up, hangs or refuses, with a pinned handshake
timed in each case to show that reporting never slows it."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _certs import Chain, make_chain
from _cli_servers import LOOPBACK, ReportCollector, closed_port
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tlsutil import BACKUP_PIN, HOST, client_context, connect, pki, serving

from pinning import PinPolicy
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.policy.policy import PinFailure
from pinning.report.http import HttpReporter

UTC = dt.timezone.utc
RFC_FIELDS = {
    "date-time",
    "hostname",
    "port",
    "effective-expiration-date",
    "include-subdomains",
    "noted-hostname",
    "served-certificate-chain",
    "validated-certificate-chain",
    "known-pins",
}
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
KNOWN_PIN = re.compile(r'pin-sha256="([A-Za-z0-9+/]{43}=)"')
NOT_SLOWED = 0.050  # seconds: a correctness bound (no waiting on the reporter), not a benchmark


@pytest.fixture(autouse=True)
def _each_backend(active_backend: str) -> str:
    return active_backend


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; the collector is on loopback."""
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_chain("api.example.com")


def failure_for(
    chain: Chain, *, port: int | None = 443, pattern: str = "**.example.com", **options: Any
) -> PinFailure:
    """The PinFailure a policy reports for ``chain`` (which matches none of its pins)."""
    seen: list[PinFailure] = []
    pins = [Pin(bytes([9]) * 32), BACKUP_PIN]
    policy = PinPolicy([(pattern, pins)], reporter=seen.append, enforce=False, **options)
    policy.check("api.example.com", chain.certs, port=port)
    (failure,) = seen
    return failure


def validate_report(report: dict[str, Any]) -> None:
    """Check ``report`` against RFC 7469 section 3: every field, with its type and format."""
    assert set(report) == RFC_FIELDS
    assert RFC3339_UTC.fullmatch(report["date-time"])
    assert isinstance(report["hostname"], str) and report["hostname"]
    assert report["port"] is None or isinstance(report["port"], int)
    expiration = report["effective-expiration-date"]
    assert expiration is None or RFC3339_UTC.fullmatch(expiration)
    assert isinstance(report["include-subdomains"], bool)
    assert isinstance(report["noted-hostname"], str)
    for name in ("served-certificate-chain", "validated-certificate-chain"):
        for pem in report[name]:
            assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
            assert pem.rstrip().endswith("-----END CERTIFICATE-----")
            x509.load_pem_x509_certificate(pem.encode())
    assert report["known-pins"]
    for pin in report["known-pins"]:
        found = KNOWN_PIN.fullmatch(pin)
        assert found and len(base64.b64decode(found[1])) == 32


def pem_to_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


# -- the report --------------------------------------------------------------------------------


def test_report_has_the_rfc_7469_fields(chain: Chain) -> None:
    failure = failure_for(chain, expires=dt.datetime(2999, 1, 2, 3, 4, 5, tzinfo=UTC))
    report = json.loads(json.dumps(failure.to_report()))
    validate_report(report)
    assert report["hostname"] == "api.example.com"
    assert report["port"] == 443
    assert report["noted-hostname"] == "example.com"
    assert report["include-subdomains"] is True
    assert report["effective-expiration-date"] == "2999-01-02T03:04:05Z"
    assert report["date-time"] == failure.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [pem_to_der(pem) for pem in report["validated-certificate-chain"]] == chain.certs
    assert report["served-certificate-chain"] == report["validated-certificate-chain"]
    assert report["known-pins"] == sorted(
        f'pin-sha256="{base64.b64encode(pin.digest).decode()}"' for pin in failure.expected
    )


def test_report_of_an_exact_rule_without_expiry_or_port(chain: Chain) -> None:
    report = failure_for(chain, port=None, pattern="api.example.com").to_report()
    validate_report(report)
    assert report["port"] is None
    assert report["include-subdomains"] is False
    assert report["noted-hostname"] == "api.example.com"
    assert report["effective-expiration-date"] is None


def test_report_of_the_catch_all_rule(chain: Chain) -> None:
    report = failure_for(chain, pattern="*").to_report()
    assert report["noted-hostname"] == "*"
    assert report["include-subdomains"] is True


def test_served_chain_is_reported_when_known(chain: Chain) -> None:
    seen: list[PinFailure] = []
    policy = PinPolicy({"api.example.com": [Pin(bytes(32)), BACKUP_PIN]}, reporter=seen.append)
    with pytest.raises(PinMismatch):
        policy.check("api.example.com", chain.certs[:2], served_chain=[chain.leaf, chain.root])
    report = seen[0].to_report()
    validate_report(report)
    assert [pem_to_der(pem) for pem in report["served-certificate-chain"]] == [
        chain.leaf,
        chain.root,
    ]
    assert [pem_to_der(pem) for pem in report["validated-certificate-chain"]] == chain.certs[:2]


# -- the HTTP reporter: delivery ---------------------------------------------------------------


@pytest.fixture
def collector() -> Iterator[ReportCollector]:
    with ReportCollector() as server:
        yield server


@pytest.fixture
def reporters() -> Iterator[Callable[..., HttpReporter]]:
    """Make HttpReporters that are closed after the test."""
    made: list[HttpReporter] = []

    def make(url: str, **options: Any) -> HttpReporter:
        reporter = HttpReporter(url, **options)
        made.append(reporter)
        return reporter

    yield make
    for reporter in made:
        reporter.close(timeout=5)


def test_delivers_valid_json(
    collector: ReportCollector, reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    reporter = reporters(collector.url, headers={"X-Team": "edge"})
    failure = failure_for(chain)
    reporter(failure)
    assert reporter.flush(timeout=5)
    (received,) = collector.received
    assert received.path == "/pin-reports"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Team"] == "edge"
    validate_report(received.json())
    assert received.json() == json.loads(json.dumps(failure.to_report()))
    assert (reporter.sent, reporter.failed, reporter.dropped) == (1, 0, 0)


def test_the_worker_starts_on_the_first_report(
    collector: ReportCollector, reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    before = {t.name for t in threading.enumerate()}
    reporter = reporters(collector.url)
    assert "pinning-http-reporter" not in {t.name for t in threading.enumerate()} - before
    reporter(failure_for(chain))
    assert "pinning-http-reporter" in {t.name for t in threading.enumerate()}
    reporter.close(timeout=5)
    assert "pinning-http-reporter" not in {t.name for t in threading.enumerate()} - before


def test_a_pinned_handshake_reports_through_http(collector: ReportCollector) -> None:
    reporter = HttpReporter(collector.url)
    policy = PinPolicy({HOST: [pki().genuine_ca_pin, BACKUP_PIN]}, reporter=reporter)
    with reporter, serving(pki().rogue) as server, pytest.raises(PinMismatch):
        connect(client_context(policy), server)
    assert collector.wait_for(1)
    report = collector.received[0].json()
    validate_report(report)
    assert (report["hostname"], report["port"]) == (HOST, server.port)
    assert report["validated-certificate-chain"][0] == pki().rogue.chain_pems[0].decode()
    assert (
        f'pin-sha256="{base64.b64encode(pki().genuine_ca_pin.digest).decode()}"'
        in (report["known-pins"])
    )


def test_report_only_rollout_connects_and_reports(collector: ReportCollector) -> None:
    reporter = HttpReporter(collector.url)
    policy = PinPolicy({HOST: [pki().genuine_ca_pin, BACKUP_PIN]}, reporter=reporter, enforce=False)
    with reporter, serving(pki().rogue) as server:
        connect(client_context(policy), server).close()  # not refused
        assert collector.wait_for(1)
    assert collector.received[0].json()["hostname"] == HOST


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "report-only"])
def test_a_host_no_rule_covers_is_reported_through_http(
    collector: ReportCollector, enforce: bool
) -> None:
    # A strict policy refuses (or, report-only, would refuse) a host without a rule: that is
    # reported too, with no rule, so no known pins and no noted host name.
    reporter = HttpReporter(collector.url)
    policy = PinPolicy(
        {"other.example": [pki().genuine_ca_pin, BACKUP_PIN]},
        reporter=reporter,
        enforce=enforce,
        strict=True,
    )
    with reporter, serving(pki().genuine) as server:
        if enforce:
            with pytest.raises(PinMismatch, match="strict"):
                connect(client_context(policy), server)
        else:
            connect(client_context(policy), server).close()
        assert collector.wait_for(1)
    (received,) = collector.received
    report = received.json()
    assert set(report) == RFC_FIELDS
    assert (report["hostname"], report["port"]) == (HOST, server.port)
    assert report["noted-hostname"] is None
    assert report["known-pins"] == []
    assert report["include-subdomains"] is False
    assert report["validated-certificate-chain"][0] == pki().genuine.chain_pems[0].decode()
    assert RFC3339_UTC.fullmatch(report["date-time"])


def test_the_report_of_a_refusal_without_a_rule(chain: Chain) -> None:
    seen: list[PinFailure] = []
    policy = PinPolicy(
        {"other.example": [Pin(bytes(32)), BACKUP_PIN]},
        reporter=seen.append,
        enforce=False,
        strict=True,
        expires=dt.datetime(2999, 1, 2, tzinfo=UTC),
    )
    policy.check("api.example.com", chain.certs, port=443)
    (failure,) = seen
    assert failure.pattern is None and failure.expected == frozenset()
    assert failure.reason == "No pinning rule covers the host (strict policy)."
    report = json.loads(json.dumps(failure.to_report()))
    assert set(report) == RFC_FIELDS
    assert report["noted-hostname"] is None
    assert report["known-pins"] == []
    assert report["effective-expiration-date"] == "2999-01-02T00:00:00Z"  # The policy's.
    assert [pem_to_der(pem) for pem in report["validated-certificate-chain"]] == chain.certs


# -- deduplication -----------------------------------------------------------------------------


def test_an_identical_report_is_sent_once(
    collector: ReportCollector, reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    reporter = reporters(collector.url)
    first = failure_for(chain)
    for minutes in range(5):  # the dates differ; nothing else does
        later = first.time + dt.timedelta(minutes=minutes)
        reporter(dataclasses.replace(first, time=later))
    assert reporter.flush(timeout=5)
    assert collector.count == 1
    assert reporter.deduplicated == 4
    reporter(dataclasses.replace(first, port=8443))  # another port: another report
    reporter(dataclasses.replace(first, hostname="www.example.com"))
    reporter(dataclasses.replace(first, chain=first.chain[:1]))  # another served chain
    reporter(dataclasses.replace(first, expected=frozenset({BACKUP_PIN})))  # other known pins
    assert reporter.flush(timeout=5)
    assert collector.count == 5
    assert reporter.sent == 5


def test_dedup_lasts_24_hours(
    collector: ReportCollector, reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    reporter = reporters(collector.url)
    now = [1000.0]
    reporter._clock = lambda: now[0]
    failure = failure_for(chain)
    reporter(failure)
    now[0] += 24 * 3600 - 1
    reporter(failure)
    assert reporter.flush(timeout=5)
    assert collector.count == 1
    now[0] += 2
    reporter(failure)
    assert reporter.flush(timeout=5)
    assert collector.count == 2


def test_dedup_memory_is_bounded(
    collector: ReportCollector, reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    reporter = reporters(collector.url, max_remembered=2)
    first = failure_for(chain)
    for port in (1, 2, 3, 1):  # port 1 was forgotten when port 3 came
        reporter(dataclasses.replace(first, port=port))
    assert reporter.flush(timeout=5)
    assert collector.count == 4
    assert len(reporter._recent) == 2


# -- a full queue, a hanging server, a refusing server: never a slower handshake ---------------


def test_a_full_queue_drops_and_counts(
    reporters: Callable[..., HttpReporter], chain: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    with ReportCollector("hang") as hanging:
        reporter = reporters(hanging.url, max_queue=2, timeout=10)
        first = failure_for(chain)
        reporter(dataclasses.replace(first, port=1))
        assert hanging.wait_for(1)  # the worker is now stuck in that request
        start = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="pinning"):
            for port in range(2, 12):
                reporter(dataclasses.replace(first, port=port))
        elapsed = time.perf_counter() - start
        assert reporter.dropped == 8  # two waited in the queue
        assert elapsed < NOT_SLOWED
        assert "reports are waiting" in caplog.text
        assert not reporter.flush(timeout=0.05)
        reporter.close(timeout=0.1)
        assert reporter.dropped == 10  # closed: the two waiting reports are dropped too
    reporter(first)  # after close: dropped, never raised
    assert reporter.dropped == 11


def rogue_handshake_seconds(reporter: Callable[[PinFailure], object]) -> float:
    """Time one refused handshake to a MitM (a new server, so a new port: a new report)."""
    policy = PinPolicy({HOST: [pki().genuine_ca_pin, BACKUP_PIN]}, reporter=reporter)
    ctx = client_context(policy)
    with serving(pki().rogue) as server:
        start = time.perf_counter()
        with pytest.raises(PinMismatch):
            connect(ctx, server)
        return time.perf_counter() - start


def median_handshake(reporter: Callable[[PinFailure], object], runs: int = 5) -> float:
    return statistics.median(rogue_handshake_seconds(reporter) for _ in range(runs))


@pytest.mark.parametrize("mode", ["hang", "error", "refused"])
def test_a_bad_endpoint_never_slows_or_breaks_a_handshake(
    mode: str, reporters: Callable[..., HttpReporter], caplog: pytest.LogCaptureFixture
) -> None:
    baseline = median_handshake(lambda failure: None)
    with ReportCollector("ok" if mode == "refused" else mode) as collector:
        url = f"http://{LOOPBACK}:{closed_port()}/" if mode == "refused" else collector.url
        reporter = reporters(url, timeout=0.5)
        with caplog.at_level(logging.WARNING, logger="pinning"):
            with_reporter = median_handshake(reporter)
            if mode == "hang":
                assert collector.wait_for(1)  # the reports did leave...
            assert reporter.flush(timeout=10)  # ...and each gave up (timeout) or failed
    endpoint = {"hang": "hangs", "error": "answers 500", "refused": "refuses connections"}[mode]
    print(
        f"\nrefused handshake: {baseline * 1e3:.1f} ms without a reporter, "
        f"{with_reporter * 1e3:.1f} ms with an HttpReporter whose endpoint {endpoint}"
    )
    assert with_reporter < baseline + NOT_SLOWED
    assert reporter.failed == 5
    assert reporter.sent == 0
    assert "could not send the pin failure report for localhost" in caplog.text


def test_a_hanging_endpoint_does_not_slow_the_check_call(
    reporters: Callable[..., HttpReporter], chain: Chain
) -> None:
    def seconds(reporter: Callable[[PinFailure], object]) -> float:
        policy = PinPolicy({"api.example.com": [Pin(bytes(32)), BACKUP_PIN]}, reporter=reporter)
        times = []
        for port in range(20):  # a new port each time: a new report each time
            start = time.perf_counter()
            with pytest.raises(PinMismatch):
                policy.check("api.example.com", chain.certs, port=port)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    baseline = seconds(lambda failure: None)
    with ReportCollector("hang") as hanging:
        with_reporter = seconds(reporters(hanging.url, timeout=5))
    assert with_reporter < baseline + NOT_SLOWED


def test_a_reporter_that_cannot_even_queue_never_raises(
    reporters: Callable[..., HttpReporter], caplog: pytest.LogCaptureFixture
) -> None:
    reporter = reporters("http://127.0.0.1:9/")
    with caplog.at_level(logging.WARNING, logger="pinning"):
        reporter("not a failure")  # type: ignore[arg-type]
    assert "failed to queue a report" in caplog.text


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "/reports", "http://", 42]
)
def test_only_http_urls(url: object) -> None:
    with pytest.raises(ValueError, match="http"):
        HttpReporter(url)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["timeout", "max_queue", "max_remembered"])
def test_bounds_must_be_positive(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        HttpReporter("http://127.0.0.1/", **{option: 0})


def test_close_without_reports_and_twice() -> None:
    reporter = HttpReporter("http://127.0.0.1/")
    reporter.close()
    reporter.close()
    assert repr(reporter) == "HttpReporter('http://127.0.0.1/')"
