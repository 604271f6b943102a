"""A pin repository on loopback for the dynamic tests: published with the real publisher, served
by ``http.server`` from a thread on 127.0.0.1, read by a real :class:`DynamicPolicy`."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tlsutil import BACKUP_PIN, HOST, Server, exchange, pki

from pinning.dynamic import DynamicPolicy
from pinning.dynamic.publish import Repository
from pinning.policy.failure import PinMismatch
from pinning.policy.pins import Pin

TIMEOUT = 5.0


def policy_text(*pins: Pin, host: str = HOST) -> bytes:
    """A TOML policy pinning ``host`` to ``pins`` and the shared backup pin."""
    quoted = ", ".join(f'"{pin}"' for pin in (*pins, BACKUP_PIN))
    return f'[[rule]]\nhosts = ["{host}"]\npins = [{quoted}]\n'.encode()


def genuine_text() -> bytes:
    """v1 of the tests: ``localhost`` is the genuine server (its CA's key)."""
    return policy_text(pki().genuine_ca_pin)


def rotated_text() -> bytes:
    """v2: ``localhost`` moved to a new key (the "rogue" CA's, standing for the new server)."""
    return policy_text(pki().rogue_ca_pin)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_serving(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 for a ``with`` block; yield its base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="tuf-http", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


@dataclass
class Published:
    """A repository, its keys, and the URL it is served at."""

    repo: Repository
    url: str
    cache: Path

    @property
    def metadata_url(self) -> str:
        return self.url + "metadata/"

    @property
    def trusted_root(self) -> bytes:
        return (self.repo.metadata / "1.root.json").read_bytes()

    def gateway(self, cache: Path | None = None, **options: object) -> DynamicPolicy:
        """A DynamicPolicy on this repository that refreshes only when told to (by default)."""
        options.setdefault("refresh", None)
        options.setdefault("timeout", 2.0)
        return DynamicPolicy(
            self.metadata_url,
            self.trusted_root,
            cache or self.cache,
            **options,  # type: ignore[arg-type]
        )

    def snapshot_files(self) -> dict[str, bytes]:
        """Every file of the repository, by relative path (to replay them later)."""
        return {
            str(path.relative_to(self.repo.folder)): path.read_bytes()
            for path in self.repo.folder.rglob("*")
            if path.is_file()
        }

    def restore(self, files: dict[str, bytes]) -> None:
        """Put the repository back as ``files`` was (an attacker replaying an old state)."""
        for name in ("metadata", "targets"):
            shutil.rmtree(self.repo.folder / name)
        for name, data in files.items():
            path = self.repo.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def outcome(ctx: ssl.SSLContext, server: Server) -> str:
    """``"accepted"`` or ``"refused"`` (PinMismatch); anything else raises."""
    try:
        assert exchange(ctx, server) == b"hello"
    except PinMismatch:
        return "refused"
    return "accepted"
