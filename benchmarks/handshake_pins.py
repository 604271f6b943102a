"""Client CPU per full TLS 1.3 handshake: unpinned, pinned to the leaf's key, pinned to the root's.

``pinning bench`` times a root (CA) pin only; this runs its handshake benchmark
(:class:`pinning.cli.bench.Handshaker`: RSA-2048 leaf and intermediate served by a process of its
own, the root trusted) with the three kinds alternating one handshake at a time, so that leaf and
CA pins are compared with the unpinned handshake in one run. Figures are medians; overheads are
ratios of the trimmed means (middle halves), as ``pinning bench`` computes them. Each pinned
policy is the same for every handshake: after the first, a client calling the same server again.

    python benchmarks/handshake_pins.py [handshakes per kind, default 1500] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from pinning import PinPolicy, pin_context
from pinning.cli.bench import HOSTNAME, Handshaker, reference_spki_sha256
from pinning.policy.pins import Pin

KINDS = ("unpinned", "leaf pin", "CA pin")


def _trimmed_mean(values: list[float]) -> float:
    ordered = sorted(values)
    quarter = len(ordered) // 4
    middle = ordered[quarter : len(ordered) - quarter] or ordered
    return sum(middle) / len(middle)


def run(count: int) -> dict[str, object]:
    """Time ``count`` handshakes of each kind; return medians (µs) and overheads (%)."""
    with Handshaker("rsa2048") as server:
        contexts = {"unpinned": server.client_context()}
        policies = {}
        for kind, depth in (("leaf pin", 0), ("CA pin", 2)):
            pins = [Pin(reference_spki_sha256(server.chain[depth])), Pin(bytes(32))]
            policies[kind] = PinPolicy({HOSTNAME: pins})
            contexts[kind] = pin_context(server.client_context(), policies[kind])
        for ctx in contexts.values():
            server.client_cpu(ctx, 10)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        clock = time.thread_time
        for index in range(len(KINDS) * count):
            kind = KINDS[index % len(KINDS)]
            start = clock()
            server.handshake(contexts[kind])
            times[kind].append(clock() - start)
    base = _trimmed_mean(times["unpinned"])
    return {
        "handshakes_per_kind": count,
        "median_us": {kind: statistics.median(times[kind]) * 1e6 for kind in KINDS},
        "overhead_percent": {
            kind: (_trimmed_mean(times[kind]) / base - 1) * 100 for kind in KINDS[1:]
        },
        "metrics": {
            kind: policy.metrics().rules[HOSTNAME].as_dict() for kind, policy in policies.items()
        },
    }


def main(argv: list[str]) -> int:
    """Run and print the figures (``--json``: as JSON)."""
    numbers = [arg for arg in argv if arg.isdigit()]
    result = run(int(numbers[0]) if numbers else 1500)
    if "--json" in argv:
        print(json.dumps(result, indent=2))
        return 0
    for kind in KINDS:
        median = result["median_us"][kind]  # type: ignore[index]
        extra = "" if kind == "unpinned" else f"  {result['overhead_percent'][kind]:+.2f} %"  # type: ignore[index]
        print(f"{kind:9} {median:8.0f} us{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
