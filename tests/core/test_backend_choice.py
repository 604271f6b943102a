"""What ``import pinning`` says when its C core is installed but broken: the refusal names how the
backend was chosen (``PINNING_BACKEND`` unset is not ``PINNING_BACKEND=c``) and the remedy that
fits the failure (a missing runtime libcrypto is no missing header). Each case runs in a fresh
process whose import of ``pinning.core._native`` fails as a broken installation's would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Makes the import of pinning.core._native fail with the given message, as the dynamic loader or a
# mismatched build would, then imports pinning.
BROKEN = r"""
import importlib.abc, importlib.machinery, sys

class Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "pinning.core._native":
            return importlib.machinery.ModuleSpec(name, self)
        return None
    def create_module(self, spec):
        raise ImportError(sys.argv[1])
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, Broken())
import pinning
"""

MISSING_LIBCRYPTO = "libcrypto.so.3: cannot open shared object file: No such file or directory"


def _refusal(setting: str | None, message: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PINNING_BACKEND"}
    if setting is not None:
        env["PINNING_BACKEND"] = setting
    done = subprocess.run(
        [sys.executable, "-c", BROKEN, message],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0, done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: "), done.stderr
    return last


def test_unset_does_not_claim_pinning_backend_c() -> None:
    refusal = _refusal(None, "undefined symbol: pinning_hasher_create")
    assert "PINNING_BACKEND is unset" in refusal
    assert "PINNING_BACKEND=c" not in refusal
    assert "undefined symbol: pinning_hasher_create" in refusal
    assert "set PINNING_BACKEND=pure" in refusal


@pytest.mark.parametrize("setting", [None, "auto", "c"])
def test_a_missing_runtime_libcrypto_asks_for_the_runtime_not_the_headers(
    setting: str | None,
) -> None:
    refusal = _refusal(setting, MISSING_LIBCRYPTO)
    assert MISSING_LIBCRYPTO in refusal
    assert "runtime" in refusal
    assert "libssl-dev" not in refusal and "headers" not in refusal
    if setting == "c":
        assert refusal.startswith("ImportError: PINNING_BACKEND=c but ")
    else:
        assert "PINNING_BACKEND=c" not in refusal


def test_a_missing_extension_asked_for_asks_for_headers_and_a_compiler() -> None:
    env = {**os.environ, "PINNING_BACKEND": "c"}
    code = (
        "import importlib.machinery, sys\n"
        "class Gone:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pinning.core._native':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Gone())\n"
        "import pinning\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: PINNING_BACKEND=c but "), done.stderr
    assert "no C core" in last and "libssl-dev" in last
