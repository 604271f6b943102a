"""Client instructions per full TLS 1.3 handshake, counted by callgrind: unpinned, leaf pin, CA pin.

Timings on a shared 2-core machine scatter by several percent (``handshake_pins.py``,
``pinning bench --gateway``); instruction counts do not. This runs the handshake benchmark's client
(:class:`pinning.cli.bench.Handshaker`, RSA-2048 leaf and intermediate, the root trusted; its server
is a process of its own, not counted) under ``valgrind --tool=callgrind``, once with no measured
handshake and once with ``count`` of them, for each kind, and divides the difference: what is left
is the client's work per handshake, the same every run to about 0.02 %. The chain is generated once
and given to every run, so that key generation adds nothing to either count.

Instructions are not time: a pinned handshake also runs its code with cold caches right after the
handshake, which callgrind does not count; the two together bound what pinning costs.

    python benchmarks/handshake_instructions.py [handshakes per kind, default 100] [--json]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = ("unpinned", "leaf pin", "CA pin")
_DEPTH = {"leaf pin": 0, "CA pin": 2}  # the pinned certificate: the leaf, or the root


def _child(kind: str, count: int, folder: Path) -> None:
    """In the process callgrind runs: 10 handshakes to warm up, then ``count`` more."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from pinning import PinPolicy, pin_context
    from pinning.cli import bench
    from pinning.policy.pins import Pin

    ders = [(folder / f"{index}.der").read_bytes() for index in range(3)]
    keys = [load_pem_private_key((folder / f"{i}.key").read_bytes(), None) for i in range(3)]
    bench._chain_cache["rsa2048"] = list(zip(ders, keys, strict=True))
    with bench.Handshaker("rsa2048") as server:
        ctx = server.client_context()
        if kind in _DEPTH:
            pinned = bench.reference_spki_sha256(server.chain[_DEPTH[kind]])
            policy = PinPolicy({bench.HOSTNAME: [Pin(pinned), Pin(bytes(32))]})
            ctx = pin_context(ctx, policy)
        for _ in range(10 + count):
            server.handshake(ctx)


def _instructions(kind: str, count: int, folder: Path) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            kind,
            str(count),
            str(folder),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {kind}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def run(count: int) -> dict[str, object]:
    """Count the client's instructions per handshake of each kind."""
    from cryptography.hazmat.primitives import serialization

    from pinning.cli import bench

    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="pinning-bench-cg-") as name:
        folder = Path(name)
        for index, (der, key) in enumerate(bench._chains()["rsa2048"]):
            (folder / f"{index}.der").write_bytes(der)
            (folder / f"{index}.key").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        per_handshake = {
            kind: (_instructions(kind, count, folder) - _instructions(kind, 0, folder)) / count
            for kind in KINDS
        }
    base = per_handshake["unpinned"]
    return {
        "handshakes_per_kind": count,
        "instructions_per_handshake": per_handshake,
        "added_instructions": {kind: per_handshake[kind] - base for kind in KINDS[1:]},
        "overhead_percent": {kind: (per_handshake[kind] / base - 1) * 100 for kind in KINDS[1:]},
    }


def main(argv: list[str]) -> int:
    """Run and print the figures (``--json``: as JSON)."""
    if argv[:1] == ["--child"]:
        _child(argv[1], int(argv[2]), Path(argv[3]))
        return 0
    numbers = [arg for arg in argv if arg.isdigit()]
    result = run(int(numbers[0]) if numbers else 100)
    if "--json" in argv:
        print(json.dumps(result, indent=2))
        return 0
    counts: dict[str, float] = result["instructions_per_handshake"]  # type: ignore[assignment]
    for kind in KINDS:
        line = f"{kind:9} {counts[kind]:12,.0f} instructions"
        if kind != "unpinned":
            added = counts[kind] - counts["unpinned"]
            line += f"  {added:+9,.0f}  {(counts[kind] / counts['unpinned'] - 1) * 100:+.2f} %"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
