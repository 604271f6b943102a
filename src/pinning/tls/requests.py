"""Pinning for requests: :class:`PinningAdapter`, :func:`pinned_session` and :func:`pin_session`.

requests takes no SSL context of its own, so a transport adapter hands urllib3 a pinned one, both
for direct connections (``init_poolmanager``) and for connections through a proxy
(``proxy_manager_for``: ``init_poolmanager`` alone does not reach them).

The adapter's context is the whole trust store. requests would otherwise load certifi's bundle
(``verify=True``), or the bundle that ``verify="path"``, ``REQUESTS_CA_BUNDLE`` or
``CURL_CA_BUNDLE`` name, into that shared context on every new connection; the adapter loads
neither: give the CAs to :func:`pinned_session` or build the context yourself.

urllib3 sets the context's ``verify_mode`` from ``cert_reqs`` and requests always asks for
``CERT_REQUIRED`` unless ``verify=False``, so pin-only trust (``CERT_NONE``) cannot go through
requests or urllib3: the adapter refuses a pin-only context and ``verify=False``.

requests sends a request through the adapter mounted for the longest prefix of its URL, so a
plain :class:`~requests.adapters.HTTPAdapter` mounted for ``https://host`` outranks a
:class:`PinningAdapter` mounted for ``https://``, whichever was mounted first. The sessions of
:func:`pinned_session` and :func:`pin_session` therefore refuse to send an ``https://`` request
through an adapter that does not pin (:class:`UnpinnedAdapterError`).

An HTTPS proxy is reached over its own TLS connection, inside which the origin's pinned TLS
connection runs (TLS in TLS). That outer connection is verified with urllib3's default context
(the system's CAs), not the pinned one: give ``proxy_ssl_context`` to trust a proxy whose
certificate comes from a private CA. It must verify the proxy (``CERT_REQUIRED``): the proxy
sees the ``Proxy-Authorization`` header and which hosts are asked for.

urllib3 can also send an ``https://`` request whole to an HTTPS proxy instead of tunnelling
through it (``use_forwarding_for_https``): the only TLS connection is then the proxy's, and the
origin's pins are never checked. :meth:`PinningAdapter.proxy_manager_for` refuses that mode.

requests is an optional dependency: ``pip install pinning[requests]``.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from ..policy.policy import PinPolicy
from .context import create_default_context, pin_context, pinned_policy

__all__ = ["PinningAdapter", "UnpinnedAdapterError", "pin_session", "pinned_session"]

_NO_PIN_ONLY = (
    "requests and urllib3 force CERT_REQUIRED, so pin-only trust (CERT_NONE) cannot go through "
    "them; use http.client, urllib.request, httpx or aiohttp with a pin-only context instead"
)


class UnpinnedAdapterError(requests.exceptions.InvalidSchema):
    """A pinned session was asked to send an ``https://`` request through an adapter that does
    not pin it.

    Raised before anything is sent (no connection is opened) when the adapter that requests
    picked for the URL (the one mounted for the longest matching prefix) is not a
    :class:`PinningAdapter` whose context is pinned. The message names the prefix and the
    adapter's class. A :class:`requests.exceptions.InvalidSchema`, as when no adapter matches a
    URL: so a :class:`requests.RequestException` and a :class:`ValueError`.

    Attributes:
        prefix: The prefix the adapter is mounted for (None when it is not found in
            ``session.adapters``: a ``get_adapter`` of the session's class picked it).
        adapter: The adapter that was refused.
    """

    def __init__(self, message: str, *, prefix: str | None, adapter: object) -> None:
        super().__init__(message)
        self.prefix = prefix
        self.adapter = adapter


class PinningAdapter(HTTPAdapter):
    """A requests transport adapter whose TLS connections are pinned.

    Prefer :func:`pin_session` to mounting it yourself: a bare
    ``session.mount("https://", PinningAdapter(policy))`` is outranked by any adapter mounted
    for a longer prefix (``https://api.example.com``), which would then send unpinned.

    Args:
        policy: The pins to enforce. Without ``ssl_context`` the adapter builds its context with
            :func:`pinning.create_default_context` and the CAs given; with one, ``policy`` is
            installed on it with :func:`pinning.pin_context`.
        ssl_context: A context to use; it must already be pinned when ``policy`` is None.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.
        proxy_ssl_context: The context of the TLS connection to an ``https://`` proxy (the
            origin's connection inside it stays pinned); urllib3's default (the system's CAs)
            when None. It may be pinned too, with rules for the proxy's host.
        **kwargs: Passed to :class:`requests.adapters.HTTPAdapter` (``max_retries``, pool sizes).

    Raises:
        TypeError: Neither ``policy`` nor ``ssl_context`` is given, CAs are given with an
            ``ssl_context``, or ``proxy_ssl_context`` is not an :class:`ssl.SSLContext`.
        ValueError: ``ssl_context`` is not pinned and no ``policy`` is given, or it is pin-only;
            ``proxy_ssl_context`` does not verify the proxy's certificate or name.
    """

    def __init__(
        self,
        policy: PinPolicy | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | os.PathLike[str] | None = None,
        capath: str | os.PathLike[str] | None = None,
        cadata: str | bytes | None = None,
        proxy_ssl_context: ssl.SSLContext | None = None,
        **kwargs: Any,
    ) -> None:
        _check_proxy_context(proxy_ssl_context)
        if ssl_context is None:
            if policy is None:
                raise TypeError("PinningAdapter needs a policy, or an ssl_context already pinned")
            ssl_context = create_default_context(
                policy, cafile=cafile, capath=capath, cadata=cadata
            )
        else:
            if cafile is not None or capath is not None or cadata is not None:
                raise TypeError("with an ssl_context, load the CAs into it instead of passing them")
            if policy is not None:
                pin_context(ssl_context, policy)
            elif pinned_policy(ssl_context) is None:
                raise ValueError(
                    "ssl_context is not pinned: pass a policy, or pin it with pinning.pin_context"
                )
        if ssl_context.verify_mode == ssl.CERT_NONE:
            raise ValueError(_NO_PIN_ONLY)
        self.ssl_context = ssl_context
        self.proxy_ssl_context = proxy_ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """Create the pool manager of direct connections, with the pinned context."""
        pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Return the pool manager for ``proxy``; connections through it use the pinned context.

        ``https://`` requests go through the proxy in a tunnel (``CONNECT``), inside which the
        TLS connection to the origin is pinned. The TLS connection to an ``https://`` proxy uses
        ``proxy_ssl_context`` when the adapter has one.

        Raises:
            ValueError: ``use_forwarding_for_https`` is true: urllib3 would then send each
                ``https://`` request whole to the proxy, over a TLS connection to the proxy
                alone, and the origin's pins would never be checked.
        """
        if proxy_kwargs.get("use_forwarding_for_https"):
            raise ValueError(
                f"use_forwarding_for_https=True with the proxy {_shown_url(proxy)} would send "
                "each https:// request whole to the proxy, over a TLS connection to the proxy "
                "alone: the origin's pins would never be checked. A pinned adapter tunnels "
                "through proxies (CONNECT); leave use_forwarding_for_https off"
            )
        proxy_kwargs["ssl_context"] = self.ssl_context
        if self.proxy_ssl_context is not None:
            proxy_kwargs["proxy_ssl_context"] = self.proxy_ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Key the pools without CA bundle paths: the pinned context is the trust store."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """Set the client certificate only: no CA bundle is loaded into the pinned context."""
        super().cert_verify(conn, url, False, cert)  # Client certificate handling only.
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send ``request``; ``verify=False`` is refused (pins never replace CA verification).

        Raises:
            ValueError: ``verify`` is False.
        """
        if verify is False:
            raise ValueError(f"verify=False on a pinned session: {_NO_PIN_ONLY}")
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def pinned_session(
    policy: PinPolicy,
    *,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
    proxy_ssl_context: ssl.SSLContext | None = None,
) -> requests.Session:
    """Return a :class:`requests.Session` whose ``https://`` connections are pinned.

    The session is guarded as by :func:`pin_session`: an ``https://`` request that would go
    through an adapter that does not pin (one mounted later for a longer prefix) is refused.

    Args:
        policy: The pins to enforce.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.
        proxy_ssl_context: The context of the TLS connection to an ``https://`` proxy, as for
            :class:`PinningAdapter`.

    Returns:
        A new session with a :class:`PinningAdapter` mounted for ``https://``.
    """
    return pin_session(
        requests.Session(),
        policy,
        cafile=cafile,
        capath=capath,
        cadata=cadata,
        proxy_ssl_context=proxy_ssl_context,
    )


def pin_session(
    session: requests.Session,
    policy: PinPolicy | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    cafile: str | os.PathLike[str] | None = None,
    capath: str | os.PathLike[str] | None = None,
    cadata: str | bytes | None = None,
    **kwargs: Any,
) -> requests.Session:
    """Pin a session you already have: mount a :class:`PinningAdapter` for ``https://``, and
    refuse any ``https://`` request that another adapter would send.

    requests sends each request through the adapter mounted for the longest prefix of its URL,
    so an adapter mounted for ``https://api.example.com`` (before or after this call) outranks
    the one mounted here for ``https://``. From now on the session refuses, with
    :class:`UnpinnedAdapterError` and before opening any connection, an ``https://`` request
    whose adapter is not a :class:`PinningAdapter` with a pinned context. A
    :class:`PinningAdapter` of another policy, mounted for one host, is allowed. ``http://``
    requests (not TLS: nothing is pinned there) and other schemes are left alone.

    The guard replaces the session's ``get_adapter`` with one that checks what the original
    returns; it is not carried over when the session is pickled. Calling this again on the
    same session mounts the new adapter and keeps one guard.

    Args:
        session: The session to pin (a :class:`requests.Session`, or a subclass).
        policy: The pins to enforce, as for :class:`PinningAdapter`.
        ssl_context: A context to use, as for :class:`PinningAdapter`.
        cafile: A file of PEM CA certificates to trust instead of the system's.
        capath: A directory of hashed PEM CA certificates to trust instead of the system's.
        cadata: PEM text or DER bytes of CA certificates to trust instead of the system's.
        **kwargs: Passed to :class:`PinningAdapter` (``proxy_ssl_context``, ``max_retries``,
            pool sizes).

    Returns:
        ``session`` itself.

    Raises:
        TypeError: ``session`` is not a :class:`requests.Session`, or the arguments are not
            valid for :class:`PinningAdapter`.
        ValueError: As for :class:`PinningAdapter`.
    """
    if not isinstance(session, requests.Session):
        raise TypeError(f"pin_session takes a requests.Session, not {type(session).__name__}")
    adapter = PinningAdapter(
        policy, ssl_context=ssl_context, cafile=cafile, capath=capath, cadata=cadata, **kwargs
    )
    session.mount("https://", adapter)
    current = session.__dict__.get("get_adapter")
    if not isinstance(current, _PinnedAdapterGuard):
        session.get_adapter = _PinnedAdapterGuard(session, session.get_adapter)  # type: ignore[method-assign]
    return session


class _PinnedAdapterGuard:
    """A session's ``get_adapter``: the original one, refusing adapters that do not pin
    ``https://`` URLs. Installed on the session instance by :func:`pin_session`."""

    __slots__ = ("_original", "_session")

    def __init__(self, session: requests.Session, original: Callable[[str], BaseAdapter]) -> None:
        self._session = session
        self._original = original

    def __call__(self, url: str) -> BaseAdapter:
        adapter = self._original(url)
        if not _is_https(url) or _pins(adapter):
            return adapter
        prefix = next(
            (
                mounted
                for mounted, candidate in self._session.adapters.items()
                if candidate is adapter and url.lower().startswith(mounted.lower())
            ),
            None,
        )
        kind = f"{type(adapter).__module__}.{type(adapter).__qualname__}"
        where = "picked" if prefix is None else f"mounted for {prefix!r}"
        why = (
            "its context is not pinned"
            if isinstance(adapter, PinningAdapter)
            else "it is not a pinning.requests.PinningAdapter"
        )
        raise UnpinnedAdapterError(
            f"pinned session: refusing to send a request to {_shown_url(url)} through the "
            f"adapter {where} ({kind}): {why}, so the connection would not be pinned. requests "
            "uses the adapter of the longest prefix that matches the URL; remove that adapter "
            "(del session.adapters[prefix]) or mount a PinningAdapter for that prefix",
            prefix=prefix,
            adapter=adapter,
        )

    def __repr__(self) -> str:
        return f"<pinned get_adapter of {self._original!r}>"


def _check_proxy_context(ctx: object) -> None:
    """Refuse a proxy context that is not one, or that would not verify the proxy."""
    if ctx is None:
        return
    if not isinstance(ctx, ssl.SSLContext):
        raise TypeError(f"proxy_ssl_context must be an ssl.SSLContext, not {type(ctx).__name__}")
    if ctx.verify_mode != ssl.CERT_REQUIRED or not ctx.check_hostname:
        raise ValueError(
            "proxy_ssl_context must verify the proxy's certificate and name (CERT_REQUIRED and "
            "check_hostname): the proxy sees Proxy-Authorization and every host asked for; load "
            "the proxy's CA into it (ssl.create_default_context(cafile=...))"
        )


def _is_https(url: object) -> bool:
    """Whether requests would make a TLS connection for ``url`` (an ``https://`` URL)."""
    return isinstance(url, str) and url.lstrip().lower().startswith("https:")


def _pins(adapter: object) -> bool:
    """Whether ``adapter`` pins its TLS connections: a PinningAdapter whose context is pinned."""
    context = getattr(adapter, "ssl_context", None)
    return (
        isinstance(adapter, PinningAdapter)
        and isinstance(context, ssl.SSLContext)
        and pinned_policy(context) is not None
    )


def _shown_url(url: str) -> str:
    """``url``'s scheme, host and port only: no credentials, path or query in messages."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")
