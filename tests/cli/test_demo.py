"""``pinning demo``: run as a newcomer would, readable, quick, and leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from pinning.cli.demo import run_demo


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


def test_demo_command_shows_the_interception_defeated(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pinning", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "the proxy read the secret header: True" in out
    assert "refused inside the handshake: PinMismatch" in out
    assert "Certificate pinning failure for api.example.test!" in out
    assert "requests that reached the proxy: 0" in out
    assert (
        "3. The same pinned client against the genuine server:\n   answer: HTTP/1.1 200 OK" in out
    )
    assert "Traceback" not in out
    # Every temporary file the demo made (a server key, for an instant) is gone.
    assert list(tmp_path.iterdir()) == []
    # "A few seconds": a generous bound for a loaded machine, not a benchmark.
    assert elapsed < 30


def test_demo_leaves_no_thread_or_descriptor_behind() -> None:
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    lines: list[str] = []
    assert run_demo(say=lines.append) == 0
    assert set(threading.enumerate()) == threads_before
    assert _open_fds() <= fds_before
    assert any("requests that reached the proxy: 0" in line for line in lines)
