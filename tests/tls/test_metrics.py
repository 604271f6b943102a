"""The counts of ``PinPolicy.metrics()`` after real handshakes: each connection counted once, in
the row of the rule that decided it, under the outcome the handshake really had."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator

import pytest
from tlsutil import (
    HOST,
    LOOPBACK,
    Server,
    connect,
    exchange,
    greeting_handler,
    pin_only_context,
    pki,
    policy,
    server_context,
)
from tlsutil import client_context as make_client

from pinning import OutcomeCounts, PolicyMetrics
from pinning.policy.failure import PinFailure, PinMismatch
from pinning.policy.metrics import OUTCOMES, UNPINNED
from pinning.policy.policy import PinPolicy
from pinning.tls.context import pin_context

UTC = dt.timezone.utc
pytestmark = pytest.mark.usefixtures("active_backend")


def counts(pinned: PinPolicy, rule: str = HOST) -> dict[str, int]:
    """The non-zero counts of one row."""
    metrics = pinned.metrics()
    row = metrics.unpinned if rule == UNPINNED else metrics.rules[rule]
    return {outcome: n for outcome, n in row.as_dict().items() if n}


def refused(ctx: ssl.SSLContext, server: Server, **options: object) -> None:
    with pytest.raises(PinMismatch):
        exchange(ctx, server, **options)


def test_a_new_policy_counts_nothing() -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin], "*": [pki().genuine_ca_pin]})
    metrics = pinned.metrics()
    assert isinstance(metrics, PolicyMetrics)
    assert list(metrics.rules) == [HOST, "*"]
    assert metrics.total == OutcomeCounts()
    assert [rule for rule, _ in metrics.rows()] == [HOST, "*", UNPINNED]
    assert metrics.since <= dt.datetime.now(UTC)
    assert metrics.since.utcoffset() == dt.timedelta(0)
    with pytest.raises(TypeError):
        metrics.rules[HOST] = OutcomeCounts()  # type: ignore[index]


def test_fast_path_remembered_and_refused(genuine: Server, rogue: Server) -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    assert exchange(ctx, genuine) == b"hello"  # hashed on the fast path
    assert exchange(ctx, genuine) == b"hello"  # the same chain, remembered
    assert exchange(ctx, genuine) == b"hello"
    refused(ctx, rogue)
    refused(ctx, rogue)
    assert counts(pinned) == {"fast_path": 1, "remembered": 2, "refused": 2}
    assert pinned.metrics().unpinned == OutcomeCounts()
    assert rogue.all_received == b""


def test_the_whole_check_counts_passed(genuine: Server) -> None:
    # With check_hostname off, the fast path is not taken: pinning verifies the name itself, and
    # the whole check decides.
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    ctx.check_hostname = False
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    assert counts(pinned) == {"passed": 2}


def test_a_name_pinning_cannot_verify_is_a_refusal_of_its_rule(genuine: Server) -> None:
    # The TLS layer refuses before the policy's check: counted all the same, in the host's row.
    pinned = policy({"other.example": [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    ctx.check_hostname = False
    refused(ctx, genuine, server_hostname="other.example")
    assert counts(pinned, "other.example") == {"refused": 1}


def test_unpinned_hosts_and_the_star_rule_have_rows_of_their_own(
    genuine: Server, rogue: Server
) -> None:
    unpinned = policy({"other.example": [pki().genuine_ca_pin]})
    ctx = make_client(unpinned)
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, rogue) == b"hello"  # not pinned: let through, and counted so
    assert counts(unpinned, UNPINNED) == {"passed": 2}
    assert counts(unpinned, "other.example") == {}

    star = policy({"*": [pki().genuine_ca_pin]})
    ctx = make_client(star)
    assert exchange(ctx, genuine, server_hostname=LOOPBACK) == b"hello"
    refused(ctx, rogue, server_hostname=LOOPBACK)
    assert counts(star, "*") == {"fast_path": 1, "refused": 1}
    assert counts(star, UNPINNED) == {}

    strict = policy({"other.example": [pki().genuine_ca_pin]}, strict=True)
    refused(make_client(strict), genuine)
    assert counts(strict, UNPINNED) == {"refused": 1}


def test_report_only_failures(genuine: Server, rogue: Server) -> None:
    reports: list[PinFailure] = []
    pinned = policy({HOST: [pki().genuine_ca_pin]}, enforce=False, reporter=reports.append)
    ctx = make_client(pinned)
    assert exchange(ctx, rogue) == b"hello"
    assert exchange(ctx, rogue) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    assert counts(pinned) == {"report_only": 2, "fast_path": 1}
    assert len(reports) == 2


def test_expired_rule_and_policy_let_connections_through_and_count_them(
    genuine: Server, rogue: Server, caplog: pytest.LogCaptureFixture
) -> None:
    past = dt.date(2020, 1, 1)
    pins = [pki().genuine_ca_pin, pki().rogue_ca_pin]
    rule_expired = PinPolicy([(HOST, pins, past)])
    ctx = make_client(rule_expired)
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, rogue) == b"hello"
    assert counts(rule_expired) == {"expired": 2}

    policy_expired = PinPolicy({HOST: pins}, expires=past)
    ctx = make_client(policy_expired)
    assert exchange(ctx, rogue) == b"hello"
    assert exchange(ctx, genuine, server_hostname=LOOPBACK) == b"hello"
    assert counts(policy_expired) == {"expired": 1}
    assert counts(policy_expired, UNPINNED) == {"expired": 1}


def test_pin_only_refusals_and_passes(genuine: Server) -> None:
    # Pin-only: only the leaf counts; the whole check decides (no fast path without verification).
    leaf_pinned = policy({HOST: [pki().genuine.pin]})
    ctx = pin_only_context(leaf_pinned)
    assert exchange(ctx, genuine) == b"hello"
    ca_pinned = policy({HOST: [pki().genuine_ca_pin]})
    refused(pin_only_context(ca_pinned), genuine)
    assert counts(leaf_pinned) == {"passed": 1}
    assert counts(ca_pinned) == {"refused": 1}


def test_resumed_sessions(genuine: Server) -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    with connect(ctx, genuine) as tls:
        assert tls.recv(5) == b"hello"  # so that TLS 1.3 tickets arrive
        session = tls.session
    for _ in range(3):
        with connect(ctx, genuine, session=session) as tls:
            assert tls.session_reused
            assert tls.recv(5) == b"hello"
    assert counts(pinned) == {"fast_path": 1, "resumed": 3}


@pytest.fixture
def mtls() -> Iterator[tuple[PinPolicy, Server]]:
    """A pinned server asking for (optional) client certificates, pinning client A's key."""
    ctx = server_context(pki().genuine, client_certs=ssl.CERT_OPTIONAL)
    pinned = policy({"*": [pki().client_a.pin]})
    pin_context(ctx, pinned)
    with Server(greeting_handler(), ctx) as server:
        yield pinned, server


