"""A pinning rule, and how the rules are read and validated from ``PinPolicy``'s arguments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..core.errors import PolicyError
from .pins import Pin, quote

__all__ = ["PinRule"]

_UTC = dt.timezone.utc


@dataclass(frozen=True, slots=True)
class PinRule:
    """One host pattern and the pins it requires.

    Attributes:
        pattern: The canonical host pattern (``"*.example.com"``).
        pins: The pins; a chain passes when one of its keys has one of them.
        pins_blob: The digests of ``pins`` back to back, as ``backend.chain_match`` takes them.
        expires: When the rule stops applying (aware, UTC): its own expiry if it has one, else
            the policy's; None when it never does.
    """

    pattern: str
    pins: frozenset[Pin]
    pins_blob: bytes = field(repr=False, compare=False)
    expires: dt.datetime | None = None

    @property
    def include_subdomains(self) -> bool:
        """Whether the pattern covers other hosts than one (it starts with ``*``)."""
        return self.pattern.startswith("*")


def _expiry(expires: object) -> dt.datetime | None:
    """Return ``expires`` as an aware UTC datetime (a date means 00:00 UTC that day)."""
    if expires is None:
        return None
    if isinstance(expires, dt.datetime):
        if expires.utcoffset() is None:
            raise PolicyError(
                f"expires={expires.isoformat()!r} is a naive datetime: give it a time zone, "
                "or pass a date (00:00 UTC that day)"
            )
        return expires.astimezone(_UTC)
    if isinstance(expires, dt.date):
        return dt.datetime(expires.year, expires.month, expires.day, tzinfo=_UTC)
    raise PolicyError(f"expires must be a date or an aware datetime, not {quote(expires)}")


def _rule_items(rules: object) -> Iterable[tuple[object, object, object]]:
    """Return ``(patterns, pins, expires)`` for each rule; ``expires`` is None when not given."""
    if isinstance(rules, Mapping):
        return [(patterns, pins, None) for patterns, pins in rules.items()]
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Iterable):
        raise PolicyError(f"rules must be a mapping or (patterns, pins) pairs, not {quote(rules)}")
    items: list[tuple[object, object, object]] = []
    for item in rules:
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise PolicyError(
                f"a rule must be a (patterns, pins) pair or a (patterns, pins, expires) triple, "
                f"not {quote(item)}"
            )
        items.append((item[0], item[1], item[2] if len(item) == 3 else None))
    return items


def _pattern_texts(patterns: object) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, Iterable) and not isinstance(patterns, bytes):
        texts = list(patterns)
        if texts and all(isinstance(text, str) for text in texts):
            return texts
    raise PolicyError(f"host patterns must be a str or strs, not {quote(patterns)}")


def _pin_set(patterns: object, pins: object) -> frozenset[Pin]:
    if isinstance(pins, (str, bytes, Pin)) or not isinstance(pins, Iterable):
        raise PolicyError(
            f"the pins of rule {quote(patterns)} must be a list of pins, not {quote(pins)}"
        )
    result = set()
    for pin in pins:
        if isinstance(pin, Pin):
            result.add(pin)
            continue
        try:
            result.add(Pin.parse(pin))
        except PolicyError as exc:
            raise PolicyError(f"rule {quote(patterns)}: {exc}") from None
    if not result:
        raise PolicyError(f"rule {quote(patterns)} has no pins: give two (one and a backup)")
    return frozenset(result)
