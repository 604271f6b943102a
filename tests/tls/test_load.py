"""Load: one pinned context shared by many threads and asyncio tasks, thousands of handshakes
against a genuine and a rogue server, interleaved, with the policy swapped between and during
phases. Every handshake is accepted or refused exactly as a policy in force decides; nothing else
happens, and nothing is left open afterwards.

The client trusts both CAs (the rogue one stands for a corporate or compromised root), so only
the pins tell the servers apart. Each swap installs a new generation of policy on the same context
with ``pin_context``: even generations pin the genuine CA's key, odd ones the rogue CA's, and each
also holds a backup pin of its own, so a refusal (whose ``expected`` lists the pins) names the
generation that refused. In a steady phase the generation is fixed and every decision must be
its decision. In a storm phase a thread swaps in flurries: each handshake must be decided whole by
one of the generations installed between its start and its end (exactly the one, when no swap
overlapped it).

Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.client
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from _load import (
    Swapper,
    SwapStorm,
    Tally,
    asyncio_get,
    leaks,
    polite_handler,
    snapshot,
    wrap_socket_get,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tlsutil import (
    GENUINE_BODY,
    HOST,
    LOOPBACK,
    ROGUE_BODY,
    TIMEOUT,
    Server,
    pki,
    server_context,
)
from tlsutil import client_context as make_client

import pinning
from pinning.core import backend as _backend
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin
from pinning.policy.policy import PinFailure, PinPolicy

RAW_THREADS = 12  # ctx.wrap_socket: the bulk
HTTP_THREADS = 4  # http.client.HTTPSConnection: a real HTTP client
TASKS = 64  # asyncio streams (the ssl.SSLObject path), all in flight at once
THREAD_ROUNDS = 6  # handshakes per thread per phase
TASK_ROUNDS = 2  # handshakes per task per phase
PHASES = ("steady", "storm", "steady", "storm", "steady", "storm")
STEADY_PARITY = {0: 0, 2: 1, 4: 0}  # Phase -> generation parity: 0 pins genuine, 1 rogue.
SERVERS = ("genuine", "rogue")
ACCEPTED_BY = {"genuine": 0, "rogue": 1}  # The parity of the generations accepting each server.

PER_PHASE = (RAW_THREADS + HTTP_THREADS) * THREAD_ROUNDS + TASKS * TASK_ROUNDS
TOTAL = PER_PHASE * len(PHASES)


def marker(generation: int) -> Pin:
    """The backup pin that only generation ``generation`` holds (no key has it)."""
    return Pin(b"\xff" + generation.to_bytes(31, "big"))


@dataclass(frozen=True)
class Attempt:
    """One handshake (and request): the swap counter around it, and what it gave."""

    client: str
    server: str
    before: int
    after: int
    body: bytes | None
    error: Exception | None


class Run:
    """One load run: the servers, the shared context, the swapper, the workers and the tallies."""

    def __init__(self, servers: dict[str, Server]) -> None:
        self.servers = servers
        self.pins = (pki().genuine_ca_pin, pki().rogue_ca_pin)
        self.generation_of: dict[Pin, int] = {}
        self.reports = Tally()
        self.tally = Tally()
        self.ctx = make_client()
        self.swapper = Swapper(self.ctx, self._generation)
        self.storm_swaps = 0
        self.barrier = threading.Barrier(RAW_THREADS + HTTP_THREADS + 2, timeout=120)
        self.phase = 0

    def _generation(self, generation: int) -> PinPolicy:
        pin, backup = self.pins[generation % 2], marker(generation)
        self.generation_of[backup] = generation

        def report(failure: PinFailure) -> None:
            self.reports.add(f"parity {generation % 2}", failure.hostname, str(failure.enforced))

        return PinPolicy({HOST: [pin, backup], LOOPBACK: [pin, backup]}, reporter=report)

    def server_for(self, worker: int, round_: int) -> str:
        """Genuine and rogue interleaved, differently in each worker and phase."""
        return SERVERS[(worker + round_ + self.phase) % 2]

    # -- judging -------------------------------------------------------------------------------

    def attempt(self, client: str, server: str, call: Callable[[], bytes]) -> Attempt:
        before = self.swapper.counter
        try:
            body = call()
        except Exception as exc:  # Judged below: anything but PinMismatch fails the run.
            return Attempt(client, server, before, self.swapper.counter, None, exc)
        return Attempt(client, server, before, self.swapper.counter, body, None)

    async def attempt_async(self, server: str) -> Attempt:
        before = self.swapper.counter
        try:
            body = await asyncio_get(self.ctx, self.servers[server])
        except Exception as exc:
            return Attempt("asyncio", server, before, self.swapper.counter, None, exc)
        return Attempt("asyncio", server, before, self.swapper.counter, body, None)

    def judge(self, result: Attempt) -> None:
        """Tally ``result`` as accepted, refused, WRONG (not a decision of a generation in force
        then) or ERROR (any exception but PinMismatch)."""
        window = Swapper.window(result.before, result.after)
        phase = PHASES[self.phase]
        if phase == "storm":
            phase += ", no swap in flight" if len(window) == 1 else ", swap in flight"
        self.tally.add(phase, result.server, self._outcome(result, window), result.client)

    def _outcome(self, result: Attempt, window: range) -> str:
        accepting = ACCEPTED_BY[result.server]
        if isinstance(result.error, PinMismatch):
            expected = result.error.expected
            generations = [self.generation_of.get(pin) for pin in expected]
            found = [generation for generation in generations if generation is not None]
            if len(found) != 1 or expected != {self.pins[found[0] % 2], marker(found[0])}:
                return f"WRONG: refused with the pins {sorted(map(str, expected))}"
            generation = found[0]
            if generation % 2 == accepting:
                return f"WRONG: refused by generation {generation}, which accepts it"
            if generation not in window:
                return f"WRONG: refused by generation {generation}, not installed in {window}"
            return "refused"
        if result.error is not None:
            return f"ERROR: {result.error!r}"
        expected_body = GENUINE_BODY if result.server == "genuine" else ROGUE_BODY
        if result.body != expected_body:
            return f"WRONG: the {result.server} server answered {result.body!r:.60}"
        if not any(generation % 2 == accepting for generation in window):
            return f"WRONG: accepted, but no generation in {window} accepts it"
        return "accepted"

    # -- the workers ---------------------------------------------------------------------------

    def _phases(self) -> Iterator[None]:
        for _ in PHASES:
            self.barrier.wait()
            yield
            self.barrier.wait()

    def raw_worker(self, n: int) -> None:
        for _ in self._phases():
            for i in range(THREAD_ROUNDS):
                server = self.server_for(n, i)
                get = functools.partial(wrap_socket_get, self.ctx, self.servers[server])
                self.judge(self.attempt("wrap_socket", server, get))

    def http_worker(self, n: int) -> None:
        for _ in self._phases():
            for i in range(THREAD_ROUNDS):
                server = self.server_for(n, i)
                get = functools.partial(self._http_get, self.servers[server].port)
                self.judge(self.attempt("http.client", server, get))

    def _http_get(self, port: int) -> bytes:
        # Connecting to the IP text makes it the server_hostname, which the certificates hold as
        # an IP address and the policy pins like the name.
        conn = http.client.HTTPSConnection(LOOPBACK, port, context=self.ctx, timeout=TIMEOUT)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200, response.status
            return response.read()
        finally:
            conn.close()

    def asyncio_worker(self, errors: list[BaseException]) -> None:
        try:
            asyncio.run(self._asyncio_phases())
        except BaseException as exc:
            errors.append(exc)
            self.barrier.abort()

    async def _asyncio_phases(self) -> None:
        for _ in self._phases():  # The barrier blocks the loop, idle between phases anyway.
            for attempts in await asyncio.gather(*(self._task(n) for n in range(TASKS))):
                for result in attempts:
                    self.judge(result)

    async def _task(self, n: int) -> list[Attempt]:
        return [await self.attempt_async(self.server_for(n, i)) for i in range(TASK_ROUNDS)]

    # -- the conductor -------------------------------------------------------------------------

    def conduct(self) -> None:
        """Run the phases from the test's thread: set the policy, start, wait for the end."""
        for self.phase, phase in enumerate(PHASES):
            if phase == "steady":
                if self.swapper.generation % 2 != STEADY_PARITY[self.phase]:
                    self.swapper.swap()
                self.barrier.wait()
                self.barrier.wait()
            else:
                with SwapStorm(self.swapper) as storm:
                    self.barrier.wait()
                    self.barrier.wait()
                self.storm_swaps += storm.swaps


