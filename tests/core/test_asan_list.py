"""Every test file runs under the sanitizers (``fuzz/asan_pytest.sh``) or is excluded there with its
reason: a new test file that reaches the C core cannot be left out silently."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "fuzz" / "asan_pytest.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the script is a bash script")
def test_every_test_file_is_run_under_asan_or_excluded_with_a_reason() -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT), "--check-list"],
        # A shell check: run it uninstrumented even when this suite runs under the sanitizers.
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "every test file is run under ASan or excluded" in done.stdout
