"""PolicyFile: a policy file reloaded on demand, by its watcher and on SIGHUP, swapped into the
contexts it serves, with real handshakes across reloads; a bad file keeps the last good policy."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import urllib3
from tlsutil import (
    BACKUP_PIN,
    GENUINE_BODY,
    HOST,
    TIMEOUT,
    Server,
    client_context,
    eager_handler,
    http_handler,
    pki,
    read_request,
    server_context,
)

from pinning import PolicyError, PolicyFile, find_pin_mismatch, pinned_policy
from pinning.policy.pins import Pin
from pinning.requests import pin_session

pytestmark = pytest.mark.usefixtures("active_backend")


def _policy_text(pin: Pin) -> str:
    return f'[[rule]]\nhosts = ["{HOST}"]\npins = ["{pin}", "{BACKUP_PIN}"]\n'


def _write(path: Path, text: str) -> None:
    """Replace the file as editors and deployment tools do: a new file renamed over the old."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    _write(path, _policy_text(pki().genuine_ca_pin))
    return path


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    with (
        Server(http_handler(), server_context(pki().genuine)) as genuine,
        Server(eager_handler(), server_context(pki().rogue)) as rogue,
    ):
        yield genuine, rogue


def _accepted(ctx: ssl.SSLContext, server: Server) -> bool:
    """One handshake: True if accepted, False if refused by the pins; anything else fails."""
    raw = socket.create_connection(server.address, timeout=TIMEOUT)
    try:
        with ctx.wrap_socket(raw, server_hostname=HOST):
            return True
    except ssl.SSLCertVerificationError as exc:
        assert find_pin_mismatch(exc) is not None, repr(exc)
        return False


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.01)


def test_reload_swaps_the_new_pins_into_every_attached_context(
    policy_path: Path, servers: tuple[Server, Server]
) -> None:
    genuine, rogue = servers
    policy_file = PolicyFile(policy_path)
    first, second = policy_file.attach(client_context()), policy_file.attach(client_context())
    assert all(_accepted(ctx, genuine) and not _accepted(ctx, rogue) for ctx in (first, second))
    _write(policy_path, _policy_text(pki().rogue_ca_pin))
    assert policy_file.reload() is True
    assert policy_file.generation == 2 and policy_file.last_error is None
    for ctx in (first, second):
        assert pinned_policy(ctx) is policy_file.policy
        assert _accepted(ctx, rogue) and not _accepted(ctx, genuine)


def test_a_bad_file_keeps_the_last_good_policy_and_says_where(
    policy_path: Path, servers: tuple[Server, Server]
) -> None:
    genuine, rogue = servers
    policy_file = PolicyFile(policy_path)
    ctx = policy_file.attach(client_context())
    good = policy_file.policy
    _write(policy_path, _policy_text(pki().rogue_ca_pin) + 'pins = ["sha256/not-a-pin"]\n')
    with pytest.raises(PolicyError, match=r"pins\.toml:4"):
        policy_file.reload()
    assert policy_file.policy is good and pinned_policy(ctx) is good
    assert policy_file.generation == 1
    assert policy_file.last_error is not None and "pins.toml:4" in policy_file.last_error
    assert _accepted(ctx, genuine) and not _accepted(ctx, rogue)
    policy_path.unlink()
    with pytest.raises(OSError):
        policy_file.reload()
    assert pinned_policy(ctx) is good and _accepted(ctx, genuine)


def test_the_watcher_reloads_a_changed_file_and_logs_a_bad_one(
    policy_path: Path, servers: tuple[Server, Server], caplog: pytest.LogCaptureFixture
) -> None:
    genuine, rogue = servers
    with PolicyFile(policy_path, poll=0.01).start() as policy_file:
        ctx = policy_file.attach(client_context())
        _write(policy_path, _policy_text(pki().rogue_ca_pin))
        _eventually(lambda: policy_file.generation == 2)
        assert _accepted(ctx, rogue) and not _accepted(ctx, genuine)
        with caplog.at_level(logging.WARNING, logger="pinning"):
            _write(policy_path, "[[rule]]\nhosts = [\n")
            _eventually(lambda: policy_file.last_error is not None)
        assert policy_file.generation == 2 and _accepted(ctx, rogue)
        (record,) = [r for r in caplog.records if "not reloaded" in r.getMessage()]
        assert "pins.toml:" in record.getMessage()
        assert record.pinning_policy_file == str(policy_path)  # type: ignore[attr-defined]
        _write(policy_path, _policy_text(pki().genuine_ca_pin))
        _eventually(lambda: policy_file.generation == 3)
        assert policy_file.last_error is None and _accepted(ctx, genuine)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_the_sighup_recipe(policy_path: Path, servers: tuple[Server, Server]) -> None:
    genuine, rogue = servers
    with PolicyFile(policy_path, poll=0.01).start() as policy_file:
        ctx = policy_file.attach(client_context())
        previous = signal.signal(signal.SIGHUP, lambda *_: policy_file.request_reload())
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            _eventually(lambda: policy_file.generation == 2)  # reloaded, though unchanged
        finally:
            signal.signal(signal.SIGHUP, previous)
        assert _accepted(ctx, genuine) and not _accepted(ctx, rogue)


