"""The Prometheus collector and the OpenTelemetry counter give the numbers of ``metrics()`` after
real handshakes: the same rows, the same outcomes, zeros included."""

from __future__ import annotations

import ssl

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tlsutil import HOST, LOOPBACK, Server, exchange, pki, policy
from tlsutil import client_context as make_client

from pinning.policy.failure import PinMismatch
from pinning.policy.metrics import OUTCOMES, UNPINNED, PolicyMetrics
from pinning.policy.policy import PinPolicy
from pinning.report.otel import OUTCOME, RULE, instrument
from pinning.report.prometheus import PinningCollector
from pinning.tls.context import pin_context, pinned_policy

pytestmark = pytest.mark.usefixtures("active_backend")


def handshakes(ctx: ssl.SSLContext, genuine: Server, rogue: Server) -> None:
    """Two passes for localhost (fast path, remembered), one refusal, one unpinned pass."""
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    with pytest.raises(PinMismatch):
        exchange(ctx, rogue)
    assert exchange(ctx, genuine, server_hostname=LOOPBACK) == b"hello"


EXPECTED = {
    (HOST, "fast_path"): 1,
    (HOST, "remembered"): 1,
    (HOST, "refused"): 1,
    (UNPINNED, "passed"): 1,
}


def flat(metrics: PolicyMetrics) -> dict[tuple[str, str], int]:
    return {
        (rule, outcome): value
        for rule, counts in metrics.rows()
        for outcome, value in counts.as_dict().items()
    }


def scrape(
    registry: CollectorRegistry, sample_name: str = "pinning_handshakes_total"
) -> dict[tuple[str, str], float]:
    """Parse what Prometheus would scrape: ``pinning_handshakes_total`` (or another sample of the
    family) by (rule, outcome)."""
    text = generate_latest(registry).decode()
    assert "# TYPE pinning_handshakes_total counter" in text
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name:
                found[(sample.labels["rule"], sample.labels["outcome"])] = sample.value
    return found


def test_prometheus_scrape_gives_the_snapshot(genuine: Server, rogue: Server) -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    registry = CollectorRegistry()
    registry.register(PinningCollector(lambda: pinned_policy(ctx)))
    before = scrape(registry)
    assert set(before) == {(rule, o) for rule in (HOST, UNPINNED) for o in OUTCOMES}
    assert not any(before.values())
    handshakes(ctx, genuine, rogue)
    after = scrape(registry)
    assert after == {key: float(value) for key, value in flat(pinned.metrics()).items()}
    assert {key: value for key, value in after.items() if value} == EXPECTED


def test_prometheus_follows_a_policy_swap_and_gives_created(genuine: Server) -> None:
    first = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(first)
    registry = CollectorRegistry()
    registry.register(PinningCollector(lambda: pinned_policy(ctx)))
    assert exchange(ctx, genuine) == b"hello"
    assert scrape(registry)[(HOST, "fast_path")] == 1
    second = policy({HOST: [pki().genuine_ca_pin], "*": [pki().genuine_ca_pin]})
    pin_context(ctx, second)
    after = scrape(registry)
    assert after[(HOST, "fast_path")] == 0  # a counter reset: the new policy counts from zero
    assert ("*", "passed") in after
    created = scrape(registry, "pinning_handshakes_created")
    assert set(created.values()) == {second.metrics().since.timestamp()}
    assert set(created) == set(after)


def test_prometheus_source_of_nothing_and_bad_sources() -> None:
    registry = CollectorRegistry()
    registry.register(PinningCollector(lambda: None))
    assert "pinning_handshakes_total{" not in generate_latest(registry).decode()
    with pytest.raises(TypeError, match="PinPolicy"):
        PinningCollector("policy.toml")  # type: ignore[arg-type]
    broken = CollectorRegistry()
    broken.register(PinningCollector(lambda: "not a policy"))  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="str"):
        generate_latest(broken)


def otel_points(policy_or_source: object) -> tuple[dict[tuple[str, str], int], object]:
    """Collect once through the SDK's in-memory reader: the counter's points by (rule, outcome)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        instrument(policy_or_source, meter_provider=provider)  # type: ignore[arg-type]
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    points: dict[tuple[str, str], int] = {}
    for resource in [] if data is None else data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "pinning"
            for metric in scope.metrics:
                assert metric.name == "pinning.handshakes"
                assert metric.unit == "{handshake}"
                assert metric.data.is_monotonic  # type: ignore[union-attr]
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    points[(str(attributes[RULE]), str(attributes[OUTCOME]))] = int(point.value)  # type: ignore[union-attr]
    return points, data


def test_opentelemetry_reads_the_same_numbers(genuine: Server, rogue: Server) -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    handshakes(ctx, genuine, rogue)
    points, _ = otel_points(lambda: pinned_policy(ctx))
    assert points == flat(pinned.metrics())
    assert {key: value for key, value in points.items() if value} == EXPECTED
    direct, _ = otel_points(pinned)
    assert direct == points


def test_opentelemetry_source_of_nothing_and_bad_sources() -> None:
    points, _ = otel_points(lambda: None)
    assert points == {}
    with pytest.raises(TypeError, match="PinPolicy"):
        instrument(42)  # type: ignore[arg-type]


def test_exporters_do_not_count_themselves() -> None:
    # Reading the counts changes none of them (the snapshot does not advance a counter).
    pinned: PinPolicy = policy({HOST: [pki().genuine_ca_pin]})
    pinned.check("unpinned.example", [])
    registry = CollectorRegistry()
    registry.register(PinningCollector(pinned))
    for _ in range(3):
        scrape(registry)
        otel_points(pinned)
    assert pinned.metrics().unpinned.passed == 1
    assert pinned.metrics().total.total == 1
