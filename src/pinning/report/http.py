"""Reporters: what a policy does with a :class:`~pinning.policy.policy.PinFailure`.

A reporter is any callable taking one ``PinFailure``. A policy isolates it: whatever it raises is
logged, never passed on to the connection. It is called on the connection's own thread, inside
the handshake, so it must not block: the reporters here never do (:class:`HttpReporter` only
queues), and a custom reporter that does I/O should hand its work to a thread of its own.

:class:`LoggingReporter` logs one warning per failure;
:class:`HttpReporter` POSTs RFC 7469 reports from a background thread, never from the handshake.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from ..policy.failure import LoggingReporter, log_fields

if TYPE_CHECKING:
    from ..policy.failure import PinFailure

__all__ = ["HttpReporter", "LoggingReporter"]  # (LoggingReporter: from policy.failure)

_LOGGER = logging.getLogger("pinning")


_STOP = object()  # Tells the worker to finish.

DEDUP_SECONDS = 24 * 60 * 60
"""An identical report is sent at most once in this many seconds (RFC 7469 section 3)."""


class HttpReporter:
    """POST each pin failure as an RFC 7469 JSON report, from a background thread.

    Calling the reporter (which a policy does inside the TLS handshake) only puts the failure on a
    bounded queue: it never blocks, never does I/O and never raises. A daemon thread, started on
    the first report, turns failures into JSON (:meth:`PinFailure.to_report`) and POSTs them with
    ``Content-Type: application/json``. So a slow, hanging or refusing endpoint never delays or
    breaks a connection: its reports are logged as undelivered on the ``"pinning"`` logger.

    - **Bounded queue**: when ``max_queue`` reports are waiting, new ones are dropped and counted
      in :attr:`dropped`.
    - **Deduplication**: a report identical to one sent in the last 24 hours (same host, port,
      served chain and known pins; the dates do not count) is not sent again, and is counted in
      :attr:`deduplicated`. The memory of reports is bounded by ``max_remembered``.
    - **Timeout**: each request gives up after ``timeout`` seconds without progress.

    Use it as a context manager, or call :meth:`close`, to send what is queued and stop the
    thread. :attr:`sent`, :attr:`failed`, :attr:`dropped` and :attr:`deduplicated` count reports.

    Args:
        url: The ``http://`` or ``https://`` endpoint (the HPKP ``report-uri``).
        timeout: Seconds each connection attempt and each read may take.
        max_queue: Reports that may wait for the thread; more are dropped.
        max_remembered: Distinct reports remembered for deduplication; the oldest go first.
        context: The SSL context for an ``https://`` endpoint (default: the system's trust).
        headers: Extra request headers (an ``Authorization`` header, say).
        logger: The logger for undelivered reports (default: ``logging.getLogger("pinning")``).

    Raises:
        ValueError: ``url`` is not an absolute ``http`` or ``https`` URL, or a bound is not
            positive.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        max_queue: int = 100,
        max_remembered: int = 10_000,
        context: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a report URL is an absolute http:// or https:// URL, not {url!r}")
        for name, bound in (
            ("timeout", timeout),
            ("max_queue", max_queue),
            ("max_remembered", max_remembered),
        ):
            if not bound > 0:
                raise ValueError(f"{name} must be positive, not {bound!r}")
        self.url = url
        self.timeout = float(timeout)
        self.max_queue = max_queue
        self.max_remembered = max_remembered
        self.logger = logger if logger is not None else _LOGGER
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        handlers = [] if context is None else [urllib.request.HTTPSHandler(context=context)]
        self._opener = urllib.request.build_opener(*handlers)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._recent: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._worker: threading.Thread | None = None
        self._closed = False
        self._stop = threading.Event()
        self._sent = self._failed = self._dropped = self._deduplicated = 0
        self._clock = time.monotonic  # The deduplication clock (tests move it on).

    # -- the handshake side: never blocks, never raises ----------------------------------------

    def __call__(self, failure: PinFailure) -> None:
        """Queue ``failure`` for sending, unless it is a duplicate or the queue is full.

        Never waits on the network and never raises: what goes wrong is logged.
        """
        try:
            self._enqueue(failure)
        except Exception:  # Decision 8: reporting never breaks a connection.
            self.logger.warning(
                "pinning: the HTTP reporter failed to queue a report",
                exc_info=True,
                extra=self._fields("report_not_queued", failure),
            )

    def _enqueue(self, failure: PinFailure) -> None:
        key = _dedup_key(failure)
        now = self._clock()
        with self._lock:
            if self._closed:
                self._dropped += 1
                return
            recent = self._recent
            while recent:
                oldest, seen = next(iter(recent.items()))
                if now - seen < DEDUP_SECONDS:
                    break
                del recent[oldest]
            if key in recent:
                self._deduplicated += 1
                return
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="pinning-http-reporter", daemon=True
                )
                self._worker.start()
            try:
                self._queue.put_nowait(failure)
            except queue.Full:
                self._dropped += 1
                full = True
            else:
                full = False
                self._pending += 1
                recent[key] = now
                if len(recent) > self.max_remembered:
                    recent.popitem(last=False)
        if full:
            self.logger.warning(
                "pinning: %d pin failure reports are waiting for %s: report for %s dropped",
                self.max_queue,
                self.url,
                failure.hostname,
                extra={
                    **self._fields("report_dropped", failure),
                    "pinning_queue_size": self.max_queue,
                },
            )

    def _fields(self, event: str, failure: PinFailure) -> dict[str, object]:
        """The ``extra`` fields of a record about ``failure``'s report (``pinning_url`` and
        ``pinning_event`` besides those of the failure itself)."""
        fields: dict[str, object] = {"pinning_event": event, "pinning_url": self.url}
        # Not a PinFailure: the record says what it can, and never raises.
        with contextlib.suppress(Exception):
            fields.update(log_fields(failure))
        return fields

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._send(item)  # type: ignore[arg-type]
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _send(self, failure: PinFailure) -> None:
        try:
            body = json.dumps(failure.to_report()).encode("utf-8")
            request = urllib.request.Request(
                self.url, data=body, headers=self._headers, method="POST"
            )
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
        except Exception as exc:
            with self._lock:
                self._failed += 1
            self.logger.warning(
                "pinning: could not send the pin failure report for %s to %s: %s",
                failure.hostname,
                self.url,
                exc,
                extra={**self._fields("report_not_sent", failure), "pinning_error": str(exc)},
            )
        else:
            with self._lock:
                self._sent += 1

    # -- control -------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued report has been sent or has failed.

        Args:
            timeout: The most seconds to wait; None waits as long as it takes.

        Returns:
            Whether the queue was emptied in time.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued, waiting at most ``timeout`` seconds, then stop the thread.

        Reports still waiting then, and reports made after ``close``, are dropped (and counted).
        The thread is a daemon: reports still queued when the interpreter exits are lost unless
        ``close`` ran first.

        Args:
            timeout: The most seconds to wait; None waits until every queued report has been
                sent or has failed (each request is bounded by the reporter's ``timeout``).
        """
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        self.flush(timeout)
        self._stop.set()  # A worker stuck in a request stops after it.
        abandoned = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            abandoned += item is not _STOP
        with self._idle:
            self._dropped += abandoned
            self._pending -= abandoned
            self._idle.notify_all()
        self._queue.put_nowait(_STOP)  # Wakes a worker waiting for work; the queue is empty.
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        worker.join(remaining)

    def __enter__(self) -> HttpReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(self.timeout)

    # -- counters ------------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        """Reports the endpoint accepted (a 2xx answer)."""
        with self._lock:
            return self._sent

    @property
    def failed(self) -> int:
        """Reports that could not be delivered (no connection, timeout, an error status)."""
        with self._lock:
            return self._failed

    @property
    def dropped(self) -> int:
        """Reports dropped because the queue was full or the reporter closed."""
        with self._lock:
            return self._dropped

    @property
    def deduplicated(self) -> int:
        """Reports not sent because an identical one was sent in the last 24 hours."""
        with self._lock:
            return self._deduplicated

    def __repr__(self) -> str:
        return f"HttpReporter({self.url!r})"


def _dedup_key(failure: PinFailure) -> bytes:
    """SHA-256 over what makes two reports identical: host, port, served chain, known pins."""
    served = failure.chain if failure.served_chain is None else failure.served_chain
    pins = sorted(pin.digest for pin in failure.expected)
    digest = hashlib.sha256()
    parts = [failure.hostname.encode(), str(failure.port).encode()]
    for group in (served, pins):
        parts.append(len(group).to_bytes(4, "big"))
        parts.extend(group)
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()