def expected_steady() -> dict[tuple[str, str], int]:
    """How many handshakes of the steady phases each server gets, accepted or refused."""
    counts: dict[tuple[str, str], int] = {}
    workers = ((RAW_THREADS, THREAD_ROUNDS), (HTTP_THREADS, THREAD_ROUNDS), (TASKS, TASK_ROUNDS))
    for phase, parity in STEADY_PARITY.items():
        for count, rounds in workers:
            for n in range(count):
                for i in range(rounds):
                    server = SERVERS[(n + i + phase) % 2]
                    outcome = "accepted" if ACCEPTED_BY[server] == parity else "refused"
                    counts[server, outcome] = counts.get((server, outcome), 0) + 1
    return counts


def test_many_threads_and_tasks_share_one_context_through_policy_swaps(active_backend: str) -> None:
    pki()  # Made once per session: before the snapshot.
    before = snapshot()
    started = time.perf_counter()
    servers = {
        "genuine": Server(polite_handler(GENUINE_BODY), server_context(pki().genuine)),
        "rogue": Server(polite_handler(ROGUE_BODY), server_context(pki().rogue)),
    }
    with servers["genuine"], servers["rogue"]:
        run = Run(servers)
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=run.raw_worker, args=(n,), name=f"wrap_socket-{n}")
            for n in range(RAW_THREADS)
        ]
        threads += [
            threading.Thread(target=run.http_worker, args=(n,), name=f"http.client-{n}")
            for n in range(HTTP_THREADS)
        ]
        threads.append(threading.Thread(target=run.asyncio_worker, args=(errors,), name="asyncio"))
        for thread in threads:
            thread.start()
        try:
            run.conduct()
        except BaseException:
            run.barrier.abort()  # Frees every worker waiting for the next phase.
            raise
        finally:
            for thread in threads:
                thread.join(60)
    elapsed = time.perf_counter() - started
    alive = [thread.name for thread in threads if thread.is_alive()]
    left = leaks(before)

    tally = run.tally
    summary = (
        f"\nload, {active_backend} backend: {tally.total()} handshakes in {elapsed:.1f} s "
        f"({tally.total() / elapsed:.0f}/s); {RAW_THREADS} wrap_socket and {HTTP_THREADS} "
        f"http.client threads and {TASKS} asyncio tasks on one context; "
        f"{run.swapper.swaps} policy swaps ({run.storm_swaps} in storms)\n{tally.table()}\n"
        f"reports (generation parity / host / enforced):\n{run.reports.table()}"
    )
    print(summary)
    assert not errors and not alive, (errors, alive, summary)
    assert tally.total() == TOTAL, summary
    assert not [key for key in tally.counts if key[2] not in ("accepted", "refused")], summary

    # Steady phases: exactly the decisions of the installed generation.
    for (server, outcome), count in expected_steady().items():
        assert tally.total(phase="steady", server=server, outcome=outcome) == count, summary
    # Storms: the policy really changed under the workers, and both parities decided, on every
    # kind of client.
    assert run.storm_swaps >= 10 * PHASES.count("storm"), summary
    for client in ("wrap_socket", "http.client", "asyncio"):
        for server in SERVERS:
            for outcome in ("accepted", "refused"):
                assert tally.total(client=client, server=server, outcome=outcome), summary

    # Every refusal was reported once, as enforced; nothing else was.
    assert run.reports.total() == tally.total(outcome="refused"), summary
    assert all(key[2] == "True" for key in run.reports.counts), summary
    # A refused client never sent a byte; every accepted one sent its request.
    for name, server in servers.items():
        requests = [data for data in server.received if data]
        assert len(requests) == tally.total(server=name, outcome="accepted"), summary
        assert all(data.startswith(b"GET / HTTP/1.1\r\n") for data in requests), summary
        assert server.accepted == tally.total(server=name), summary
        assert server.listener.fileno() == -1  # Shut down.
    assert left == [], f"left behind: {left}"


