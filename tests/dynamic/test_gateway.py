"""The gateway side, end to end on loopback: a real repository served over HTTP, real
handshakes against the genuine and rogue servers, on both backends."""

from __future__ import annotations

import gc
import logging
import ssl
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from tlsutil import Server, client_context, exchange, pki
from tufrepo import Published, genuine_text, outcome, policy_text, rotated_text

from pinning.dynamic import NOTHING_VERIFIED_PINS, DynamicPolicy
from pinning.policy.failure import PinMismatch

pytestmark = pytest.mark.usefixtures("active_backend")


def test_v1_pins_then_v2_swaps_in(published: Published, genuine: Server, rogue: Server) -> None:
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        state = dynamic.refresh_now()
        assert (state.source, state.version, state.error) == ("repository", 1, None)
        ctx = dynamic.attach(client_context())
        assert outcome(ctx, genuine) == "accepted"
        assert outcome(ctx, rogue) == "refused"

        published.repo.publish(rotated_text())
        assert outcome(ctx, genuine) == "accepted"  # Nothing changes before a refresh.
        state = dynamic.refresh_now()
        assert (state.source, state.version, state.error) == ("repository", 2, None)
        assert outcome(ctx, genuine) == "refused"
        assert outcome(ctx, rogue) == "accepted"
        assert state.refreshed is not None and state.checked == state.refreshed

        again = dynamic.refresh_now()  # Nothing new: the same policy object stays.
        assert again.version == 2 and again.error is None
        assert again.refreshed is not None and again.refreshed >= state.refreshed
    rogue.close()  # Joins its threads: everything it received is recorded.
    assert rogue.all_received.count(b"ping") == 1  # Only the handshake v2 accepted wrote.


def test_in_flight_handshakes_see_one_policy_or_the_other(
    published: Published, genuine: Server, rogue: Server
) -> None:
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        dynamic.refresh_now()
        ctx = dynamic.attach(client_context())
        published.repo.publish(rotated_text())
        results: list[tuple[str, str]] = []
        lock = threading.Lock()
        start = threading.Barrier(5)

        def work(n: int) -> None:
            start.wait()
            for i in range(10):
                name, server = ("genuine", genuine) if (n + i) % 2 else ("rogue", rogue)
                try:
                    found = outcome(ctx, server)
                except Exception as exc:  # Anything but a pass or a refusal fails the test.
                    found = repr(exc)
                with lock:
                    results.append((name, found))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        start.wait()
        assert dynamic.refresh_now().version == 2  # The swap, while the handshakes run.
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)
        counts = Counter(results)
        assert set(counts) <= {
            ("genuine", "accepted"),
            ("genuine", "refused"),
            ("rogue", "accepted"),
            ("rogue", "refused"),
        }, counts
        assert sum(counts.values()) == 40
        # After the swap every handshake uses v2.
        assert outcome(ctx, genuine) == "refused" and outcome(ctx, rogue) == "accepted"


def test_restart_with_the_server_down_pins_at_once_from_the_cache(
    published: Published, genuine: Server, rogue: Server, tmp_path: Path
) -> None:
    published.repo.publish(rotated_text())
    with published.gateway() as dynamic:
        assert dynamic.refresh_now().version == 1
    # The repository is gone (an unreachable address); the gateway restarts.
    down = Published(published.repo, "http://127.0.0.1:9/", published.cache)
    started = time.monotonic()
    with down.gateway() as dynamic:
        ctx = dynamic.attach(client_context())
        assert time.monotonic() - started < 1.0
        assert (dynamic.state.source, dynamic.state.version) == ("cache", 1)
        assert dynamic.wait_verified(0)
        assert outcome(ctx, rogue) == "accepted"
        assert outcome(ctx, genuine) == "refused"
        state = dynamic.refresh_now()
        assert state.error is not None and "Connection refused" in state.error
        assert (state.source, state.version, state.failures) == ("cache", 1, 1)
        assert outcome(ctx, rogue) == "accepted" and outcome(ctx, genuine) == "refused"


def test_a_tampered_cache_is_not_used(
    published: Published, genuine: Server, tmp_path: Path
) -> None:
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        dynamic.refresh_now()
    cache = published.cache / "last-good.json"
    # Someone edits the cached policy to pin the rogue CA: its hash no longer matches.
    cache.write_text(cache.read_text().replace(str(pki().genuine_ca_pin), str(pki().rogue_ca_pin)))
    down = Published(published.repo, "http://127.0.0.1:9/", published.cache)
    with down.gateway() as dynamic:
        assert dynamic.state.source == "none"
        ctx = dynamic.attach(client_context())
        with pytest.raises(PinMismatch):
            exchange(ctx, genuine)


def test_no_cache_and_no_bundled_policy_refuses_everything_until_verified(
    published: Published, genuine: Server
) -> None:
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        assert (dynamic.state.source, dynamic.state.version) == ("none", None)
        assert not dynamic.wait_verified(0)
        ctx = dynamic.attach(client_context())
        with pytest.raises(PinMismatch) as refused:
            exchange(ctx, genuine)
        assert refused.value.expected == frozenset(NOTHING_VERIFIED_PINS)
        dynamic.refresh_now()
        assert dynamic.wait_verified(0)
        assert outcome(ctx, genuine) == "accepted"
    genuine.close()
    assert genuine.all_received.count(b"ping") == 1  # The refused handshake wrote nothing.


def test_a_bundled_policy_serves_until_the_first_verified_one(
    published: Published, genuine: Server, rogue: Server, tmp_path: Path
) -> None:
    bundled = tmp_path / "bundled.toml"
    bundled.write_bytes(genuine_text())
    published.repo.publish(rotated_text())
    with published.gateway(bundled=bundled) as dynamic:
        assert dynamic.state.source == "bundled"
        ctx = dynamic.attach(client_context())
        assert outcome(ctx, genuine) == "accepted" and outcome(ctx, rogue) == "refused"
        assert dynamic.refresh_now().source == "repository"
        assert outcome(ctx, genuine) == "refused" and outcome(ctx, rogue) == "accepted"


