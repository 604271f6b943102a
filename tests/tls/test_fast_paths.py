"""The shortcuts taken for speed change no outcome.

- The C binding's scratch pool: a call that runs inside another one, between its C call and the
  read of its output (a profiler or signal handler that pins too), must not change that output.
- ``PinPolicy``'s memory of host lookups: bounded, and the same answers as without it.
- ``PinPolicy._passes``, the handshake's fast path: True only where ``check`` passes quietly; its
  memory of chains that passed answers only for the very same chain (bytes, or the
  ``_ssl.Certificate`` objects a handshake gives) for the very same host name while its rule is
  current, never for a subclass of bytes or str, and stays bounded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import ssl
import sys
import time
from collections.abc import Iterator
from itertools import permutations
from typing import Any

import pytest
from _certs import Chain, make_chain, random_pin
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tlsutil import (
    Identity,
    Server,
    client_context,
    connect,
    exchange,
    genuine_policy,
    greeting_handler,
    pki,
    serving,
)

from pinning.core import backend as _backend
from pinning.core import cbackend as _cbackend
from pinning.core.errors import CertificateError
from pinning.policy.failure import PinMismatch
from pinning.policy.hosts import canonical_host
from pinning.policy.pins import Pin
from pinning.policy.policy import (
    _CHAINS_PER_HOST,
    _LONGEST_KEPT,
    _LOOKUPS_KEPT,
    _PASSED_HOSTS,
    PinFailure,
    PinPolicy,
)
from pinning.tls.chain import ONLY_CERTIFICATES

UTC = dt.timezone.utc
HOST = "api.example.com"
# The C functions the binding calls, by the name the profiler reports them under.
C_FUNCTIONS = {
    "pinning_spki",
    "pinning_spki_sha256",
    "pinning_spki_sha256_many",
    "pinning_chain_match",
}


@pytest.fixture(scope="module")
def chains() -> tuple[Chain, Chain]:
    return make_chain(HOST), make_chain("other.example")


@pytest.fixture
def reentrant(chains: tuple[Chain, Chain]) -> Iterator[list[str]]:
    """While active, every return from one of the C functions runs each C binding call on the
    other chain before the binding reads the C function's output, as a profiler or a signal
    handler that pins could; the names of the C functions so interrupted are collected."""
    other = chains[1]
    pins = b"".join(pin.digest for pin in other.pins)
    interrupted: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "c_return" or getattr(arg, "__name__", None) not in C_FUNCTIONS:
            return
        sys.setprofile(None)
        try:
            interrupted.append(arg.__name__)
            _cbackend.spki(other.leaf)
            _cbackend.spki_sha256(other.leaf)
            _cbackend.spki_sha256_many(other.certs)
            _cbackend.chain_match(other.certs, pins)
        finally:
            sys.setprofile(profile)

    sys.setprofile(profile)
    try:
        yield interrupted
    finally:
        sys.setprofile(None)


def test_a_call_inside_a_call_does_not_change_its_output(
    chains: tuple[Chain, Chain], reentrant: list[str]
) -> None:
    chain = chains[0]
    pins = chain.pins
    # The root's pin only: chain_match's index must say 2 (the nested call's chain matches at 0).
    root_only = pins[2].digest

    spki = _cbackend.spki(chain.leaf)
    digest = _cbackend.spki_sha256(chain.leaf)
    many = _cbackend.spki_sha256_many(chain.certs)
    index = _cbackend.chain_match(chain.certs, root_only)
    sys.setprofile(None)

    assert reentrant == [
        "pinning_spki",
        "pinning_spki_sha256",
        "pinning_spki_sha256_many",
        "pinning_chain_match",
    ]
    assert Pin(hashlib.sha256(spki).digest()) == pins[0]
    assert digest == pins[0].digest
    assert many == [pin.digest for pin in pins]
    assert index == 2


def test_a_failing_call_inside_a_call_does_not_change_its_error(
    chains: tuple[Chain, Chain], reentrant: list[str]
) -> None:
    chain = chains[0]
    with pytest.raises(CertificateError) as raised:
        _cbackend.spki_sha256_many([chain.leaf, chain.intermediate, b"\x30\x00"])
    sys.setprofile(None)
    assert reentrant == ["pinning_spki_sha256_many"]
    assert raised.value.index == 2


def test_the_pool_holds_no_more_scratches_than_calls_ran_at_once(
    chains: tuple[Chain, Chain], reentrant: list[str]
) -> None:
    before = len(_cbackend._pool)
    for _ in range(50):
        _cbackend.spki_sha256(chains[0].leaf)
    sys.setprofile(None)
    # One call at a time, each interrupted by calls one at a time: two scratches at most.
    assert len(_cbackend._pool) <= max(before, 2)


# --- The policy's memory of lookups ------------------------------------------------------------


def test_lookups_give_the_rule_the_index_gives_and_stay_bounded() -> None:
    exact, one_label, any_depth = random_pin(), random_pin(), random_pin()
    backup = random_pin()
    policy = PinPolicy(
        {
            "api.example.com": [exact, backup],
            "*.example.com": [one_label, backup],
            "**.cdn.example.net": [any_depth, backup],
        }
    )
    names = [f"h{number}.example.com" for number in range(_LOOKUPS_KEPT + 500)]
    names += [f"a.b{number}.cdn.example.net" for number in range(300)]
    names += ["API.Example.COM.", "api.example.com", "x.y.example.com", "bad..name", "", "*"]
    for _ in range(2):  # the second pass answers from memory where it still holds the name
        for name in names:
            canonical = canonical_host(name)
            found = None if canonical is None else policy._index.lookup(canonical)
            expected = None if found is None else found[1]
            assert policy.rule_for(name) is expected, name
            assert len(policy._lookups) <= _LOOKUPS_KEPT
    assert policy.pins_for("API.EXAMPLE.COM") == frozenset({exact, backup})
    assert policy.pins_for("x.example.com") == frozenset({one_label, backup})
    assert policy.pins_for("deep.a.cdn.example.net") == frozenset({any_depth, backup})
    assert policy.pins_for("x.y.example.com") is None


def test_a_str_subclass_is_not_remembered(chains: tuple[Chain, Chain]) -> None:
    class Name(str):
        def __hash__(self) -> int:
            return hash("api.example.com")

        def __eq__(self, other: object) -> bool:
            return True

    policy = PinPolicy({HOST: chains[0].pins[:2]})
    assert policy.rule_for(Name("other.example")) is None
    assert not policy._lookups
    policy.check(HOST, chains[0].certs)
    with pytest.raises(PinMismatch):
        policy.check(Name("api.example.com"), chains[1].certs)


# --- The handshake's fast path ---------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.failures: list[PinFailure] = []

    def __call__(self, failure: PinFailure) -> None:
        self.failures.append(failure)


PAST = dt.datetime(2000, 1, 1, tzinfo=UTC)
FUTURE = dt.datetime(2999, 1, 1, tzinfo=UTC)


def _policies(chain: Chain, reporter: Recorder) -> Iterator[tuple[str, PinPolicy]]:
    pins = [chain.pins[2], random_pin()]
    for enforce in (True, False):
        for strict in (False, True):
            options: dict[str, Any] = {"enforce": enforce, "strict": strict, "reporter": reporter}
            label = f"enforce={enforce} strict={strict}"
            yield label, PinPolicy({HOST: pins}, **options)
            yield label + " expired", PinPolicy({HOST: pins}, expires=PAST, **options)
            yield label + " current", PinPolicy({HOST: pins}, expires=FUTURE, **options)
            yield label + " rule expired", PinPolicy([(HOST, pins, PAST)], **options)
            yield (
                label + " rule outlives",
                PinPolicy([(HOST, pins, FUTURE)], expires=PAST, **options),
            )
            yield label + " wildcard", PinPolicy({"*.example.com": pins, "*": pins}, **options)


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_passes_only_where_check_passes_quietly(
    active_backend: str, chains: tuple[Chain, Chain], caplog: pytest.LogCaptureFixture
) -> None:
    chain, other = chains
    chain_cases: dict[str, list[bytes]] = {
        "matching": chain.certs,
        "root only": [chain.root],
        "other": other.certs,
        "empty": [],
        "malformed before the pin": [b"\x30\x00", chain.root],
        "malformed after the pin": [chain.root, b"\x30\x00"],
    }
    hosts = [HOST, "API.example.com.", "www.example.com", "other.example", "bad..name", "1.2.3.4"]
    passed = 0
    reporter = Recorder()
    for label, policy in _policies(chain, reporter):
        for host in hosts:
            for chain_label, certs in chain_cases.items():
                caplog.clear()
                reporter.failures.clear()
                fast = policy._passes(host, certs)
                if not fast:
                    continue
                passed += 1
                # check() must then pass, and say nothing at all.
                with caplog.at_level(logging.DEBUG, logger="pinning"):
                    policy.check(host, certs)
                assert not caplog.records, (label, host, chain_label)
                assert not reporter.failures, (label, host, chain_label)
    assert passed  # the fast path is taken somewhere


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_passes_for_a_current_rule_with_a_pin_in_the_chain(
    active_backend: str, chains: tuple[Chain, Chain]
) -> None:
    chain = chains[0]
    for certs in (chain.certs, [chain.leaf], [chain.root]):
        assert PinPolicy({HOST: chain.pins})._passes(HOST, certs)
    assert not PinPolicy({HOST: [random_pin(), random_pin()]})._passes(HOST, chain.certs)
    assert not PinPolicy({"other.example": chain.pins[:2]})._passes(HOST, chain.certs)


def test_a_passing_handshake_takes_the_fast_path_and_a_failing_one_the_whole_check(
    active_backend: str, genuine: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    check = PinPolicy.check

    def counted(self: PinPolicy, *args: Any, **kwargs: Any) -> None:
        calls.append("check")
        check(self, *args, **kwargs)

    monkeypatch.setattr(PinPolicy, "check", counted)
    assert exchange(client_context(genuine_policy()), genuine) == b"hello"
    assert calls == []
    reporter = Recorder()
    refusing = PinPolicy({"localhost": [random_pin(), random_pin()]}, reporter=reporter)
    with pytest.raises(PinMismatch):
        exchange(client_context(refusing), genuine)
    assert calls == ["check"]
    assert len(reporter.failures) == 1
    assert reporter.failures[0].port == genuine.port


class CountingBackend:
    """The active backend, counting its chain_match calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def chain_match(self, chain: list[bytes], pins: bytes) -> int:
        self.calls += 1
        result: int = self.inner.chain_match(chain, pins)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def counting(active_backend: str, monkeypatch: pytest.MonkeyPatch) -> CountingBackend:
    backend = CountingBackend(_backend.backend)
    monkeypatch.setattr(_backend, "backend", backend)
    return backend


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_a_chain_that_passed_passes_again_without_a_backend_call(
    counting: CountingBackend, chains: tuple[Chain, Chain]
) -> None:
    chain = chains[0]
    policy = PinPolicy({HOST: [chain.pins[2], random_pin()]})
    assert policy._passes(HOST, list(chain.certs))
    assert counting.calls == 1
    # Equal bytes in new objects, as every handshake gives them: remembered.
    assert policy._passes(HOST, [bytes(bytearray(cert)) for cert in chain.certs])
    assert counting.calls == 1
    # The memory is per host name as given: another spelling is checked once, then remembered.
    assert policy._passes("API.Example.com.", list(chain.certs))
    assert policy._passes("API.Example.com.", tuple(chain.certs))
    assert counting.calls == 2


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_only_the_very_same_chain_for_the_very_same_host_is_remembered(
    counting: CountingBackend, chains: tuple[Chain, Chain]
) -> None:
    chain, other = chains
    leaf, intermediate, root = chain.certs
    policy = PinPolicy({HOST: [chain.pins[2], random_pin()], "other.example": other.pins[:2]})
    assert policy._passes(HOST, [leaf, intermediate, root])
    calls = counting.calls
    # Anything else is checked afresh, and fails: the pinned root left out, one byte of its key
    # changed, a malformed certificate before it, another host's rule, another policy.
    spki = _cbackend.spki(root)
    at = root.index(spki) + len(spki) - 1
    altered_root = root[:at] + bytes([root[at] ^ 1]) + root[at + 1 :]
    assert not policy._passes(HOST, [leaf, intermediate])
    assert not policy._passes(HOST, [leaf, intermediate, altered_root])
    assert not policy._passes(HOST, [b"\x30\x00", leaf, intermediate, root])
    assert not policy._passes("other.example", [leaf, intermediate, root])
    assert not PinPolicy({HOST: [random_pin(), random_pin()]})._passes(HOST, chain.certs)
    assert counting.calls == calls + 5


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_a_remembered_chain_stops_passing_when_its_rule_expires(
    counting: CountingBackend, chains: tuple[Chain, Chain]
) -> None:
    chain = chains[0]
    pins = [chain.pins[2], random_pin()]
    for by_rule in (True, False):
        soon = dt.datetime.now(UTC) + dt.timedelta(seconds=0.5)
        policy = (
            PinPolicy([(HOST, pins, soon)]) if by_rule else PinPolicy({HOST: pins}, expires=soon)
        )
        assert policy._passes(HOST, chain.certs)
        assert policy._passes(HOST, chain.certs)
        time.sleep(max(0.0, (soon - dt.datetime.now(UTC)).total_seconds()) + 0.05)
        assert not policy._passes(HOST, chain.certs)
    assert counting.calls == 2


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_remembered_chains_stay_bounded(
    counting: CountingBackend, chains: tuple[Chain, Chain]
) -> None:
    root = chains[0].root
    pins = [chains[0].pins[2], random_pin()]
    policy = PinPolicy({HOST: pins, "*.example.com": pins})
    # Distinct chains whose pin is above the leaf: unpinned certificates, then the pinned root.
    below = [list(order) for size in (1, 2, 3) for order in permutations(chains[1].certs, size)]
    assert len(below) >= 3 * _CHAINS_PER_HOST
    for index in range(3 * _CHAINS_PER_HOST):
        assert policy._passes(HOST, [*below[index], root])
        assert 1 <= len(policy._passed[HOST]) <= _CHAINS_PER_HOST
    assert counting.calls == 3 * _CHAINS_PER_HOST
    assert not policy._leaves
    # The newest chains are the ones kept.
    assert policy._passes(HOST, [*below[3 * _CHAINS_PER_HOST - 1], root])
    assert counting.calls == 3 * _CHAINS_PER_HOST
    for index in range(3 * _PASSED_HOSTS):
        assert policy._passes(f"h{index}.example.com", [chains[1].leaf, root])
        assert 1 <= len(policy._passed) <= _PASSED_HOSTS
    assert counting.calls == 3 * _CHAINS_PER_HOST + 3 * _PASSED_HOSTS
    # A chain longer than any real one passes, and is not kept.
    policy._passed.clear()
    longest = [*chains[1].certs, *chains[1].certs[:2], root, b"\x30\x00"]
    assert len(longest) > _LONGEST_KEPT
    assert policy._passes(HOST, longest)
    assert policy._passes(HOST, longest)
    assert not policy._passed and not policy._leaves
    assert counting.calls == 3 * _CHAINS_PER_HOST + 3 * _PASSED_HOSTS + 2


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_remembered_leaves_stay_bounded(
    counting: CountingBackend, chains: tuple[Chain, Chain]
) -> None:
    # Six leaves, each pinned by its own key.
    leaves = [*chains[0].certs, *chains[1].certs]
    policy = PinPolicy(
        {HOST: [*chains[0].pins, *chains[1].pins], "*.example.com": [*chains[0].pins, random_pin()]}
    )
    assert len(leaves) > _CHAINS_PER_HOST
    for leaf in leaves:
        assert policy._passes(HOST, [leaf, b"\x30\x00"])  # what follows a pinned leaf is not read
        assert 1 <= len(policy._leaves[HOST]) <= _CHAINS_PER_HOST
    assert counting.calls == len(leaves)
    assert not policy._passed
    # The newest leaves are the ones kept, whatever follows them; the oldest is checked afresh.
    assert policy._passes(HOST, [leaves[-1]])
    assert policy._passes(HOST, [leaves[-1], chains[1].root])
    assert counting.calls == len(leaves)
    assert policy._passes(HOST, [leaves[0]])
    assert counting.calls == len(leaves) + 1
    for index in range(3 * _PASSED_HOSTS):
        assert policy._passes(f"h{index}.example.com", [chains[0].root])
        assert 1 <= len(policy._leaves) <= _PASSED_HOSTS
    assert counting.calls == len(leaves) + 1 + 3 * _PASSED_HOSTS
    assert not policy._passed


