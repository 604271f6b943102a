"""gevent and eventlet: pinned connections on their own socket classes, in both import orders.

Monkey-patching is process-global and irreversible, so each scenario runs its clients in a fresh
process (``tests/green/scenario.py``), once per stack and order: ``import pinning`` then patch, or
patch then ``import pinning``. The servers run here, unpatched, in threads, one per client and
kind of server, so each test sees every byte its server received. The client trusts the genuine
CA, the rogue CA and the rogue's self-signed certificate, and pins the genuine CA's key: only the
pins stop the attackers, inside the handshake, before one byte of the request (``SECRET``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tlsutil import (
    GENUINE_BODY,
    SECRET,
    Handler,
    Identity,
    Server,
    eager_handler,
    http_handler,
    pki,
    serving,
)

# Only the scenarios' processes import gevent and eventlet. Importing eventlet here would leave
# this process a second httpcore, imported under eventlet's green modules (its green DNS imports
# dnspython, which imports httpcore), and httpx's HTTP/2 in later tests speaking HTTP/1.1.
for _stack in ("gevent", "eventlet"):
    if importlib.util.find_spec(_stack) is None:
        pytest.skip(f"{_stack} is not installed", allow_module_level=True)

SCENARIO = Path(__file__).parent / "green" / "scenario.py"
STACKS = ("gevent", "eventlet")
ORDERS = ("pinning-first", "patch-first")
CLIENTS = (
    "wrap_socket",
    "deferred-handshake",
    "explicit-handshake",
    "connect",
    "pin_context",
    "http.client",
    "requests-pinned_session",
    "requests-PinningAdapter",
)
REQUESTS_CLIENTS = ("requests-pinned_session", "requests-PinningAdapter")
ATTACKERS = ("rogue-ca", "chain-stuffing", "rogue-self-signed")
# The stack's own classes, as the patched ssl module names them.
STACK_CLASSES = {
    "gevent": ("gevent.ssl.SSLContext", "gevent.ssl.SSLSocket"),
    "eventlet": ("eventlet.green.ssl.GreenSSLContext", "eventlet.green.ssl.GreenSSLSocket"),
}


def _kinds() -> dict[str, tuple[Identity, Handler]]:
    return {
        "genuine": (pki().genuine, http_handler()),
        "rogue-ca": (pki().rogue, eager_handler()),
        "chain-stuffing": (pki().stuffed, eager_handler()),
        "rogue-self-signed": (pki().self_signed, eager_handler()),
    }


@dataclass
class Run:
    """One scenario process: its results, and what each server received."""

    results: dict[str, Any]
    received: dict[tuple[str, str], bytes]
    accepted: dict[tuple[str, str], int]
    stderr: str

    def attempt(self, client: str, kind: str) -> dict[str, Any]:
        return self.results["attempts"][client][kind]  # type: ignore[no-any-return]


_RUNS: dict[tuple[str, str], Run] = {}


def _execute(stack: str, order: str, clients: tuple[str, ...]) -> Run:
    trusted = [
        pki().genuine_ca.cert_pem.bytes().decode(),
        pki().rogue_ca.cert_pem.bytes().decode(),
        pki().self_signed.chain_pems[0].decode(),  # the attacker's own, trusted: pins must refuse
    ]
    servers: dict[tuple[str, str], Server] = {}
    with contextlib.ExitStack() as stack_of_servers, tempfile.TemporaryDirectory() as folder:
        for client in clients:
            for kind, (identity, handler) in _kinds().items():
                servers[client, kind] = stack_of_servers.enter_context(serving(identity, handler))
        config = {
            "cadata": "".join(trusted),
            "genuine_ca_pem": pki().genuine_ca.cert_pem.bytes().decode(),
            "servers": {
                client: {kind: servers[client, kind].port for kind in _kinds()}
                for client in clients
            },
        }
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        done = subprocess.run(
            [sys.executable, str(SCENARIO), stack, order, str(path)],
            capture_output=True,
            text=True,
            timeout=240,
            # EVENTLET_NO_GREENDNS: eventlet's green DNS imports dnspython, whose DNS-over-HTTPS
            # support imports httpx, httpcore and (installed for other tests) trio, whose socket
            # module cannot be defined over eventlet's patched socket on 3.10 (GreenSocket has
            # no sendmsg). The scenarios resolve nothing but 127.0.0.1 and localhost.
            env={**os.environ, "PYTHONWARNINGS": "ignore", "EVENTLET_NO_GREENDNS": "yes"},
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (
        f"scenario {stack} {order} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    )
    return Run(
        results=json.loads(lines[-1]),
        received={key: server.all_received for key, server in servers.items()},
        accepted={key: server.accepted for key, server in servers.items()},
        stderr=done.stderr,
    )


def run(stack: str, order: str, clients: tuple[str, ...] = CLIENTS) -> Run:
    """The scenario of ``stack`` and ``order``, run once for the whole module."""
    if (stack, order) not in _RUNS:
        _RUNS[stack, order] = _execute(stack, order, clients)
    return _RUNS[stack, order]


both_stacks_and_orders = pytest.mark.parametrize(
    ("stack", "order"), [(stack, order) for stack in STACKS for order in ORDERS]
)


@both_stacks_and_orders
@pytest.mark.parametrize("client", CLIENTS)
def test_genuine_server_is_accepted(stack: str, order: str, client: str) -> None:
    scenario = run(stack, order)
    result = scenario.attempt(client, "genuine")
    assert result["error"] is None, result
    assert result["body"].encode("latin-1") == GENUINE_BODY
    assert SECRET.encode() in scenario.received[client, "genuine"]


@both_stacks_and_orders
@pytest.mark.parametrize("kind", ATTACKERS)
@pytest.mark.parametrize("client", CLIENTS)
def test_attacker_is_refused_in_the_handshake_before_any_byte(
    stack: str, order: str, client: str, kind: str
) -> None:
    scenario = run(stack, order)
    result = scenario.attempt(client, kind)
    assert result["body"] is None, result
    assert result["pin_mismatch"], result  # refused by the pins, not by anything else
    if client in REQUESTS_CLIENTS:
        assert result["error"] == "requests.exceptions.SSLError", result
    assert scenario.accepted[client, kind] >= 1  # the client did reach the attacker,
    assert scenario.received[client, kind] == b""  # and sent it nothing at all


@both_stacks_and_orders
def test_contexts_build_pinned_connections_of_the_stacks_own_class(stack: str, order: str) -> None:
    facts = run(stack, order).results["facts"]
    green_context, green_socket = STACK_CLASSES[stack]
    assert facts["ssl.SSLSocket"] == green_socket  # the process is patched,
    # and pinning's own classes still derive from the standard library's:
    assert facts["PinnedSSLSocket base"] == "ssl.SSLSocket"
    assert facts["PinnedSSLObject base"] == "ssl.SSLObject"
    assert "context error" not in facts, facts
    assert facts["backend"] == os.environ.get("PINNING_BACKEND", facts["backend"])
    assert facts["context"] == green_context  # pinning.create_default_context: the stack's
    assert green_socket in facts["sslsocket_class mro"]  # connections of the stack's class,
    assert "pinning.tls.connection.PinnedConnection" in facts["sslsocket_class mro"]  # pinned,
    assert facts["wrap_socket recorded"]  # the verify mode recorded when the _ssl object was made
    assert facts["wrap_bio pinned"]
    assert facts["pinned"]


@both_stacks_and_orders
def test_a_context_whose_wrap_socket_ignores_the_class_is_refused_by_name(
    stack: str, order: str
) -> None:
    assert run(stack, order).results["facts"]["custom"] == "refused"


BEFORE_CLIENTS = ("wrap_socket", "http.client", "requests-PinningAdapter")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", ["genuine", *ATTACKERS])
@pytest.mark.parametrize("client", BEFORE_CLIENTS)
def test_a_context_pinned_before_patching_refuses_loudly(
    stack: str, client: str, kind: str
) -> None:
    # The stack replaces ssl.SSLSocket, which the standard library's constructor names: a context
    # made before the patching can make no connection afterwards, pinned or not. Pinned, it says
    # so with NotPinnableError, and nothing reaches any server.
    scenario = run(stack, "pinned-before", BEFORE_CLIENTS)
    result = scenario.attempt(client, kind)
    assert result["body"] is None, result
    if client in REQUESTS_CLIENTS:
        # Before any connection, urllib3 sets verify_mode, and the standard library's setter
        # (super(SSLContext, SSLContext), the name the stack replaced) recurses: the stack's own
        # breakage of every context made before the patching, pinned or not.
        assert result["error"] == "builtins.RecursionError", result
    else:
        assert "pinning.core.errors.NotPinnableError" in result["chain"], result
        assert "monkey-patching" in result["message"], result
    assert scenario.received[client, kind] == b""
