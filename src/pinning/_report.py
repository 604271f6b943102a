"""Reporters: what a policy does with a :class:`~pinning._policy.PinFailure`.

A reporter is any callable taking one ``PinFailure``. A policy isolates it: whatever it raises is
logged, never passed on to the connection.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._policy import PinFailure

__all__ = ["LoggingReporter"]

_LOGGER = logging.getLogger("pinning")


class LoggingReporter:
    """Log one warning per pin failure on the ``"pinning"`` logger. The default reporter.

    Args:
        logger: The logger to use instead of ``logging.getLogger("pinning")``.
    """

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else _LOGGER

    def __call__(self, failure: PinFailure) -> None:
        """Log ``failure`` as one warning naming the host, port, pattern and pins."""
        self.logger.warning(
            "certificate pinning failure (%s) for %s%s, rule %r: "
            "chain pins [%s]; expected one of [%s]",
            "enforced" if failure.enforced else "report-only",
            failure.hostname,
            "" if failure.port is None else f":{failure.port}",
            failure.pattern,
            ", ".join(str(pin) for pin in failure.chain_pins),
            ", ".join(sorted(str(pin) for pin in failure.expected)),
        )

    def __repr__(self) -> str:
        return f"LoggingReporter(logger={self.logger.name!r})"
