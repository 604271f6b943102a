"""The gateway workload: what pinning costs real clients making new TLS 1.3 connections.

``pinning bench --gateway`` is the full measurement (:mod:`pinning.cli.gateway`); this runs it
through pytest-benchmark: with ``--benchmark-enable``, one full run whose ratios land in the
benchmark's ``extra_info`` (and ``--benchmark-json``); under CI's ``--benchmark-disable``, a quick
run that proves every client workload works, pinned and unpinned, judging no speed.
"""

from __future__ import annotations

from typing import Any

import pytest

from pinning.cli.gateway import format_gateway, run_gateway


def test_gateway_workload(benchmark: Any, request: pytest.FixtureRequest) -> None:
    timing = not request.config.getoption("benchmark_disable")
    size = {"requests": 100, "rounds": 21} if timing else {"requests": 8, "rounds": 1}
    result = benchmark.pedantic(lambda: run_gateway(**size), rounds=1, iterations=1)
    assert {"aiohttp on uvloop", "httpx", "urllib3"} <= set(result["workloads"])
    for variants in result["workloads"].values():
        assert "unpinned" in variants and "leaf pin" in variants and "CA pin" in variants
    for target in result["targets"]:
        benchmark.extra_info[target["target"]] = round(target["value"], 3)
    if timing:
        print("\n" + format_gateway(result))
