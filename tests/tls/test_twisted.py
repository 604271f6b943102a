"""pinning.twisted: Agent and treq, and a Scrapy crawl, against loopback servers.

Twisted's reactor runs once for the whole module, in a thread (it cannot be restarted); each test
calls treq through it. The attackers answer right after the handshake (tlsutil.eager_handler) and
record every byte they receive: a pinned client must refuse them inside the handshake, so they
receive nothing, over TLS 1.3 and over TLS 1.2 alike. The Scrapy crawl runs in a subprocess
(tests/tls/twisted/crawl.py), since it runs a reactor of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import treq
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from OpenSSL import SSL
from service_identity import VerificationError
from tlsutil import (
    GENUINE_BODY,
    HOST,
    LOOPBACK,
    ROGUE_BODY,
    SECRET,
    TIMEOUT,
    eager_handler,
    genuine_policy,
    http_handler,
    pki,
    policy,
    serving,
)
from twisted.internet import reactor as _reactor
from twisted.internet.ssl import Certificate, trustRootFromCertificates
from twisted.internet.threads import blockingCallFromThread
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseNeverReceived,
)

from pinning import PinFailure, PinMismatch, PinPolicy, PolicyError, find_pin_mismatch
from pinning.twisted import PinnedPolicyForHTTPS, PinnedScrapyContextFactory, pinned_client_tls

reactor: Any = _reactor
HEADERS = {"X-Secret": SECRET, "Content-Type": "text/plain"}
BODY = f"password={SECRET}".encode()
CRAWL = Path(__file__).parent / "twisted" / "crawl.py"
VERSIONS = {"TLS 1.3": None, "TLS 1.2": ssl.TLSVersion.TLSv1_2}
BACKENDS = ("c", "pure")
ATTACKERS = {"rogue CA": "rogue", "chain stuffing": "stuffed"}


@pytest.fixture(scope="module", autouse=True)
def running_reactor() -> Iterator[None]:
    """Twisted's reactor, running in a thread for the module's tests."""
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    yield
    reactor.callFromThread(reactor.stop)
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def trust_root() -> Any:
    """The client's CAs: the genuine one and the rogue (corporate) one."""
    return trustRootFromCertificates(
        [
            Certificate.loadPEM(pki().genuine_ca.cert_pem.bytes()),
            Certificate.loadPEM(pki().rogue_ca.cert_pem.bytes()),
        ]
    )


class Refused:
    """What the request's Deferred failed with."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def post(url: str, context_factory: Any) -> bytes | Refused:
    """POST the secret through treq and an Agent with ``context_factory``; return the body, or
    the Failure treq's Deferred errbacked with."""

    def request() -> Any:
        pool = HTTPConnectionPool(reactor, persistent=False)
        agent = Agent(reactor, contextFactory=context_factory, pool=pool)
        deferred = treq.post(url, data=BODY, headers=HEADERS, agent=agent, timeout=TIMEOUT)
        deferred.addCallback(treq.content)
        deferred.addErrback(Refused)
        return deferred

    result: bytes | Refused = blockingCallFromThread(reactor, request)
    return result


def pinned(pins: PinPolicy) -> PinnedPolicyForHTTPS:
    return PinnedPolicyForHTTPS(pins, trust_root())


def the_reason(refused: bytes | Refused) -> BaseException:
    """The error Agent gives for the connection: inside the ``reasons`` of ResponseNeverReceived,
    or of RequestTransmissionFailed when the connection was lost while the request was written
    into the (still handshaking) TLS connection."""
    assert isinstance(refused, Refused), refused
    error = refused.failure.value
    assert isinstance(error, (ResponseNeverReceived, RequestTransmissionFailed)), repr(error)
    assert len(error.reasons) == 1, error.reasons
    reason: BaseException = error.reasons[0].value
    return reason


@pytest.mark.parametrize("version", VERSIONS)
def test_genuine_server_is_accepted(active_backend: str, version: str) -> None:
    seen: list[PinFailure] = []
    with serving(pki().genuine, http_handler(), maximum=VERSIONS[version]) as server:
        assert post(server.url, pinned(genuine_policy(reporter=seen.append))) == GENUINE_BODY
    assert SECRET.encode() in server.all_received
    assert seen == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("attacker", ATTACKERS)
def test_attacker_is_refused_in_the_handshake(
    active_backend: str, attacker: str, version: str
) -> None:
    seen: list[PinFailure] = []
    identity = getattr(pki(), ATTACKERS[attacker])
    with serving(identity, eager_handler(), maximum=VERSIONS[version]) as server:
        refused = post(server.url, pinned(genuine_policy(reporter=seen.append)))
    reason = the_reason(refused)
    assert isinstance(reason, PinMismatch)
    assert str(reason).startswith("Certificate pinning failure for localhost!")
    assert isinstance(refused, Refused) and find_pin_mismatch(refused.failure) is reason
    assert server.accepted == 1
    assert server.all_received == b""  # Not one byte of the request.
    assert len(seen) == 1 and seen[0].hostname == HOST and seen[0].enforced
    assert seen[0].port == server.port
    assert seen[0].chain_pins[-1] == pki().rogue_ca_pin  # The verified chain: the rogue CA's.


