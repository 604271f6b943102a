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
    return _load(name, f"PINNING_BACKEND={name}")


_NATIVE = f"{__package__}._native"
# How a missing shared library reads in the ImportError of an extension: Linux, macOS, Windows.
_MISSING_LIBRARY = ("cannot open shared object file", "Library not loaded", "DLL load failed")


def _c_unavailable(exc: ImportError, chosen: str) -> ImportError:
    """The :class:`ImportError` that says why the C core cannot be used and what to do, for a
    backend ``chosen`` as the text says (``"PINNING_BACKEND=c"``...)."""
    text = str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name == _NATIVE:
        why = (
            "this installation of pinning has no C core (pinning.core._native): it is the "
            "pure-Python wheel, or was built without a C compiler. Reinstall pinning with the "
            "OpenSSL headers and a C compiler present (Debian: apt-get install libssl-dev gcc)"
        )
    elif any(marker in text for marker in _MISSING_LIBRARY):
        why = (
            f"the C core of pinning (pinning.core._native) is installed but cannot be loaded: "
            f"{text}. A shared library it was built against, OpenSSL's libcrypto, is missing at "
            "run time: install the OpenSSL runtime library it was built for (Debian: apt-get "
            "install libssl3), or reinstall pinning against the OpenSSL of this machine"
        )
    else:
        why = (
            f"the C core of pinning (pinning.core._native) is installed but cannot be imported: "
            f"{text}. Reinstall pinning for this Python from one source tree (pip install "
            "--force-reinstall --no-cache-dir pinning)"
        )
    return ImportError(f"{chosen} but {why}; or set PINNING_BACKEND=pure.")


def _load(name: str, chosen: str) -> Backend:
    if name == "pure":
        from . import pure as _pure

        return _pure
    if name == "c":
        try:
            from . import cbackend as _cbackend
        except ImportError as exc:
            raise _c_unavailable(exc, chosen) from exc
        return _cbackend
    raise ValueError(f"unknown pinning backend {name!r}: use 'auto', 'c' or 'pure'")


def _choose() -> Backend:
    setting = os.environ.get("PINNING_BACKEND")
    wanted = (setting or "auto").strip().lower() or "auto"
    if wanted != "auto":
        return load(wanted)
    # A pure wheel has no extension at all; one that is present but broken must be loud, never a
    # silent fallback to the slower mirror.
    if importlib.util.find_spec(_NATIVE) is None:
        return load("pure")
    chosen = (
        "PINNING_BACKEND is unset (auto: the C core wherever it is installed)"
        if setting is None or not setting.strip()
        else f"PINNING_BACKEND={setting.strip()} (the C core wherever it is installed)"
    )
    return _load("c", chosen)


backend: Backend = _choose()
