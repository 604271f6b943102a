"""Builds and runs the C unit tests (tests/core/c/test_core.c) with CMake, plain and sanitized.

Skipped, with the reason, when CMake, a C compiler or the OpenSSL headers are missing; any other
configure, build or test failure fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SANITIZERS = "address,undefined"


def c_compiler() -> str | None:
    """The C compiler CMake would pick first: $CC, then cc, gcc or clang on PATH."""
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate.split()[0]):
            return candidate
    return None


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def sanitizers_work(compiler: str, tmp_path: Path) -> bool:
    """Whether ``compiler`` can build and run a program with the sanitizers."""
    source = tmp_path / "probe.c"
    source.write_text("int main(void) { return 0; }\n", encoding="utf-8")
    built = run(
        [*compiler.split(), f"-fsanitize={SANITIZERS}", str(source), "-o", "probe"], tmp_path
    )
    return built.returncode == 0 and run([str(tmp_path / "probe")], tmp_path).returncode == 0


@pytest.mark.parametrize("variant", ["plain", "sanitized"])
def test_c_unit_tests(variant: str, tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed: the C unit tests need it (pip install cmake)")
    compiler = c_compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: the C unit tests need one")
    # Warnings are errors here, as in CI (a user's build from source leaves PINNING_WERROR off).
    options = ["-DPINNING_BUILD_TESTS=ON", "-DPINNING_BUILD_PYTHON=OFF", "-DPINNING_WERROR=ON"]
    if variant == "sanitized":
        if not sanitizers_work(compiler, tmp_path):
            pytest.skip(f"{compiler} cannot build and run with -fsanitize={SANITIZERS}")
        options += [f"-DPINNING_SANITIZE={SANITIZERS}", "-DCMAKE_BUILD_TYPE=Debug"]
    build = tmp_path / "build"

    configured = run([cmake, "-S", str(ROOT), "-B", str(build), *options], tmp_path)
    if configured.returncode != 0 and "pinning needs the OpenSSL headers" in configured.stderr:
        pytest.skip("the OpenSSL headers are not installed (Debian: apt-get install libssl-dev)")
    assert configured.returncode == 0, configured.stdout + configured.stderr

    built = run([cmake, "--build", str(build), "--target", "test_core"], tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr

    tested = run([str(build / "test_core")], tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " 0 failures" in tested.stdout
    assert not tested.stderr, tested.stderr