# --- The certificate functions from many threads ---------------------------------------------

HASH_THREADS = 16
HASH_ROUNDS = 5
BATCH = 1000


def der_of(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def reference_digest(cert: bytes) -> bytes:
    key = x509.load_der_x509_certificate(cert).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def test_certificate_functions_from_many_threads_at_once(active_backend: str) -> None:
    # The C core runs without the GIL: two threads hashing at once must not share any state (a
    # SHA-256 context, an output buffer). Batches are long enough for the calls to overlap.
    certs = [
        der_of(pem)
        for identity in (pki().genuine, pki().rogue, pki().client_a, pki().client_b)
        for pem in identity.chain_pems
    ]
    target = der_of(pki().self_signed.chain_pems[0])  # Only ever last: chain_match's answer.
    reference = {cert: reference_digest(cert) for cert in [*certs, target]}
    backend = _backend.backend
    barrier = threading.Barrier(HASH_THREADS, timeout=60)
    wrong: list[str] = []
    calls = Tally()

    def work(n: int) -> None:
        rng = random.Random(n)
        barrier.wait()
        for _ in range(HASH_ROUNDS):
            batch = [rng.choice(certs) for _ in range(BATCH)]
            digests = pinning.spki_sha256_many(batch)
            if digests != [reference[cert] for cert in batch]:
                wrong.append(f"thread {n}: spki_sha256_many")
            chain = [*batch, target]
            if backend.chain_match(chain, reference[target]) != BATCH:
                wrong.append(f"thread {n}: chain_match")
            one = batch[n % BATCH]
            if pinning.spki_sha256(one) != reference[one]:
                wrong.append(f"thread {n}: spki_sha256")
            calls.add("batches")

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(HASH_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.perf_counter() - started
    hashed = calls.total() * (2 * BATCH + 2)
    print(
        f"\n{active_backend} backend: {hashed} certificates hashed by {HASH_THREADS} threads "
        f"at once in {elapsed:.2f} s, {len(wrong)} wrong answers"
    )
    assert not any(thread.is_alive() for thread in threads)
    assert calls.total() == HASH_THREADS * HASH_ROUNDS
    assert wrong == []
