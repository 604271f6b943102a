"""Where policies come from: TOML policy files (``toml``) and Android's Network Security Config
(``nsc``). Importing this package registers their loaders for ``PinPolicy.load``, ``loads`` and
``from_android_nsc``.

May import ``pinning.policy`` and ``pinning.core``.
"""

from __future__ import annotations

from ..policy.loaders import register
from .nsc import load_nsc
from .toml import load_policy, loads_policy

register("toml-file", load_policy)
register("toml-text", loads_policy)
register("android-nsc", load_nsc)
