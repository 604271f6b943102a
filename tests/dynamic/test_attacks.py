"""Attacks on the repository or its transport: each is refused, the last good policy stays in
force in the attached context (real handshakes, both backends), and the state says why."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tlsutil import Server, client_context
from tufrepo import Published, genuine_text, outcome, policy_text, rotated_text

from pinning.dynamic import DynamicPolicy
from pinning.dynamic.publish import Lifetimes, Publication, Repository
from pinning.policy.pins import Pin

pytestmark = pytest.mark.usefixtures("active_backend")

NEW_KEY = Pin(b"\x01" * 32)  # a server key the operator moves to in a legitimate update


@pytest.fixture
def on_v1(published: Published) -> Iterator[tuple[DynamicPolicy, ssl.SSLContext]]:
    """A gateway on policy v1 (the genuine server), with an attached client context."""
    published.repo.publish(genuine_text())
    with published.gateway() as dynamic:
        assert dynamic.refresh_now().version == 1
        yield dynamic, dynamic.attach(client_context())


def assert_kept(
    dynamic: DynamicPolicy, ctx: ssl.SSLContext, genuine: Server, rogue: Server, version: int = 1
) -> None:
    """The policy in force is still v1 (genuine accepted, rogue refused), or v2 (the reverse)."""
    assert dynamic.state.version == version
    expected = ("accepted", "refused") if version == 1 else ("refused", "accepted")
    assert (outcome(ctx, genuine), outcome(ctx, rogue)) == expected


def test_replayed_older_metadata_is_refused(
    published: Published, genuine: Server, rogue: Server
) -> None:
    published.repo.publish(genuine_text())
    old = published.snapshot_files()  # the whole repository at v1, validly signed
    published.repo.publish(rotated_text())
    with published.gateway() as dynamic:
        assert dynamic.refresh_now().version == 2
        ctx = dynamic.attach(client_context())
        published.restore(old)  # The attacker serves v1 again, to bring back the old pins.
        state = dynamic.refresh_now()
        assert state.error is not None and state.error.startswith("BadVersionNumberError"), state
        assert "timestamp" in state.error
        assert_kept(dynamic, ctx, genuine, rogue, version=2)


def test_a_forged_targets_signature_is_refused(
    published: Published,
    on_v1: tuple[DynamicPolicy, ssl.SSLContext],
    genuine: Server,
    rogue: Server,
) -> None:
    # The attacker holds the online keys (snapshot, timestamp) but not the targets key: it signs
    # targets naming its own policy with a key of its own.
    dynamic, ctx = on_v1
    repo = published.repo
    forged = rotated_text()
    (repo.targets_dir / f"{_sha256(forged)}.pins.toml").write_bytes(forged)
    targets = repo.targets()
    targets.signed.version += 1
    targets.signed.targets["pins.toml"] = _entry(forged, targets.signed.version)
    signers = {
        "targets": CryptoSigner.generate_ed25519(),
        "snapshot": repo.signer("snapshot"),
        "timestamp": repo.signer("timestamp"),
    }
    repo._sign_targets(Publication(), targets, signers)
    state = dynamic.refresh_now()
    assert state.error is not None and state.error.startswith("UnsignedMetadataError"), state
    assert "targets" in state.error
    assert_kept(dynamic, ctx, genuine, rogue)


def test_a_target_whose_hash_does_not_match_is_refused(
    published: Published,
    on_v1: tuple[DynamicPolicy, ssl.SSLContext],
    genuine: Server,
    rogue: Server,
) -> None:
    dynamic, ctx = on_v1
    published.repo.publish(policy_text(NEW_KEY))  # A legitimate v2...
    swapped = rotated_text()  # ...whose file the attacker (the CDN) replaces, same length.
    (stored,) = [
        path for path in published.repo.targets_dir.iterdir() if path.read_bytes() != genuine_text()
    ]
    assert len(swapped) == len(stored.read_bytes())
    stored.write_bytes(swapped)
    state = dynamic.refresh_now()
    assert state.error is not None and state.error.startswith("LengthOrHashMismatchError"), state
    assert_kept(dynamic, ctx, genuine, rogue)


def test_a_stale_timestamp_is_refused(
    published: Published,
    on_v1: tuple[DynamicPolicy, ssl.SSLContext],
    genuine: Server,
    rogue: Server,
    tmp_path: Path,
) -> None:
    # A freeze: the repository (or an attacker in front of it) keeps serving a state whose
    # timestamp has expired, to hide the updates made since.
    dynamic, ctx = on_v1
    frozen = Repository(
        published.repo.folder,
        published.repo.keys_dir,
        lifetimes=Lifetimes(timestamp=dt.timedelta(minutes=-1)),
    )
    frozen.publish(rotated_text())
    state = dynamic.refresh_now()
    assert state.error is not None and state.error.startswith("ExpiredMetadataError"), state
    assert "timestamp" in state.error
    assert state.refreshed is not None and state.refreshed < state.checked  # type: ignore[operator]
    assert_kept(dynamic, ctx, genuine, rogue)
    # A new gateway, with no cache, does not take the frozen state's policy either.
    with published.gateway(cache=tmp_path / "fresh") as fresh:
        assert fresh.refresh_now().error is not None
        assert (fresh.state.source, fresh.state.version) == ("none", None)


def test_mixed_snapshot_and_targets_are_refused(
    published: Published, genuine: Server, rogue: Server
) -> None:
    repo = published.repo
    repo.publish(genuine_text())
    v1_targets = (repo.metadata / "1.targets.json").read_bytes()
    repo.publish(rotated_text())
    with published.gateway() as dynamic:
        assert dynamic.refresh_now().version == 2
        ctx = dynamic.attach(client_context())
        repo.publish(policy_text(NEW_KEY))  # v3; the attacker swaps in the old targets v1
        (repo.metadata / "3.targets.json").write_bytes(v1_targets)  # (validly signed)
        state = dynamic.refresh_now()
        assert state.error is not None, state
        assert state.error.startswith(("LengthOrHashMismatchError", "BadVersionNumberError"))
        assert_kept(dynamic, ctx, genuine, rogue, version=2)


def test_a_signed_policy_that_does_not_parse_is_refused(
    published: Published,
    on_v1: tuple[DynamicPolicy, ssl.SSLContext],
    genuine: Server,
    rogue: Server,
) -> None:
    dynamic, ctx = on_v1
    broken = genuine_text().replace(b"pins =", b"pinz =")
    published.repo.publish(broken, check=False)  # validly signed, not a policy
    state = dynamic.refresh_now()
    assert state.error is not None and state.error.startswith("PolicyError: pins.toml v2:"), state
    assert "pinz" in state.error
    assert_kept(dynamic, ctx, genuine, rogue)
    published.repo.publish(b"\xff\xfe not text", check=False)
    assert dynamic.refresh_now().error == "PolicyError: pins.toml v3: not UTF-8 text"
    assert_kept(dynamic, ctx, genuine, rogue)
    # The cache still holds v1: a restart offline pins with it.
    down = Published(published.repo, "http://127.0.0.1:9/", published.cache)
    with down.gateway() as restarted:
        assert (restarted.state.source, restarted.state.version) == ("cache", 1)


def test_an_unreachable_repository_keeps_the_policy(
    published: Published,
    on_v1: tuple[DynamicPolicy, ssl.SSLContext],
    genuine: Server,
    rogue: Server,
) -> None:
    dynamic, ctx = on_v1
    for path in published.repo.metadata.iterdir():
        if path.name == "timestamp.json":
            path.unlink()  # The server answers 404.
    state = dynamic.refresh_now()
    assert state.error is not None and state.error.startswith("DownloadHTTPError"), state
    assert state.failures == 1
    assert_kept(dynamic, ctx, genuine, rogue)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _entry(data: bytes, version: int) -> object:
    from tuf.api.metadata import TargetFile

    entry = TargetFile.from_data("pins.toml", data, ["sha256"])
    entry.unrecognized_fields["custom"] = {"pinning-version": version}
    return entry