def test_untrusted_self_signed_server_is_refused_by_openssl(active_backend: str) -> None:
    seen: list[PinFailure] = []
    with serving(pki().self_signed, eager_handler()) as server:
        refused = post(server.url, pinned(genuine_policy(reporter=seen.append)))
    assert isinstance(the_reason(refused), SSL.Error)
    assert isinstance(refused, Refused) and find_pin_mismatch(refused.failure) is None
    assert server.all_received == b""
    assert seen == []  # OpenSSL refused the chain: no pin was compared.


@pytest.mark.parametrize("version", VERSIONS)
def test_a_genuine_certificate_for_another_name_is_refused(
    active_backend: str, version: str
) -> None:
    # Signed by the pinned CA, but for other.example: only the name check refuses it.
    seen: list[PinFailure] = []
    with serving(pki().genuine_other_name, eager_handler(), maximum=VERSIONS[version]) as server:
        refused = post(server.url, pinned(genuine_policy(reporter=seen.append)))
    assert isinstance(the_reason(refused), VerificationError)
    assert server.all_received == b""
    assert seen == []


def test_report_only_reports_once_and_lets_the_rogue_through(active_backend: str) -> None:
    seen: list[PinFailure] = []
    with serving(pki().rogue, http_handler(ROGUE_BODY)) as server:
        answer = post(server.url, pinned(genuine_policy(enforce=False, reporter=seen.append)))
    assert answer == ROGUE_BODY
    assert len(seen) == 1 and not seen[0].enforced


def test_an_expired_policy_lets_the_rogue_through(active_backend: str) -> None:
    seen: list[PinFailure] = []
    expired = genuine_policy(expires=dt.date(2020, 1, 1), reporter=seen.append)
    with serving(pki().rogue, http_handler(ROGUE_BODY)) as server:
        assert post(server.url, pinned(expired)) == ROGUE_BODY
    assert seen == []


def test_strict_refuses_a_host_without_a_rule(active_backend: str) -> None:
    strict = policy({"other.example": [pki().genuine_ca_pin]}, strict=True)
    with serving(pki().genuine, eager_handler()) as server:
        reason = the_reason(post(server.url, pinned(strict)))
    assert isinstance(reason, PinMismatch) and "strict" in str(reason)
    assert server.all_received == b""


def test_the_most_specific_rule_decides(active_backend: str) -> None:
    # "*" holds the rogue CA's pin, but "localhost" has a rule of its own: the genuine CA's.
    rules = policy({"*": [pki().rogue_ca_pin], HOST: [pki().genuine_ca_pin]})
    with serving(pki().rogue, eager_handler()) as server:
        assert isinstance(the_reason(post(server.url, pinned(rules))), PinMismatch)
    assert server.all_received == b""


def test_an_ip_address_host_is_pinned_as_such(active_backend: str) -> None:
    by_address = policy({LOOPBACK: [pki().genuine_ca_pin]})
    with serving(pki().genuine, http_handler()) as server:
        url = f"https://{LOOPBACK}:{server.port}/"
        assert post(url, pinned(by_address)) == GENUINE_BODY
    with serving(pki().rogue, eager_handler()) as server:
        url = f"https://{LOOPBACK}:{server.port}/"
        reason = the_reason(post(url, pinned(by_address)))
    assert isinstance(reason, PinMismatch) and reason.hostname == LOOPBACK
    assert server.all_received == b""


def test_pin_only_trusts_the_leaf_pin_alone(active_backend: str) -> None:
    leaf_pinned = PinnedPolicyForHTTPS(policy({HOST: [pki().self_signed.pin]}), pin_only=True)
    with serving(pki().self_signed, http_handler()) as server:
        assert post(server.url, leaf_pinned) == GENUINE_BODY
    with serving(pki().self_signed_other_key, eager_handler()) as server:
        reason = the_reason(post(server.url, leaf_pinned))
    assert isinstance(reason, PinMismatch)
    assert server.all_received == b""


