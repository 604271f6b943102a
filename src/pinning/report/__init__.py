"""Reporters beyond the default one: ``http`` (:class:`~pinning.HttpReporter`, RFC 7469 reports
POSTed from a background thread).

May import ``pinning.policy`` and ``pinning.core``.
"""
