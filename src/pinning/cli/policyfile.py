"""A policy file for the command line: TOML, or an Android ``network_security_config.xml``."""

from __future__ import annotations

from ..policy.policy import PinPolicy
from ..sources.toml import check_targets

__all__ = ["declared_check_targets", "load_policy_file"]


def _is_nsc(path: str) -> bool:
    with open(path, "rb") as file:
        head = file.read(256).lstrip()
    return path.lower().endswith(".xml") or head.startswith(b"<")


def load_policy_file(path: str) -> PinPolicy:
    """Read ``path`` as an Android Network Security Config (``.xml``, or text starting with
    ``<``), else as a TOML policy.

    Raises:
        PolicyError: The file is not a valid policy.
        OSError: The file cannot be read.
    """
    if _is_nsc(path):
        return PinPolicy.from_android_nsc(path)
    return PinPolicy.load(path)


def declared_check_targets(path: str) -> list[tuple[str, int | None]]:
    """Return the servers a TOML policy's rules name in ``check`` (host, port or None); none
    for an Android Network Security Config, which has no such field.

    Raises:
        PolicyError: The file is not a valid policy.
        OSError: The file cannot be read.
    """
    return [] if _is_nsc(path) else check_targets(path)
