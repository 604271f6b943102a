"""Many threads share one pinned context while its policy is swapped: count every decision."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from tlsutil import (
    BACKUP_PIN,
    HOST,
    Server,
    exchange,
    greeting_handler,
    pki,
    policy,
    serving,
)
from tlsutil import client_context as make_client

from pinning.policy.failure import PinMismatch
from pinning.tls.context import pin_context

THREADS = 8
PER_THREAD = 12


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    with (
        serving(pki().genuine, greeting_handler()) as genuine,
        serving(pki().rogue, greeting_handler()) as rogue,
    ):
        yield genuine, rogue


def hammer(ctx: object, genuine: Server, rogue: Server) -> list[tuple[str, str]]:
    """Connect from THREADS threads at once, alternating servers; return (server, outcome)s.

    An outcome is ``"accepted"``, ``"refused:<pin of the policy that refused>"`` or the repr of
    any other exception.
    """
    results: list[tuple[str, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(PER_THREAD):
            name, server = ("genuine", genuine) if (n + i) % 2 else ("rogue", rogue)
            try:
                assert exchange(ctx, server) == b"hello"  # type: ignore[arg-type]
                outcome = "accepted"
            except PinMismatch as exc:
                refusing = exc.expected - {BACKUP_PIN}
                outcome = "refused:" + ",".join(sorted(str(pin) for pin in refusing))
            except Exception as exc:
                outcome = repr(exc)
            with lock:
                results.append((name, outcome))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_one_policy_many_threads(servers: tuple[Server, Server]) -> None:
    genuine, rogue = servers
    ctx = make_client(policy({HOST: [pki().genuine_ca_pin]}))
    counts = Counter(hammer(ctx, genuine, rogue))
    half = THREADS * PER_THREAD // 2
    refused_by_genuine_policy = f"refused:{pki().genuine_ca_pin}"
    assert counts == {("genuine", "accepted"): half, ("rogue", refused_by_genuine_policy): half}
    genuine.close()
    rogue.close()
    assert sorted(set(genuine.received)) == [b"ping"] and len(genuine.received) == half
    assert rogue.all_received == b""


def test_policy_swaps_during_the_run(servers: tuple[Server, Server]) -> None:
    genuine, rogue = servers
    trust_genuine = policy({HOST: [pki().genuine_ca_pin]})
    trust_rogue = policy({HOST: [pki().rogue_ca_pin]})
    ctx = make_client(trust_genuine)
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set():
            pin_context(ctx, trust_rogue if swaps % 2 == 0 else trust_genuine)
            swaps += 1
            stop.wait(0.002)

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        results = hammer(ctx, genuine, rogue)
    finally:
        stop.set()
        thread.join()
    counts = Counter(results)
    # Every decision is one that one of the two policies makes, whole: the genuine server is
    # refused only by the policy trusting the rogue CA, and the other way round.
    allowed = {
        ("genuine", "accepted"),
        ("genuine", f"refused:{pki().rogue_ca_pin}"),
        ("rogue", "accepted"),
        ("rogue", f"refused:{pki().genuine_ca_pin}"),
    }
    assert set(counts) <= allowed, counts
    assert sum(counts.values()) == THREADS * PER_THREAD
    assert swaps > 2
    # Both policies were really in force during the run.
    assert counts[("genuine", "accepted")] and counts[("rogue", "accepted")], counts
