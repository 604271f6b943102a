"""A Prometheus collector of a policy's counts: ``pinning_handshakes_total{rule, outcome}``.

An optional integration (the ``pinning[prometheus]`` extra): ``import pinning`` never imports
this module, nor ``prometheus_client``::

    from prometheus_client import REGISTRY
    from pinning.report.prometheus import PinningCollector

    REGISTRY.register(PinningCollector(lambda: pinning.pinned_policy(ctx)))

The collector keeps no counts of its own: each scrape reads a snapshot of the policy
(:meth:`~pinning.PinPolicy.metrics`), so the handshake pays for nothing more than the policy's
own counters.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from .source import MetricsSource, check_source, read_metrics

__all__ = ["METRIC", "PinningCollector"]

METRIC = "pinning_handshakes"
"""The counter's name; its samples are ``pinning_handshakes_total`` (and ``_created``)."""

_DOCUMENTATION = (
    "Connections decided by the pinning policy, by rule (host pattern, or '(unpinned)') and "
    "outcome (passed, fast_path, remembered, resumed, expired, report_only, refused)."
)
_LABELS = ("rule", "outcome")


class PinningCollector(Collector):
    """Collect ``pinning_handshakes_total{rule=..., outcome=...}`` from a policy at scrape time.

    Every rule of the policy, and the ``(unpinned)`` row, has one sample per outcome, zeros
    included, so that rates are defined from the first scrape. Each sample's ``created`` time is
    when the policy was built: a policy replaced at run time counts from zero again, which
    Prometheus sees as a counter reset.

    Args:
        source: The policy, or a callable without arguments returning the policy to read at each
            scrape (None: nothing to report now), such as ``lambda: pinning.pinned_policy(ctx)``.

    Raises:
        TypeError: ``source`` is neither.
    """

    def __init__(self, source: MetricsSource) -> None:
        check_source(source)
        self._source = source

    def describe(self) -> Iterator[CounterMetricFamily]:
        """The metric this collector gives, without reading the policy (for registration)."""
        yield CounterMetricFamily(METRIC, _DOCUMENTATION, labels=_LABELS)

    def collect(self) -> Iterator[CounterMetricFamily]:
        """Read the policy's counts now."""
        family = CounterMetricFamily(METRIC, _DOCUMENTATION, labels=_LABELS)
        metrics = read_metrics(self._source)
        if metrics is not None:
            created = metrics.since.timestamp()
            for rule, counts in metrics.rows():
                for outcome, value in counts.as_dict().items():
                    family.add_metric((rule, outcome), value, created=created)
        yield family

    def __repr__(self) -> str:
        return f"PinningCollector({self._source!r})"