def test_root_key_rotation_is_followed(
    published: Published, genuine: Server, rogue: Server
) -> None:
    repo = published.repo
    repo.publish(genuine_text())
    with published.gateway() as dynamic:
        assert dynamic.refresh_now().version == 1
        ctx = dynamic.attach(client_context())
        repo.rotate(["root", "targets", "snapshot", "timestamp"])  # root v2, every key new
        assert dynamic.refresh_now().error is None
        assert repo.root_version() == 2
        # The old keys are retired; only the new ones can publish, and the gateway follows.
        repo.publish(rotated_text())
        state = dynamic.refresh_now()
        assert (state.version, state.error) == (3, None), state  # targets v3
        assert outcome(ctx, genuine) == "refused" and outcome(ctx, rogue) == "accepted"
    # A restart offline verifies the cache through root v2 from the shipped root v1.
    down = Published(repo, "http://127.0.0.1:9/", published.cache)
    with down.gateway() as dynamic:
        assert (dynamic.state.source, dynamic.state.version) == ("cache", 3)


def test_the_background_thread_refreshes_and_stops(
    published: Published, genuine: Server, rogue: Server
) -> None:
    published.repo.publish(genuine_text())
    seen: list[int | None] = []
    updated = threading.Event()

    def on_refresh(state: object) -> None:
        seen.append(getattr(state, "version", None))
        if seen[-1] == 2:
            updated.set()

    dynamic = published.gateway(refresh=0.05, on_refresh=on_refresh)
    try:
        assert dynamic.wait_verified(5)
        ctx = dynamic.attach(client_context())
        assert outcome(ctx, genuine) == "accepted"
        published.repo.publish(rotated_text())
        assert updated.wait(5)
        assert outcome(ctx, rogue) == "accepted" and outcome(ctx, genuine) == "refused"
    finally:
        dynamic.stop()
    thread = dynamic._thread
    assert thread is not None and not thread.is_alive()


def test_contexts_are_held_weakly(published: Published) -> None:
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        dynamic.attach(client_context())
        kept = dynamic.attach(client_context())
        gc.collect()
        assert list(dynamic._contexts) == [kept]


def test_a_context_that_cannot_take_the_policy_is_not_attached(published: Published) -> None:
    with published.gateway() as dynamic:
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # requests no client certificate
        with pytest.raises(ValueError, match="requests none"):
            dynamic.attach(server)
        assert not list(dynamic._contexts)


def test_an_invalid_trusted_root_fails_at_once(published: Published, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not TUF root metadata"):
        DynamicPolicy(published.metadata_url, b"{}", tmp_path / "c", refresh=None)
    root = published.trusted_root.replace(b'"version": 1', b'"version": 7')
    with pytest.raises(ValueError, match="not signed by its keys"):
        DynamicPolicy(published.metadata_url, root, tmp_path / "c", refresh=None)


def test_failures_are_logged_with_the_policy_kept(
    published: Published, caplog: pytest.LogCaptureFixture
) -> None:
    published.repo.publish(policy_text(pki().genuine_ca_pin))
    down = Published(published.repo, "http://127.0.0.1:9/", published.cache)
    with down.gateway() as dynamic, caplog.at_level(logging.WARNING, "pinning.dynamic"):
        dynamic.refresh_now()
    assert "refresh from http://127.0.0.1:9/metadata/ failed, keeping policy (none)" in caplog.text


class _CallbackExit(BaseException):
    """Not an Exception: what sys.exit() or a library's own BaseException raises in a callback."""


def test_the_thread_outlives_a_callback_that_raises_a_base_exception(
    published: Published, genuine: Server, rogue: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # A refresh thread that dies keeps the policy in force for ever, with nothing in the state
    # to say that no refresh runs any more: a key rotation would never reach the gateway.
    published.repo.publish(genuine_text())
    versions: list[int | None] = []
    updated = threading.Event()

    def on_refresh(state: object) -> None:
        versions.append(getattr(state, "version", None))
        if versions[-1] == 2:
            updated.set()
        if len(versions) == 1:
            raise _CallbackExit("the metrics exporter gave up")

    with caplog.at_level(logging.ERROR, "pinning.dynamic"):
        dynamic = published.gateway(refresh=0.05, on_refresh=on_refresh)
        try:
            assert dynamic.wait_verified(5)
            ctx = dynamic.attach(client_context())
            published.repo.publish(rotated_text())
            assert updated.wait(5), versions
            assert outcome(ctx, rogue) == "accepted" and outcome(ctx, genuine) == "refused"
        finally:
            dynamic.stop()
    assert "the metrics exporter gave up" in caplog.text


def test_nothing_verified_refuses_addresses_unnamed_peers_and_pin_only_contexts(
    published: Published, genuine: Server
) -> None:
    with published.gateway() as dynamic:
        assert dynamic.state.source == "none"
        by_address = dynamic.attach(client_context())
        unnamed = client_context()
        unnamed.check_hostname = False
        dynamic.attach(unnamed)
        pin_only = ssl.create_default_context()
        pin_only.check_hostname = False
        pin_only.verify_mode = ssl.CERT_NONE
        dynamic.attach(pin_only)
        for ctx, host in ((by_address, "127.0.0.1"), (unnamed, None), (pin_only, None)):
            with pytest.raises(PinMismatch):
                exchange(ctx, genuine, server_hostname=host)
    genuine.close()
    assert b"ping" not in genuine.all_received