def test_cafile_is_the_trust_root(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(pki().genuine_ca.cert_pem.bytes())
    with serving(pki().genuine, http_handler()) as server:
        assert post(server.url, PinnedPolicyForHTTPS(genuine_policy(), cafile=cafile)) == (
            GENUINE_BODY
        )
    with serving(pki().rogue, eager_handler()) as server:  # Not trusted here: OpenSSL refuses.
        refused = post(server.url, PinnedPolicyForHTTPS(genuine_policy(), cafile=cafile))
    assert isinstance(the_reason(refused), SSL.Error)
    assert server.all_received == b""


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: PinnedPolicyForHTTPS({"localhost": ["sha256/x"]}), TypeError),  # type: ignore[arg-type]
        (lambda: PinnedPolicyForHTTPS(genuine_policy(), trust_root(), cafile="x"), TypeError),
        (lambda: PinnedPolicyForHTTPS(genuine_policy(), pin_only=1), TypeError),  # type: ignore[arg-type]
        # A truthy non-bool would turn CA and name verification off.
        (lambda: pinned_client_tls(genuine_policy(), HOST, pin_only="no"), TypeError),  # type: ignore[arg-type]
        # An int is a file descriptor to open(): 1 would be read as the CA file.
        (lambda: PinnedPolicyForHTTPS(genuine_policy(), cafile=1), TypeError),  # type: ignore[arg-type]
        (lambda: PinnedPolicyForHTTPS(genuine_policy(), cafile=""), ValueError),
    ],
)
def test_misconfiguration_fails_at_once(make: Callable[[], object], error: type) -> None:
    with pytest.raises(error):
        make()


class _Settings(dict[str, Any]):
    pass


def test_scrapy_factory_needs_a_policy() -> None:
    with pytest.raises(PolicyError, match="PINNING_POLICY"):
        PinnedScrapyContextFactory.from_settings(_Settings())
    with pytest.raises(PolicyError, match="not int"):
        PinnedScrapyContextFactory.from_settings(_Settings(PINNING_POLICY=3))
    factory = PinnedScrapyContextFactory.from_settings(_Settings(PINNING_POLICY=genuine_policy()))
    assert factory.trust_root is None  # The platform's.


@pytest.mark.parametrize("cafile", [True, 3, b"/etc/ssl/ca.pem", ["ca.pem"]])
def test_scrapy_factory_refuses_a_cafile_setting_of_another_type(cafile: object) -> None:
    # True and 3 were opened as file descriptors (stdout, or whatever descriptor 3 is).
    with pytest.raises(PolicyError, match="PINNING_CAFILE"):
        PinnedScrapyContextFactory.from_settings(
            _Settings(PINNING_POLICY=genuine_policy(), PINNING_CAFILE=cafile)
        )


def _policy_file(path: Path) -> Path:
    pins = [str(pki().genuine_ca_pin), "sha256/" + "A" * 43 + "="]
    path.write_text(f'[[rule]]\nhosts = ["{HOST}"]\npins = {json.dumps(pins)}\n')
    return path


