"""tuf is an optional extra: neither ``import pinning`` nor the command line's parser loads it."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_after(code: str) -> set[str]:
    script = f"{code}; import json, sys; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_pinning_and_the_parser_load_no_tuf() -> None:
    for code in ("import pinning", "from pinning.cli.main import _parser; _parser()"):
        loaded = loaded_after(code)
        assert not {
            name
            for name in loaded
            if name.split(".")[0] in ("tuf", "securesystemslib") or name == "pinning.dynamic"
        }, code