class LyingBytes(bytes):
    """Certificate bytes that claim the hash of another certificate and to equal anything."""

    claimed_hash = 0

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return self.claimed_hash


class LyingStr(str):
    """A host name that claims the hash of another name and to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash(HOST)


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_subclasses_of_bytes_and_str_never_answer_for_what_was_remembered(
    active_backend: str, chains: tuple[Chain, Chain]
) -> None:
    chain, rogue = chains
    policy = PinPolicy({HOST: [chain.pins[2], random_pin()]})
    assert policy._passes(HOST, list(chain.certs))
    lying = []
    for genuine, forged in zip(chain.certs, rogue.certs, strict=True):
        item = LyingBytes(forged)
        item.claimed_hash = hash(genuine)
        lying.append(item)
    assert not policy._passes(HOST, lying)
    with pytest.raises(PinMismatch):
        policy.check(HOST, lying)
    # A lying name neither passes nor takes the real name's place in the lookup memory.
    fresh = PinPolicy({HOST: [chain.pins[2], random_pin()]})
    assert not fresh._passes(LyingStr("rogue.example"), list(chain.certs))
    assert fresh.rule_for(HOST) is not None
    with pytest.raises(PinMismatch):
        fresh.check(HOST, rogue.certs)


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_a_second_handshake_with_the_same_chain_makes_no_backend_call(
    counting: CountingBackend, genuine: Server
) -> None:
    ctx = client_context(genuine_policy())
    assert exchange(ctx, genuine) == b"hello"
    assert counting.calls == 1
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    assert counting.calls == 1


# --- The chain as the handshake reads it: _ssl.Certificate objects --------------------------------


def _certificates(server: Server, hostname: str = "localhost") -> list[Any]:
    """The verified chain of a new, unpinned connection to ``server``, as the ``_ssl.Certificate``
    objects the handshake's fast path reads."""
    with connect(client_context(), server, server_hostname=hostname) as tls:
        certs: list[Any] = tls._sslobj.get_verified_chain()  # type: ignore[attr-defined]
    assert certs and ONLY_CERTIFICATES.issuperset(map(type, certs))
    return certs


