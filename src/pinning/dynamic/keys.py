"""The publisher's signing keys: one Ed25519 private key per TUF role, in PEM files it keeps.

A key file is ``<keys>/<role>.pem`` (PKCS#8, unencrypted, mode 0600): ``root.pem``,
``targets.pem``, ``snapshot.pem``, ``timestamp.pem``. The root and targets keys belong offline;
the snapshot and timestamp keys sign on the publishing host.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from .errors import PublishError

__all__ = ["ROLES", "create_key", "key_path", "load_key"]

ROLES = ("root", "targets", "snapshot", "timestamp")


def key_path(keys_dir: str | os.PathLike[str], role: str) -> Path:
    """Where the key of ``role`` lives in ``keys_dir``."""
    return Path(keys_dir) / f"{role}.pem"


def _signer(private_key: Ed25519PrivateKey) -> CryptoSigner:
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    return CryptoSigner(private_key, public)


def load_key(path: str | os.PathLike[str]) -> CryptoSigner:
    """Read the Ed25519 private key at ``path`` as a signer.

    Raises:
        PublishError: The file is missing or is not an unencrypted Ed25519 private key in PEM.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PublishError(f"{os.fspath(path)}: no such key file") from None
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        problem = f"not an unencrypted PEM private key ({exc})"
        raise PublishError(f"{os.fspath(path)}: {problem}") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise PublishError(f"{os.fspath(path)}: not an Ed25519 key")
    return _signer(private_key)


def create_key(path: str | os.PathLike[str]) -> CryptoSigner:
    """Create a new Ed25519 key at ``path`` (mode 0600; never over an existing file).

    Raises:
        FileExistsError: ``path`` exists.
    """
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    return _signer(private_key)
