"""A policy file for the command line: TOML, or an Android ``network_security_config.xml``."""

from __future__ import annotations

from ..policy.policy import PinPolicy

__all__ = ["load_policy_file"]


def load_policy_file(path: str) -> PinPolicy:
    """Read ``path`` as an Android Network Security Config (``.xml``, or text starting with
    ``<``), else as a TOML policy.

    Raises:
        PolicyError: The file is not a valid policy.
        OSError: The file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(256).lstrip()
    if path.lower().endswith(".xml") or head.startswith(b"<"):
        return PinPolicy.from_android_nsc(path)
    return PinPolicy.load(path)
