"""Chooses the certificate backend: the C core (``pinning.core._native``) or the pure-Python mirror.

``PINNING_BACKEND=auto|c|pure`` decides at import. ``auto`` takes the C core when it was built and
the pure mirror otherwise; ``c`` raises :class:`ImportError` when the extension is missing.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Backend", "backend", "load"]


class Backend(Protocol):
    """What each backend module provides (``pinning.core.cbackend`` and ``pinning.core.pure``)."""

    NAME: str

    def spki(self, cert: bytes) -> bytes:
        """Return the DER SubjectPublicKeyInfo of ``cert``, header included."""
        ...

    def spki_sha256(self, cert: bytes) -> bytes:
        """Return the SHA-256 of the SubjectPublicKeyInfo of ``cert`` (32 bytes)."""
        ...

    def spki_sha256_many(self, certs: Sequence[bytes]) -> list[bytes]:
        """Return the SPKI SHA-256 of each certificate, in order."""
        ...

    def chain_match(self, chain: Sequence[bytes], pins: bytes) -> int:
        """Return the index of the first certificate of ``chain`` whose SPKI SHA-256 is one of
        ``pins`` (32-byte digests back to back), or -1 when none is."""
        ...


def load(name: str) -> Backend:
    """Return the backend called ``name`` (``"c"`` or ``"pure"``).

    Raises:
        ImportError: ``"c"`` was asked for and the C extension is not available.
        ValueError: ``name`` is neither ``"c"`` nor ``"pure"``.
    """
    if name == "pure":
        from . import pure as _pure

        return _pure
    if name == "c":
        try:
            from . import cbackend as _cbackend
        except ImportError as exc:
            raise ImportError(
                "PINNING_BACKEND=c but the C core of pinning (pinning.core._native) cannot be "
                "imported: "
                f"{exc}. Reinstall with the OpenSSL headers and a C compiler present "
                "(Debian: apt-get install libssl-dev gcc), or set PINNING_BACKEND=pure."
            ) from exc
        return _cbackend
    raise ValueError(f"unknown pinning backend {name!r}: use 'auto', 'c' or 'pure'")


def _choose() -> Backend:
    wanted = os.environ.get("PINNING_BACKEND", "auto").strip().lower() or "auto"
    if wanted != "auto":
        return load(wanted)
    # A pure wheel has no extension at all; one that is present but broken must be loud, never a
    # silent fallback to the slower mirror.
    if importlib.util.find_spec(f"{__package__}._native") is None:
        return load("pure")
    return load("c")


backend: Backend = _choose()
