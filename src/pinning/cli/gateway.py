"""``pinning bench --gateway``: what pinning costs a real client workload, on loopback.

A local HTTPS server runs in a child process (asyncio, on uvloop when it is installed; TLS 1.3; a
leaf and an intermediate from a throwaway root, EC P-256), answering every request with
``Connection: close``, so that each request is a new connection and a full handshake. In this
process, each client workload makes the same requests unpinned, pinned to the leaf's key, pinned
to the root's key (the last certificate of the verified chain: every certificate is hashed before
it matches), and, where the client has one, pinned the way its users do it today: aiohttp's
``Fingerprint`` and urllib3's ``assert_fingerprint``, which hash the whole leaf certificate. The
variants alternate within each round, in an order that rotates from round to round.

Figures: requests per second (wall time) and the client's CPU time per request (``process_time``
of this process, every thread). Each ratio compares a variant with the unpinned run of the same
round; the median over the rounds is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..policy.pins import Pin
from ..policy.policy import PinPolicy
from ..tls.context import pin_context
from .certs import CA, Issued

__all__ = ["format_gateway", "run_gateway"]

_HOST = "127.0.0.1"
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
_TIMEOUT = 30.0
THROUGHPUT_TARGET = 0.98  # pinned requests per second, as a fraction of unpinned
CPU_TARGET_PERCENT = 2.0  # client CPU per request added by pinning, at most


# --- The server (child process) -------------------------------------------------------------------


async def _serve(cert_file: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert_file)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(_RESPONSE)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, _HOST, 0, ssl=ctx, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    os.unlink(cert_file)  # Loaded: the key leaves the disk at once.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # Until the parent closes our stdin.
    server.close()


def _run_loop(main: Any) -> Any:
    """Run a coroutine on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