def test_scrapy_crawl_is_pinned(tmp_path: Path) -> None:
    # One subprocess crawls on both backends in turn (tests/tls/twisted/crawl.py).
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(pki().client_cadata.encode())
    with (
        serving(pki().genuine, http_handler()) as genuine,
        serving(pki().rogue, eager_handler()) as rogue,
    ):
        policy_file = _policy_file(tmp_path / "pins.toml")
        done = subprocess.run(
            [
                sys.executable,
                str(CRAWL),
                str(policy_file),
                str(cafile),
                ",".join(BACKENDS),
                genuine.url,
                rogue.url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name in BACKENDS:
        assert results[name][genuine.url] == {"body": GENUINE_BODY.decode()}
        refused = results[name][rogue.url]["pin_mismatch"]
        assert refused.startswith("Certificate pinning failure for localhost!")
    assert genuine.all_received.count(SECRET.encode()) == 2 * len(BACKENDS)  # header and body
    assert rogue.accepted == len(BACKENDS)
    assert rogue.all_received == b""


def _handshake(connection: SSL.Connection, server: Any) -> None:
    """Run ``connection``'s handshake (memory BIOs, as Twisted's) over a socket to ``server``."""
    with socket.create_connection(server.address, timeout=TIMEOUT) as sock:
        connection.set_connect_state()
        while True:
            try:
                connection.do_handshake()
            except SSL.WantReadError:
                sock.sendall(connection.bio_read(65536))
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed the connection") from None
                connection.bio_write(data)
            else:
                return


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_itself_fails_the_handshake(active_backend: str, version: str) -> None:
    # Without Twisted's abort (no protocol to call failVerification on), the verify callback's
    # refusal alone makes OpenSSL fail the handshake: the check is not a late abort.
    creator = pinned_client_tls(genuine_policy(), HOST, trustRoot=trust_root())
    # A protocol with no failVerification: only what Twisted's creator reads (for ALPN).
    protocol = SimpleNamespace(factory=SimpleNamespace(wrappedFactory=None))
    with (
        serving(pki().rogue, eager_handler(), maximum=VERSIONS[version]) as server,
        pytest.raises(SSL.Error, match="certificate verify failed"),
    ):
        _handshake(creator.clientConnectionForTLS(protocol), server)
    assert server.all_received == b""
    with serving(pki().genuine, eager_handler(), maximum=VERSIONS[version]) as server:
        _handshake(creator.clientConnectionForTLS(protocol), server)


def test_import_pinning_loads_no_twisted() -> None:
    code = "import json, sys, pinning; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    for name in ("twisted", "OpenSSL", "service_identity", "treq", "scrapy", "zope.interface"):
        assert name not in loaded, name
    assert not {
        name for name in loaded if name.startswith(("pinning.tls.twisted", "pinning.twisted"))
    }


# --- TLS 1.2 renegotiation: every handshake of a connection is checked -------------------------


def _renegotiating_server(identity: Any) -> SSL.Connection:
    """A pyOpenSSL TLS 1.2 server connection (memory BIOs) presenting ``identity``; no session
    resumption, so that a renegotiation is a full handshake with the certificate in force."""
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_options(SSL.OP_NO_TICKET)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    _serve_as(ctx, identity)
    server = SSL.Connection(ctx, None)
    server.set_accept_state()
    return server


def _serve_as(target: Any, identity: Any) -> None:
    """Make ``target`` (an ``SSL.Context`` or ``SSL.Connection``) present ``identity``."""
    target.use_certificate(x509.load_pem_x509_certificate(identity.chain_pems[0]))
    target.use_privatekey(load_pem_private_key(identity.key_pem, None))


def _shuttle(client: SSL.Connection, server: SSL.Connection) -> bytes:
    """Run both ends (memory BIOs) until neither has anything to send; return what the server
    read as application data."""
    received = b""
    for _ in range(50):
        moved = False
        for end in (client, server):
            try:
                data = end.recv(65536) if end.get_peer_finished() else end.do_handshake()
            except (SSL.WantReadError, SSL.ZeroReturnError):
                data = None
            if end is server and isinstance(data, bytes):
                received += data
        for source, sink in ((client, server), (server, client)):
            try:
                out = source.bio_read(65536)
            except SSL.WantReadError:
                continue
            if out:
                sink.bio_write(out)
                moved = True
        if not moved:
            return received
    raise AssertionError("the two ends never settled")


class _Protocol:
    """What the creator reads of Twisted's protocol (for ALPN), and its failVerification."""

    def __init__(self) -> None:
        self.factory = SimpleNamespace(wrappedFactory=None)
        self.failures: list[Failure] = []

    def failVerification(self, reason: Failure) -> None:
        self.failures.append(reason)


@pytest.mark.parametrize(
    "renegotiated",
    ["rogue", "genuine_other_name", "genuine"],
)
def test_a_renegotiation_is_checked_as_the_first_handshake(
    active_backend: str, renegotiated: str
) -> None:
    # The server passes the first handshake with the pinned chain, then renegotiates (TLS 1.2)
    # to another certificate the client's CAs trust: the rogue CA's for the right name, or the
    # pinned CA's for another name. Each must be refused before the client writes a byte over it.
    seen: list[PinFailure] = []
    creator = pinned_client_tls(genuine_policy(reporter=seen.append), HOST, trustRoot=trust_root())
    protocol = _Protocol()
    client = creator.clientConnectionForTLS(protocol)
    client.set_connect_state()
    server = _renegotiating_server(pki().genuine)
    _shuttle(client, server)
    assert server.get_peer_finished() is not None and client.get_peer_finished() is not None
    client.send(b"first")
    assert _shuttle(client, server) == b"first"

    _serve_as(server, getattr(pki(), renegotiated))
    assert server.renegotiate()
    if renegotiated == "genuine":  # The same chain again: it passes, and nothing is reported.
        _shuttle(client, server)
        assert server.total_renegotiations() == 1 and not server.renegotiate_pending()
        client.send(SECRET.encode())
        assert _shuttle(client, server) == SECRET.encode()
        assert seen == [] and protocol.failures == []
        return
    with pytest.raises(SSL.Error, match="certificate verify failed"):
        _shuttle(client, server)  # The client refuses the new chain inside the handshake.
    received = b""
    with pytest.raises(SSL.Error):
        client.send(SECRET.encode())
        received = _shuttle(client, server)
    assert SECRET.encode() not in received
    assert len(protocol.failures) == 1
    reason = protocol.failures[0].value
    if renegotiated == "rogue":
        assert isinstance(reason, PinMismatch)
        assert len(seen) == 1 and seen[0].chain_pins[-1] == pki().rogue_ca_pin
    else:
        assert isinstance(reason, VerificationError)
        assert seen == []