@pytest.fixture
def other_leaf() -> Iterator[Server]:
    """The genuine CA's certificate for another name: another leaf under the same pinned root."""
    with serving(pki().genuine_other_name, greeting_handler()) as server:
        yield server


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_the_certificates_of_a_new_handshake_match_the_remembered_chain(
    counting: CountingBackend, genuine: Server
) -> None:
    first, second = _certificates(genuine), _certificates(genuine)
    # Two handshakes give two sets of objects, equal by OpenSSL's X509_cmp.
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert first == second
    policy = genuine_policy()
    assert policy._passes("localhost", first)
    assert counting.calls == 1
    assert policy._passes("localhost", second)
    assert counting.calls == 1


@pytest.mark.parametrize("active_backend", ["c", "pure"], indirect=True)
def test_the_certificates_of_another_chain_are_checked_afresh(
    counting: CountingBackend, genuine: Server, other_leaf: Server, rogue: Server
) -> None:
    policy = genuine_policy()
    genuine_certs = _certificates(genuine)
    assert policy._passes("localhost", genuine_certs)
    calls = counting.calls
    # Another leaf under the same pinned root is another chain: checked, and it passes.
    other_certs = _certificates(other_leaf, "other.example")
    assert other_certs[-1] == genuine_certs[-1]
    assert other_certs[0] != genuine_certs[0]
    assert policy._passes("localhost", other_certs)
    assert counting.calls == calls + 1
    # A chain from the rogue CA, which the client trusts too, is checked and fails.
    assert not policy._passes("localhost", _certificates(rogue))
    assert counting.calls == calls + 2
    # The genuine leaf above the rogue root: checked, fails (the pinned root is not in it).
    assert not policy._passes("localhost", [genuine_certs[0], *_certificates(rogue)[1:]])
    assert counting.calls == calls + 3
    # Certificates mixed with bytes, or certificates in a subclass: never even checked.
    assert not policy._passes("localhost", [genuine_certs[0], genuine.port.to_bytes(2, "big")])
    assert not policy._passes(LyingStr("localhost"), genuine_certs)
    assert counting.calls == calls + 3
    assert policy._passes("localhost", genuine_certs)
    assert counting.calls == calls + 3


