"""The publisher: a TUF repository in a folder, holding one signed pin policy for a fleet.

The folder is static files, served as they are by any web server, bucket or CDN::

    <repository>/metadata/1.root.json, 2.root.json...   every root version (clients walk them)
    <repository>/metadata/<N>.targets.json              the policy's hash and version, signed
    <repository>/metadata/<N>.snapshot.json             the targets version clients must see
    <repository>/metadata/timestamp.json                the snapshot version, short-lived
    <repository>/targets/<sha256>.<target>              the policy file itself

Consistent snapshots: every file but ``timestamp.json`` is written once under a new name, and
``timestamp.json`` is written last, so a client reading during a publication sees the old state or
the new one, never a mix. Each operation writes new versions only; a file it cannot sign (a
missing or wrong key) stops it before anything is written.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from ..core.errors import PolicyError
from ..sources.toml import loads_policy
from .errors import PublishError
from .keys import ROLES, create_key, key_path, load_key

__all__ = ["Lifetimes", "Publication", "Repository"]

_ROOT_FILE = re.compile(r"^(\d+)\.root\.json$")
_SERIALIZER = JSONSerializer(compact=False)
VERSION_FIELD = "pinning-version"
"""The key, in a target's signed ``custom`` data, of the policy's version."""


@dataclass(frozen=True)
class Lifetimes:
    """How long each role's metadata stays valid once signed.

    The timestamp is short-lived on purpose: it is what tells a client that it sees the latest
    state, so an attacker who replays an old repository (a freeze) is caught within this time.
    Re-sign it on a schedule (``pinning publish --timestamp-only``), well within its lifetime.
    """

    root: dt.timedelta = dt.timedelta(days=365)
    targets: dt.timedelta = dt.timedelta(days=365)
    snapshot: dt.timedelta = dt.timedelta(days=365)
    timestamp: dt.timedelta = dt.timedelta(days=1)


@dataclass
class Publication:
    """What an operation did: the versions it signed, as lines for the operator."""

    lines: list[str] = field(default_factory=list)
    policy_version: int | None = None
    changed: bool = False

    def say(self, line: str) -> None:
        self.lines.append(line)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees the old file or the new one)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Repository:
    """A pin repository in ``folder``, signed with the keys in ``keys_dir``.

    Args:
        folder: The repository folder (``metadata/`` and ``targets/`` inside).
        keys_dir: The folder of the key files (``root.pem``, ``targets.pem``, ``snapshot.pem``,
            ``timestamp.pem``).
        target: The name of the policy file in the repository (what clients ask for).
        lifetimes: How long each role's new signatures stay valid.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        keys_dir: str | os.PathLike[str],
        *,
        target: str = "pins.toml",
        lifetimes: Lifetimes | None = None,
    ) -> None:
        if not target or "/" in target or target.startswith("."):
            raise PublishError(f"the target name must be a plain file name, not {target!r}")
        self.folder = Path(folder)
        self.metadata = self.folder / "metadata"
        self.targets_dir = self.folder / "targets"
        self.keys_dir = Path(keys_dir)
        self.target = target
        self.lifetimes = lifetimes or Lifetimes()

    # --- reading ---------------------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the folder holds a repository (a ``1.root.json``)."""
        return (self.metadata / "1.root.json").is_file()

    def root_version(self) -> int:
        """The newest root version in the folder."""
        names = os.listdir(self.metadata) if self.metadata.is_dir() else []
        versions = [int(match.group(1)) for name in names if (match := _ROOT_FILE.match(name))]
        if not versions:
            raise PublishError(f"{self.folder}: not a pin repository (no metadata/1.root.json)")
        return max(versions)

    def _read(self, name: str, kind: type[Signed]) -> Metadata[Any]:
        path = self.metadata / name
        try:
            metadata: Metadata[Any] = Metadata.from_file(str(path))
        except OSError:
            raise PublishError(f"{path}: missing from the repository") from None
        if not isinstance(metadata.signed, kind):
            raise PublishError(f"{path}: not {kind.type} metadata")
        return metadata

    def root(self) -> Metadata[Root]:
        """The newest root metadata."""
        return self._read(f"{self.root_version()}.root.json", Root)

    def timestamp(self) -> Metadata[Timestamp]:
        """The current timestamp metadata."""
        return self._read("timestamp.json", Timestamp)

    def snapshot(self) -> Metadata[Snapshot]:
        """The snapshot the current timestamp names."""
        version = self.timestamp().signed.snapshot_meta.version
        return self._read(f"{version}.snapshot.json", Snapshot)

    def targets(self) -> Metadata[Targets]:
        """The targets metadata the current snapshot names."""
        version = self.snapshot().signed.meta["targets.json"].version
        return self._read(f"{version}.targets.json", Targets)

    # --- keys ------------------------------------------------------------------------------------

    def signer(self, role: str, root: Root | None = None) -> CryptoSigner:
        """The key of ``role``, checked against ``root`` (the newest root by default)."""
        signer = load_key(key_path(self.keys_dir, role))
        root = root if root is not None else self.root().signed
        if signer.public_key.keyid not in root.roles[role].keyids:
            raise PublishError(
                f"{key_path(self.keys_dir, role)} is not a {role} key of root "
                f"v{root.version}: the repository was made with other keys"
            )
        return signer

    # --- writing ---------------------------------------------------------------------------------

    def _sign(
        self, metadata: Metadata[Any], signers: Iterable[CryptoSigner], lifetime: dt.timedelta
    ) -> None:
        metadata.signed.expires = _now() + lifetime
        metadata.signatures.clear()
        for signer in signers:
            metadata.sign(signer, append=True)

    def _store(self, name: str, metadata: Metadata[Any]) -> bytes:
        data = metadata.to_bytes(_SERIALIZER)
        _write(self.metadata / name, data)
        return data

    def create(self, *, create_keys: bool = False) -> Publication:
        """Make a new, empty repository: root v1 names one Ed25519 key per role.

        Args:
            create_keys: Create the key files that do not exist yet (never over existing ones).

        Raises:
            PublishError: The folder already holds a repository, or a key file is missing and
                ``create_keys`` is false.
        """
        if self.exists():
            raise PublishError(f"{self.folder}: already a pin repository")
        report = Publication()
        signers: dict[str, CryptoSigner] = {}
        missing = [role for role in ROLES if not key_path(self.keys_dir, role).exists()]
        if missing and not create_keys:
            raise PublishError(
                "missing key files: "
                + ", ".join(str(key_path(self.keys_dir, role)) for role in missing)
                + " (--create-keys makes new ones)"
            )
        for role in ROLES:
            path = key_path(self.keys_dir, role)
            if role in missing:
                signers[role] = create_key(path)
                report.say(f"created key {path} ({role})")
            else:
                signers[role] = load_key(path)
        root = Root(version=1, consistent_snapshot=True)
        for role in ROLES:
            root.add_key(signers[role].public_key, role)
        metadata = Metadata(root)
        self._sign(metadata, [signers["root"]], self.lifetimes.root)
        self.metadata.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self._store("1.root.json", metadata)
        report.say(f"created repository {self.folder}: root v1 ({self.metadata / '1.root.json'})")
        return report

    def publish(self, policy: bytes, *, check: bool = True) -> Publication:
        """Publish ``policy`` (the TOML text of a pin policy) as the repository's target.

        A policy equal to the published one changes nothing but the timestamp. Otherwise the file
        is stored under its hash, and new targets, snapshot and timestamp versions name it.

        Args:
            policy: The policy file's bytes, published as they are.
            check: Refuse a file that is not a valid policy (the default; turning it off is for
                tests that show what clients do with one).

        Raises:
            PublishError: ``policy`` is not a valid policy, or a key is missing or wrong.
        """
        report = Publication()
        if check:
            for warning in self.check(policy):
                report.say(f"warning: {warning}")
        root = self.root().signed
        signers = {role: self.signer(role, root) for role in ("targets", "snapshot", "timestamp")}
        current = self._current_targets()
        entry = TargetFile.from_data(self.target, policy, ["sha256"])
        old = current.signed.targets.get(self.target) if current is not None else None
        if old is not None and old.hashes == entry.hashes:
            report.policy_version = _policy_version(old)
            report.say(f"{self.target} unchanged (policy v{report.policy_version})")
            self._timestamp(report, signers["timestamp"])
            return report
        version = current.signed.version + 1 if current is not None else 1
        entry.unrecognized_fields["custom"] = {VERSION_FIELD: version}
        stored = self.targets_dir / f"{entry.hashes['sha256']}.{self.target}"
        _write(stored, policy)
        targets = Targets(version=version, targets={self.target: entry})
        report.policy_version = version
        report.changed = True
        self._sign_targets(report, Metadata(targets), signers)
        return report

    def check(self, policy: bytes, source: str | None = None) -> list[str]:
        """Check that ``policy`` is a valid policy file; return its warnings.

        Args:
            policy: The file's bytes.
            source: The name messages give it (default: the target's name).

        Raises:
            PublishError: It is not UTF-8 text, or not a valid policy.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loads_policy(policy.decode("utf-8"), source=source or self.target)
        except UnicodeDecodeError:
            name = source or self.target
            raise PublishError(f"{name}: not UTF-8 text; nothing published") from None
        except PolicyError as exc:
            raise PublishError(f"{exc}; nothing published") from None
        return [str(warning.message) for warning in caught]

    def _current_targets(self) -> Metadata[Targets] | None:
        if not (self.metadata / "timestamp.json").exists():
            return None
        return self.targets()

    def _sign_targets(
        self,
        report: Publication,
        targets: Metadata[Targets],
        signers: dict[str, CryptoSigner],
    ) -> None:
        """Sign and store ``targets``, then a snapshot and a timestamp that name it."""
        self._sign(targets, [signers["targets"]], self.lifetimes.targets)
        version = targets.signed.version
        data = self._store(f"{version}.targets.json", targets)
        entry = targets.signed.targets.get(self.target)
        shown = f", {self.target} policy v{_policy_version(entry)}" if entry is not None else ""
        report.say(f"signed targets v{version}{shown}")
        previous = self.snapshot().signed.version if self._current_targets() else 0
        snapshot = Metadata(
            Snapshot(
                version=previous + 1,
                meta={"targets.json": MetaFile.from_data(version, data, ["sha256"])},
            )
        )
        self._sign(snapshot, [signers["snapshot"]], self.lifetimes.snapshot)
        snapshot_data = self._store(f"{snapshot.signed.version}.snapshot.json", snapshot)
        report.say(f"signed snapshot v{snapshot.signed.version}")
        self._timestamp(
            report,
            signers["timestamp"],
            MetaFile.from_data(snapshot.signed.version, snapshot_data, ["sha256"]),
        )

    def _timestamp(
        self, report: Publication, signer: CryptoSigner, snapshot: MetaFile | None = None
    ) -> None:
        path = self.metadata / "timestamp.json"
        previous = self.timestamp().signed if path.exists() else None
        if snapshot is None:
            if previous is None:
                raise PublishError(f"{self.folder}: nothing published yet, no timestamp to sign")
            snapshot = previous.snapshot_meta
        version = previous.version + 1 if previous is not None else 1
        metadata = Metadata(Timestamp(version=version, snapshot_meta=snapshot))
        self._sign(metadata, [signer], self.lifetimes.timestamp)
        self._store("timestamp.json", metadata)
        report.say(
            f"signed timestamp v{version}, expires {metadata.signed.expires:%Y-%m-%dT%H:%M:%SZ}"
        )

    def resign_timestamp(self) -> Publication:
        """Sign a new timestamp for the current snapshot (what a cron job runs).

        Raises:
            PublishError: Nothing was published yet, or the timestamp key is missing or wrong.
        """
        report = Publication()
        self.root_version()  # A repository, or say it is none.
        current = self._current_targets()
        if current is None:
            raise PublishError(f"{self.folder}: nothing published yet, no timestamp to sign")
        entry = current.signed.targets.get(self.target)
        report.policy_version = _policy_version(entry) if entry is not None else None
        self._timestamp(report, self.signer("timestamp"))
        return report

    def rotate(self, roles: Iterable[str]) -> Publication:
        """Replace the keys of ``roles`` with new Ed25519 keys, in a new root version.

        The new root is signed by the old root key and, when the root key rotates, by the new one
        too, so clients that trust the old root follow it. Targets, snapshot and timestamp are then
        signed again (with the new keys where they rotated). The old key files are kept, renamed
        ``<role>.pem.retired-v<root version>``, and are no longer needed.

        Raises:
            PublishError: An unknown role, no repository, or a key is missing or wrong.
        """
        roles = list(dict.fromkeys(roles))
        unknown = [role for role in roles if role not in ROLES]
        if unknown or not roles:
            raise PublishError(f"roles to rotate are among {', '.join(ROLES)}, not {unknown}")
        report = Publication()
        current = self.root()
        old_version = current.signed.version
        signers = {role: self.signer(role, current.signed) for role in ROLES}
        new: dict[str, CryptoSigner] = {}
        pending: dict[str, Path] = {}
        for role in roles:
            path = key_path(self.keys_dir, role).with_suffix(".pem.new")
            path.unlink(missing_ok=True)
            new[role] = create_key(path)
            pending[role] = path
        root = current.signed
        root.version = old_version + 1
        for role in roles:
            root.revoke_key(signers[role].public_key.keyid, role)
            root.add_key(new[role].public_key, role)
        root_signers = [signers["root"], *([new["root"]] if "root" in new else [])]
        self._sign(current, root_signers, self.lifetimes.root)
        self._store(f"{root.version}.root.json", current)
        for role, path in pending.items():
            final = key_path(self.keys_dir, role)
            os.replace(final, final.with_name(f"{role}.pem.retired-v{old_version}"))
            os.replace(path, final)
            report.say(f"rotated the {role} key: new {final}, old one retired")
        report.say(f"signed root v{root.version}")
        signers.update(new)
        targets = self._current_targets()
        if targets is not None:
            targets.signed.version += 1
            entry = targets.signed.targets.get(self.target)
            report.policy_version = _policy_version(entry) if entry is not None else None
            self._sign_targets(report, targets, signers)
        return report


def _policy_version(entry: TargetFile | None) -> int | None:
    """The policy version a target entry carries in its signed custom data."""
    custom = entry.custom if entry is not None else None
    value = custom.get(VERSION_FIELD) if isinstance(custom, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
