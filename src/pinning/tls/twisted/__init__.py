"""Twisted integration (install ``pinning[twisted]``): pinned TLS for ``Agent``, treq, Scrapy and
Twisted's endpoints, through pyOpenSSL's public API; public as ``pinning.twisted``.

``verify`` (the verify callback that checks each connection inside the handshake), ``agent``
(the ``IPolicyForHTTPS`` and the connection creator), ``scrapy_factory`` (Scrapy's context
factory). They import Twisted and pyOpenSSL, so nothing else in the library imports them.
"""

from __future__ import annotations

from .agent import PinnedClientCreator, PinnedPolicyForHTTPS, pinned_client_tls, trust_root_from_pem
from .scrapy_factory import PinnedScrapyContextFactory

__all__ = [
    "PinnedClientCreator",
    "PinnedPolicyForHTTPS",
    "PinnedScrapyContextFactory",
    "pinned_client_tls",
    "trust_root_from_pem",
]
