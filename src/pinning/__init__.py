"""pinning: TLS public-key (SPKI) certificate pinning for Python, with a C core.

Pins are SHA-256 digests of a certificate's SubjectPublicKeyInfo (``sha256/<base64>``). A
:class:`PinPolicy` maps host patterns to pins; :func:`pin_context` makes an :class:`ssl.SSLContext`
check them on the verified chain inside the TLS handshake, so every client that accepts a context
is pinned.
"""

from __future__ import annotations

from . import sources as _sources  # noqa: F401 (registers the policy loaders)
from .core.api import spki, spki_sha256, spki_sha256_many
from .core.backend import backend as _chosen
from .core.errors import CertificateError, NotPinnableError, PinningWarning, PolicyError
from .core.hashing import DigestError
from .core.status import Status
from .policy.failure import PinMismatch, find_pin_mismatch
from .policy.metrics import OutcomeCounts, PolicyMetrics
from .policy.pins import Pin
from .policy.policy import PinFailure, PinPolicy, PinRule
from .report.http import HttpReporter, LoggingReporter
from .tls.context import create_default_context, pin_context, pinned_policy
from .tls.reload import PolicyFile

BACKEND: str = _chosen.NAME
"""The certificate backend in use: ``"c"`` (the C core) or ``"pure"`` (the Python mirror)."""

__all__ = [
    "BACKEND",
    "CertificateError",
    "DigestError",
    "HttpReporter",
    "LoggingReporter",
    "NotPinnableError",
    "OutcomeCounts",
    "Pin",
    "PinFailure",
    "PinMismatch",
    "PinPolicy",
    "PinRule",
    "PinningWarning",
    "PolicyError",
    "PolicyFile",
    "PolicyMetrics",
    "Status",
    "create_default_context",
    "find_pin_mismatch",
    "pin_context",
    "pinned_policy",
    "spki",
    "spki_sha256",
    "spki_sha256_many",
]
__version__ = "0.1.0"
