"""The errors of dynamic pinning."""

from __future__ import annotations

__all__ = ["PublishError", "RefreshError"]


class PublishError(ValueError):
    """The publisher cannot do what it was asked: a missing or wrong key, no repository, an
    invalid policy file; nothing was written."""


class RefreshError(Exception):
    """A refresh found nothing to install: the repository lacks the target, or it is not text."""
