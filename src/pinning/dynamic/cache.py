"""The gateway's memory of the last policy it verified, so that it pins at once after a restart.

One JSON file, replaced atomically after each policy that verified and parsed: the policy text,
the signed targets metadata that names its hash, and the root versions after the trusted root
that signed it. On start it is verified again, offline, from the trusted root the gateway ships
with: each root by the one before it, the targets metadata by the last root, the policy by its
hash. Expiry is not checked (offline, a stale policy is better than none: the policy's own
``expires`` still applies); anything else that does not verify is ignored, as if there were no
cache.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tuf.api.metadata import Metadata, Root, Targets

from .publish import _policy_version

__all__ = ["LastGood", "read_last_good", "verify", "verify_root", "write_last_good"]

FORMAT = 1


@dataclass(frozen=True)
class LastGood:
    """A policy that verified, with the metadata that proves it.

    Attributes:
        target: The policy's name in the repository.
        policy: The policy file's bytes.
        targets: The signed targets metadata (bytes) that names the policy's hash.
        roots: The signed root metadata (bytes), each version after the trusted root's, in order,
            up to the root that signed ``targets``.
    """

    target: str
    policy: bytes
    targets: bytes
    roots: tuple[bytes, ...]


def verify_root(data: bytes) -> Metadata[Root]:
    """Parse a root metadata file and check that it is signed by its own root keys.

    Raises:
        ValueError: It is not root metadata, or not signed by a threshold of its own keys.
    """
    try:
        metadata = Metadata[Root].from_bytes(data)
    except Exception as exc:  # tuf's DeserializationError and what it wraps
        raise ValueError(f"not TUF root metadata: {exc}") from None
    if not isinstance(metadata.signed, Root):
        raise ValueError(f"not TUF root metadata: a {metadata.signed.type} file")
    try:
        metadata.signed.verify_delegate(Root.type, metadata.signed_bytes, metadata.signatures)
    except Exception as exc:
        version = metadata.signed.version
        raise ValueError(f"root v{version} is not signed by its keys: {exc}") from None
    return metadata


def verify(last: LastGood, trusted_root: bytes) -> int | None:
    """Check ``last`` against ``trusted_root``; return the policy's version.

    Raises:
        ValueError: Any link of the chain does not verify.
    """
    root = verify_root(trusted_root)
    for data in last.roots:
        new = Metadata[Root].from_bytes(data)
        if not isinstance(new.signed, Root) or new.signed.version != root.signed.version + 1:
            raise ValueError("the cached roots are not consecutive root versions")
        root.signed.verify_delegate(Root.type, new.signed_bytes, new.signatures)
        new.signed.verify_delegate(Root.type, new.signed_bytes, new.signatures)
        root = new
    targets = Metadata[Targets].from_bytes(last.targets)
    if not isinstance(targets.signed, Targets):
        raise ValueError("the cached targets metadata is not targets metadata")
    root.signed.verify_delegate(Targets.type, targets.signed_bytes, targets.signatures)
    entry = targets.signed.targets.get(last.target)
    if entry is None:
        raise ValueError(f"the cached targets metadata does not name {last.target}")
    entry.verify_length_and_hashes(last.policy)
    return _policy_version(entry)


def write_last_good(path: Path, last: LastGood) -> None:
    """Replace the cache file at ``path`` with ``last``, atomically."""
    document = {
        "format": FORMAT,
        "target": last.target,
        "policy": last.policy.decode("utf-8"),
        "targets": last.targets.decode("utf-8"),
        "roots": [root.decode("utf-8") for root in last.roots],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_last_good(path: Path, target: str) -> LastGood | None:
    """The cache file at ``path`` for ``target``, or None when there is none.

    Raises:
        ValueError: The file exists but is not a cache file of this format, or is for another
            target.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}, not {FORMAT}")
        last = LastGood(
            target=str(document["target"]),
            policy=str(document["policy"]).encode("utf-8"),
            targets=str(document["targets"]).encode("utf-8"),
            roots=tuple(str(root).encode("utf-8") for root in document["roots"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a policy cache: {exc}") from None
    if last.target != target:
        raise ValueError(f"{path}: the cache of {last.target!r}, not {target!r}")
    return last
