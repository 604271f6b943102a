"""A leaf pin passes on the leaf alone: a client's full, verified handshake whose leaf passed
before by its own key compares that leaf only, never the rest of the chain; nothing else does.

Real TLS on 127.0.0.1, both backends. The client trusts the genuine CA, the rogue CA and the
rogue's self-signed certificate, so only the pins stop an attacker; each refusal happens before
one application byte reaches it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from tlsutil import (
    HOST,
    Identity,
    Server,
    eager_handler,
    exchange,
    greeting_handler,
    pki,
    policy,
    serving,
    trusting_client_context,
)

from pinning import pin_context
from pinning.policy.failure import PinMismatch
from pinning.policy.policy import PinPolicy

UTC = dt.timezone.utc
pytestmark = pytest.mark.usefixtures("active_backend")


def counts(pinned: PinPolicy) -> dict[str, int]:
    return {k: n for k, n in pinned.metrics().rules[HOST].as_dict().items() if n}


@pytest.fixture
def passes_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls of ``PinPolicy._passes`` (the chain's fast path) and ``check`` (the whole)."""
    calls: list[str] = []
    for name in ("_passes", "check"):
        original = getattr(PinPolicy, name)

        def counted(
            self: PinPolicy, *args: Any, _o: Any = original, _n: str = name, **kw: Any
        ) -> Any:
            calls.append(_n)
            return _o(self, *args, **kw)

        monkeypatch.setattr(PinPolicy, name, counted)
    return calls


def _leaf_pinned() -> PinPolicy:
    return policy({HOST: [pki().genuine.pin]})


def _serve(identity: Identity) -> Any:
    return serving(identity, greeting_handler())


def _reissued(key_pem: bytes, ca: trustme.CA) -> Identity:
    """The genuine leaf's subject, names and key, in a certificate issued by ``ca``."""
    genuine = x509.load_pem_x509_certificate(pki().genuine.chain_pems[0])
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = serialization.load_pem_private_key(key_pem, password=None)
    now = dt.datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(issuer.subject)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    for extension in genuine.extensions:
        if extension.oid != x509.ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
            builder = builder.add_extension(extension.value, extension.critical)
    # The issuing CA's key identifier (Python 3.13's default VERIFY_X509_STRICT requires one).
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
        critical=False,
    )
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return Identity(key_pem, (cert.public_bytes(serialization.Encoding.PEM), ca.cert_pem.bytes()))


@pytest.fixture(scope="module")
def other_key_leaf() -> Identity:
    """The genuine CA's certificate for the genuine leaf's subject and names, with another key."""
    return _reissued(pki().self_signed_other_key.key_pem, pki().genuine_ca)


@pytest.fixture(scope="module")
def same_key_rogue_leaf() -> Identity:
    """The genuine leaf's key and subject in a certificate the rogue CA issued."""
    return _reissued(pki().genuine.key_pem, pki().rogue_ca)


@pytest.fixture
def genuine() -> Iterator[Server]:
    with _serve(pki().genuine) as server:
        yield server


def test_a_leaf_pin_passes_on_the_remembered_leaf_alone(
    genuine: Server, passes_calls: list[str]
) -> None:
    pinned = _leaf_pinned()
    ctx = trusting_client_context(pinned)
    for _ in range(3):
        assert exchange(ctx, genuine) == b"hello"
    # The first handshake hashed the chain (the leaf matched: remembered alone); the next two
    # compared the leaf inline, without even the chain's fast path.
    assert counts(pinned) == {"fast_path": 1, "remembered": 2}
    assert passes_calls == ["_passes"]
    assert len(pinned._leaves[HOST]) == 1 and not pinned._passed


def test_a_ca_pin_still_passes_on_the_remembered_chain(
    genuine: Server, passes_calls: list[str]
) -> None:
    pinned = policy({HOST: [pki().genuine_ca_pin]})
    ctx = trusting_client_context(pinned)
    for _ in range(3):
        assert exchange(ctx, genuine) == b"hello"
    assert counts(pinned) == {"fast_path": 1, "remembered": 2}
    assert passes_calls == ["_passes"] * 3
    assert not pinned._leaves and len(pinned._passed[HOST]) == 1


@pytest.mark.parametrize("attacker", ["rogue", "self_signed", "stuffed", "other_key"])
def test_a_rogue_leaf_is_refused_after_the_genuine_leaf_passed(
    genuine: Server, attacker: str, other_key_leaf: Identity
) -> None:
    pinned = _leaf_pinned()
    ctx = trusting_client_context(pinned)
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    identity = other_key_leaf if attacker == "other_key" else getattr(pki(), attacker)
    with serving(identity, eager_handler()) as rogue, pytest.raises(PinMismatch):
        exchange(ctx, rogue)
    assert rogue.all_received == b""  # Not one application byte.
    assert counts(pinned) == {"fast_path": 1, "remembered": 1, "refused": 1}
    # The genuine leaf still passes, on the leaf alone.
    assert exchange(ctx, genuine) == b"hello"
    assert counts(pinned)["remembered"] == 2


def test_a_leaf_with_the_pinned_key_from_another_ca_is_checked_afresh(
    genuine: Server, same_key_rogue_leaf: Identity
) -> None:
    # The same subject and key re-issued (here by the rogue CA, which the client trusts): not the
    # remembered certificate, so it is hashed; its key is the pin, so it passes (a leaf pin pins
    # the key, not the certificate).
    pinned = _leaf_pinned()
    ctx = trusting_client_context(pinned)
    assert exchange(ctx, genuine) == b"hello"
    with _serve(same_key_rogue_leaf) as reissued:
        assert exchange(ctx, reissued) == b"hello"
        assert exchange(ctx, reissued) == b"hello"
    assert counts(pinned) == {"fast_path": 2, "remembered": 1}
    assert len(pinned._leaves[HOST]) == 2


@pytest.mark.parametrize("by_rule", [True, False])
def test_a_remembered_leaf_stops_passing_when_the_pins_expire(
    genuine: Server, by_rule: bool
) -> None:
    soon = dt.datetime.now(UTC) + dt.timedelta(seconds=0.6)
    pins = [pki().genuine.pin, pki().rogue_ca_pin]
    pinned = PinPolicy([(HOST, pins, soon)]) if by_rule else PinPolicy({HOST: pins}, expires=soon)
    ctx = trusting_client_context(pinned)
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"
    assert counts(pinned) == {"fast_path": 1, "remembered": 1}
    time.sleep(max(0.0, (soon - dt.datetime.now(UTC)).total_seconds()) + 0.05)
    assert exchange(ctx, genuine) == b"hello"
    # Expired: let through by the whole check, counted as such, never as remembered.
    assert counts(pinned) == {"fast_path": 1, "remembered": 1, "expired": 1}


def test_a_remembered_leaf_does_not_outlive_a_policy_swap(genuine: Server) -> None:
    """Swapping the context's policy mid-flight (``pin_context`` again) leaves the leaf the old
    policy remembered behind: the new policy, which does not pin that key, refuses it."""
    ctx = trusting_client_context(_leaf_pinned())
    assert exchange(ctx, genuine) == b"hello"
    assert exchange(ctx, genuine) == b"hello"  # on the remembered leaf
    pin_context(ctx, policy({HOST: [pki().rogue.pin]}))
    with serving(pki().genuine, eager_handler()) as former, pytest.raises(PinMismatch):
        exchange(ctx, former)
    assert former.all_received == b""