def test_server_side_counts_clients_in_the_star_row(mtls: tuple[PinPolicy, Server]) -> None:
    pinned, server = mtls
    for identity in (pki().client_a, pki().client_b, None):
        ctx = make_client()
        if identity is not None:
            identity.load_into(ctx)
        try:
            with connect(ctx, server) as tls:
                tls.recv(5)
        except OSError:
            pass  # client B: refused by the server (TLS 1.3: after the client's handshake)
    server.close()  # the server's threads have decided every handshake
    assert counts(pinned, "*") == {"passed": 1, "refused": 1}
    # A client without a certificate is the application's decision (CERT_OPTIONAL): not pinned.
    assert counts(pinned, UNPINNED) == {"passed": 1}


def test_a_new_policy_on_the_context_counts_from_zero(genuine: Server) -> None:
    first = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(first)
    assert exchange(ctx, genuine) == b"hello"
    second = policy({HOST: [pki().genuine_ca_pin]})
    pin_context(ctx, second)
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    assert counts(first) == {"fast_path": 1}
    assert counts(second) == {"fast_path": 1, "remembered": 1}
    assert second.metrics().since >= first.metrics().since


def test_direct_checks_count_too() -> None:
    chain = [ssl.PEM_cert_to_DER_cert(pki().genuine.chain_pems[0].decode())]
    pinned = policy({HOST: [pki().rogue_ca_pin]}, enforce=False, reporter=lambda f: None)
    pinned.check(HOST, chain)
    pinned.check("unpinned.example", chain)
    assert counts(pinned) == {"report_only": 1}
    assert counts(pinned, UNPINNED) == {"passed": 1}


THREADS = 8
PER_THREAD = 25


def test_every_handshake_of_many_threads_is_counted(genuine: Server, rogue: Server) -> None:
    # N threads x M handshakes on one context, the fast path and refusals interleaved: exactly
    # N x M counted, none lost to a race.
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = make_client(pinned)
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(PER_THREAD):
                if (index + n) % 5 == 0:
                    refused(ctx, rogue)
                else:
                    assert exchange(ctx, genuine) == b"hello"
        except BaseException as exc:  # reported below, with the counts
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    row = pinned.metrics().rules[HOST]
    total = THREADS * PER_THREAD
    assert row.total == total
    assert row.refused == sum(
        1 for i in range(THREADS) for n in range(PER_THREAD) if (i + n) % 5 == 0
    )
    assert row.fast_path + row.remembered == total - row.refused
    assert row.remembered >= 1


def test_outcomes_are_the_fields_of_the_counts() -> None:
    assert tuple(OutcomeCounts().as_dict()) == OUTCOMES
    assert (OutcomeCounts(passed=1) + OutcomeCounts(refused=2)).total == 3
