"""The policy loaders that ``PinPolicy.load``, ``loads`` and ``from_android_nsc`` call.

They live in the layer above (``pinning.sources``), which registers them here when it is imported
(``import pinning`` imports it), so that this layer never imports upwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["loader", "register"]

_LOADERS: dict[str, Callable[..., Any]] = {}


def register(name: str, function: Callable[..., Any]) -> None:
    """Register ``function`` as the loader called ``name`` (``toml-file``, ``toml-text``,
    ``android-nsc``)."""
    _LOADERS[name] = function


def loader(name: str) -> Callable[..., Any]:
    """Return the loader registered as ``name``.

    Raises:
        RuntimeError: None is (``pinning.sources`` was not imported).
    """
    try:
        return _LOADERS[name]
    except KeyError:
        raise RuntimeError(
            f"no {name} policy loader is registered: import pinning (or pinning.sources) first"
        ) from None
