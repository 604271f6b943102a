"""requests integration (install ``pinning[requests]``): the adapter lives in
``pinning.tls.requests``; this module is its public name."""

from __future__ import annotations

from .tls.requests import PinningAdapter, UnpinnedAdapterError, pin_session, pinned_session

__all__ = ["PinningAdapter", "UnpinnedAdapterError", "pin_session", "pinned_session"]
