"""The timed groups: per-certificate, batch, chain check and handshake.

Each group times the C backend, the pure backend and the ``cryptography`` reference on the same
input; nothing here asserts a speed (the ratios are printed at the end of the session, and judged
by ``pinning bench`` and benchmarks/RESULTS.md).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pinning.cli import bench as _bench
from pinning.core import backend as _backend
from pinning.core import pure as _pure

try:
    from pinning.core import cbackend as _cbackend
except ImportError:  # a pure installation: the C cases are skipped, loudly
    _cbackend = None  # type: ignore[assignment]
from pinning.policy.pins import Pin
from pinning.policy.policy import PinPolicy

# CPU time of the measuring thread, not wall time: robust on a busy machine, the same clock as the
# floor's, and for the handshake group exactly the client's CPU (the server is another thread).
pytestmark = pytest.mark.benchmark(timer=time.thread_time)

HOST = _bench.HOSTNAME
SIDES = ("c", "pure", "reference")


def backend_module(name: str) -> Any:
    """The backend module called ``name``; skips the test when the C core is not built."""
    if name == "pure":
        return _pure
    if _cbackend is None:
        pytest.skip("the C core (pinning.core._native) is not built")
    return _cbackend


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """Make the backend ``name`` the one the whole library uses, for the block (no-op for the
    unpinned baseline and the reference, which use no backend)."""
    if name not in ("c", "pure"):
        yield
        return
    saved = _backend.backend
    _backend.backend = backend_module(name)
    try:
        yield
    finally:
        _backend.backend = saved


def test_floor(floor: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The floor was compiled and ran on the corpus and on both chains, in this session."""
    for name in ("corpus", "rsa2048", "p256"):
        assert floor[name]["floor"]["ns_per_cert"] > 0
        assert floor[name]["walk"]["ns_per_cert"] > 0
    assert floor["corpus"]["floor"]["certs"] >= _bench.MIN_CORPUS


@pytest.mark.parametrize("side", SIDES)
def test_per_certificate(measure: Callable[..., Any], corpus: _bench.Corpus, side: str) -> None:
    """``spki_sha256`` on one certificate per call, over the whole corpus."""
    certs = corpus.certs
    one = _bench.reference_spki_sha256 if side == "reference" else backend_module(side).spki_sha256
    digests = measure(
        lambda: [one(cert) for cert in certs],
        group="per-certificate",
        backend=side,
        units=len(certs),
    )
    assert digests[:3] == [_bench.reference_spki_sha256(cert) for cert in certs[:3]]


@pytest.mark.parametrize("side", SIDES)
def test_batch(measure: Callable[..., Any], corpus: _bench.Corpus, side: str) -> None:
    """``spki_sha256_many`` over the whole corpus in one call (the reference has to loop)."""
    certs = corpus.certs
    if side == "reference":
        ref = _bench.reference_spki_sha256

        def many() -> list[bytes]:
            return [ref(cert) for cert in certs]
    else:
        many = lambda: backend_module(side).spki_sha256_many(certs)  # noqa: E731
    digests = measure(many, group="batch", backend=side, units=len(certs))
    assert len(digests) == len(certs)


@pytest.mark.parametrize("chain_name", ["rsa2048", "p256"])
@pytest.mark.parametrize("side", SIDES)
def test_chain_check(
    measure: Callable[..., Any], chains: dict[str, list[bytes]], side: str, chain_name: str
) -> None:
    """``PinPolicy.check`` on a 3-certificate chain whose root (depth 2) is pinned."""
    chain = chains[chain_name]
    pin = _bench.reference_spki_sha256(chain[2])
    group = f"chain-check {chain_name}"
    if side == "reference":
        pins_by_host = {HOST: frozenset({pin, bytes(32)})}

        def check() -> bool:
            return _bench.reference_check(pins_by_host[HOST], chain)

        assert measure(check, group=group, backend=side, units=1)
        return
    policy = PinPolicy({HOST: [Pin(pin), Pin(bytes(32))]})
    with using(side):
        measure(lambda: policy.check(HOST, chain), group=group, backend=side, units=1)


@pytest.mark.parametrize("side", ["c", "pure"])
def test_fast_path_remembered(
    measure: Callable[..., Any], chains: dict[str, list[bytes]], side: str
) -> None:
    """``PinPolicy._passes`` answering from its memory of chains that passed: the cheapest
    passing decision, so the one where counting it (``remembered``) weighs the most."""
    chain = chains["rsa2048"]
    policy = PinPolicy({HOST: [Pin(_bench.reference_spki_sha256(chain[2])), Pin(bytes(32))]})
    with using(side):
        assert policy._passes(HOST, chain)
        passes = lambda: policy._passes(HOST, chain)  # noqa: E731
        assert measure(passes, group="fast-path", backend=side, units=1)
    assert policy.metrics().rules[HOST].remembered >= 1


def test_metrics_snapshot(measure: Callable[..., Any]) -> None:
    """``PinPolicy.metrics()`` on a policy of 20 rules: what a scrape pays (never a handshake)."""
    pins = [Pin(bytes([1]) * 32), Pin(bytes([2]) * 32)]
    policy = PinPolicy({f"host{n}.example.com": pins for n in range(20)})
    snapshot = measure(policy.metrics, group="metrics", backend="snapshot", units=1)
    assert len(snapshot.rules) == 20


@pytest.mark.parametrize("side", ["unpinned", "c", "pure", "reference"])
def test_handshake(measure: Callable[..., Any], handshaker: _bench.Handshaker, side: str) -> None:
    """A full TLS 1.3 handshake on loopback: the client thread's CPU time.

    ``unpinned`` is the baseline; ``c`` and ``pure`` pin the root through ``pin_context``; the
    reference checks the verified chain with ``cryptography`` after an unpinned handshake. The
    policy's memory of chains that passed is emptied before each pinned handshake, so that each
    one runs its backend's check (``pinning bench`` also reports the remembered case).
    """
    pin_context = _bench._pin_context()
    ctx = handshaker.client_context()
    pin = _bench.reference_spki_sha256(handshaker.chain[2])
    policy = PinPolicy({HOST: [Pin(pin), Pin(bytes(32))]})
    if side in ("c", "pure"):
        if pin_context is None:
            pytest.skip("pinning.pin_context does not exist yet")
        ctx = pin_context(ctx, policy)
    if side == "reference":
        chain_of = _verified_chain()
        pins = frozenset({pin, bytes(32)})

        def handshake() -> None:
            with (
                socket.create_connection(("127.0.0.1", handshaker.port)) as sock,
                ctx.wrap_socket(sock, server_hostname=HOST) as tls,
            ):
                if not _bench.reference_check(pins, chain_of(tls)):
                    raise ssl.SSLError("pin mismatch")
    else:

        def handshake() -> None:
            policy._passed.clear()
            policy._leaves.clear()
            handshaker.handshake(ctx)

    with using(side):
        measure(handshake, group="handshake", backend=side, units=1)


def _verified_chain() -> Callable[[ssl.SSLSocket], list[bytes]]:
    """The verified chain of a connection, as DER (what the reference has to fetch itself)."""
    try:
        from pinning.tls.chain import verified_chain
    except ImportError:
        pytest.skip("pinning.tls.chain does not exist yet")
    return verified_chain


def test_bench_command(corpus: _bench.Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    """``pinning bench --quick --json`` runs end to end (one round) and reports every target."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="pinning")
    _bench.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "--quick", "--json", "--rounds", "1"])
    args.corpus = corpus
    assert args.run(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["targets"]) == set(_bench.TARGETS)
    assert result["floor"]["available"], result["floor"]["reason"]
