"""Where the metrics exporters read their counts: a policy, or a callable giving the current one.

A policy's counts belong to it (:meth:`~pinning.PinPolicy.metrics`). A context whose policy is
replaced at run time starts counting again with the new one; an exporter that should follow it
reads it at each scrape through a callable, such as ``lambda: pinning.pinned_policy(ctx)``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..policy.metrics import PolicyMetrics
from ..policy.policy import PinPolicy

__all__ = ["MetricsSource", "check_source", "read_metrics"]

MetricsSource = PinPolicy | Callable[[], PinPolicy | None]
"""A policy, or a callable without arguments returning the policy to read (None: none now)."""


def check_source(source: object) -> None:
    """Raise TypeError unless ``source`` is a :data:`MetricsSource`."""
    if not isinstance(source, PinPolicy) and not callable(source):
        raise TypeError(
            f"source must be a PinPolicy or a callable returning one, not {type(source).__name__}"
        )


def read_metrics(source: MetricsSource) -> PolicyMetrics | None:
    """Return the counts of the policy ``source`` gives now, or None when it gives none.

    Raises:
        TypeError: The callable returned something other than a PinPolicy or None.
    """
    policy = source if isinstance(source, PinPolicy) else source()
    if policy is None:
        return None
    if not isinstance(policy, PinPolicy):
        raise TypeError(
            f"the metrics source returned {type(policy).__name__}, not a PinPolicy or None"
        )
    return policy.metrics()
