"""A policy file that reloads itself: :class:`PolicyFile`.

It reads the file once when made (a bad file raises then: nothing starts unpinned), pins the
contexts given to :meth:`PolicyFile.attach`, and on :meth:`PolicyFile.reload`, or when its watcher
sees the file change, reads it again and swaps the new policy into every one of them. A file that
cannot be read or parsed keeps the old policy in place, and the error (file, line, what is wrong)
is kept in :attr:`PolicyFile.last_error` and logged. The watcher polls the file's status on a
thread of its own, never on a handshake's; a handshake sees the old policy or the new one, whole
(``pin_context`` swaps it atomically, ARCHITECTURE.md, decision 12).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import ssl
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ..policy.policy import PinPolicy
from .context import pin_context

__all__ = ["PolicyFile"]

_LOGGER = logging.getLogger("pinning")

Loader = Callable[[str], PinPolicy]
SwapHook = Callable[[PinPolicy], object]


def _status(path: str) -> tuple[int, int, int, int] | None:
    """What tells a changed file: device, inode (a replaced file), size and modification time."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


class PolicyFile:
    """A policy read from a file, reloaded when the file changes or on demand, and swapped into
    every context it serves.

    Args:
        path: The policy file: TOML (:meth:`pinning.PinPolicy.load`) unless ``loader`` says
            otherwise.
        loader: Reads the file into a policy, e.g. ``PinPolicy.from_android_nsc``; it must raise
            on a bad file (``PolicyError`` naming the line, or ``OSError``).
        poll: Seconds between two looks at the file's status by the watcher that :meth:`start`
            runs. At least 0.01.

    Raises:
        PolicyError: The file is not a valid policy (the message names file and line).
        OSError: The file cannot be read.
        ValueError: ``poll`` is under 0.01 seconds.

    Attributes:
        path: The file.
        generation: 1 for the policy read when made, one more for each policy installed since.
        last_reload: When the current policy was installed (aware, UTC).
        last_error: Why the last attempt to reload failed (None when it did not); the current
            policy is then the last good one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loader: Loader | None = None,
        poll: float = 2.0,
    ) -> None:
        if not poll >= 0.01:
            raise ValueError(f"poll must be at least 0.01 seconds, not {poll!r}")
        self.path = os.fsdecode(path)
        self.poll = poll
        self._loader: Loader = loader if loader is not None else PinPolicy.load
        self._lock = threading.RLock()
        self._contexts: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()
        self._hooks: list[SwapHook] = []
        self._seen = _status(self.path)
        self._policy = self._loader(self.path)
        self.generation = 1
        self.last_reload = dt.datetime.now(dt.timezone.utc)
        self.last_error: str | None = None
        self._wanted = False  # Set by request_reload(), e.g. from a SIGHUP handler.
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def policy(self) -> PinPolicy:
        """The policy in force: the last one read without error."""
        return self._policy

    def attach(self, ctx: ssl.SSLContext) -> ssl.SSLContext:
        """Pin ``ctx`` with the current policy, and with each policy reloaded from now on.

        The file holds ``ctx`` weakly: a context nobody else keeps is dropped.

        Returns:
            ``ctx``.

        Raises:
            As :func:`pinning.pin_context`.
        """
        with self._lock:
            pin_context(ctx, self._policy)
            self._contexts.add(ctx)
        return ctx

    def on_swap(self, hook: SwapHook) -> None:
        """Call ``hook(new_policy)`` after each reloaded policy is installed, on the thread that
        reloaded it: for example to drop the pooled keep-alive connections of a client, which
        were checked against the old policy. What the hook raises is logged, not passed on."""
        with self._lock:
            self._hooks.append(hook)

    def reload(self) -> bool:
        """Read the file again and install its policy on every attached context.

        Returns:
            True.

        Raises:
            PolicyError: The file is not a valid policy; the old policy stays in force.
            OSError: The file cannot be read; the old policy stays in force.
        """
        with self._lock:
            seen = _status(self.path)
            try:
                policy = self._loader(self.path)
            except Exception as exc:
                self._seen = seen  # Not again until the file changes once more.
                self.last_error = f"{type(exc).__name__}: {exc}"
                _LOGGER.warning(
                    "pinning policy file %s not reloaded, the last good policy stays in force: %s",
                    self.path,
                    self.last_error,
                    extra={"pinning_policy_file": self.path, "pinning_outcome": "reload-failed"},
                )
                raise
            self._seen = seen
            failures = []
            for ctx in list(self._contexts):
                try:
                    pin_context(ctx, policy)
                except Exception as exc:  # e.g. a server context and a policy without "*"
                    failures.append(f"{type(exc).__name__}: {exc}")
            self._policy = policy
            self.generation += 1
            self.last_reload = dt.datetime.now(dt.timezone.utc)
            kept = "; ".join(failures)
            self.last_error = f"some contexts kept the old policy: {kept}" if failures else None
            _LOGGER.info(
                "pinning policy file %s reloaded (generation %d)",
                self.path,
                self.generation,
                extra={"pinning_policy_file": self.path, "pinning_outcome": "reloaded"},
            )
            for hook in list(self._hooks):
                try:
                    hook(policy)
                except Exception:
                    _LOGGER.exception("pinning policy file %s: a swap hook failed", self.path)
            return True

    def request_reload(self) -> None:
        """Ask the watcher to reload at its next look, whether or not the file changed.

        Safe to call from a signal handler (it only sets a flag): the SIGHUP recipe is
        ``signal.signal(signal.SIGHUP, lambda *_: policy_file.request_reload())``.
        """
        self._wanted = True

    def check(self) -> bool:
        """Reload if the file changed since it was last read or a reload was requested.

        Returns:
            Whether a new policy was installed. Errors are kept in :attr:`last_error` and
            logged, not raised.
        """
        wanted, self._wanted = self._wanted, False
        if not wanted and _status(self.path) == self._seen:
            return False
        try:
            return self.reload()
        except Exception:
            return False

    def start(self) -> PolicyFile:
        """Start the watcher thread (a daemon), which calls :meth:`check` every ``poll`` seconds.

        Returns:
            ``self``, so that ``with PolicyFile(path).start() as policy_file:`` works.
        """
        with self._lock:
            if self._watcher is None or not self._watcher.is_alive():
                self._stop.clear()
                self._watcher = threading.Thread(
                    target=self._watch, name=f"pinning-policy-file {self.path}", daemon=True
                )
                self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop the watcher thread and wait for it; the policy in force stays."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            self.check()

    def __enter__(self) -> PolicyFile:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PolicyFile({self.path!r}, generation={self.generation})"
