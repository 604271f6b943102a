"""An OpenTelemetry observable counter of a policy's counts: ``pinning.handshakes``.

An optional integration (the ``pinning[otel]`` extra, which needs only ``opentelemetry-api``; the
application brings the SDK and its exporters): ``import pinning`` never imports this module, nor
``opentelemetry``::

    from pinning.report.otel import instrument

    instrument(lambda: pinning.pinned_policy(ctx))

The counter keeps no counts of its own: its callback reads a snapshot of the policy
(:meth:`~pinning.PinPolicy.metrics`) each time the SDK collects, so the handshake pays for nothing
more than the policy's own counters.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.metrics import (
    CallbackOptions,
    MeterProvider,
    ObservableCounter,
    Observation,
    get_meter,
)

from .source import MetricsSource, check_source, read_metrics

__all__ = ["INSTRUMENT", "OUTCOME", "RULE", "instrument"]

INSTRUMENT = "pinning.handshakes"
"""The name of the observable counter."""
RULE = "pinning.rule"
"""The attribute naming the rule (a host pattern, or ``(unpinned)``)."""
OUTCOME = "pinning.outcome"
"""The attribute naming the outcome (``passed``, ``fast_path``... ``refused``)."""

_DESCRIPTION = "Connections decided by the pinning policy, by rule and outcome."


def instrument(
    source: MetricsSource, *, meter_provider: MeterProvider | None = None
) -> ObservableCounter:
    """Create the observable counter ``pinning.handshakes`` on the meter ``pinning``.

    Each collection observes every rule of the policy, and the ``(unpinned)`` row, once per
    outcome (zeros included), with the attributes ``pinning.rule`` and ``pinning.outcome``. A
    policy replaced at run time counts from zero again: the cumulative values then drop, which
    backends read as a counter reset.

    Args:
        source: The policy, or a callable without arguments returning the policy to read at each
            collection (None: nothing to observe now), such as
            ``lambda: pinning.pinned_policy(ctx)``.
        meter_provider: The provider to get the meter from (default: the global one).

    Returns:
        The instrument (keep it, or not: the meter keeps it).

    Raises:
        TypeError: ``source`` is neither a policy nor a callable.
    """
    check_source(source)

    def observe(options: CallbackOptions) -> Iterable[Observation]:
        del options
        metrics = read_metrics(source)
        if metrics is None:
            return []
        return [
            Observation(value, {RULE: rule, OUTCOME: outcome})
            for rule, counts in metrics.rows()
            for outcome, value in counts.as_dict().items()
        ]

    meter = get_meter("pinning", meter_provider=meter_provider)
    return meter.create_observable_counter(
        INSTRUMENT, callbacks=[observe], unit="{handshake}", description=_DESCRIPTION
    )
