"""Dynamic pinning: signed pin policies pushed to a fleet through a TUF repository.

:class:`DynamicPolicy` (the gateway side) keeps the contexts it is attached to pinned with the
latest policy the repository's signatures vouch for; :mod:`pinning.dynamic.publish` (the publisher,
``pinning publish``) makes and updates the repository. Needs the ``dynamic`` extra (``tuf``);
``import pinning`` never imports this package.

May import ``pinning.tls``, ``pinning.sources``, ``pinning.policy`` and ``pinning.core``.
"""

from __future__ import annotations

from .errors import PublishError, RefreshError
from .gateway import NOTHING_VERIFIED_PINS, DynamicPolicy, DynamicState

__all__ = ["NOTHING_VERIFIED_PINS", "DynamicPolicy", "DynamicState", "PublishError", "RefreshError"]