@contextlib.contextmanager
def _server(issued: Issued) -> Iterator[int]:
    """Run the server in a child process; yield its port."""
    folder = tempfile.mkdtemp(prefix="pinning-gateway-")
    cert_file = os.path.join(folder, "server.pem")
    with open(os.open(cert_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(issued.cert_pem + issued.key_pem)
    child = subprocess.Popen(
        [sys.executable, "-m", "pinning.cli.gateway", cert_file],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError("the gateway benchmark's server did not start")
        yield int(line)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
        with contextlib.suppress(OSError):
            os.unlink(cert_file)
        os.rmdir(folder)


# --- The clients ----------------------------------------------------------------------------------

Workload = Callable[[int], float]  # makes n requests, returns the seconds they took


def _aiohttp(url: str, ssl_arg: Any, concurrency: int) -> Workload:
    import aiohttp

    async def requests(n: int) -> float:
        connector = aiohttp.TCPConnector(ssl=ssl_arg, force_close=True, limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with gate, session.get(url) as response:
                    if response.status != 200 or await response.read() != b"ok":
                        raise RuntimeError("unexpected answer")

            start = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(n)))
            elapsed = time.perf_counter() - start
        # aiohttp's advice for TLS: let the transports finish closing before the loop does.
        await asyncio.sleep(0.25)
        return elapsed

    return lambda n: float(_run_loop(requests(n)))


def _httpx(url: str, ctx: ssl.SSLContext) -> Workload:
    import httpx

    def requests(n: int) -> float:
        with httpx.Client(verify=ctx, timeout=_TIMEOUT) as client:
            start = time.perf_counter()
            for _ in range(n):
                if client.get(url).content != b"ok":
                    raise RuntimeError("unexpected answer")
            return time.perf_counter() - start

    return requests


def _urllib3(url: str, ctx: ssl.SSLContext, fingerprint: str | None = None) -> Workload:
    import urllib3

    def requests(n: int) -> float:
        with urllib3.PoolManager(
            ssl_context=ctx, assert_fingerprint=fingerprint, retries=False, timeout=_TIMEOUT
        ) as pool:
            start = time.perf_counter()
            for _ in range(n):
                if pool.request("GET", url).data != b"ok":
                    raise RuntimeError("unexpected answer")
            return time.perf_counter() - start

    return requests


@dataclass(frozen=True)
class _Setup:
    url: str
    root_pem: str
    leaf_der: bytes
    leaf_pin: Pin
    root_pin: Pin

    def context(self, pin: Pin | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.root_pem)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if pin is not None:
            backup = Pin(hashlib.sha256(b"pinning gateway benchmark backup").digest())
            pin_context(ctx, PinPolicy({_HOST: [pin, backup]}))
        return ctx


def _workloads(setup: _Setup, concurrency: int) -> dict[str, dict[str, Workload]]:
    """The variants of each client that is installed, unpinned first."""
    found: dict[str, dict[str, Workload]] = {}
    url = setup.url
    leaf, root = setup.context(setup.leaf_pin), setup.context(setup.root_pin)
    with contextlib.suppress(ImportError):
        import aiohttp

        loop = "uvloop" if _has("uvloop") else "asyncio"
        found[f"aiohttp on {loop}"] = {
            "unpinned": _aiohttp(url, setup.context(None), concurrency),
            "leaf pin": _aiohttp(url, leaf, concurrency),
            "CA pin": _aiohttp(url, root, concurrency),
            "aiohttp Fingerprint": _aiohttp(
                url, aiohttp.Fingerprint(hashlib.sha256(setup.leaf_der).digest()), concurrency
            ),
        }
    if _has("httpx"):
        found["httpx"] = {
            "unpinned": _httpx(url, setup.context(None)),
            "leaf pin": _httpx(url, leaf),
            "CA pin": _httpx(url, root),
        }
    if _has("urllib3"):
        fingerprint = hashlib.sha256(setup.leaf_der).hexdigest()
        found["urllib3"] = {
            "unpinned": _urllib3(url, setup.context(None)),
            "leaf pin": _urllib3(url, leaf),
            "CA pin": _urllib3(url, root),
            "urllib3 assert_fingerprint": _urllib3(url, setup.context(None), fingerprint),
        }
    return found


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# --- The measurement ------------------------------------------------------------------------------


def _measure(workload: Workload, n: int) -> tuple[float, float]:
    """Run ``n`` requests; return (requests per second, client CPU microseconds per request)."""
    cpu = time.process_time()
    wall = workload(n)
    cpu = time.process_time() - cpu
    return n / wall, cpu / n * 1e6


def run_gateway(
    *,
    requests: int = 100,
    rounds: int = 21,
    concurrency: int = 8,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every installed client workload, pinned against unpinned; return the figures.

    Args:
        requests: Requests (new connections) per variant per round.
        rounds: Rounds; each runs every variant once, in a rotated order.
        concurrency: Requests in flight at once for aiohttp (httpx and urllib3 go one by one).
        progress: Called with a line of text as the work goes on.
    """
    root = CA("pinning gateway benchmark root")
    intermediate = CA("pinning gateway benchmark intermediate", issuer=root)
    issued = intermediate.issue(_HOST)
    leaf_der = x509.load_pem_x509_certificates(issued.cert_pem)[0].public_bytes(Encoding.DER)
    result: dict[str, Any] = {
        "requests": requests,
        "rounds": rounds,
        "concurrency": concurrency,
        "tls": "TLS 1.3, EC P-256, leaf + intermediate sent, root trusted",
        "workloads": {},
    }
    with _server(issued) as port:
        setup = _Setup(
            url=f"https://{_HOST}:{port}/",
            root_pem=root.pem.decode(),
            leaf_der=leaf_der,
            leaf_pin=Pin.from_certificate(leaf_der),
            root_pin=Pin.from_certificate(root.pem),
        )
        for name, variants in _workloads(setup, concurrency).items():
            if progress:
                progress(f"{name}: {len(variants)} variants x {rounds} rounds x {requests}")
            for workload in variants.values():  # warm-up: imports, first connections
                workload(max(4, requests // 20))
            names = list(variants)
            samples: dict[str, list[tuple[float, float]]] = {v: [] for v in names}
            for index in range(rounds):
                turn = index % len(names)
                for variant in names[turn:] + names[:turn]:
                    samples[variant].append(_measure(variants[variant], requests))
            result["workloads"][name] = _summarise(samples)
    result["targets"] = _targets(result["workloads"])
    return result


def _summarise(samples: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    base = samples["unpinned"]
    summary: dict[str, Any] = {}
    for variant, runs in samples.items():
        summary[variant] = {
            "requests_per_s": statistics.median(rps for rps, _ in runs),
            "cpu_us_per_request": statistics.median(cpu for _, cpu in runs),
            "throughput_ratio": statistics.median(
                rps / unpinned for (rps, _), (unpinned, _) in zip(runs, base, strict=True)
            ),
            "cpu_overhead_percent": statistics.median(
                (cpu / unpinned - 1) * 100
                for (_, cpu), (_, unpinned) in zip(runs, base, strict=True)
            ),
        }
    return summary


def _targets(workloads: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    targets = []
    for name, variants in workloads.items():
        peers = [v for v in variants if v not in ("unpinned", "leaf pin", "CA pin")]
        for kind in ("leaf pin", "CA pin"):
            figures = variants[kind]
            targets.append(
                {
                    "target": f"{name}, {kind}: throughput >= {THROUGHPUT_TARGET} of unpinned",
                    "value": figures["throughput_ratio"],
                    "met": figures["throughput_ratio"] >= THROUGHPUT_TARGET,
                }
            )
            targets.append(
                {
                    "target": f"{name}, {kind}: client CPU <= +{CPU_TARGET_PERCENT} %",
                    "value": figures["cpu_overhead_percent"],
                    "met": figures["cpu_overhead_percent"] <= CPU_TARGET_PERCENT,
                }
            )
            for peer in peers:
                overhead = variants[peer]["cpu_overhead_percent"]
                targets.append(
                    {
                        "target": f"{name}, {kind}: CPU overhead <= {peer}'s ({overhead:+.1f} %)",
                        "value": figures["cpu_overhead_percent"],
                        "met": figures["cpu_overhead_percent"] <= overhead,
                    }
                )
    return targets


def format_gateway(result: dict[str, Any]) -> str:
    """Return the gateway figures as a text table, then the targets."""
    lines = [
        f"Gateway workload: {result['requests']} requests x {result['rounds']} rounds per "
        f"variant, each a new connection ({result['tls']}); aiohttp runs "
        f"{result['concurrency']} at once. Medians over the rounds; ratios against the "
        "unpinned run of the same round.",
        "",
        f"{'client':<22} {'variant':<28} {'req/s':>8} {'CPU us/req':>11} {'throughput':>11} "
        f"{'CPU':>8}",
    ]
    for name, variants in result["workloads"].items():
        for variant, figures in variants.items():
            lines.append(
                f"{name:<22} {variant:<28} {figures['requests_per_s']:>8.0f} "
                f"{figures['cpu_us_per_request']:>11.0f} {figures['throughput_ratio']:>10.3f}x "
                f"{figures['cpu_overhead_percent']:>+7.1f}%"
            )
    lines += ["", "Targets:"]
    for target in result["targets"]:
        mark = "met" if target["met"] else "NOT met"
        lines.append(f"  [{mark}] {target['target']}: {target['value']:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":  # The server of the benchmark, run by _server() in a child process.
    _run_loop(_serve(sys.argv[1]))
