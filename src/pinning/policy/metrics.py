"""What a policy counts: the outcome of each connection it decides, per rule.

Every decision of a :class:`~pinning.PinPolicy` (each pinned handshake, and each direct call of
``check``) ends in exactly one outcome, counted in the row of the rule that decided it, or in the
:data:`UNPINNED` row when no rule did:

``passed``
    The whole check found one of the rule's pins in the verified chain (or, in the
    ``(unpinned)`` row, let through a host that no rule covers).
``fast_path``
    The handshake's fast path found a pin (a client's full, verified handshake).
``remembered``
    The fast path passed a chain it remembered having passed for that very name, or one opened by
    a leaf remembered as having passed by its own key (a leaf pin): no hashing.
``resumed``
    A resumed session of a full handshake that passed this policy.
``expired``
    Let through because the policy or the rule had expired.
``report_only``
    A failure reported but not refused (a report-only policy).
``refused``
    Refused (``PinMismatch`` raised).

The counters are made when the policy is built: one :func:`itertools.count` per row and outcome.
Counting is ``next(counter)``: one C call that takes no lock and keeps nothing, atomic under the
GIL (the increment happens inside one call into C, which no other thread interrupts) and, on the
free-threaded build, by an atomic compare-and-exchange (CPython 3.13 made ``count`` thread-safe
there). A plain ``list[i] += 1`` would be three bytecodes (read, add, store) between which another
thread may run, losing counts. A snapshot reads each counter's value from its ``repr``
(``count(12)``), without advancing it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "OUTCOMES",
    "UNPINNED",
    "OutcomeCounts",
    "PolicyMetrics",
    "Tally",
    "new_tally",
    "read_tally",
]

OUTCOMES = ("passed", "fast_path", "remembered", "resumed", "expired", "report_only", "refused")
"""The outcomes, in the order of :class:`OutcomeCounts`' fields."""

# The index of each outcome in a Tally.
PASSED, FAST_PATH, REMEMBERED, RESUMED, EXPIRED, REPORT_ONLY, REFUSED = range(len(OUTCOMES))

UNPINNED = "(unpinned)"
"""The row (and the exporters' ``rule`` label) of connections no rule decided: hosts that no rule
covers, names that are not valid host names, peers without a name when there is no ``*`` rule.
No host pattern can be spelt so."""

Tally = tuple["itertools.count[int]", ...]
"""One row's counters, one per outcome, in the order of :data:`OUTCOMES`."""

_REPR_START = len("count(")


def new_tally() -> Tally:
    """Return a row of counters, all at zero."""
    return tuple(itertools.count() for _ in OUTCOMES)


def read_tally(tally: Tally) -> OutcomeCounts:
    """Return the counts of a row, without advancing its counters."""
    return OutcomeCounts(*(int(repr(counter)[_REPR_START:-1]) for counter in tally))


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """How many connections ended in each outcome (see :data:`OUTCOMES`), for one rule or more.

    Attributes:
        passed: The whole check found a pin (in the ``(unpinned)`` row: let through, not pinned).
        fast_path: The handshake's fast path found a pin.
        remembered: The fast path passed a chain it remembered for that name.
        resumed: A resumed session of a full handshake that passed.
        expired: Let through because the policy or the rule had expired.
        report_only: Failed, reported, and let through (report-only policy).
        refused: Refused.
    """

    passed: int = 0
    fast_path: int = 0
    remembered: int = 0
    resumed: int = 0
    expired: int = 0
    report_only: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        """Every connection counted, whatever its outcome."""
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, int]:
        """Return ``{outcome: count}`` in the order of :data:`OUTCOMES`."""
        return {outcome: getattr(self, outcome) for outcome in OUTCOMES}

    def __add__(self, other: OutcomeCounts) -> OutcomeCounts:
        if not isinstance(other, OutcomeCounts):
            return NotImplemented
        return OutcomeCounts(*(getattr(self, name) + getattr(other, name) for name in OUTCOMES))


@dataclass(frozen=True, slots=True)
class PolicyMetrics:
    """A snapshot of a policy's counts (:meth:`PinPolicy.metrics <pinning.PinPolicy.metrics>`).

    Each counter is read once; counts taken while other threads handshake are each exact at
    their own moment, not all at one instant.

    Attributes:
        since: When the policy was built, and counting began (aware, UTC). Installing another
            policy on a context starts again from zero, with a later ``since``.
        rules: The counts of each rule, by its pattern, in the order of the policy's rules (the
            ``*`` rule among them, when there is one). Read-only.
        unpinned: The counts of connections no rule decided (the :data:`UNPINNED` row).
    """

    since: dt.datetime
    rules: Mapping[str, OutcomeCounts] = field(hash=False)
    unpinned: OutcomeCounts

    def __post_init__(self) -> None:
        if not isinstance(self.rules, types.MappingProxyType):
            object.__setattr__(self, "rules", types.MappingProxyType(dict(self.rules)))

    def rows(self) -> Iterator[tuple[str, OutcomeCounts]]:
        """Yield ``(rule, counts)`` for each rule, then ``(UNPINNED, counts)``: what the
        exporters label ``rule``."""
        yield from self.rules.items()
        yield UNPINNED, self.unpinned

    @property
    def total(self) -> OutcomeCounts:
        """The counts of every row added up."""
        total = self.unpinned
        for counts in self.rules.values():
            total = total + counts
        return total