def test_handshakes_during_reloads_see_one_policy_or_the_other(
    policy_path: Path, servers: tuple[Server, Server]
) -> None:
    genuine, _ = servers
    policy_file = PolicyFile(policy_path)
    ctx = policy_file.attach(client_context())
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def handshakes() -> None:
        try:
            while not stop.is_set():
                outcomes.append(_accepted(ctx, genuine))
        except BaseException as exc:  # anything but accepted or a PinMismatch
            errors.append(exc)

    workers = [threading.Thread(target=handshakes) for _ in range(2)]
    for worker in workers:
        worker.start()
    for pin in [pki().rogue_ca_pin, pki().genuine_ca_pin] * 3:
        _write(policy_path, _policy_text(pin))
        policy_file.reload()
        time.sleep(0.02)
    stop.set()
    for worker in workers:
        worker.join(TIMEOUT)
    assert not errors
    assert True in outcomes and False in outcomes
    assert _accepted(ctx, genuine)


def test_the_first_read_must_succeed(tmp_path: Path) -> None:
    path = tmp_path / "pins.toml"
    path.write_text('[[rule]]\nhosts = ["a.example"]\n')
    with pytest.raises(PolicyError, match=r"pins\.toml"):
        PolicyFile(path)
    with pytest.raises(FileNotFoundError):
        PolicyFile(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="poll"):
        PolicyFile(path, poll=0)


def _keep_alive_handler(sock: socket.socket, server: Server) -> None:
    """A genuine server that answers every request of a connection (HTTP/1.1 keep-alive)."""
    while True:
        request = read_request(sock)
        if not request:
            return
        server.record(request)
        with contextlib.suppress(OSError):
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: "
                + str(len(GENUINE_BODY)).encode()
                + b"\r\n\r\n"
                + GENUINE_BODY
            )


def test_pooled_connections_outlive_a_swap_until_the_pools_are_dropped(
    policy_path: Path,
) -> None:
    """What the manual says of keep-alive pools: a swap checks new handshakes only; a swap hook
    that clears the client's pools makes the next request handshake under the new policy."""
    policy_file = PolicyFile(policy_path)
    ctx = policy_file.attach(client_context())
    with (
        Server(_keep_alive_handler, server_context(pki().genuine)) as server,
        urllib3.PoolManager(ssl_context=ctx, retries=False, timeout=TIMEOUT) as pool,
    ):
        assert pool.request("GET", server.url).data == GENUINE_BODY
        _write(policy_path, _policy_text(pki().rogue_ca_pin))  # the genuine key is now refused
        policy_file.reload()
        # The pooled connection passed the old policy and is used again, unchecked:
        assert pool.request("GET", server.url).data == GENUINE_BODY
        policy_file.on_swap(lambda _policy: pool.clear())
        _write(policy_path, _policy_text(pki().rogue_ca_pin) + "# again\n")
        policy_file.reload()
        with pytest.raises(urllib3.exceptions.SSLError) as info:
            pool.request("GET", server.url)
        assert find_pin_mismatch(info.value) is not None


def pinned_session_of(ctx: ssl.SSLContext) -> requests.Session:
    return pin_session(requests.Session(), ssl_context=ctx)


def test_a_requests_session_drops_its_pools_on_swap(policy_path: Path) -> None:
    policy_file = PolicyFile(policy_path)
    ctx = policy_file.attach(client_context())
    with (
        Server(_keep_alive_handler, server_context(pki().genuine)) as server,
        pinned_session_of(ctx) as session,
    ):
        assert session.get(server.url, timeout=TIMEOUT).content == GENUINE_BODY
        policy_file.on_swap(lambda _policy: session.close())  # closes the adapters' pools only
        _write(policy_path, _policy_text(pki().rogue_ca_pin))
        policy_file.reload()
        with pytest.raises(requests.exceptions.SSLError) as info:
            session.get(server.url, timeout=TIMEOUT)
        assert find_pin_mismatch(info.value) is not None
        _write(policy_path, _policy_text(pki().genuine_ca_pin))
        policy_file.reload()
        assert session.get(server.url, timeout=TIMEOUT).content == GENUINE_BODY  # still usable
