"""Twisted integration (install ``pinning[twisted]``): pinned TLS for ``Agent``, treq, Scrapy and
Twisted's endpoints. The code lives in ``pinning.tls.twisted``; this module is its public name."""

from __future__ import annotations

from .tls.twisted import (
    PinnedClientCreator,
    PinnedPolicyForHTTPS,
    PinnedScrapyContextFactory,
    pinned_client_tls,
    trust_root_from_pem,
)

__all__ = [
    "PinnedClientCreator",
    "PinnedPolicyForHTTPS",
    "PinnedScrapyContextFactory",
    "pinned_client_tls",
    "trust_root_from_pem",
]
