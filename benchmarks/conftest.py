"""The benchmark suite: the C core, the pure backend and the ``cryptography`` reference, side by
side.

Run it for real with ``python -m pytest benchmarks --benchmark-enable`` (the project's pytest
options disable timing by default); CI runs ``python -m pytest benchmarks -q --benchmark-disable``,
which runs every benchmark body once to prove it works, without judging speed.

The corpus, the generated chains, the reference and the floor come from :mod:`pinning.cli.bench`, so
that this suite and ``pinning bench`` measure the same things. The floor (``floor/floor.c``, a
plain C loop that walks and hashes the same certificates) is compiled and run in the same session,
and the summary at the end gives each median as a multiple of the floor and of the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pinning.cli import bench as _bench

FLOOR_SOURCE = Path(__file__).parent / "floor" / "floor.c"

# (group, backend) -> median ns per unit, filled by the `measure` fixture when timing is enabled.
_medians: dict[tuple[str, str], float] = {}
_floor_figures: dict[str, Any] = {}


@pytest.fixture(scope="session")
def corpus() -> _bench.Corpus:
    """At least 1,000 real certificates (trust store, certifi, cryptography-vectors)."""
    return _bench.load_corpus()


@pytest.fixture(scope="session")
def chains() -> dict[str, list[bytes]]:
    """The generated 3-certificate chains, leaf first: ``rsa2048`` and ``p256``."""
    return _bench.generated_chains()


@pytest.fixture(scope="session")
def floor(
    request: pytest.FixtureRequest, corpus: _bench.Corpus, chains: dict[str, list[bytes]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The floor, compiled here and run on the corpus and the chains, in this session."""
    built = _bench.build_floor(FLOOR_SOURCE)
    if built.binary is None:
        pytest.fail(f"the floor could not be built: {built.reason}")
    # pytest-benchmark's own rule: disabled when --benchmark-disable and not --benchmark-enable.
    enabled = not (
        request.config.getoption("benchmark_disable", False)
        and not request.config.getoption("benchmark_enable", False)
    )
    figures = built.run(
        {"corpus": corpus.certs, **chains},
        repeats=11 if enabled else 1,
        min_ms=20 if enabled else 0.5,
    )
    if enabled:
        _floor_figures.update(figures)
    return figures


@pytest.fixture
def measure(benchmark: Any, floor: dict[str, Any]) -> Callable[..., Any]:
    """Run ``benchmark`` on a function and remember its median per certificate or chain (the
    floor is measured in every session that measures anything)."""
    del floor

    def run(func: Callable[[], object], *, group: str, backend: str, units: int) -> Any:
        benchmark.group = group
        benchmark.extra_info["backend"] = backend
        benchmark.extra_info["units"] = units
        result = benchmark(func)
        stats = getattr(benchmark, "stats", None)
        if stats is not None and not getattr(benchmark, "disabled", False):
            _medians[(group, backend)] = stats.stats.median * 1e9 / units
        return result

    return run


@pytest.fixture(scope="session")
def handshaker() -> Iterator[_bench.Handshaker]:
    """A TLS 1.3 server on loopback serving the RSA-2048 chain."""
    with _bench.Handshaker("rsa2048") as server:
        yield server


def _floor_for(group: str) -> float | None:
    if not _floor_figures:
        return None
    if group.startswith("chain-check"):
        name = group.rsplit(" ", 1)[-1]
        return float(_floor_figures[name]["floor"]["ns_per_pass"])
    if group in ("per-certificate", "batch"):
        return float(_floor_figures["corpus"]["floor"]["ns_per_cert"])
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After pytest-benchmark's tables: each median as a multiple of the floor and the reference."""
    if not _medians:
        return
    write = terminalreporter.write_line
    terminalreporter.section("pinning: ratios computed in this run (medians)")
    if _floor_figures:
        corpus = _floor_figures["corpus"]
        write(
            f"floor: {corpus['floor']['ns_per_cert']:.0f} ns per certificate, walk alone "
            f"{corpus['walk']['ns_per_cert']:.0f} ns; chains: "
            + ", ".join(
                f"{name} {figures['floor']['ns_per_pass']:.0f} ns"
                for name, figures in _floor_figures.items()
                if name not in ("corpus", "_info")
            )
        )
    groups = sorted({group for group, _ in _medians})
    write(f"{'group':<28} {'backend':<16} {'ns/unit':>10} {'x floor':>9} {'reference/this':>15}")
    for group in groups:
        reference = _medians.get((group, "reference"))
        floor = _floor_for(group)
        for (g, backend), value in sorted(_medians.items()):
            if g != group:
                continue
            x_floor = f"{value / floor:.2f}x" if floor else "-"
            x_ref = f"{reference / value:.2f}x" if reference and backend != "reference" else "-"
            write(f"{group:<28} {backend:<16} {value:>10.0f} {x_floor:>9} {x_ref:>15}")
