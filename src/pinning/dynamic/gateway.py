"""The gateway side: :class:`DynamicPolicy`, a pin policy kept current from a TUF repository.

A background thread refreshes through :class:`tuf.ngclient.Updater` (root, timestamp, snapshot,
targets, then the policy file, each verified) and swaps a new policy into every context it
serves with :func:`~pinning.pin_context`, which replaces a context's policy atomically: a
handshake sees the old policy or the new one, never a mix, and never waits for a refresh.
Every failure keeps the policy in force (ARCHITECTURE.md, decision 12) and is recorded in
:attr:`DynamicPolicy.state`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import ssl
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urljoin

from tuf.api.metadata import Metadata, Root
from tuf.ngclient import Updater
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from ..core.errors import PolicyError
from ..policy.pins import Pin
from ..policy.policy import PinPolicy, Reporter
from ..sources.toml import load_policy, loads_policy
from ..tls.context import pin_context
from .cache import LastGood, read_last_good, verify, verify_root, write_last_good
from .errors import RefreshError
from .publish import _policy_version

__all__ = ["NOTHING_VERIFIED_PINS", "DynamicPolicy", "DynamicState"]

logger = logging.getLogger("pinning.dynamic")

NOTHING_VERIFIED_PINS = (Pin(bytes(32)), Pin(b"\xff" * 32))
"""The two pins of the policy in force before any policy was verified: no key has them, so
every connection is refused. A refusal that expects these pins means "no verified policy yet"."""

_CACHE_FILE = "last-good.json"


@dataclass(frozen=True)
class DynamicState:
    """Where a :class:`DynamicPolicy` stands.

    Attributes:
        source: Where the policy in force came from: ``"repository"`` (verified by this process),
            ``"cache"`` (the last policy verified, read back at start), ``"bundled"`` (the
            application's own, before any verified policy), or ``"none"`` (nothing yet: every
            connection is refused).
        version: The policy's version in the repository (the targets version that published
            it), or None for a bundled policy or none.
        refreshed: When the last refresh succeeded (UTC), or None.
        checked: When the last refresh was tried (UTC), or None.
        error: Why the last refresh failed (the error's type and message), or None when it
            succeeded. The policy in force is unchanged by a failure.
        failures: How many refreshes failed in a row.
    """

    source: str
    version: int | None
    refreshed: dt.datetime | None = None
    checked: dt.datetime | None = None
    error: str | None = None
    failures: int = 0

    @property
    def verified(self) -> bool:
        """True when the policy in force was verified (from the repository, now or before)."""
        return self.source in ("repository", "cache")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _reason(exc: BaseException) -> str:
    """The error's type and message, then its causes' (tuf wraps the network's errors)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        text = " ".join(str(current).split())
        if not parts or text not in parts[-1]:  # urllib3 repeats its cause in its own message
            parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        hidden = current.__suppress_context__  # raise ... from None
        current = current.__cause__ or (None if hidden else current.__context__)
    return " <- ".join(parts)


class DynamicPolicy:
    """A pin policy that follows a TUF repository, for the contexts it is attached to.

    It starts at once, without the network: from the last policy it verified (its cache, checked
    again offline from ``trusted_root``); with no cache, from ``bundled``; with neither, from a
    policy that refuses every connection until the first verified policy arrives (see
    :meth:`wait_verified`). Then a daemon thread refreshes every ``refresh`` seconds, never on a
    handshake's thread.

    Args:
        metadata_url: The URL of the repository's ``metadata/`` folder.
        trusted_root: The root metadata the gateway ships with (its trust anchor): a path, or the
            bytes of a ``1.root.json`` (or a later root, signed by the publisher).
        cache_dir: A folder of its own where the verified metadata and the last good policy are
            kept across restarts.
        target: The policy's name in the repository.
        targets_url: The URL of the repository's ``targets/`` folder (default: ``targets/``
            beside ``metadata/``).
        refresh: Seconds between refreshes; None starts no thread (call :meth:`refresh_now`).
        bundled: A policy (or a TOML policy file) to enforce until a verified one exists.
        reporter: The reporter of the policies it loads (pin failures); default: logging.
        timeout: The network timeout of one download, in seconds.
        on_refresh: Called with the new :class:`DynamicState` after every refresh, on the
            refreshing thread (to export metrics or alert); its exceptions are logged.

    Raises:
        ValueError: ``trusted_root`` is not root metadata signed by its own keys.
        PolicyError: ``bundled`` is a file that is not a valid policy.
    """

    def __init__(
        self,
        metadata_url: str,
        trusted_root: bytes | str | os.PathLike[str],
        cache_dir: str | os.PathLike[str],
        *,
        target: str = "pins.toml",
        targets_url: str | None = None,
        refresh: float | None = 300.0,
        bundled: PinPolicy | str | os.PathLike[str] | None = None,
        reporter: Reporter | None = None,
        timeout: float = 30.0,
        on_refresh: Callable[[DynamicState], None] | None = None,
    ) -> None:
        if refresh is not None and not refresh > 0:
            raise ValueError(f"refresh must be a positive number of seconds or None, not {refresh}")
        root = trusted_root if isinstance(trusted_root, bytes) else Path(trusted_root).read_bytes()
        self._root_version = verify_root(root).signed.version
        self._trusted_root = root
        self._metadata_url = metadata_url if metadata_url.endswith("/") else metadata_url + "/"
        self._targets_url = targets_url or urljoin(self._metadata_url, "../targets/")
        self._target = target
        self._cache = Path(cache_dir)
        self._tuf_dir = self._cache / "metadata"
        self._download_dir = self._cache / "targets"
        self._reporter = reporter
        self._timeout = timeout
        self._on_refresh = on_refresh
        self._lock = threading.Lock()  # the policy, its digest, the state and the contexts
        self._refresh_lock = threading.Lock()  # one refresh at a time
        self._contexts: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()
        self._verified = threading.Event()
        self._stopping = threading.Event()
        self._policy, self._digest, self._state = self._start(bundled)
        self._thread: threading.Thread | None = None
        if refresh is not None:
            self._thread = threading.Thread(
                target=self._run, args=(refresh,), name="pinning-dynamic", daemon=True
            )
            self._thread.start()

    # --- the policy in force ---------------------------------------------------------------------

    @property
    def policy(self) -> PinPolicy:
        """The policy in force."""
        with self._lock:
            return self._policy

    @property
    def state(self) -> DynamicState:
        """Where it stands: the policy's source and version, the last refresh and error."""
        with self._lock:
            return self._state

    def attach(self, ctx: ssl.SSLContext) -> ssl.SSLContext:
        """Pin ``ctx`` with the policy in force, and with each new one as it arrives.

        The context is held weakly: a context the application drops is forgotten.

        Returns:
            ``ctx`` itself.

        Raises:
            The errors of :func:`~pinning.pin_context`; ``ctx`` is then not attached.
        """
        with self._lock:
            pin_context(ctx, self._policy)
            self._contexts.add(ctx)
        return ctx

    def wait_verified(self, timeout: float | None = None) -> bool:
        """Wait until a verified policy is in force (from the cache or the repository).

        Returns:
            True when one is, False when ``timeout`` passed first.
        """
        return self._verified.wait(timeout)

    # --- start -----------------------------------------------------------------------------------

    def _start(
        self, bundled: PinPolicy | str | os.PathLike[str] | None
    ) -> tuple[PinPolicy, str | None, DynamicState]:
        try:
            last = read_last_good(self._cache / _CACHE_FILE, self._target)
            if last is not None:
                version = verify(last, self._trusted_root)
                policy = self._parse(last.policy, version)
                self._verified.set()
                logger.info("policy v%s from the cache %s", version, self._cache)
                digest = hashlib.sha256(last.policy).hexdigest()
                return policy, digest, DynamicState("cache", version)
        except Exception as exc:  # An unusable cache is no cache: never trusted, never fatal.
            logger.warning("ignoring the cache in %s: %s", self._cache, exc)
        if bundled is not None:
            if not isinstance(bundled, PinPolicy):
                bundled = load_policy(bundled, reporter=self._reporter)
            return bundled, None, DynamicState("bundled", None)
        refuse_all = PinPolicy({"*": NOTHING_VERIFIED_PINS}, strict=True, reporter=self._reporter)
        return refuse_all, None, DynamicState("none", None)

    def _parse(self, data: bytes, version: int | None) -> PinPolicy:
        source = f"{self._target} v{version}" if version is not None else self._target
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError(f"{source}: not UTF-8 text") from None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            policy = loads_policy(text, source=source, reporter=self._reporter)
        for warning in caught:
            logger.warning("%s", warning.message)
        return policy

    # --- refresh ---------------------------------------------------------------------------------

    def refresh_now(self) -> DynamicState:
        """Refresh once, on the calling thread (the background thread does it on its own).

        Never raises for a failure of the repository: it is recorded in the state, logged, and
        the policy in force is kept.

        Returns:
            The new state.
        """
        with self._refresh_lock:
            checked = _now()
            try:
                found = self._fetch()
                parsed = None if found is None else (self._parse(found[1], found[0]), *found)
            except Exception as exc:  # Every failure keeps the last good policy.
                reason = _reason(exc)
                logger.warning(
                    "refresh from %s failed, keeping policy %s: %s",
                    self._metadata_url,
                    self._describe(self.state),
                    reason,
                )
                with self._lock:
                    failures = self._state.failures + 1
                    state = self._state = replace(
                        self._state, checked=checked, error=reason, failures=failures
                    )
            else:
                state = self._install(parsed, checked)
        self._notify(state)
        return state

    def _fetch(self) -> tuple[int | None, bytes, str] | None:
        """Verify the repository's current state; return (version, policy bytes, digest) when the
        policy differs from the one in force, else None."""
        self._tuf_dir.mkdir(parents=True, exist_ok=True)
        self._download_dir.mkdir(parents=True, exist_ok=True)
        updater = Updater(
            str(self._tuf_dir),
            self._metadata_url,
            str(self._download_dir),
            self._targets_url,
            fetcher=Urllib3Fetcher(socket_timeout=max(1, round(self._timeout))),
            bootstrap=self._trusted_root,
        )
        updater.refresh()
        entry = updater.get_targetinfo(self._target)
        if entry is None:
            raise RefreshError(f"the repository has no target {self._target!r}")
        digest = entry.hashes.get("sha256")
        if digest is None:
            raise RefreshError(f"the target {self._target!r} has no sha256 hash")
        with self._lock:
            unchanged = digest == self._digest
        if unchanged:
            return None
        path = updater.find_cached_target(entry) or updater.download_target(entry)
        return _policy_version(entry), Path(path).read_bytes(), digest

    def _install(
        self, found: tuple[PinPolicy, int | None, bytes, str] | None, checked: dt.datetime
    ) -> DynamicState:
        if found is None:
            with self._lock:
                self._state = replace(
                    self._state,
                    source="repository" if self._state.verified else self._state.source,
                    refreshed=checked,
                    checked=checked,
                    error=None,
                    failures=0,
                )
                return self._state
        policy, version, data, digest = found
        self._remember(data)
        with self._lock:
            self._policy = policy
            self._digest = digest
            self._state = DynamicState("repository", version, checked, checked, None, 0)
            for ctx in list(self._contexts):
                try:
                    pin_context(ctx, policy)
                except Exception as exc:  # The context keeps the policy it had; say so.
                    logger.error("cannot install policy v%s in %r: %s", version, ctx, exc)
                    self._state = replace(self._state, error=_reason(exc))
            state = self._state
        self._verified.set()
        logger.info("policy v%s installed from %s", version, self._metadata_url)
        return state

    def _remember(self, policy: bytes) -> None:
        """Keep ``policy`` and the metadata that proves it, for the next start."""
        try:
            current = Metadata[Root].from_file(str(self._tuf_dir / "root.json")).signed.version
            roots = tuple(
                (self._tuf_dir / "root_history" / f"{version}.root.json").read_bytes()
                for version in range(self._root_version + 1, current + 1)
            )
            targets = (self._tuf_dir / "targets.json").read_bytes()
            write_last_good(
                self._cache / _CACHE_FILE, LastGood(self._target, policy, targets, roots)
            )
        except Exception as exc:  # The policy is verified and installed; only the cache failed.
            logger.warning("cannot write the cache in %s: %s", self._cache, exc)

    def _notify(self, state: DynamicState) -> None:
        if self._on_refresh is None:
            return
        try:
            self._on_refresh(state)
        except Exception:
            logger.exception("the on_refresh callback failed")

    @staticmethod
    def _describe(state: DynamicState) -> str:
        shown = f"v{state.version} " if state.version is not None else ""
        return f"{shown}({state.source})"

    # --- the thread ------------------------------------------------------------------------------

    def _run(self, interval: float) -> None:
        delay = 0.0
        while not self._stopping.wait(delay):
            try:
                self.refresh_now()
            except BaseException as exc:
                # refresh_now catches every Exception: what comes here is another BaseException
                # (sys.exit() in on_refresh, say). A thread that died would keep the policy in
                # force for ever, with no refresh and no sign of it in the state.
                logger.error(
                    "a refresh raised %s; refreshing goes on",
                    type(exc).__name__,
                    exc_info=True,
                )
            delay = interval

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the refresh thread (the contexts keep the policy in force)."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> DynamicPolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
