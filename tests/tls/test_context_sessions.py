"""Resumed TLS sessions (ARCHITECTURE.md, decision 7) and the bounded memory of passed sessions."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator

import pytest
from tlsutil import (
    HOST,
    Server,
    connect,
    genuine_policy,
    greeting_handler,
    pin_only_context,
    pki,
    policy,
    serving,
)
from tlsutil import client_context as make_client

from pinning.policy.failure import PinMismatch
from pinning.policy.policy import PinFailure, PinPolicy
from pinning.tls.context import pin_context
from pinning.tls.sessions import SessionMemory

VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.fixture(params=VERSIONS, ids=["TLSv1.2", "TLSv1.3"])
def version(request: pytest.FixtureRequest) -> ssl.TLSVersion:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def genuine(version: ssl.TLSVersion) -> Iterator[Server]:
    with serving(pki().genuine, greeting_handler(), maximum=version) as server:
        yield server


def full_handshake(ctx: ssl.SSLContext, server: Server) -> ssl.SSLSession:
    """Connect, read (so TLS 1.3 tickets arrive), and return the session to resume."""
    with connect(ctx, server) as tls:
        assert not tls.session_reused
        assert tls.recv(5) == b"hello"
        session = tls.session
    assert session is not None
    return session


def resume(ctx: ssl.SSLContext, server: Server, session: ssl.SSLSession) -> None:
    """Resume ``session``; raise what the handshake raises."""
    with connect(ctx, server, session=session) as tls:
        assert tls.session_reused, "the server did not resume the session"
        assert tls.recv(5) == b"hello"


def test_resumed_session_to_the_genuine_server_passes(genuine: Server) -> None:
    ctx = make_client(genuine_policy())
    session = full_handshake(ctx, genuine)
    resume(ctx, genuine, session)
    resume(ctx, genuine, session)


def test_session_set_before_connect_is_resumed_and_passes(genuine: Server) -> None:
    import socket

    ctx = make_client(genuine_policy())
    session = full_handshake(ctx, genuine)
    with ctx.wrap_socket(socket.socket(), server_hostname=HOST) as tls:
        tls.session = session  # The property setter of the pinned class.
        tls.connect(genuine.address)
        assert tls.session_reused
        assert tls.recv(5) == b"hello"


def test_only_sessions_taken_from_a_passed_connection_are_remembered(genuine: Server) -> None:
    from pinning.tls.context import _holder_of

    ctx = make_client(genuine_policy())
    holder = _holder_of(ctx)
    assert holder is not None
    with connect(ctx, genuine) as tls:
        assert tls.recv(5) == b"hello"
        assert len(holder.state.sessions) == 0  # Nothing to resume yet: nothing remembered.
        assert tls.session is not None
    assert len(holder.state.sessions) == 1


def test_resumed_session_that_did_not_pass_this_policy_is_checked_on_its_leaf(
    genuine: Server,
) -> None:
    # The session passed a policy that does not pin localhost; the new one pins the CA key, and a
    # resumed session carries no chain: only its leaf is there, and it does not match.
    ctx = make_client(policy({"other.example": [pki().genuine_ca_pin]}))
    session = full_handshake(ctx, genuine)
    pin_context(ctx, genuine_policy())
    with pytest.raises(PinMismatch) as info:
        resume(ctx, genuine, session)
    assert info.value.chain_pins == (pki().genuine.pin,)
    # A policy that pins the leaf's own key accepts the same resumed session.
    pin_context(ctx, policy({HOST: [pki().genuine.pin]}))
    resume(ctx, genuine, session)


def test_resumption_is_not_a_way_around_report_only_reporting(genuine: Server) -> None:
    reports: list[PinFailure] = []
    ctx = make_client(policy({HOST: [pki().rogue_ca_pin]}, enforce=False, reporter=reports.append))
    session = full_handshake(ctx, genuine)
    resume(ctx, genuine, session)
    assert len(reports) == 2  # The full handshake and the resumed one.


def test_a_session_that_passed_for_one_host_is_checked_for_another(genuine: Server) -> None:
    ctx = make_client(policy({HOST: [pki().genuine_ca_pin], "127.0.0.1": [pki().rogue_ca_pin]}))
    session = full_handshake(ctx, genuine)
    with (
        pytest.raises(PinMismatch),
        connect(ctx, genuine, server_hostname="127.0.0.1", session=session),
    ):
        pass


def test_pin_only_resumption_checks_the_leaf(version: ssl.TLSVersion) -> None:
    ctx = pin_only_context(policy({HOST: [pki().self_signed.pin]}))
    with serving(pki().self_signed, greeting_handler(), maximum=version) as server:
        session = full_handshake(ctx, server)
        resume(ctx, server, session)
        pin_context(ctx, policy({HOST: [pki().self_signed_other_key.pin]}))
        with pytest.raises(PinMismatch):
            resume(ctx, server, session)


# --- SessionMemory ---------------------------------------------------------------------------


def test_memory_remembers_per_host_and_certificate() -> None:
    memory = SessionMemory()
    memory.remember("Example.COM", b"leaf-1")
    assert memory.passed("example.com", b"leaf-1")
    assert not memory.passed("example.com", b"leaf-2")
    assert not memory.passed("other.example", b"leaf-1")
    memory.remember("example.com", b"leaf-1")
    assert len(memory) == 1


def test_memory_is_bounded_and_forgets_the_least_recently_used() -> None:
    memory = SessionMemory(max_entries=3)
    for n in range(3):
        memory.remember("host", b"leaf-%d" % n)
    assert memory.passed("host", b"leaf-0")  # Now the most recently used.
    memory.remember("host", b"leaf-3")
    assert len(memory) == 3
    assert not memory.passed("host", b"leaf-1")
    assert memory.passed("host", b"leaf-0")
    assert memory.passed("host", b"leaf-3")


def test_memory_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError):
        SessionMemory(max_entries=0)


def test_memory_is_thread_safe() -> None:
    memory = SessionMemory(max_entries=64)

    def work(n: int) -> None:
        for i in range(500):
            memory.remember(f"host{n}", b"%d" % i)
            memory.passed(f"host{n}", b"%d" % (i // 2))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memory) == 64


def test_swapping_the_policy_starts_an_empty_memory() -> None:
    from pinning.tls.context import _holder_of

    ctx = make_client(genuine_policy())
    first = _holder_of(ctx)
    assert first is not None
    first.state.sessions.remember(HOST, b"leaf")
    replacement: PinPolicy = genuine_policy()
    pin_context(ctx, replacement)
    holder = _holder_of(ctx)
    assert holder is first
    assert holder.state.policy is replacement
    assert len(holder.state.sessions) == 0