def test_a_certificate_type_cannot_be_subclassed_or_made() -> None:
    # What the memory's type guard relies on: only ssl makes these objects, and only from DER
    # that OpenSSL parsed (so X509_cmp compares their tbsCertificate bytes).
    (certificate_type,) = ONLY_CERTIFICATES
    with pytest.raises(TypeError):
        type("Lying", (certificate_type,), {})
    with pytest.raises(TypeError):
        certificate_type()


def test_certificates_are_equal_only_with_the_same_tbs_certificate() -> None:
    # The memory's equality is OpenSSL's X509_cmp. Served after a real chain: a certificate A,
    # A signed again (the same tbsCertificate, another ECDSA signature), and A with another key
    # (the same names, serial and validity). Read as _ssl.Certificate objects, unverified.
    key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe")])
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)

    def build(public: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public.public_key())
            .serial_number(1234)
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )

    a, a_signed_again, a_other_key = build(key), build(key), build(other_key)
    assert a.tbs_certificate_bytes == a_signed_again.tbs_certificate_bytes
    assert a.signature != a_signed_again.signature
    genuine = pki().genuine
    extras = tuple(
        cert.public_bytes(serialization.Encoding.PEM) for cert in (a, a_signed_again, a_other_key)
    )
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE

    def served() -> list[Any]:
        with connect(client, server) as tls:
            certs: list[Any] = tls._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
        return certs[len(genuine.chain_pems) :]

    with serving(
        Identity(genuine.key_pem, genuine.chain_pems + extras), greeting_handler()
    ) as server:
        first, second = served(), served()
    assert len(first) == 3
    assert first[0] == second[0]  # the same DER, read in two handshakes
    assert first[0] != first[1]  # the same tbsCertificate, another signature
    assert first[0] != first[2]  # another key
    assert first[0] != a.public_bytes(serialization.Encoding.DER)
